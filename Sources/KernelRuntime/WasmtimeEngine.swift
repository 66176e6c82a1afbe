import CSystemShim
import CWasmtime
import Foundation
import Synchronization

/// The wasmtime engine: Cranelift compiles each kernel to machine code once (cached on disk, see
/// `CompileCache`); a wall-clock deadline per call (epoch interruption, ticked by one watchdog thread
/// per engine) stops runaway kernels, with fuel metering on top when asked (`--fuel`). A thin
/// adapter: the ABI, its checks and its messages are in ABIKernel.swift.
///
/// `@unchecked Sendable`: a wasmtime engine and its modules are thread-safe (`Send + Sync` in
/// wasmtime); stores are not, and each belongs to one `WasmtimeInstance`.
public final class WasmtimeEngine: KernelEngine, @unchecked Sendable {
    public let library: WasmtimeLibrary
    /// Fuel metering on (`--fuel` given): costs up to ×1.45 on tight loops, so off by default.
    public let meterFuel: Bool
    /// The wall-clock deadline (epoch interruption). Always on in framepipe; off only in kernel-bench,
    /// to measure what the guard costs.
    public let deadline: Bool
    let engine: OpaquePointer
    /// The deadline's watchdog (none without a deadline).
    private let ticker: EpochTicker?
    let cache: CompileCache?
    /// Everything that changes the machine code: part of the cache key.
    let configuration: String

    /// Compile-cache folder by default: `$XDG_CACHE_HOME/framepipe/wasmtime` (else ~/.cache/…).
    public static var defaultCacheDirectory: String? {
        let environment = ProcessInfo.processInfo.environment
        if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") { return xdg + "/framepipe/wasmtime" }
        guard let home = environment["HOME"], !home.isEmpty else { return nil }
        return home + "/.cache/framepipe/wasmtime"
    }

    public init(
        library: WasmtimeLibrary, meterFuel: Bool = false, cacheDirectory: String? = WasmtimeEngine.defaultCacheDirectory,
        profiling: Profiling = .fromEnvironment, deadline: Bool = true
    ) throws(KernelError) {
        let api = library.api
        let config = api.wasm_config_new()
        api.wasmtime_config_epoch_interruption_set(config, deadline)
        api.wasmtime_config_consume_fuel_set(config, meterFuel)
        api.wasmtime_config_wasm_simd_set(config, true)
        api.wasmtime_config_wasm_bulk_memory_set(config, true)
        // The proposals WasmKit 0.4.2 does not run are off, so that a module is accepted by both
        // engines or refused by both (fuzzing found GC, typed function references and atomics
        // kernels that wasmtime ran and WasmKit refused: docs/fuzzing.md). Atomics are refused by
        // the ABI layer on both (ABIKernel), where WasmKit would decode only some.
        for set in [
            api.wasmtime_config_wasm_gc_set, api.wasmtime_config_wasm_function_references_set,
            api.wasmtime_config_wasm_threads_set, api.wasmtime_config_wasm_memory64_set,
            api.wasmtime_config_wasm_multi_memory_set, api.wasmtime_config_wasm_relaxed_simd_set,
            api.wasmtime_config_wasm_wide_arithmetic_set, api.wasmtime_config_wasm_custom_page_sizes_set,
            api.wasmtime_config_wasm_stack_switching_set,
        ] { set(config, false) }
        api.wasmtime_config_cranelift_opt_level_set(config, UInt8(FP_WASMTIME_OPT_SPEED))
        // Kernels are small; compiling their functions on wasmtime's thread pool would only compete
        // with the workers of a running pipeline (reload compiles while frames are computed).
        api.wasmtime_config_parallel_compilation_set(config, false)
        api.wasmtime_config_profiler_set(config, profiling.strategy)
        WasmtimeMemoryCreator.install(on: config, library: library)
        // Copy-on-write memory images need wasmtime's own mmap-based memories: with host memories a
        // module with data segments panics at instantiation ("memory_image is Some only for
        // mmap-based memories", wasmtime 50: life.wasm did). Data segments are copied in instead.
        api.wasmtime_config_memory_init_cow_set(config, false)
        guard let engine = api.wasm_engine_new_with_config(config) else {
            throw KernelError(.invalidModule, "wasmtime refused its configuration (library \(library.path))")
        }
        self.library = library
        self.meterFuel = meterFuel
        self.deadline = deadline
        self.engine = engine
        self.configuration = "opt=speed;simd=1;bulk-memory=1;proposals=wasmkit-0.4.2;epoch=\(deadline ? 1 : 0);fuel=\(meterFuel ? 1 : 0);memory=host"
        self.cache = cacheDirectory.map { CompileCache(directory: $0) }
        let handle = EngineHandle(api: api, engine: engine)
        self.ticker = deadline ? EpochTicker { handle.api.wasmtime_engine_increment_epoch(handle.engine) } : nil
    }

    deinit {
        ticker?.stop()
        library.api.wasm_engine_delete(engine)
    }

    /// How JIT code is made visible to perf (docs/profiling.md): `FRAMEPIPE_WASMTIME_PROFILER=perfmap`
    /// writes /tmp/perf-PID.map, `jitdump` writes jit-PID.dump for `perf inject --jit`.
    public enum Profiling: Sendable {
        case none, perfMap, jitDump
        var strategy: UInt8 {
            switch self {
            case .none: return UInt8(FP_WASMTIME_PROFILING_NONE)
            case .perfMap: return UInt8(FP_WASMTIME_PROFILING_PERFMAP)
            case .jitDump: return UInt8(FP_WASMTIME_PROFILING_JITDUMP)
            }
        }
        public static var fromEnvironment: Profiling {
            switch ProcessInfo.processInfo.environment["FRAMEPIPE_WASMTIME_PROFILER"] {
            case "perfmap": return .perfMap
            case "jitdump": return .jitDump
            default: return .none
            }
        }
    }

    public var identity: EngineIdentity {
        EngineIdentity(
            name: "wasmtime", version: library.reportedVersion,
            kind: .compiler, mode: "Cranelift JIT")
    }

    public func runawayGuard(under limits: KernelLimits) -> String {
        let fuel = "fuel \(limits.fuelPerTile) per tile"
        guard deadline else { return meterFuel ? fuel : "none (kernel-bench only)" }
        let deadline = "deadline \(ABIInstance.formatMilliseconds(limits.tileTimeoutNanos)) per call (epoch interruption)"
        return meterFuel ? "\(deadline) and \(fuel)" : deadline
    }

    public func compileModule(bytes: [UInt8], path: String) throws(EngineFailure) -> any EngineModule {
        let api = library.api
        let key = cache.map { _ in CompileCache.key(module: bytes, engineVersion: library.version, configuration: configuration) }
        if let cache, let key, let serialized = cache.lookup(key: key) {
            var module: OpaquePointer?
            if let error = api.wasmtime_module_deserialize(engine, serialized, serialized.count, &module) {
                api.wasmtime_error_delete(error)
            } else if let module {
                return WasmtimeModule(engine: self, module: module, compiledFrom: .cache)
            }
        }
        var module: OpaquePointer?
        if let error = api.wasmtime_module_new(engine, bytes, bytes.count, &module) {
            throw .invalidModule(WasmtimeErrors.message(of: error, api: api))
        }
        guard let module else { throw .engine("wasmtime returned no module") }
        if let cache, let key {
            var serialized = wasm_byte_vec_t()
            if api.wasmtime_module_serialize(module, &serialized).map({ api.wasmtime_error_delete($0) }) == nil,
                let data = serialized.data
            {
                cache.store(key: key, payload: UnsafeRawBufferPointer(start: data, count: serialized.size))
                api.wasm_byte_vec_delete(&serialized)
            }
        }
        return WasmtimeModule(engine: self, module: module, compiledFrom: .source)
    }

    /// Epoch ticks between deadline checks.
    static let tickNanos: UInt64 = 5_000_000

    /// Ticks for a deadline of `nanos`: at least `nanos` pass before the deadline hits (the first
    /// tick may come at once), at most `nanos` + one tick.
    static func deadlineTicks(_ nanos: UInt64) -> UInt64 { nanos / tickNanos + 1 }
}

/// The engine pointer and entry points, for the watchdog thread.
private struct EngineHandle: @unchecked Sendable {
    // @unchecked: wasmtime_engine_increment_epoch is documented as safe from any thread.
    let api: fp_wasmtime_api
    let engine: OpaquePointer
}

/// The watchdog: one thread per engine that advances its epoch every `WasmtimeEngine.tickNanos`,
/// which is what makes a running call see its deadline.
final class EpochTicker: Sendable {
    private let stopped = Atomic<Bool>(false)
    private let exited = DispatchSemaphore(value: 0)

    init(tick: @escaping @Sendable () -> Void) {
        let thread = Thread { [self] in
            Thread.current.name = "fp-wasm-epoch"
            var interval = timespec(tv_sec: 0, tv_nsec: Int(WasmtimeEngine.tickNanos))
            while !stopped.load(ordering: .relaxed) {
                nanosleep(&interval, nil)
                tick()
            }
            exited.signal()
        }
        thread.stackSize = 256 << 10
        thread.start()
    }

    func stop() {
        stopped.store(true, ordering: .relaxed)
        exited.wait()
    }
}

/// A compiled wasmtime module. Thread-safe (see `WasmtimeEngine`).
final class WasmtimeModule: EngineModule, @unchecked Sendable {
    enum Origin: Sendable { case source, cache }
    let engine: WasmtimeEngine
    let module: OpaquePointer
    let imports: [ModuleImport]
    let exports: [ModuleExport]
    /// Whether this module was compiled now or read from the compile cache.
    let compiledFrom: Origin

    init(engine: WasmtimeEngine, module: OpaquePointer, compiledFrom: Origin) {
        self.engine = engine
        self.module = module
        self.compiledFrom = compiledFrom
        let api = engine.library.api
        var importTypes = wasm_importtype_vec_t()
        api.wasmtime_module_imports(module, &importTypes)
        imports = (0..<importTypes.size).compactMap { index in
            guard let entry = importTypes.data?[index] else { return nil }
            return ModuleImport(
                module: WasmtimeErrors.string(api.wasm_importtype_module(entry)),
                name: WasmtimeErrors.string(api.wasm_importtype_name(entry)),
                kind: Self.kind(api.wasm_externtype_kind(api.wasm_importtype_type(entry))))
        }
        api.wasm_importtype_vec_delete(&importTypes)
        var exportTypes = wasm_exporttype_vec_t()
        api.wasmtime_module_exports(module, &exportTypes)
        exports = (0..<exportTypes.size).compactMap { index in
            guard let entry = exportTypes.data?[index] else { return nil }
            return ModuleExport(
                name: WasmtimeErrors.string(api.wasm_exporttype_name(entry)),
                kind: Self.kind(api.wasm_externtype_kind(api.wasm_exporttype_type(entry))))
        }
        api.wasm_exporttype_vec_delete(&exportTypes)
    }

    deinit { engine.library.api.wasmtime_module_delete(module) }

    static func kind(_ code: UInt8) -> ExternKind {
        switch Int(code) {
        case FP_WASM_EXTERN_FUNC: return .function
        case FP_WASM_EXTERN_GLOBAL: return .global
        case FP_WASM_EXTERN_TABLE: return .table
        case FP_WASM_EXTERN_MEMORY: return .memory
        default: return .tag
        }
    }

    func instantiate(limits: KernelLimits, imports: KernelImports) throws(EngineFailure) -> any EngineInstance {
        try WasmtimeInstance(module: self, limits: limits, imports: imports)
    }
}

/// Turning wasmtime's errors and names into Swift strings.
enum WasmtimeErrors {
    static func string(_ name: UnsafePointer<wasm_byte_vec_t>) -> String {
        guard let data = name.pointee.data else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: data, count: name.pointee.size), as: UTF8.self)
    }

    /// The first line of an error's message (wasmtime's are several lines: "…\n\nCaused by: …"),
    /// with the last "Caused by" reason where there is one, which says what is wrong. Deletes `error`.
    static func message(of error: OpaquePointer, api: fp_wasmtime_api) -> String {
        var text = wasm_byte_vec_t()
        api.wasmtime_error_message(error, &text)
        let message = withUnsafePointer(to: text) { string($0) }
        api.wasm_byte_vec_delete(&text)
        api.wasmtime_error_delete(error)
        return oneLine(message)
    }

    static func oneLine(_ message: String) -> String {
        let lines = message.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        guard let first = lines.first, first != "Caused by:" else { return "unknown error" }
        // The lines after "Caused by:" are the causes, outermost first: numbered "0: reason" when
        // there are several, unnumbered when there is one. The innermost is the most specific.
        guard let marker = lines.firstIndex(of: "Caused by:"), let cause = lines[(marker + 1)...].last else { return first }
        var reason = Substring(cause)
        if let colon = reason.firstIndex(of: ":"), colon > reason.startIndex, reason[..<colon].allSatisfy(\.isNumber) {
            reason = reason[reason.index(after: colon)...].drop { $0 == " " }
        }
        return "\(first): \(reason)"
    }
}
