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
        "time budget: per call the fuel its code can burn in \(ABIInstance.formatMilliseconds(limits.tileTimeoutNanos)) "
            + "(8-22 ns per unit at worst, by the module's code; the interpreter cannot be interrupted by time), at most \(limits.fuelPerTile)"
    }

    public var boundsTimeByFuel: Bool { true }

    /// WasmKit 0.4.2 cannot be interrupted by time, so a wall-clock bound is a fuel budget: the fuel
    /// the module's slowest code burns in that time. The slowest costs per unit of fuel measured
    /// here (release build, loops of one operator each; docs/performance.md, "WasmKit's time
    /// bound"), with 25 % headroom: plain code (`call` 4.5 ns, `call_indirect` 6 ns, `memory.size`
    /// 4.9 ns, `br` 2.6 ns; host calls and refused growths once charged `hostCallFuel`) 8 ns; a
    /// `return_call` cycle 11.6 ns; a `memory.grow` past the spec's 4 GiB, refused before any
    /// limiter is asked, 17 ns.
    public static let worstNanosPerFuel = 8.0
    static let worstNanosPerFuelWithTailCalls = 15.0
    static let worstNanosPerFuelWithMemoryGrow = 22.0
    /// A call costs one unit of fuel but zeroes every local of the callee: 0.055-0.11 ns per local
    /// and unit measured (functions of 2 000 and 4 000 locals: 104-123 and 430-650 ns per unit, the
    /// latter on a loaded machine), so modules with large frames get proportionally less fuel.
    static let nanosPerFuelPerLocal = 0.15
    /// Fuel charged for each call into the host (`fp.log`, `fp.input`) and each refused growth,
    /// which cost far more than an operator (130-230 ns uncharged).
    static let hostCallFuel: UInt64 = 256

    /// The worst cost per unit of fuel of `bytes`: from the costly operators it contains and its
    /// largest call frame. A module that does not parse gets the worst of all (WasmKit refuses it
    /// anyway).
    static func worstNanosPerFuel(of bytes: [UInt8]) -> Double {
        let found = ModuleOperators.scan(bytes)
        let (tailCalls, grows) = (found?.tailCalls ?? true, found?.grows ?? true)
        let operators =
            grows ? worstNanosPerFuelWithMemoryGrow : tailCalls ? worstNanosPerFuelWithTailCalls : worstNanosPerFuel
        return max(operators, worstNanosPerFuel(largestCallFrame: WasmBinary.largestCallFrame(bytes)))
    }

    /// The worst cost per unit of fuel of calls into a function with `slots` parameters and locals.
    static func worstNanosPerFuel(largestCallFrame slots: Int) -> Double {
        max(worstNanosPerFuel, nanosPerFuelPerLocal * Double(slots))
    }

    /// The fuel a call may burn to stay within `deadlineNanos` on a module costing at worst
    /// `nanosPerFuel` per unit (at least 1 000 units, so a kernel can always return a constant).
    static func fuel(within deadlineNanos: UInt64, nanosPerFuel: Double) -> UInt64 {
        max(1_000, UInt64(min(Double(deadlineNanos) / nanosPerFuel, 1e18)))
    }

    public func compileModule(bytes: [UInt8], path: String) throws(EngineFailure) -> any EngineModule {
        do {
            return WasmKitModule(
                module: try parseWasm(bytes: bytes),
                worstNanosPerFuel: Self.worstNanosPerFuel(of: bytes))
        } catch {
            throw .invalidModule(WasmKitModule.oneLine(error))
        }
    }
}

struct WasmKitModule: EngineModule {
    let module: Module
    let worstNanosPerFuel: Double

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
        try WasmKitInstance(module: module, worstNanosPerFuel: worstNanosPerFuel, limits: limits, imports: imports)
    }

    /// WasmKit's text for `error`: its first line, in words (WasmParser prints LEB errors as a bare
    /// Swift case name), scrubbed and bounded like every error line (KernelText.errorLine).
    static func oneLine(_ error: any Error) -> String {
        var text = "\(error)".split(whereSeparator: \.isNewline).first.map(String.init) ?? "unknown error"
        text = text.replacingOccurrences(of: "Trap: ", with: "")
        if let words = KernelText.lebErrorWords[text] { text = words }
        return KernelText.errorLine(text)
    }
}

/// Enforces `KernelLimits.maxMemoryBytes`: refuses growth past it and records the refusal, charging
/// the refusal's cost in fuel (`WasmKitEngine.hostCallFuel`). `@unchecked Sendable`: `store` is
/// set once, before any call, and the limiter is only ever called on the thread running that store.
final class MemoryLimiter: ResourceLimiter, @unchecked Sendable {
    let growth: GrowthRecord
    /// The store this limiter serves (weak: the store holds the limiter), for charging fuel.
    weak var store: Store?

    init(maxBytes: Int) { growth = GrowthRecord(limitBytes: maxBytes) }

    func limitMemoryGrowth(to desired: Int) throws -> Bool {
        guard desired <= growth.limitBytes else {
            growth.recordRefusal(desired)
            store.map { WasmKitInstance.charge(WasmKitEngine.hostCallFuel, to: $0) }
            return false
        }
        return true
    }

    func limitTableGrowth(to desired: Int) throws -> Bool {
        guard desired <= 1 << 20 else {
            store.map { WasmKitInstance.charge(WasmKitEngine.hostCallFuel, to: $0) }
            return false
        }
        return true
    }
}

/// One WasmKit instance: its own engine, store and linear memory.
final class WasmKitInstance: EngineInstance {
    private let store: Store
    private let memory: WasmKit.Memory
    private let limiter: MemoryLimiter
    private let functions: [ABIFunction: Function]
    private var stack: ExecutionStack
    private let worstNanosPerFuel: Double

    init(module: Module, worstNanosPerFuel: Double, limits: KernelLimits, imports kernelImports: KernelImports)
        throws(EngineFailure)
    {
        let engine = Engine(configuration: EngineConfiguration(compilationMode: .eager, fuelMetering: true))
        let store = Store(engine: engine)
        let limiter = MemoryLimiter(maxBytes: limits.maxMemoryBytes)
        store.resourceLimiter = limiter
        limiter.store = store
        self.worstNanosPerFuel = worstNanosPerFuel
        self.store = store
        self.limiter = limiter

        var imports = Imports()
        imports.define(
            module: KernelABI.importModule, name: "log",
            Function(store: store, parameters: [.i32, .i32], results: []) { caller, arguments in
                Self.charge(WasmKitEngine.hostCallFuel, to: caller.store)
                guard case .i32(let pointer) = arguments[0], case .i32(let length) = arguments[1],
                    let memory = caller.instance?.exports[memory: "memory"], memory.byteCount > 0
                else { return [] }
                memory.withUnsafeBufferPointer(offset: 0, count: memory.byteCount) {
                    kernelImports.log(
                        pointer: Int32(bitPattern: pointer), length: Int32(bitPattern: length), memory: $0)
                }
                return []
            })
        // fp.input(what) and fp.param(index): (i32) -> f32 answers from the host.
        let answers: [(name: String, answer: @Sendable (Int32) -> Float)] = [
            ("input", { kernelImports.input($0) }), ("param", { kernelImports.param($0) }),
        ]
        for (name, answer) in answers {
            imports.define(
                module: KernelABI.importModule, name: name,
                Function(store: store, parameters: [.i32], results: [.f32]) { caller, arguments in
                    Self.charge(WasmKitEngine.hostCallFuel, to: caller.store)
                    guard case .i32(let argument) = arguments[0] else { return [.f32(Float(0).bitPattern)] }
                    return [.f32(answer(Int32(bitPattern: argument)).bitPattern)]
                })
        }

        // The WASI preview1 imports the module asks for (WASIPreview1.swift), each linked to the one dispatcher.
        let wasi = kernelImports.wasi
        for entry in module.imports where entry.module == WASI.module {
            guard case .function = entry.descriptor, let known = WASI.functions[entry.name] else { continue }
            let name = entry.name
            func valueTypes(_ types: [WasmValueType]) -> [ValueType] { types.map { $0 == .i64 ? .i64 : .i32 } }
            imports.define(
                module: WASI.module, name: name,
                Function(store: store, parameters: valueTypes(known.type.parameters), results: valueTypes(known.type.results)) {
                    caller, arguments in
                    Self.charge(WasmKitEngine.hostCallFuel, to: caller.store)
                    let raw = arguments.map { value -> UInt64 in
                        switch value {
                        case .i32(let bits): return UInt64(bits)
                        case .i64(let bits): return bits
                        default: return 0
                        }
                    }
                    let outcome: WASIOutcome
                    if let memory = caller.instance?.exports[memory: "memory"], memory.byteCount > 0 {
                        outcome = memory.withUnsafeMutableBufferPointer(offset: 0, count: memory.byteCount) {
                            wasi.call(name, raw, memory: $0)
                        }
                    } else {
                        outcome = wasi.call(name, raw, memory: UnsafeMutableRawBufferPointer(start: nil, count: 0))
                    }
                    switch outcome {
                    case .result(let code): return [.i32(UInt32(bitPattern: code))]
                    case .none: return []
                    case .exit(let code): throw WASIExit(code: code)
                    }
                })
        }

        let instance: Instance
        do {
            // The start function runs here: bounded like a set-up call.
            store.fuel = Fuel(remaining: Self.effectiveFuel(limits.setupBudget, worstNanosPerFuel: worstNanosPerFuel))
            instance = try module.instantiate(store: store, imports: imports)
        } catch {
            if let refused = limiter.growth.takeRefusal() { throw .initialMemoryTooLarge(bytes: refused) }
            // WasmKit validates function bodies while it translates them, here at instantiation:
            // such an error (a WasmKitError that is not a trap of the start function) is an invalid
            // module, as wasmtime reports it when it compiles.
            // Linking errors (an import of the wrong type) are instantiation errors on both engines.
            let text = "\(error)"
            if error is WasmKitError, !text.hasPrefix("Trap"), !text.contains("import") {
                throw .invalidModule(WasmKitModule.oneLine(error))
            }
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
        let fuel = Self.effectiveFuel(budget, worstNanosPerFuel: worstNanosPerFuel)
        store.fuel = Fuel(remaining: fuel)
        let results: [Value]
        do {
            results = try callee.invoke(values, on: &stack)
        } catch {
            let failure = Self.failure(error)
            if case .outOfFuel(let frames) = failure, fuel < budget.fuel {
                throw .timeBudgetExhausted(fuel: fuel, backtrace: frames)
            }
            throw failure
        }
        fuelUsedByLastCall = fuel - (store.fuel?.remaining ?? fuel)
        if function.type.results.isEmpty { return 0 }
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

    /// The fuel of a call under `budget`: its fuel, or less where that is all the module's slowest
    /// code can burn within the budget's deadline.
    static func effectiveFuel(_ budget: CallBudget, worstNanosPerFuel: Double) -> UInt64 {
        min(budget.fuel, WasmKitEngine.fuel(within: budget.deadlineNanos, nanosPerFuel: worstNanosPerFuel))
    }

    /// Takes `units` of fuel from a running call (the next charge traps when none is left). Called
    /// only on the thread running the store, from inside the call.
    static func charge(_ units: UInt64, to store: Store) {
        guard let fuel = store.fuel else { return }
        store.fuel = Fuel(remaining: fuel.remaining > units ? fuel.remaining - units : 0)
    }

    /// A WasmKit trap as an engine-neutral failure. WasmKit's trap reasons are package-internal, so
    /// they are read from its description: "Trap: REASON" then frame lines "    0: (0x…) NAME".
    static func failure(_ error: any Error) -> EngineFailure {
        let lines = "\(error)".split(whereSeparator: \.isNewline).map(String.init)
        let text = WasmKitModule.oneLine(error)
        // WasmKit names a wasm frame from the name section (and, only when there is one, from the
        // exports), else "wasm function[N]": that one is handed on as index N, for the ABI layer to
        // name from the exports as it does for wasmtime. "unknown" is the frame of the host's own
        // call into the kernel, no wasm frame: left out, as wasmtime leaves it out. WasmKit 0.4.2 prints
        // no instruction offset, so these frames have no `moduleOffset`: with -g the ABI layer gives
        // the line where the function starts, where wasmtime's frames give the line of the trap or call.
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

/// `proc_exit` ends the call: thrown from the host function, it unwinds the interpreter like a trap.
struct WASIExit: Error, CustomStringConvertible {
    let code: Int32
    var description: String { "proc_exit(\(code))" }
}
