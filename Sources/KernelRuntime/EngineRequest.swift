import Foundation

/// Which engine runs a kernel (`--engine`).
public enum EngineChoice: String, Sendable, CaseIterable {
    case wasmkit, wasmtime
    /// wasmtime when its library loads, else WasmKit (with a note on how to get wasmtime).
    case auto
}

/// Which build of a kernel to load (`--kernel-build`): the MVP `NAME.wasm`, or the SIMD
/// `NAME.simd.wasm` beside it (assets/kernels/README.md). `auto` takes the SIMD build on a compiling
/// engine, where it is faster, and the MVP build on WasmKit, which runs SIMD 8–27× slower.
public enum KernelBuild: String, Sendable, CaseIterable {
    case auto, mvp, simd
}

/// Everything that decides the engine of a run, reconciled once into an engine object by `resolve()`.
public struct EngineRequest: Sendable, Equatable {
    public var choice: EngineChoice = .auto
    /// `--wasmtime-lib PATH` (else FRAMEPIPE_WASMTIME_LIB, the project-local install, Python).
    public var wasmtimeLibrary: String?
    /// wasmtime meters fuel as well as its deadline (the user gave `--fuel`).
    public var meterFuel = false
    /// wasmtime's compile cache (nil: none).
    public var cacheDirectory: String? = WasmtimeEngine.defaultCacheDirectory
    public var build: KernelBuild = .auto

    public init(choice: EngineChoice = .auto, wasmtimeLibrary: String? = nil, meterFuel: Bool = false, build: KernelBuild = .auto) {
        self.choice = choice
        self.wasmtimeLibrary = wasmtimeLibrary
        self.meterFuel = meterFuel
        self.build = build
    }

    /// The engine, and a one-line note when `auto` fell back to WasmKit.
    public func resolve() throws(EngineUnavailable) -> (engine: any KernelEngine, note: String?) {
        switch choice {
        case .wasmkit:
            return (WasmKitEngine(), nil)
        case .wasmtime:
            return (try wasmtime(), nil)
        case .auto:
            do {
                return (try wasmtime(), nil)
            } catch {
                return (
                    WasmKitEngine(),
                    "note: running on WasmKit (interpreter, 5–35× slower than wasmtime): \(error.message)"
                )
            }
        }
    }

    private func wasmtime() throws(EngineUnavailable) -> WasmtimeEngine {
        let library = try WasmtimeLibrary.locate(explicitPath: wasmtimeLibrary)
        do {
            return try WasmtimeEngine(library: library, meterFuel: meterFuel, cacheDirectory: cacheDirectory)
        } catch {
            throw EngineUnavailable(message: error.message)
        }
    }

    /// The file to load for `path` on `engine`: the SIMD build beside it where `build` asks for it.
    public func kernelFile(for path: String, on engine: any KernelEngine) throws(EngineUnavailable) -> String {
        let simd = Self.simdSibling(of: path)
        switch build {
        case .mvp:
            return path
        case .simd:
            if path.hasSuffix(".simd.wasm") { return path }
            guard let simd, FileManager.default.fileExists(atPath: simd) else {
                throw EngineUnavailable(
                    message: "--kernel-build simd: there is no SIMD build \(simd ?? path + ".simd.wasm") beside \(path) (use --kernel-build auto or mvp)")
            }
            return simd
        case .auto:
            guard engine.identity.kind == .compiler, let simd, FileManager.default.fileExists(atPath: simd) else { return path }
            return simd
        }
    }

    /// `DIR/NAME.simd.wasm` for `DIR/NAME.wasm`.
    static func simdSibling(of path: String) -> String? {
        guard path.hasSuffix(".wasm"), !path.hasSuffix(".simd.wasm") else { return nil }
        return String(path.dropLast(".wasm".count)) + ".simd.wasm"
    }
}

/// The engine asked for cannot be used: one line, with how to fix it.
public struct EngineUnavailable: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}
