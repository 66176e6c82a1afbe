// One wasmtime instance. Its unsafe pointer code keeps these invariants:
//  1. `slots` holds 4 values, allocated once per instance and freed in deinit: no ABI function takes more than 4
//     arguments or returns more than 1 result (KernelABI.swift, `ABIFunction.type`), and
//     wasmtime_func_call_unchecked reads the arguments from, and writes the results to, the same slots.
//  2. An export is called unchecked only if its type, read from wasmtime at instantiation, equals the ABI's
//     (`Export.hasABIType`, checked on every call) and the arguments given are that many (precondition): the
//     unchecked call then reads and writes exactly what the checked one would, without its per-call type check.
import CWasmtime
import Foundation

/// One wasmtime instance: its own store, linear memory (WasmtimeMemory.swift) and `fp` imports.
/// Used by one thread at a time (a wasmtime store is not thread-safe).
final class WasmtimeInstance: EngineInstance {
    private let module: WasmtimeModule
    private let api: fp_wasmtime_api
    private let store: OpaquePointer
    private let context: OpaquePointer
    private var memory: wasmtime_memory_t
    /// An ABI function the module exports, with what an unchecked call of it needs.
    private struct Export {
        var function: wasmtime_func_t
        let type: WasmFunctionType
        let hasABIType: Bool
        let parameterCount: Int
        let resultCount: Int
    }
    /// Indexed by `ABIFunction.ordinal`; nil where the module does not export the function.
    private var exports: [Export?]
    private let growth: GrowthRecord
    private let host: Unmanaged<HostImports>
    /// The environments of the linked WASI functions, released in deinit.
    private var wasiImports: [Unmanaged<WASIImport>] = []
    /// Argument and result slots of a call (invariant 1).
    private let slots = UnsafeMutablePointer<wasmtime_val_raw_t>.allocate(capacity: 4)
    private let meterFuel: Bool
    private let deadline: Bool

    /// What the `fp` host functions reach through their environment pointer.
    final class HostImports {
        let imports: KernelImports
        let api: fp_wasmtime_api
        init(imports: KernelImports, api: fp_wasmtime_api) {
            self.imports = imports
            self.api = api
        }
    }

    /// What one linked WASI function reaches through its environment pointer.
    final class WASIImport {
        let name: String
        let system: WASISystem
        let api: fp_wasmtime_api
        init(name: String, system: WASISystem, api: fp_wasmtime_api) {
            self.name = name
            self.system = system
            self.api = api
        }
    }

    init(module: WasmtimeModule, limits: KernelLimits, imports: KernelImports) throws(EngineFailure) {
        let api = module.engine.library.api
        self.module = module
        self.api = api
        self.meterFuel = module.engine.meterFuel
        self.deadline = module.engine.deadline
        store = api.wasmtime_store_new(module.engine.engine, nil, nil)
        context = api.wasmtime_store_context(store)
        // Memory is capped by the host memory creator; tables as WasmKit caps them.
        api.wasmtime_store_limiter(store, -1, 1 << 20, -1, -1, -1)
        growth = GrowthRecord(limitBytes: limits.maxMemoryBytes)
        host = Unmanaged.passRetained(HostImports(imports: imports, api: api))
        memory = wasmtime_memory_t()
        var exports = [Export?](repeating: nil, count: ABIFunction.allCases.count)
        // From here on deinit cleans up whatever init leaves.
        self.exports = exports

        let linker = api.wasmtime_linker_new(module.engine.engine)
        defer { api.wasmtime_linker_delete(linker) }
        try define(linker, "log", type: KernelABI.imports[0].type, callback: Self.log)
        try define(linker, "input", type: KernelABI.imports[1].type, callback: Self.input)
        try define(linker, "param", type: KernelABI.imports[2].type, callback: Self.param)
        for entry in module.imports where entry.module == WASI.module && entry.kind == .function {
            guard let known = WASI.functions[entry.name] else { continue }
            let box = Unmanaged.passRetained(WASIImport(name: entry.name, system: imports.wasi, api: api))
            wasiImports.append(box)
            try define(linker, entry.name, module: WASI.module, type: known.type, callback: Self.wasi, environment: box.toOpaque())
        }

        try setBudget(limits.setupBudget)
        var instance = wasmtime_instance_t()
        var trap: OpaquePointer?
        fp_wasmtime_set_memory_owner(Unmanaged.passUnretained(growth).toOpaque())
        let error = api.wasmtime_linker_instantiate(linker, context, module.module, &instance, &trap)
        fp_wasmtime_set_memory_owner(nil)
        if error != nil || trap != nil {
            if let refused = growth.takeRefusal() {
                _ = Self.failure(error: error, trap: trap, api: api)
                throw .initialMemoryTooLarge(bytes: refused)
            }
            let failure = Self.failure(error: error, trap: trap, api: api)
            if case .instantiation = failure { throw failure }
            throw .instantiation(ABIInstance.reason(of: failure))
        }

        var export = wasmtime_extern_t()
        guard api.wasmtime_instance_export_get(context, &instance, "memory", 6, &export),
            Int(export.kind) == FP_WASMTIME_EXTERN_MEMORY
        else { throw .instantiation("kernel does not export its linear memory as `memory`") }
        memory = export.of.memory
        for function in ABIFunction.allCases {
            let name = function.rawValue
            var export = wasmtime_extern_t()
            guard api.wasmtime_instance_export_get(context, &instance, name, name.utf8.count, &export),
                Int(export.kind) == FP_WASMTIME_EXTERN_FUNC
            else { continue }
            var function_ = export.of.func
            let wasmtimeType = api.wasmtime_func_type(context, &function_)
            let type = WasmFunctionType(
                Self.valueTypes(api.wasm_functype_params(wasmtimeType), api: api),
                Self.valueTypes(api.wasm_functype_results(wasmtimeType), api: api))
            api.wasm_functype_delete(wasmtimeType)
            exports[function.ordinal] = Export(
                function: function_, type: type, hasABIType: type == function.type, parameterCount: type.parameters.count,
                resultCount: type.results.count)
        }
        self.exports = exports
    }

    deinit {
        api.wasmtime_store_delete(store)  // finalizes the memories (WasmtimeMemory.swift, invariant 4)
        host.release()
        for box in wasiImports { box.release() }
        slots.deallocate()
    }

    private func define(
        _ linker: OpaquePointer, _ name: String, module: String = KernelABI.importModule, type: WasmFunctionType,
        callback: wasmtime_func_callback_t, environment: UnsafeMutableRawPointer? = nil
    ) throws(EngineFailure) {
        func valueTypes(_ types: [WasmValueType]) -> wasm_valtype_vec_t {
            var vector = wasm_valtype_vec_t()
            let kinds = types.map { type -> OpaquePointer in
                switch type {
                case .i32: return api.wasm_valtype_new(UInt8(FP_WASM_I32))
                case .i64: return api.wasm_valtype_new(UInt8(FP_WASM_I64))
                case .f32: return api.wasm_valtype_new(UInt8(FP_WASM_F32))
                default: return api.wasm_valtype_new(UInt8(FP_WASM_F64))
                }
            }
            if kinds.isEmpty {
                api.wasm_valtype_vec_new_empty(&vector)
            } else {
                kinds.withUnsafeBufferPointer { buffer in
                    buffer.withMemoryRebound(to: OpaquePointer?.self) { api.wasm_valtype_vec_new(&vector, $0.count, $0.baseAddress) }
                }
            }
            return vector
        }
        var parameters = valueTypes(type.parameters)
        var results = valueTypes(type.results)
        let functionType = api.wasm_functype_new(&parameters, &results)  // takes both vectors
        defer { api.wasm_functype_delete(functionType) }
        if let error = api.wasmtime_linker_define_func(
            linker, module, module.utf8.count, name, name.utf8.count, functionType, callback,
            environment ?? host.toOpaque(), nil)
        {
            throw .instantiation("cannot define \(module).\(name): \(WasmtimeErrors.message(of: error, api: api))")
        }
    }

    /// `fp.log(pointer, length)`.
    private static let log: wasmtime_func_callback_t = { environment, caller, arguments, count, _, _ in
        guard let environment, let caller, let arguments, count == 2 else { return nil }
        let host = Unmanaged<HostImports>.fromOpaque(environment).takeUnretainedValue()
        var export = wasmtime_extern_t()
        guard host.api.wasmtime_caller_export_get(caller, "memory", 6, &export),
            Int(export.kind) == FP_WASMTIME_EXTERN_MEMORY
        else { return nil }
        let context = host.api.wasmtime_caller_context(caller)
        var memory = export.of.memory
        let size = host.api.wasmtime_memory_data_size(context, &memory)
        guard size > 0 else { return nil }
        let data = host.api.wasmtime_memory_data(context, &memory)
        host.imports.log(
            pointer: arguments[0].of.i32, length: arguments[1].of.i32,
            memory: UnsafeRawBufferPointer(start: data, count: size))
        return nil
    }

    /// A WASI preview1 function (WASIPreview1.swift); `proc_exit` returns a trap, which ends the call.
    private static let wasi: wasmtime_func_callback_t = { environment, caller, arguments, count, results, resultCount in
        guard let environment, let caller else { return nil }
        let link = Unmanaged<WASIImport>.fromOpaque(environment).takeUnretainedValue()
        let api = link.api
        var raw: [UInt64] = []
        raw.reserveCapacity(count)
        for index in 0..<count {
            guard let argument = arguments?[index] else { break }
            raw.append(Int(argument.kind) == FP_WASMTIME_I64 ? UInt64(bitPattern: argument.of.i64) : UInt64(UInt32(bitPattern: argument.of.i32)))
        }
        var export = wasmtime_extern_t()
        var memory = UnsafeMutableRawBufferPointer(start: nil, count: 0)
        if api.wasmtime_caller_export_get(caller, "memory", 6, &export), Int(export.kind) == FP_WASMTIME_EXTERN_MEMORY {
            let context = api.wasmtime_caller_context(caller)
            var handle = export.of.memory
            let size = api.wasmtime_memory_data_size(context, &handle)
            if size > 0 { memory = UnsafeMutableRawBufferPointer(start: api.wasmtime_memory_data(context, &handle), count: size) }
        }
        switch link.system.call(link.name, raw, memory: memory) {
        case .result(let code):
            guard let results, resultCount >= 1 else { return nil }
            results[0].kind = UInt8(FP_WASMTIME_I32)
            results[0].of.i32 = code
            return nil
        case .none:
            return nil
        case .exit(let code):
            let message = "proc_exit(\(code))"
            return api.wasmtime_trap_new(message, message.utf8.count)
        }
    }

    /// `fp.input(what) -> f32`.
    private static let input: wasmtime_func_callback_t = { environment, _, arguments, count, results, resultCount in
        guard let environment, let arguments, let results, count == 1, resultCount == 1 else { return nil }
        let host = Unmanaged<HostImports>.fromOpaque(environment).takeUnretainedValue()
        results[0].kind = UInt8(FP_WASMTIME_F32)
        results[0].of.f32 = host.imports.input(arguments[0].of.i32)
        return nil
    }

    /// `fp.param(index) -> f32`.
    private static let param: wasmtime_func_callback_t = { environment, _, arguments, count, results, resultCount in
        guard let environment, let arguments, let results, count == 1, resultCount == 1 else { return nil }
        let host = Unmanaged<HostImports>.fromOpaque(environment).takeUnretainedValue()
        results[0].kind = UInt8(FP_WASMTIME_F32)
        results[0].of.f32 = host.imports.param(arguments[0].of.i32)
        return nil
    }

    func functionType(ofExport name: String) -> WasmFunctionType? {
        ABIFunction(rawValue: name).flatMap { exports[$0.ordinal]?.type }
    }

    private(set) var fuelUsedByLastCall: UInt64?

    private func setBudget(_ budget: CallBudget) throws(EngineFailure) {
        if deadline { api.wasmtime_context_set_epoch_deadline(context, WasmtimeEngine.deadlineTicks(budget.deadlineNanos)) }
        if meterFuel, let error = api.wasmtime_context_set_fuel(context, budget.fuel) {
            throw .engine("cannot set fuel: \(WasmtimeErrors.message(of: error, api: api))")
        }
    }

    func call(_ function: ABIFunction, _ arguments: ABIArguments, budget: CallBudget) throws(EngineFailure) -> Int32 {
        guard var export = exports[function.ordinal] else { throw .engine("kernel has no export `\(function.rawValue)`") }
        guard export.hasABIType else {
            throw .engine("export `\(function.rawValue)` has type \(export.type), expected \(function.type)")
        }
        let count: Int
        switch arguments {
        case .none:
            count = 0
        case .size(let width, let height):
            slots[0].i32 = width
            slots[1].i32 = height
            count = 2
        case .frame(let frame, let time, let begin, let end):
            slots[0].i32 = frame
            slots[1].f64 = time
            slots[2].i32 = begin
            slots[3].i32 = end
            count = 4
        }
        precondition(count == export.parameterCount, "\(function.rawValue) takes \(export.parameterCount) arguments")  // invariant 2
        try setBudget(budget)
        var trap: OpaquePointer?
        let error = api.wasmtime_func_call_unchecked(context, &export.function, slots, 4, &trap)
        if error != nil || trap != nil { throw Self.failure(error: error, trap: trap, api: api) }
        if meterFuel {
            var remaining: UInt64 = 0
            if let error = api.wasmtime_context_get_fuel(context, &remaining) {
                api.wasmtime_error_delete(error)
            } else {
                fuelUsedByLastCall = budget.fuel - min(remaining, budget.fuel)
            }
        }
        // The ABI's results are one i32 or none (`hasABIType`).
        return export.resultCount == 0 ? 0 : slots[0].i32
    }

    var memoryByteCount: Int {
        withUnsafePointer(to: memory) { api.wasmtime_memory_data_size(context, $0) }
    }

    func withMemory<Result>(offset: Int, count: Int, _ body: (UnsafeRawBufferPointer) throws -> Result) rethrows
        -> Result
    {
        // Re-read after every call: memory may have grown (the base stays: WasmtimeMemory.swift).
        let (data, size) = withUnsafePointer(to: memory) {
            (api.wasmtime_memory_data(context, $0), api.wasmtime_memory_data_size(context, $0))
        }
        precondition(offset >= 0 && count >= 0 && offset + count <= size, "caller checks the range")
        return try body(UnsafeRawBufferPointer(start: data + offset, count: count))
    }

    func takeRefusedGrowth() -> Int? { growth.takeRefusal() }

    private static func valueTypes(_ vector: UnsafePointer<wasm_valtype_vec_t>, api: fp_wasmtime_api) -> [WasmValueType] {
        (0..<vector.pointee.size).map { index in
            guard let type = vector.pointee.data?[index] else { return .reference }
            switch Int(api.wasm_valtype_kind(type)) {
            case FP_WASM_I32: return .i32
            case FP_WASM_I64: return .i64
            case FP_WASM_F32: return .f32
            case FP_WASM_F64: return .f64
            case FP_WASM_V128: return .v128
            default: return .reference
            }
        }
    }

    /// A failed call or instantiation as an engine-neutral failure; deletes `error` and `trap`.
    static func failure(error: OpaquePointer?, trap: OpaquePointer?, api: fp_wasmtime_api) -> EngineFailure {
        if let trap {
            defer { api.wasm_trap_delete(trap) }
            var frames = wasm_frame_vec_t()
            api.wasm_trap_trace(trap, &frames)
            let backtrace = Self.backtrace(frames, api: api)
            api.wasm_frame_vec_delete(&frames)
            var code: UInt8 = 0
            if api.wasmtime_trap_code(trap, &code) {
                switch Int(code) {
                case FP_WASMTIME_TRAP_INTERRUPT: return .deadlineExceeded(backtrace: backtrace)
                case FP_WASMTIME_TRAP_OUT_OF_FUEL: return .outOfFuel(backtrace: backtrace)
                case FP_WASMTIME_TRAP_STACK_OVERFLOW: return .trap(.callStackExhausted, backtrace: backtrace)
                case FP_WASMTIME_TRAP_MEMORY_OUT_OF_BOUNDS: return .trap(.memoryOutOfBounds, backtrace: backtrace)
                case FP_WASMTIME_TRAP_HEAP_MISALIGNED: return .trap(.unalignedAccess, backtrace: backtrace)
                case FP_WASMTIME_TRAP_TABLE_OUT_OF_BOUNDS: return .trap(.tableOutOfBounds, backtrace: backtrace)
                case FP_WASMTIME_TRAP_INDIRECT_CALL_TO_NULL: return .trap(.indirectCallToNull, backtrace: backtrace)
                case FP_WASMTIME_TRAP_BAD_SIGNATURE: return .trap(.indirectCallTypeMismatch, backtrace: backtrace)
                case FP_WASMTIME_TRAP_INTEGER_OVERFLOW: return .trap(.integerOverflow, backtrace: backtrace)
                case FP_WASMTIME_TRAP_INTEGER_DIVISION_BY_ZERO: return .trap(.integerDivideByZero, backtrace: backtrace)
                case FP_WASMTIME_TRAP_BAD_CONVERSION_TO_INTEGER: return .trap(.invalidConversionToInteger, backtrace: backtrace)
                case FP_WASMTIME_TRAP_UNREACHABLE_CODE_REACHED: return .trap(.unreachable, backtrace: backtrace)
                case FP_WASMTIME_TRAP_NULL_REFERENCE: return .trap(.nullReference, backtrace: backtrace)
                default: break
                }
            }
            var message = wasm_byte_vec_t()
            api.wasm_trap_message(trap, &message)
            let text = withUnsafePointer(to: message) { WasmtimeErrors.string($0) }
            api.wasm_byte_vec_delete(&message)
            if let error { api.wasmtime_error_delete(error) }
            return .trap(.other(WasmtimeErrors.oneLine(text).replacingOccurrences(of: "wasm trap: ", with: "")), backtrace: backtrace)
        }
        guard let error else { return .engine("wasmtime failed without an error") }
        var frames = wasm_frame_vec_t()
        api.wasmtime_error_wasm_trace(error, &frames)
        let backtrace = Self.backtrace(frames, api: api)
        api.wasm_frame_vec_delete(&frames)
        let message = WasmtimeErrors.message(of: error, api: api)
        return backtrace.isEmpty ? .instantiation(message) : .trap(.other(message), backtrace: backtrace)
    }

    /// Frames innermost first, each with its function index, its name-section name if any and its
    /// instruction's offset in the module (for the DWARF line table, WasmSourceMap).
    private static func backtrace(_ frames: wasm_frame_vec_t, api: fp_wasmtime_api) -> [BacktraceFrame] {
        (0..<frames.size).compactMap { index in
            guard let frame = frames.data?[index] else { return nil }
            let name = api.wasmtime_frame_func_name(frame).map { WasmtimeErrors.string($0) }
            // A size_t past Int.max is no offset in any module: dropped rather than trapped on.
            let offset = Int(exactly: api.wasm_frame_module_offset(frame))
            return BacktraceFrame(functionIndex: api.wasm_frame_func_index(frame), name: name, moduleOffset: offset)
        }
    }
}
