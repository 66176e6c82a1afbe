import CWasmtime
import Foundation

/// wasmtime's C API library, loaded at run time (fp_wasmtime.h says why), and the checks that it is the
/// version whose layouts CWasmtime pins.
///
/// Where it is looked for, first found wins (docs/cli.md, `--engine`):
/// 1. `--wasmtime-lib PATH`, else the `FRAMEPIPE_WASMTIME_LIB` environment variable;
/// 2. the project-local install `scripts/setup.sh` makes from the pinned wheel:
///    `.deps/wasmtime/wasmtime/<os>-<arch>/_libwasmtime.so` in a folder at or above the executable or
///    the current directory;
/// 3. the library inside an importable Python `wasmtime` package (`python3 -c 'import wasmtime'`).
public final class WasmtimeLibrary: Sendable {
    /// The major version the declarations in CWasmtime are written for; the wheel setup.sh installs.
    public static let supportedMajorVersion = "50"
    public static let pinnedWheel = "wasmtime==50.0.1"
    static let projectLocalFolder = ".deps/wasmtime"

    public let path: String
    /// The version the engine writes into the modules it serializes (its compatibility stamp).
    public let version: String
    /// The wheel's own version when the library sits in an installed wheel (dist-info beside it).
    public let packageVersion: String?
    /// The wheel's full version when it agrees with the engine's own major version, else the engine's.
    public var reportedVersion: String {
        guard let packageVersion, packageVersion.split(separator: ".").first.map(String.init) == version else { return version }
        return packageVersion
    }
    let api: fp_wasmtime_api

    /// The libraries tried so far, by path (a process loads each one once).
    private static let loaded = Locked<[String: Result<WasmtimeLibrary, EngineUnavailable>]>([:])

    /// Finds and loads the library (`explicitPath` is `--wasmtime-lib`).
    public static func locate(explicitPath: String? = nil) throws(EngineUnavailable) -> WasmtimeLibrary {
        let environment = ProcessInfo.processInfo.environment["FRAMEPIPE_WASMTIME_LIB"].flatMap { $0.isEmpty ? nil : $0 }
        if let path = explicitPath ?? environment {
            let source = explicitPath != nil ? "--wasmtime-lib" : "FRAMEPIPE_WASMTIME_LIB"
            guard FileManager.default.fileExists(atPath: path) else {
                throw EngineUnavailable(message: "\(source) \(path): no such file (give the path of wasmtime's _libwasmtime.so or libwasmtime.so)")
            }
            return try load(path: path)
        }
        if let path = projectLocalCandidates().first(where: { FileManager.default.fileExists(atPath: $0) }) {
            return try load(path: path)
        }
        if let path = pythonPackageLibrary() { return try load(path: path) }
        throw EngineUnavailable(
            message:
                "wasmtime's library was not found: run scripts/setup.sh (it installs \(pinnedWheel) into \(projectLocalFolder)), or pass --wasmtime-lib PATH / set FRAMEPIPE_WASMTIME_LIB")
    }

    /// Loads the library at `path` and checks its version.
    public static func load(path: String) throws(EngineUnavailable) -> WasmtimeLibrary {
        let canonical = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        let result = loaded.withLock { cache -> Result<WasmtimeLibrary, EngineUnavailable> in
            if let known = cache[canonical] { return known }
            let outcome = Result { () throws(EngineUnavailable) in try WasmtimeLibrary(path: canonical) }
            cache[canonical] = outcome
            return outcome
        }
        return try result.get()
    }

    private init(path: String) throws(EngineUnavailable) {
        var error = [CChar](repeating: 0, count: 512)
        guard let table = fp_wasmtime_api_load(path, &error, error.count) else {
            let reason = String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw EngineUnavailable(message: "cannot load wasmtime from \(path): \(reason)")
        }
        self.path = path
        self.api = table.pointee
        let version = Self.serializationVersion(api: table.pointee)
        guard let version, version == Self.supportedMajorVersion else {
            throw EngineUnavailable(
                message:
                    "\(path) is wasmtime \(version ?? "of an unknown version"); Framepipe is built for wasmtime \(Self.supportedMajorVersion) (run scripts/setup.sh to install \(Self.pinnedWheel))")
        }
        self.version = version
        self.packageVersion = Self.wheelVersion(besides: path)
    }

    /// The version string wasmtime writes into the `.wasmtime.engine` section of a serialized module:
    /// a format byte, then a length-prefixed version (its major version, what module compatibility
    /// and the C API's layouts follow).
    private static func serializationVersion(api: fp_wasmtime_api) -> String? {
        let config = api.wasm_config_new()
        guard let engine = api.wasm_engine_new_with_config(config) else { return nil }
        defer { api.wasm_engine_delete(engine) }
        // (module) — the smallest module there is.
        let empty: [UInt8] = [0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00]
        var module: OpaquePointer?
        if let error = api.wasmtime_module_new(engine, empty, empty.count, &module) {
            api.wasmtime_error_delete(error)
            return nil
        }
        guard let module else { return nil }
        defer { api.wasmtime_module_delete(module) }
        var serialized = wasm_byte_vec_t()
        if let error = api.wasmtime_module_serialize(module, &serialized) {
            api.wasmtime_error_delete(error)
            return nil
        }
        defer { api.wasm_byte_vec_delete(&serialized) }
        guard let data = serialized.data else { return nil }
        let bytes = UnsafeRawBufferPointer(start: data, count: serialized.size)
        guard let slice = ELFSections.section(named: ".wasmtime.engine", in: bytes) else { return nil }
        let section = Array(slice)
        guard section.count >= 2 else { return nil }
        let length = Int(section[1])
        guard section.count >= 2 + length else { return nil }
        return String(decoding: section[2..<2 + length], as: UTF8.self)
    }

    /// `Version:` of the wheel's METADATA, when the library is `…/wasmtime/<platform>/_libwasmtime.so`
    /// of an installed wheel.
    private static func wheelVersion(besides path: String) -> String? {
        let packageRoot = URL(fileURLWithPath: path).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: packageRoot.path) else { return nil }
        for entry in entries where entry.hasPrefix("wasmtime-") && entry.hasSuffix(".dist-info") {
            let metadata = packageRoot.appendingPathComponent(entry).appendingPathComponent("METADATA")
            guard let text = try? String(contentsOf: metadata, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n") where line.hasPrefix("Version: ") {
                return String(line.dropFirst("Version: ".count))
            }
        }
        return nil
    }

    static var platformFolder: String {
        #if arch(x86_64)
            return "linux-x86_64"
        #elseif arch(arm64)
            return "linux-aarch64"
        #else
            return "linux-unknown"
        #endif
    }

    /// `.deps/wasmtime/...` at or above the executable and the current directory.
    static func projectLocalCandidates() -> [String] {
        let relative = "\(projectLocalFolder)/wasmtime/\(platformFolder)/_libwasmtime.so"
        var starts = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath)]
        if let executable = Bundle.main.executableURL?.resolvingSymlinksInPath() {
            starts.append(executable.deletingLastPathComponent())
        }
        var candidates: [String] = []
        for start in starts {
            var folder = start.standardizedFileURL
            for _ in 0..<8 {
                candidates.append(folder.appendingPathComponent(relative).path)
                let parent = folder.deletingLastPathComponent()
                if parent.path == folder.path { break }
                folder = parent
            }
        }
        return candidates
    }

    /// The library inside an importable Python `wasmtime` package, if python3 has one.
    private static func pythonPackageLibrary() -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import os, wasmtime; print(os.path.dirname(wasmtime.__file__))"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        let folder = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let path = "\(folder)/\(platformFolder)/_libwasmtime.so"
        return folder.isEmpty || !FileManager.default.fileExists(atPath: path) ? nil : path
    }
}

/// Reads one section of a little-endian ELF64 file (a serialized wasmtime module), bounds-checked.
enum ELFSections {
    static func section(named name: String, in bytes: UnsafeRawBufferPointer) -> Slice<UnsafeRawBufferPointer>? {
        func integer(_ offset: Int, _ size: Int) -> Int? {
            guard offset >= 0, size <= 8, offset + size <= bytes.count else { return nil }
            var value: UInt64 = 0
            for index in (0..<size).reversed() { value = value << 8 | UInt64(bytes[offset + index]) }
            return value > UInt64(Int.max) ? nil : Int(value)
        }
        guard bytes.count >= 64, bytes[0] == 0x7F, bytes[1] == 0x45, bytes[2] == 0x4C, bytes[3] == 0x46,
            bytes[4] == 2, bytes[5] == 1,
            let headers = integer(0x28, 8), let entrySize = integer(0x3A, 2), let count = integer(0x3C, 2),
            let namesIndex = integer(0x3E, 2), entrySize >= 0x28, namesIndex < count,
            let namesOffset = integer(headers + namesIndex * entrySize + 0x18, 8)
        else { return nil }
        let wanted = Array(name.utf8)
        for index in 0..<count {
            let header = headers + index * entrySize
            guard let nameOffset = integer(header, 4), let offset = integer(header + 0x18, 8),
                let size = integer(header + 0x20, 8)
            else { return nil }
            let start = namesOffset + nameOffset
            guard start >= 0, start + wanted.count < bytes.count else { continue }
            if bytes[start..<start + wanted.count].elementsEqual(wanted), bytes[start + wanted.count] == 0 {
                guard offset + size <= bytes.count else { return nil }
                return bytes[offset..<offset + size]
            }
        }
        return nil
    }
}
