import Foundation
import WasmKit

/// The output a kernel produces each frame (Kernel ABI v1, `fp_format`).
public enum KernelFormat: Int32, Sendable, CaseIterable {
    case rgba8 = 1
    case f32Field = 2
    case points = 3

    public var name: String {
        switch self {
        case .rgba8: return "rgba8"
        case .f32Field: return "f32-field"
        case .points: return "points"
        }
    }
}

/// The ABI v1 contract: required exports and their signatures, and the imports a kernel may ask for.
public enum KernelABI {
    public static let version: Int32 = 1
    public static let importModule = "fp"

    public static let requiredFunctions: [(name: String, type: FunctionType)] = [
        ("fp_abi_version", FunctionType(parameters: [], results: [.i32])),
        ("fp_init", FunctionType(parameters: [.i32, .i32], results: [.i32])),
        ("fp_format", FunctionType(parameters: [], results: [.i32])),
        ("fp_output", FunctionType(parameters: [], results: [.i32])),
        ("fp_frame", FunctionType(parameters: [.i32, .f64, .i32, .i32], results: [.i32])),
    ]
    public static let optionalFunctions: [(name: String, type: FunctionType)] = [
        ("fp_points", FunctionType(parameters: [], results: [.i32])),
        ("fp_stateful", FunctionType(parameters: [], results: [.i32])),
    ]
    public static let allowedImports: [(name: String, type: FunctionType)] = [
        ("log", FunctionType(parameters: [.i32, .i32], results: [])),
        ("input", FunctionType(parameters: [.i32], results: [.f32])),
    ]

    static func describe(_ type: FunctionType) -> String {
        func names(_ types: [ValueType]) -> String { types.map { "\($0)" }.joined(separator: ", ") }
        return "(\(names(type.parameters))) -> (\(names(type.results)))"
    }
}

/// A kernel file that parsed as WebAssembly and asks only for imports the host provides.
/// Immutable and shareable: every worker instantiates it into a store of its own.
public struct KernelModule: Sendable {
    public let path: String
    public let name: String
    public let byteCount: Int
    let module: Module

    /// Reads and parses a kernel, refusing what cannot be a v1 kernel before anything runs.
    public init(path: String) throws(KernelError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw KernelError(
                .unreadable,
                exists
                    ? "\(path): cannot read the file (check its permissions)"
                    : "\(path): no such file (give the path of a .wasm kernel, e.g. assets/kernels/plasma.wasm)")
        }
        try self.init(bytes: [UInt8](data), path: path)
    }

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
            let allowed =
                entry.module == KernelABI.importModule
                && KernelABI.allowedImports.contains { $0.name == entry.name }
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
        for required in KernelABI.requiredFunctions where !exported.contains(required.name) {
            throw KernelError(
                .invalidModule,
                "\(path): kernel is missing required export `\(required.name)` \(KernelABI.describe(required.type)) (docs/kernel-abi.md)"
            )
        }
        self.module = parsed
    }

    public var exportNames: [String] { module.exports.map(\.name) }
    public var importNames: [String] { module.imports.map { "\($0.module).\($0.name)" } }
}
