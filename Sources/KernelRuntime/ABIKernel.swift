import Foundation

/// A module that passed the ABI v1 checks that need no instance (magic, imports, exports), compiled by
/// one engine. Immutable and shareable: every worker instantiates it into a store of its own.
/// Every check and message here is the same for every engine (KernelEngine.swift).
public struct ABIKernel: CompiledKernel {
    public let path: String
    public let name: String
    public let byteCount: Int
    public let engine: any KernelEngine
    let module: any EngineModule
    /// Function index → export name, to name backtrace frames of modules without a name section.
    let exportedFunctionNames: [UInt32: String]
    /// The DWARF line table and code layout, for `file:line` in backtraces; nil without `.debug_line`.
    let sourceMap: WasmSourceMap?
    /// The per-frame `fp.log` allowance all instances of this kernel share.
    let logAllowance = LogAllowance()

    public init(engine: any KernelEngine, bytes: [UInt8], path: String) throws(KernelError) {
        self.path = path
        self.name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        self.byteCount = bytes.count
        self.engine = engine
        guard bytes.count >= 4, bytes[0..<4].elementsEqual([0x00, 0x61, 0x73, 0x6D]) else {
            throw KernelError(
                .invalidModule,
                "\(path): not a WebAssembly module (no \\0asm header); build kernels with scripts/build-kernels.sh")
        }
        // The ABI's checks of imports and exports, first on the module's own sections (so every
        // engine reports a broken interface before it judges the bodies), then on what the engine read.
        if let interface = WasmBinary.interface(bytes) {
            try Self.checkInterface(imports: interface.imports, exports: interface.exports, path: path)
            try Self.checkImportTypes(WasmBinary.importedFunctionTypes(bytes), path: path)
        }
        if ModuleOperators.scan(bytes)?.atomics == true {
            throw KernelError(
                .invalidModule,
                "\(path): uses atomic operations (the threads proposal); kernels run single-threaded: build without -pthread or -matomics (docs/kernel-abi.md)"
            )
        }
        let module: any EngineModule
        do {
            module = try engine.compileModule(bytes: bytes, path: path)
        } catch {
            throw Self.invalidModule(path: path, error)
        }
        try Self.checkInterface(imports: module.imports, exports: module.exports, path: path)
        self.module = module
        self.exportedFunctionNames = WasmBinary.exportedFunctionNames(bytes)
        self.sourceMap = WasmSourceMap.hasDebugLine(bytes) ? WasmSourceMap(module: bytes) : nil
    }

    /// Each `fp` and WASI import has the type the host defines it with: refused here, in the host's words, rather
    /// than at instantiation in each engine's own.
    static func checkImportTypes(_ imports: [(module: String, name: String, type: WasmFunctionType)], path: String)
        throws(KernelError)
    {
        for entry in imports {
            if entry.module == WASI.module, let refusal = WASI.refusal(name: entry.name, type: entry.type) {
                throw KernelError(.invalidModule, "\(path): \(refusal) (docs/kernel-abi.md, \"WASI subset\")")
            }
            if entry.module == KernelABI.importModule, let expected = KernelABI.imports.first(where: { $0.name == entry.name })?.type,
                expected != entry.type
            {
                throw KernelError(
                    .invalidModule,
                    "\(path): imports `fp.\(entry.name)` as \(entry.type), but the host defines it as \(expected) (docs/kernel-abi.md, \"Imports\")")
            }
        }
    }

    /// Imports only `fp.log` and `fp.input`, exports `memory` and every required function.
    static func checkInterface(imports: [ModuleImport], exports: [ModuleExport], path: String) throws(KernelError) {
        for entry in imports {
            if entry.module == WASI.module, entry.kind == .function {
                if let refusal = WASI.refusal(name: entry.name, type: nil) {
                    throw KernelError(.invalidModule, "\(path): \(refusal) (docs/kernel-abi.md, \"WASI subset\")")
                }
                continue
            }
            let allowed = entry.module == KernelABI.importModule && KernelABI.importNames.contains(entry.name)
            guard allowed, entry.kind == .function else {
                throw KernelError(
                    .invalidModule,
                    "\(path): imports `\(entry.module).\(entry.name)`, which the host does not provide; kernels may import only fp.log, fp.input, fp.param and the WASI preview1 subset (docs/kernel-abi.md)"
                )
            }
        }
        guard exports.contains(ModuleExport(name: "memory", kind: .memory)) else {
            throw KernelError(
                .invalidModule, "\(path): kernel does not export its linear memory as `memory` (docs/kernel-abi.md)")
        }
        let exported = Set(exports.map(\.name))
        for function in ABIFunction.allCases where function.isRequired && !exported.contains(function.rawValue) {
            throw KernelError(
                .invalidModule,
                "\(path): kernel is missing required export `\(function.rawValue)` \(function.type) (docs/kernel-abi.md)")
        }
    }

    /// A module that is not valid wasm, whenever the engine finds out (wasmtime validates every
    /// function when it compiles, WasmKit when it instantiates): one message for both.
    static func invalidModule(path: String, _ failure: EngineFailure) -> KernelError {
        KernelError(
            .invalidModule,
            "\(path): invalid or truncated WebAssembly module: \(ABIInstance.reason(of: failure)); rebuild it with scripts/build-kernels.sh"
        )
    }

    public var boundsTimeByFuel: Bool { engine.boundsTimeByFuel }
    public var exportNames: [String] { module.exports.map(\.name) }
    public var importNames: [String] { module.imports.map { "\($0.module).\($0.name)" } }

    public func instantiate(width: Int, height: Int, limits: KernelLimits, host: KernelHost) throws(KernelError)
        -> any KernelInstance
    {
        try ABIInstance(kernel: self, width: width, height: height, limits: limits, host: host)
    }
}

/// One isolated, initialised instance on any engine: the ABI handshake, the frame calls, the
/// output-region checks and the fault messages.
/// `@unchecked Sendable`: used by one thread at a time (engine stores are not thread-safe); the pool
/// hands an instance to another thread only through a lock, which orders every access.
public final class ABIInstance: KernelInstance, @unchecked Sendable {
    public let kernel: ABIKernel
    public let width: Int
    public let height: Int
    public let format: KernelFormat
    public let isStateful: Bool
    public let unitCount: Int
    public let bytesPerUnit: Int
    /// Where the output is, as `fp_output` last said: asked again after every `fp_frame`, so a kernel
    /// may move (double-buffer) its output between frames, and one that lies is caught.
    public private(set) var outputOffset: Int
    public let limits: KernelLimits
    /// The parameters the kernel declares (empty without `fp_param_count` and `fp_params`).
    public let parameters: [KernelParameter]
    private let raw: any EngineInstance
    private let imports: KernelImports

    /// Instantiates and initialises the kernel for a `width`×`height` frame, checking the whole ABI.
    public init(
        kernel: ABIKernel, width: Int, height: Int, limits: KernelLimits = KernelLimits(), host: KernelHost = .headless
    ) throws(KernelError) {
        let path = kernel.path
        guard (1...KernelABI.maxSide).contains(width), (1...KernelABI.maxSide).contains(height) else {
            throw KernelError(
                .invalidModule, "frame size \(width)x\(height) is outside 1x1...\(KernelABI.maxSide)x\(KernelABI.maxSide)")
        }
        self.kernel = kernel
        self.width = width
        self.height = height
        self.limits = limits
        let imports = try KernelImports(host: host, kernelName: kernel.name, logAllowance: kernel.logAllowance)
        self.imports = imports
        let raw: any EngineInstance
        do {
            raw = try kernel.module.instantiate(limits: limits, imports: imports)
        } catch {
            if case .initialMemoryTooLarge(let bytes) = error {
                throw KernelError(
                    .invalidModule,
                    "\(path): the kernel's initial memory (\(Self.mebibytes(bytes))) exceeds the limit of \(Self.mebibytes(limits.maxMemoryBytes)); raise --max-memory",
                    fault: .memoryRefused)
            }
            if case .invalidModule = error { throw ABIKernel.invalidModule(path: path, error) }
            throw KernelError(.invalidModule, "\(path): cannot instantiate kernel: \(Self.reason(of: error))")
        }
        self.raw = raw

        // Signatures: checked on the instance, where every engine resolves export types.
        for function in ABIFunction.allCases {
            guard let type = raw.functionType(ofExport: function.rawValue) else {
                if function.isRequired {
                    throw KernelError(
                        .invalidModule,
                        "\(path): kernel is missing required export `\(function.rawValue)` \(function.type) (docs/kernel-abi.md)")
                }
                continue
            }
            guard type == function.type else {
                throw KernelError(
                    .invalidModule,
                    "\(path): export `\(function.rawValue)` has type \(type), expected \(function.type) (docs/kernel-abi.md)")
            }
        }
        let hasPoints = raw.functionType(ofExport: ABIFunction.points.rawValue) != nil
        let hasStateful = raw.functionType(ofExport: ABIFunction.stateful.rawValue) != nil

        func setup(_ function: ABIFunction, _ arguments: ABIArguments = .none) throws(KernelError) -> Int32 {
            let result: Int32
            let budget = function == .initialize || function == .reactorInitialize ? limits.setupBudget : limits.probeBudget
            do {
                result = try raw.call(function, arguments, budget: budget)
            } catch {
                let (reason, fault) = Self.describe(
                    error, refusedGrowth: raw.takeRefusedGrowth(), kernel: kernel, limits: limits, budget: budget,
                    exitCode: imports.wasi.takeExit())
                throw KernelError(.invalidModule, "\(path): \(function.rawValue) failed: \(reason)", fault: fault)
            }
            if let refused = raw.takeRefusedGrowth() {
                throw KernelError(
                    .invalidModule,
                    "\(path): \(function.rawValue) asked to grow memory to \(Self.mebibytes(refused)), over the limit of \(Self.mebibytes(limits.maxMemoryBytes)); raise --max-memory or use a smaller --size",
                    fault: .memoryRefused)
            }
            return result
        }

        if let type = raw.functionType(ofExport: ABIFunction.reactorInitialize.rawValue) {
            guard type == ABIFunction.reactorInitialize.type else {
                throw KernelError(
                    .invalidModule, "\(path): export `_initialize` has type \(type), expected \(ABIFunction.reactorInitialize.type)")
            }
            _ = try setup(.reactorInitialize)
        }
        let abiVersion = try setup(.abiVersion)
        guard abiVersion == KernelABI.version else {
            throw KernelError(
                .invalidModule,
                "\(path): kernel ABI version \(abiVersion) is not supported; this host runs ABI v\(KernelABI.version) (docs/kernel-abi.md)"
            )
        }
        let formatCode = try setup(.format)
        guard let format = KernelFormat(rawValue: formatCode) else {
            throw KernelError(
                .invalidModule,
                "\(path): fp_format returned \(formatCode); it must be 1 (RGBA8), 2 (f32 field) or 3 (points)")
        }
        self.format = format
        if hasStateful {
            let answer = try setup(.stateful)
            guard answer == 0 || answer == 1 else {
                throw KernelError(
                    .invalidModule, "\(path): fp_stateful returned \(answer); it must be 0 (stateless) or 1 (stateful)")
            }
            self.isStateful = answer == 1
        } else {
            self.isStateful = false
        }

        self.parameters = try Self.readParameters(
            hasCount: raw.functionType(ofExport: ABIFunction.parameterCount.rawValue) != nil,
            hasTable: raw.functionType(ofExport: ABIFunction.parameterTable.rawValue) != nil, raw: raw, path: path,
            setup: setup)
        // fp_init already sees the run's values (a kernel may size its state from one).
        imports.parameters = KernelParameterValues(parameters, overrides: host.parameterOverrides)

        let initResult = try setup(.initialize, .size(width: Int32(width), height: Int32(height)))
        guard initResult == 0 else {
            throw KernelError(
                .invalidModule, "\(path): fp_init(\(width), \(height)) returned error code \(initResult)", fault: .errorCode)
        }

        switch format {
        case .rgba8, .f32Field:
            unitCount = height
            bytesPerUnit = width * 4
        case .points:
            guard hasPoints else {
                throw KernelError(.invalidModule, "\(path): format 3 (points) kernels must export `fp_points` () -> (i32)")
            }
            let points = try setup(.points)
            guard points > 0, Int(points) <= KernelABI.maxPoints else {
                throw KernelError(
                    .invalidModule, "\(path): fp_points returned \(points); it must be in 1...\(KernelABI.maxPoints)")
            }
            unitCount = Int(points)
            bytesPerUnit = KernelABI.bytesPerPoint
        }
        outputOffset = Int(UInt32(bitPattern: try setup(.output)))
        do {
            try checkOutputRegion()
        } catch {
            throw KernelError(.invalidModule, error.message, fault: error.fault)
        }
    }

    /// The values `fp.param` answers from the next `fp_frame` call on (the pool sets each frame's before its tiles).
    public var parameterValues: KernelParameterValues {
        get { imports.parameters }
        set {
            precondition(newValue.count == parameters.count, "values for this kernel's parameters")
            imports.parameters = newValue
        }
    }

    /// Reads and checks the parameter table (docs/kernel-abi.md, "Parameters"), before `fp_init`.
    private static func readParameters(
        hasCount: Bool, hasTable: Bool, raw: any EngineInstance, path: String,
        setup: (ABIFunction, ABIArguments) throws(KernelError) -> Int32
    ) throws(KernelError) -> [KernelParameter] {
        guard hasCount || hasTable else { return [] }
        guard hasCount, hasTable else {
            throw KernelError(
                .invalidModule,
                "\(path): exports \(hasCount ? "fp_param_count" : "fp_params") without \(hasCount ? "fp_params" : "fp_param_count"); a kernel with parameters exports both (docs/kernel-abi.md)"
            )
        }
        let count = try setup(.parameterCount, .none)
        guard (0...Int32(KernelParameter.maxCount)).contains(count) else {
            throw KernelError(
                .invalidModule, "\(path): fp_param_count returned \(count); it must be in 0...\(KernelParameter.maxCount)")
        }
        let offset = Int(UInt32(bitPattern: try setup(.parameterTable, .none)))
        let bytes = Int(count) * KernelParameter.entryBytes
        guard offset <= raw.memoryByteCount - bytes else {
            throw KernelError(
                .invalidModule,
                "\(path): fp_params points at \(offset)..<\(offset + bytes), outside the kernel's \(raw.memoryByteCount)-byte memory")
        }
        do {
            return try raw.withMemory(offset: offset, count: bytes) { try KernelParameter.parseTable($0, count: Int(count)) }
        } catch let error as ParameterTableError {
            throw KernelError(.invalidModule, "\(path): fp_params: \(error.reason) (docs/kernel-abi.md)")
        } catch {
            throw KernelError(.invalidModule, "\(path): fp_params: \(error)")
        }
    }

    /// The output region must lie inside linear memory; checked after every call that may move it.
    private func checkOutputRegion(after call: @autoclosure () -> String? = nil) throws(KernelError) {
        let end = outputOffset + outputByteCount
        let memoryBytes = raw.memoryByteCount
        guard end <= memoryBytes else {
            throw KernelError(
                .runtimeFault,
                "\(kernel.path): \(call().map { "after \($0), " } ?? "")output region \(outputOffset)..<\(end) (\(outputByteCount) bytes for \(unitCount) \(format.unitName)) lies outside the kernel's \(memoryBytes)-byte memory",
                fault: .outputOutsideMemory)
        }
    }

    /// Fuel the last `fp_frame` call burned, where the engine meters fuel (for sizing `--fuel`;
    /// kernel-bench prints it per gallery kernel).
    public private(set) var fuelUsedByLastRun: UInt64 = 0

    public func run(frame: Int32, time: Double, units: Range<Int>) throws(KernelError) {
        guard units.lowerBound >= 0, units.upperBound <= unitCount, !units.isEmpty else {
            throw KernelError(.runtimeFault, "units \(units) are outside 0..<\(unitCount)")
        }
        // Written only on the way to an error: formatting it on every call cost more than the call into wasmtime.
        var call: String { "fp_frame(frame \(frame), \(format.unitName) \(units.lowerBound)..<\(units.upperBound))" }
        let budget = limits.tileBudget
        imports.beginFrame(frame, time: time, firstUnit: Int32(units.lowerBound))
        let code: Int32
        do {
            code = try raw.call(
                .frame, .frame(frame: frame, time: time, begin: Int32(units.lowerBound), end: Int32(units.upperBound)),
                budget: budget)
        } catch {
            let (reason, fault) = Self.describe(
                error, refusedGrowth: raw.takeRefusedGrowth(), kernel: kernel, limits: limits, budget: budget,
                exitCode: imports.wasi.takeExit())
            throw KernelError(.runtimeFault, "\(kernel.path): \(call) \(reason)", fault: fault)
        }
        fuelUsedByLastRun = raw.fuelUsedByLastCall ?? 0
        if let refused = raw.takeRefusedGrowth() {
            throw KernelError(
                .runtimeFault,
                "\(kernel.path): \(call) asked to grow memory to \(Self.mebibytes(refused)), over the limit of \(Self.mebibytes(limits.maxMemoryBytes)) (raise --max-memory)",
                fault: .memoryRefused)
        }
        if code != 0 {
            throw KernelError(.runtimeFault, "\(kernel.path): \(call) returned error code \(code)", fault: .errorCode)
        }
        do {
            outputOffset = Int(UInt32(bitPattern: try raw.call(.output, .none, budget: limits.probeBudget)))
        } catch {
            let (reason, fault) = Self.describe(error, refusedGrowth: raw.takeRefusedGrowth(), kernel: kernel, limits: limits, budget: limits.probeBudget)
            throw KernelError(.runtimeFault, "\(kernel.path): fp_output after \(call) \(reason)", fault: fault)
        }
        try checkOutputRegion(after: call)
    }

    public func withOutput<Result>(units: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> Result) throws
        -> Result
    {
        try checkOutputRegion()
        guard units.lowerBound >= 0, units.upperBound <= unitCount else {
            throw KernelError(.runtimeFault, "units \(units) are outside 0..<\(unitCount)")
        }
        return try raw.withMemory(
            offset: outputOffset + units.lowerBound * bytesPerUnit, count: units.count * bytesPerUnit, body)
    }

    public var memoryByteCount: Int { raw.memoryByteCount }

    static func mebibytes(_ bytes: Int) -> String {
        bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : String(format: "%.1f MiB", Double(bytes) / 1048576)
    }

    /// The one-line reason of an engine failure that is not a run-time fault (compile, link).
    static func reason(of failure: EngineFailure) -> String {
        switch failure {
        case .invalidModule(let text), .instantiation(let text), .engine(let text): return text
        case .initialMemoryTooLarge(let bytes): return "initial memory of \(mebibytes(bytes)) is over the limit"
        case .trap(let reason, _): return "trapped: \(reason.text)"
        case .outOfFuel: return "ran out of fuel"
        case .deadlineExceeded, .timeBudgetExhausted: return "ran past its deadline"
        }
    }

    /// The words and the fault kind of a failed call, then the wasm backtrace when there is one
    /// ("backtrace: shade ← fp_frame", innermost first, collapsed: KernelText.backtrace). A refused
    /// memory growth comes first, whatever followed it: a kernel that trapped, looped or ran out of
    /// time after it was refused memory (ignoring the -1) failed for want of memory.
    static func describe(
        _ failure: EngineFailure, refusedGrowth: Int?, kernel: ABIKernel, limits: KernelLimits, budget: CallBudget,
        exitCode: Int32? = nil
    )
        -> (String, KernelError.Fault)
    {
        func backtrace(_ frames: [BacktraceFrame]) -> String {
            let located = kernel.locate(frames)
            let entries = zip(frames, located).map { frame, location in
                // Rust and C++ frames are named by their mangled symbols: shown decoded (SymbolNames).
                let name = frame.name.map(SymbolNames.readable) ?? frame.functionIndex.flatMap { kernel.exportedFunctionNames[$0] }
                    ?? frame.functionIndex.map { "wasm function[\($0)]" } ?? "unknown"
                return (name: name, location: location?.description)
            }
            return entries.isEmpty ? "" : "; backtrace: " + KernelText.backtrace(entries)
        }
        let deadline = formatMilliseconds(budget.deadlineNanos)
        let (reason, frames, fault): (String, [BacktraceFrame], KernelError.Fault)
        switch failure {
        case .outOfFuel(let backtrace):
            (reason, frames, fault) = (
                "ran out of fuel after \(budget.fuel) units (an endless loop? raise --fuel if the kernel really needs more)",
                backtrace, .fuelExhausted
            )
        case .deadlineExceeded(let backtrace):
            (reason, frames, fault) = (
                "ran past its deadline of \(deadline) (an endless loop? raise --tile-timeout if the kernel really needs more)",
                backtrace, .timeout
            )
        case .timeBudgetExhausted(let fuel, let backtrace):
            (reason, frames, fault) = (
                "used up its time budget: \(fuel) units of fuel, what its slowest code can burn in \(deadline) on this interpreter "
                    + "(an endless loop? raise --tile-timeout if the kernel really needs more, or run it on wasmtime)",
                backtrace, .timeout
            )
        case .trap where exitCode != nil:
            // No backtrace: WasmKit has none for a call the host ends, and the code says what happened.
            (reason, frames, fault) = (
                "called proc_exit(\(exitCode ?? 0)) (exit() in C, std::process::exit in Rust; a kernel reports failure by returning a non-zero code instead)",
                [], .trap
            )
        case .trap(let trap, let backtrace) where Self.isStackOverflow(trap, backtrace):
            // "trapped: REASON" stays first: scripts and the fuzzer read the trap's kind from it.
            (reason, frames, fault) = ("trapped: \(trap.text) (a stack overflow: deep recursion)", backtrace, .trap)
        case .trap(let trap, let backtrace):
            (reason, frames, fault) = ("trapped: \(trap.text)", backtrace, .trap)
        case .invalidModule, .instantiation, .initialMemoryTooLarge, .engine:
            (reason, frames, fault) = ("failed: \(Self.reason(of: failure))", [], .trap)
        }
        if let refusedGrowth {
            return (
                "failed after its memory growth to \(mebibytes(refusedGrowth)) was refused (limit \(mebibytes(limits.maxMemoryBytes)), raise --max-memory); then it \(reason)\(backtrace(frames))",
                .memoryRefused
            )
        }
        return (reason + backtrace(frames), fault)
    }

    /// The engine's own stack ran out, or a clang/Rust shadow stack (in linear memory, below the data) ran past
    /// address 0 inside a recursion: both are stack overflows to the kernel's author.
    static func isStackOverflow(_ trap: TrapReason, _ frames: [BacktraceFrame]) -> Bool {
        if trap == .callStackExhausted { return true }
        guard trap == .memoryOutOfBounds, frames.count >= wasmtimeTraceFrames else { return false }
        // Judged on the innermost frames wasmtime keeps, so both engines answer alike for one kernel.
        var counts: [String: Int] = [:]
        for frame in frames.prefix(wasmtimeTraceFrames) {
            counts[frame.name ?? frame.functionIndex.map { "#\($0)" } ?? "?", default: 0] += 1
        }
        return (counts.values.max() ?? 0) * 2 >= wasmtimeTraceFrames
    }

    /// wasmtime keeps the innermost 20 frames of a trace (its `wasm_backtrace_max_frames`, which the C
    /// API cannot set); WasmKit keeps them all.
    static let wasmtimeTraceFrames = 20

    static func formatMilliseconds(_ nanos: UInt64) -> String {
        nanos % 1_000_000 == 0 ? "\(nanos / 1_000_000) ms" : String(format: "%.1f ms", Double(nanos) / 1e6)
    }
}

extension ABIKernel {
    /// Each frame's source location where the module has a line table: on wasmtime the line of the
    /// frame's instruction (its module offset), on WasmKit, which gives no offsets, the line where the
    /// frame's function starts (the function found by index, else by its name-section name). Looked
    /// up once per distinct offset or function, so a 10 000-frame recursion costs a few lookups.
    func locate(_ frames: [BacktraceFrame]) -> [SourceLocation?] {
        guard let map = sourceMap else { return frames.map { _ in nil } }
        var byOffset: [Int: SourceLocation?] = [:]
        var byFunction: [UInt32: SourceLocation?] = [:]
        return frames.map { frame in
            if let offset = frame.moduleOffset {
                let location = byOffset[offset] ?? map.location(moduleOffset: offset)
                byOffset[offset] = location
                if let location { return location }
            }
            guard let index = frame.functionIndex ?? frame.name.flatMap(map.functionIndex(named:)) else { return nil }
            let location = byFunction[index] ?? map.location(functionIndex: index)
            byFunction[index] = location
            return location
        }
    }
}
