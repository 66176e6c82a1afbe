import Foundation
import WasmKit

/// The WasmKit engine: an interpreter with eager compilation (every function is translated at
/// instantiation, so no frame pays for translation) and fuel metering (the per-tile budget).
public struct WasmKitEngine: KernelEngine {
    public init() {}

    public var description: String { "WasmKit 0.4.2 (interpreter, eager compilation, fuel metering)" }

    public func compile(bytes: [UInt8], path: String) throws(KernelError) -> any CompiledKernel {
        try WasmKitKernel(bytes: bytes, path: path)
    }

    /// ABI v1 export signatures, as WasmKit types.
    static let requiredFunctions: [(name: String, type: FunctionType)] = [
        ("fp_abi_version", FunctionType(parameters: [], results: [.i32])),
        ("fp_init", FunctionType(parameters: [.i32, .i32], results: [.i32])),
        ("fp_format", FunctionType(parameters: [], results: [.i32])),
        ("fp_output", FunctionType(parameters: [], results: [.i32])),
        ("fp_frame", FunctionType(parameters: [.i32, .f64, .i32, .i32], results: [.i32])),
    ]
    static let pointsFunction = ("fp_points", FunctionType(parameters: [], results: [.i32]))
    static let statefulFunction = ("fp_stateful", FunctionType(parameters: [], results: [.i32]))

    static func describe(_ type: FunctionType) -> String {
        func names(_ types: [ValueType]) -> String { types.map { "\($0)" }.joined(separator: ", ") }
        return "(\(names(type.parameters))) -> (\(names(type.results)))"
    }
}

/// A kernel file that parsed as WebAssembly and asks only for imports the host provides.
/// Immutable and shareable: every worker instantiates it into a store of its own.
public struct WasmKitKernel: CompiledKernel {
    public let path: String
    public let name: String
    public let byteCount: Int
    let module: Module

    public init(bytes: [UInt8], path: String) throws(KernelError) {
        self.path = path
        self.name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        self.byteCount = bytes.count
        let magic: [UInt8] = [0x00, 0x61, 0x73, 0x6D]
        guard bytes.count >= 4, Array(bytes[0..<4]) == magic else {
            throw KernelError(
                .invalidModule,
                "\(path): not a WebAssembly module (no \\0asm header); build kernels with scripts/build-kernels.sh")
        }
        let parsed: Module
        do {
            parsed = try parseWasm(bytes: bytes)
        } catch {
            throw KernelError(
                .invalidModule,
                "\(path): invalid or truncated WebAssembly module: \(error); rebuild it with scripts/build-kernels.sh")
        }
        for entry in parsed.imports {
            let allowed = entry.module == KernelABI.importModule && KernelABI.importNames.contains(entry.name)
            guard allowed, case .function = entry.descriptor else {
                throw KernelError(
                    .invalidModule,
                    "\(path): imports `\(entry.module).\(entry.name)`, which the host does not provide; kernels may import only fp.log and fp.input (docs/kernel-abi.md)"
                )
            }
        }
        let exported = Set(parsed.exports.map(\.name))
        guard parsed.exports.contains(where: { if case .memory = $0.descriptor, $0.name == "memory" { true } else { false } })
        else {
            throw KernelError(
                .invalidModule, "\(path): kernel does not export its linear memory as `memory` (docs/kernel-abi.md)")
        }
        for required in WasmKitEngine.requiredFunctions where !exported.contains(required.name) {
            throw KernelError(
                .invalidModule,
                "\(path): kernel is missing required export `\(required.name)` \(WasmKitEngine.describe(required.type)) (docs/kernel-abi.md)"
            )
        }
        self.module = parsed
    }

    public var exportNames: [String] { module.exports.map(\.name) }
    public var importNames: [String] { module.imports.map { "\($0.module).\($0.name)" } }

    public func instantiate(width: Int, height: Int, limits: KernelLimits, host: KernelHost) throws(KernelError)
        -> any KernelInstance
    {
        try WasmKitInstance(kernel: self, width: width, height: height, limits: limits, host: host)
    }
}
