import Foundation

/// A WebAssembly engine that runs Framepipe kernels: a thin adapter of raw calls (compile,
/// instantiate, call, memory, traps). Everything the kernel ABI says — the handshake, the `fp`
/// imports, output-region checks, the fault taxonomy and every message — is written once, in
/// `ABIKernel` and `ABIInstance`, for every engine.
///
/// One engine object per kernel run (the command builds it and hands it down), never a global:
/// `WasmKitEngine` (interpreter) and `WasmtimeEngine` (Cranelift JIT, loaded at run time).
public protocol KernelEngine: Sendable {
    /// What the engine says about itself: name, version, kind, mode.
    var identity: EngineIdentity { get }
    /// The runaway guard this engine applies under `limits` (for reports).
    func runawayGuard(under limits: KernelLimits) -> String
    /// Parses, validates and compiles a module (`path` only names it in messages). Translation to
    /// the engine's internal form happens here or at instantiation, never per frame.
    func compileModule(bytes: [UInt8], path: String) throws(EngineFailure) -> any EngineModule
    /// True when the engine cannot interrupt code by time and bounds a call's time with a fuel
    /// budget instead (WasmKit): frames are then cut into tiles even for one worker, so that one
    /// call stays well inside what the budget allows.
    var boundsTimeByFuel: Bool { get }
}

extension KernelEngine {
    public var boundsTimeByFuel: Bool { false }

    /// e.g. "wasmtime 50 (compiler: Cranelift JIT, epoch deadline)".
    public var description: String { identity.description }

    /// Checks that `bytes` can be an ABI v1 kernel and compiles it.
    public func compile(bytes: [UInt8], path: String) throws(KernelError) -> any CompiledKernel {
        try ABIKernel(engine: self, bytes: bytes, path: path)
    }

    /// Reads a kernel file and compiles it.
    public func load(path: String) throws(KernelError) -> any CompiledKernel {
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw KernelError(
                .unreadable,
                exists
                    ? "\(path): cannot read the file (check its permissions)"
                    : "\(path): no such file (give the path of a .wasm kernel, e.g. assets/kernels/plasma.wasm)")
        }
        return try compile(bytes: [UInt8](data), path: path)
    }
}

/// What an engine says about itself, for reports (summary.json `engine`) and the console.
public struct EngineIdentity: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        /// Translates wasm to machine code (wasmtime: Cranelift).
        case compiler
        /// Executes an internal form of the wasm (WasmKit).
        case interpreter
    }
    /// "WasmKit" or "wasmtime": what `--engine` calls it, in lower case.
    public var name: String
    public var version: String
    public var kind: Kind
    /// How it runs code, e.g. "Cranelift JIT" or "eager compilation, fuel metering".
    public var mode: String

    public init(name: String, version: String, kind: Kind, mode: String) {
        self.name = name
        self.version = version
        self.kind = kind
        self.mode = mode
    }

    public var description: String { "\(name) \(version) (\(kind.rawValue): \(mode))" }
}

/// A compiled module, as the engine holds it: immutable, shared by every worker, each of which
/// instantiates it.
public protocol EngineModule: Sendable {
    var imports: [ModuleImport] { get }
    var exports: [ModuleExport] { get }
    /// A fresh, isolated instance (own store and linear memory) with the `fp` imports linked to
    /// `imports`; growth of its memory past `limits.maxMemoryBytes` is refused and remembered.
    func instantiate(limits: KernelLimits, imports: KernelImports) throws(EngineFailure) -> any EngineInstance
}

/// One raw instance. Used by one thread at a time (see `KernelInstance`).
public protocol EngineInstance: AnyObject {
    /// The type of the exported function `name`; nil when there is no such function export.
    func functionType(ofExport name: String) -> WasmFunctionType?
    /// Calls an ABI export (its type already checked against `function.type`) within `budget`.
    /// Every ABI function returns one i32.
    func call(_ function: ABIFunction, _ arguments: ABIArguments, budget: CallBudget) throws(EngineFailure) -> Int32
    /// Fuel the last call burned, where the engine meters fuel.
    var fuelUsedByLastCall: UInt64? { get }
    /// Linear memory size in bytes now (it can grow during any call).
    var memoryByteCount: Int { get }
    /// Lends `count` bytes of linear memory at `offset`; the caller has checked the range.
    func withMemory<Result>(offset: Int, count: Int, _ body: (UnsafeRawBufferPointer) throws -> Result) rethrows
        -> Result
    /// The largest memory size (bytes) a growth asked for and was refused since the last call of
    /// this, or nil: how a kernel that ignores `memory.grow`'s −1 still has its frame failed.
    func takeRefusedGrowth() -> Int?
}

/// What one call into a kernel may spend before it is stopped. Each engine applies what it can:
/// WasmKit meters fuel; wasmtime has a wall-clock deadline (epoch interruption) and fuel when asked.
public struct CallBudget: Sendable, Equatable {
    public var fuel: UInt64
    public var deadlineNanos: UInt64

    public init(fuel: UInt64, deadlineNanos: UInt64) {
        self.fuel = fuel
        self.deadlineNanos = deadlineNanos
    }
}

/// The arguments of an ABI call (every ABI function has one of these shapes).
public enum ABIArguments: Sendable {
    case none
    case size(width: Int32, height: Int32)
    case frame(frame: Int32, time: Double, begin: Int32, end: Int32)
}

/// Engine-neutral value types (what the ABI's signatures and messages need).
public enum WasmValueType: String, Sendable, Hashable, CustomStringConvertible {
    case i32, i64, f32, f64, v128
    case reference = "ref"
    public var description: String { rawValue }
}

public struct WasmFunctionType: Sendable, Equatable, CustomStringConvertible {
    public var parameters: [WasmValueType]
    public var results: [WasmValueType]

    public init(_ parameters: [WasmValueType], _ results: [WasmValueType]) {
        self.parameters = parameters
        self.results = results
    }

    /// "(i32, f64, i32, i32) -> (i32)", the form every signature message uses.
    public var description: String {
        "(\(parameters.map(\.description).joined(separator: ", "))) -> (\(results.map(\.description).joined(separator: ", ")))"
    }
}

public enum ExternKind: String, Sendable {
    case function, table, memory, global, tag
}

public struct ModuleImport: Sendable, Equatable {
    public var module: String
    public var name: String
    public var kind: ExternKind
    public init(module: String, name: String, kind: ExternKind) {
        self.module = module
        self.name = name
        self.kind = kind
    }
}

public struct ModuleExport: Sendable, Equatable {
    public var name: String
    public var kind: ExternKind
    public init(name: String, kind: ExternKind) {
        self.name = name
        self.kind = kind
    }
}

/// A validated module: immutable, shared by every worker, each of which instantiates it.
public protocol CompiledKernel: Sendable {
    var path: String { get }
    /// File name without extension, e.g. "plasma".
    var name: String { get }
    var byteCount: Int { get }
    var exportNames: [String] { get }
    /// "module.name" of each import.
    var importNames: [String] { get }
    /// A fresh, isolated instance (own linear memory), initialised for `width`×`height` with every
    /// ABI check applied (`fp_abi_version`, `fp_format`, `fp_init`, `fp_points`, output region).
    func instantiate(width: Int, height: Int, limits: KernelLimits, host: KernelHost) throws(KernelError)
        -> any KernelInstance
    /// The engine's `boundsTimeByFuel`.
    var boundsTimeByFuel: Bool { get }
}

/// One initialised instance. Not thread-safe: one thread uses it at a time; the pool hands
/// instances between threads only through a lock (which orders every access).
public protocol KernelInstance: AnyObject, Sendable {
    var format: KernelFormat { get }
    var isStateful: Bool { get }
    /// Rows (formats 1, 2) or points (format 3).
    var unitCount: Int { get }
    var bytesPerUnit: Int { get }
    /// Byte offset of the output buffer in the instance's memory (`fp_output`).
    var outputOffset: Int { get }
    /// Linear memory size in bytes (it can grow while the kernel runs).
    var memoryByteCount: Int { get }
    /// The parameters the kernel declares (KernelParameters.swift), in its order.
    var parameters: [KernelParameter] { get }
    /// What `fp.param` answers during the next calls; one value per parameter.
    var parameterValues: KernelParameterValues { get set }
    /// Runs `fp_frame` for units [begin, end) under the fuel and memory limits. Any fault throws a
    /// `KernelError` of kind `.runtimeFault` with its `fault` set; the instance should then be replaced.
    func run(frame: Int32, time: Double, units: Range<Int>) throws(KernelError)
    /// Lends the output bytes of `units`, after checking the region lies inside the instance's memory.
    func withOutput<Result>(units: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> Result) throws -> Result
}

extension KernelInstance {
    public var outputByteCount: Int { unitCount * bytesPerUnit }

    /// A copy of the whole output of the last computed frame.
    public func outputBytes() throws(KernelError) -> [UInt8] {
        do {
            return try withOutput(units: 0..<unitCount) { [UInt8]($0) }
        } catch let error as KernelError {
            throw error
        } catch {
            throw KernelError(.runtimeFault, "cannot read the kernel's output: \(error)", fault: .outputOutsideMemory)
        }
    }
}
