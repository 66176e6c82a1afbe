import CSystemShim
import Foundation
@_spi(Fuzzing) import WasmKit  // Store.resourceLimiter is SPI in 0.4.2: the only way to cap memory growth

/// The WasmKit engine: an interpreter with eager compilation (every function is translated at
/// instantiation, so no frame pays for translation) and fuel metering (the per-tile budget). A thin
/// adapter: the ABI, its checks and its messages are in ABIKernel.swift.
public struct WasmKitEngine: KernelEngine {
    public init() {}

    public var identity: EngineIdentity {
        EngineIdentity(
            name: "WasmKit", version: String(cString: fp_wasmkit_version()), kind: .interpreter,
            mode: "eager compilation, fuel metering")
    }

    public func runawayGuard(under limits: KernelLimits) -> String {
        "fuel \(limits.fuelPerTile) per tile (no wall-clock deadline: the interpreter cannot be interrupted)"
    }

    public func compileModule(bytes: [UInt8], path: String) throws(EngineFailure) -> any EngineModule {
        do {
            return WasmKitModule(module: try parseWasm(bytes: bytes))
        } catch {
            throw .invalidModule(WasmKitModule.oneLine(error))
        }
    }
}

struct WasmKitModule: EngineModule {
    let module: Module

    var imports: [ModuleImport] {
        module.imports.map { entry in
            let kind: ExternKind
            switch entry.descriptor {
            case .function: kind = .function
            case .table: kind = .table
            case .memory: kind = .memory
            case .global: kind = .global
            default: kind = .tag
            }
            return ModuleImport(module: entry.module, name: entry.name, kind: kind)
        }
    }
    var exports: [ModuleExport] {
        module.exports.map { export in
            let kind: ExternKind
            switch export.descriptor {
            case .function: kind = .function
            case .table: kind = .table
            case .memory: kind = .memory
            case .global: kind = .global
            default: kind = .tag
            }
            return ModuleExport(name: export.name, kind: kind)
        }
    }

    func instantiate(limits: KernelLimits, imports: KernelImports) throws(EngineFailure) -> any EngineInstance {
        try WasmKitInstance(module: module, limits: limits, imports: imports)
    }

    /// WasmKit's errors, in their first line, without Swift value syntax.
    static func oneLine(_ error: any Error) -> String {
        let text = "\(error)".split(whereSeparator: \.isNewline).first.map(String.init) ?? "unknown error"
        return text.replacingOccurrences(of: "Trap: ", with: "")
    }
}

/// Enforces `KernelLimits.maxMemoryBytes`: refuses growth past it and records the refusal.
final class MemoryLimiter: ResourceLimiter {
    let growth: GrowthRecord

    init(maxBytes: Int) { growth = GrowthRecord(limitBytes: maxBytes) }

    func limitMemoryGrowth(to desired: Int) throws -> Bool {
        guard desired <= growth.limitBytes else {
            growth.recordRefusal(desired)
            return false
        }
        return true
    }

    func limitTableGrowth(to desired: Int) throws -> Bool { desired <= 1 << 20 }
}

/// One WasmKit instance: its own engine, store and linear memory.
final class WasmKitInstance: EngineInstance {
    private let store: Store
    private let memory: Memory
    private let limiter: MemoryLimiter
    private let functions: [ABIFunction: Function]
    private var stack: ExecutionStack

    init(module: Module, limits: KernelLimits, imports kernelImports: KernelImports) throws(EngineFailure) {
        let engine = Engine(configuration: EngineConfiguration(compilationMode: .eager, fuelMetering: true))
        let store = Store(engine: engine)
        let limiter = MemoryLimiter(maxBytes: limits.maxMemoryBytes)
        store.resourceLimiter = limiter
        self.store = store
        self.limiter = limiter

        var imports = Imports()
        imports.define(
            module: KernelABI.importModule, name: "log",
            Function(store: store, parameters: [.i32, .i32], results: []) { caller, arguments in
                guard case .i32(let pointer) = arguments[0], case .i32(let length) = arguments[1],
                    let memory = caller.instance?.exports[memory: "memory"], memory.byteCount > 0
                else { return [] }
                memory.withUnsafeBufferPointer(offset: 0, count: memory.byteCount) {
                    kernelImports.log(
                        pointer: Int32(bitPattern: pointer), length: Int32(bitPattern: length), memory: $0)
                }
                return []
            })
        imports.define(
            module: KernelABI.importModule, name: "input",
            Function(store: store, parameters: [.i32], results: [.f32]) { _, arguments in
                guard case .i32(let what) = arguments[0] else { return [.f32(Float(0).bitPattern)] }
                return [.f32(kernelImports.input(Int32(bitPattern: what)).bitPattern)]
            })

        let instance: Instance
        do {
            store.fuel = Fuel(remaining: limits.setupBudget.fuel)
            instance = try module.instantiate(store: store, imports: imports)
        } catch {
            if let refused = limiter.growth.takeRefusal() { throw .initialMemoryTooLarge(bytes: refused) }
            // WasmKit validates function bodies while it translates them, here at instantiation:
            // such an error (a WasmKitError that is not a trap of the start function) is an invalid
            // module, as wasmtime reports it when it compiles.
            if error is WasmKitError, !"\(error)".hasPrefix("Trap") { throw .invalidModule(WasmKitModule.oneLine(error)) }
            throw .instantiation(WasmKitModule.oneLine(error))
        }
        guard let memory = instance.exports[memory: "memory"] else {
            throw .instantiation("kernel does not export its linear memory as `memory`")
        }
        self.memory = memory
        var functions: [ABIFunction: Function] = [:]
        for function in ABIFunction.allCases {
            functions[function] = instance.exports[function: function.rawValue]
        }
        self.functions = functions
        self.stack = ExecutionStack(engine: engine)
    }

    func functionType(ofExport name: String) -> WasmFunctionType? {
        guard let function = ABIFunction(rawValue: name).flatMap({ functions[$0] }) else { return nil }
        func convert(_ types: [ValueType]) -> [WasmValueType] {
            types.map { type in
                switch type {
                case .i32: return .i32
                case .i64: return .i64
                case .f32: return .f32
                case .f64: return .f64
                case .v128: return .v128
                default: return .reference
                }
            }
        }
        return WasmFunctionType(convert(function.type.parameters), convert(function.type.results))
    }

    private(set) var fuelUsedByLastCall: UInt64?

    func call(_ function: ABIFunction, _ arguments: ABIArguments, budget: CallBudget) throws(EngineFailure) -> Int32 {
        guard let callee = functions[function] else { throw .engine("kernel has no export `\(function.rawValue)`") }
        let values: [Value]
        switch arguments {
        case .none: values = []
        case .size(let width, let height): values = [.i32(UInt32(bitPattern: width)), .i32(UInt32(bitPattern: height))]
        case .frame(let frame, let time, let begin, let end):
            values = [
                .i32(UInt32(bitPattern: frame)), .f64(time.bitPattern), .i32(UInt32(bitPattern: begin)),
                .i32(UInt32(bitPattern: end)),
            ]
        }
        store.fuel = Fuel(remaining: budget.fuel)
        let results: [Value]
        do {
            results = try callee.invoke(values, on: &stack)
        } catch {
            throw Self.failure(error)
        }
        fuelUsedByLastCall = budget.fuel - (store.fuel?.remaining ?? budget.fuel)
        guard case .i32(let bits) = results.first else { throw .engine("\(function.rawValue) returned no i32") }
        return Int32(bitPattern: bits)
    }

    var memoryByteCount: Int { memory.byteCount }

    func withMemory<Result>(offset: Int, count: Int, _ body: (UnsafeRawBufferPointer) throws -> Result) rethrows
        -> Result
    {
        precondition(offset >= 0 && count >= 0 && offset + count <= memory.byteCount, "caller checks the range")
        return try memory.withUnsafeBufferPointer(offset: UInt(offset), count: count, body)
    }

    func takeRefusedGrowth() -> Int? { limiter.growth.takeRefusal() }

    /// A WasmKit trap as an engine-neutral failure. WasmKit's trap reasons are package-internal, so
    /// they are read from its description: "Trap: REASON" then frame lines "    0: (0x…) NAME".
    static func failure(_ error: any Error) -> EngineFailure {
        let lines = "\(error)".split(whereSeparator: \.isNewline).map(String.init)
        let text = WasmKitModule.oneLine(error)
        // WasmKit names a wasm frame from the name section (and, only when there is one, from the
        // exports), else "wasm function[N]": that one is handed on as index N, for the ABI layer to
        // name from the exports as it does for wasmtime. "unknown" is the frame of the host's own
        // call into the kernel, no wasm frame: left out, as wasmtime leaves it out.
        let frames = lines.dropFirst().compactMap { line -> BacktraceFrame? in
            guard let close = line.firstIndex(of: ")") else { return nil }
            let name = line[line.index(after: close)...].trimmingCharacters(in: .whitespaces)
            if name.isEmpty || name == "unknown" { return nil }
            if name.hasPrefix("wasm function["), name.hasSuffix("]"),
                let index = UInt32(name.dropFirst("wasm function[".count).dropLast())
            {
                return BacktraceFrame(functionIndex: index, name: nil)
            }
            return BacktraceFrame(functionIndex: nil, name: name)
        }
        if text.contains("out of fuel") { return .outOfFuel(backtrace: frames) }
        let known: [(String, TrapReason)] = [
            ("unreachable", .unreachable), ("out of bounds memory access", .memoryOutOfBounds),
            ("call stack exhausted", .callStackExhausted), ("integer divide by zero", .integerDivideByZero),
            ("integer overflow", .integerOverflow), ("invalid conversion to integer", .invalidConversionToInteger),
            ("out of bounds table access", .tableOutOfBounds), ("indirect call to null", .indirectCallToNull),
            ("indirect call type mismatch", .indirectCallTypeMismatch), ("null function reference", .nullReference),
            ("null reference", .nullReference), ("unaligned atomic", .unalignedAccess),
        ]
        let reason = known.first { text.hasPrefix($0.0) }?.1 ?? .other(text)
        return .trap(reason, backtrace: frames)
    }
}
