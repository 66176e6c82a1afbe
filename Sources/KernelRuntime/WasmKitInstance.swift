import Foundation
import Synchronization
@_spi(Fuzzing) import WasmKit  // Store.resourceLimiter is SPI in 0.4.2: the only way to cap memory growth

/// Enforces `KernelLimits.maxMemoryBytes`: refuses growth past it and remembers the refusal, so a
/// kernel that carries on after `memory.grow` returned −1 still has its frame marked failed.
final class MemoryLimiter: ResourceLimiter {
    let maxBytes: Int
    /// The largest size asked for and refused since the last `takeRefusal()` (0 = none).
    private let refusedBytes = Atomic<Int>(0)

    init(maxBytes: Int) { self.maxBytes = maxBytes }

    func limitMemoryGrowth(to desired: Int) throws -> Bool {
        guard desired <= maxBytes else {
            refusedBytes.store(desired, ordering: .relaxed)
            return false
        }
        return true
    }

    func limitTableGrowth(to desired: Int) throws -> Bool { desired <= 1 << 20 }

    func takeRefusal() -> Int? {
        let bytes = refusedBytes.exchange(0, ordering: .relaxed)
        return bytes == 0 ? nil : bytes
    }
}

/// One isolated, initialised instance: its own engine, store and linear memory.
/// `@unchecked Sendable`: used by one thread at a time (WasmKit stores are not thread-safe); the pool
/// hands an instance to another thread only through a lock, which orders every access.
public final class WasmKitInstance: KernelInstance, @unchecked Sendable {
    public let kernel: WasmKitKernel
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

    private let store: Store
    private let memory: Memory
    private let limiter: MemoryLimiter
    private let frameFunction: Function
    private let outputFunction: Function
    private var stack: ExecutionStack

    /// Fuel for the setup calls (`fp_abi_version`, `fp_format`, `fp_init`, ...): they should be tiny,
    /// but `fp_init` may seed a large state.
    static let setupFuel: UInt64 = 4_000_000_000

    /// Instantiates and initialises the kernel for a `width`×`height` frame, checking the whole ABI.
    public init(
        kernel: WasmKitKernel, width: Int, height: Int, limits: KernelLimits = KernelLimits(),
        host: KernelHost = .headless
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
                    let memory = caller.instance?.exports[memory: "memory"]
                else { return [] }
                let start = Int(pointer)
                let count = min(Int(length), 4096)  // a log line, not a dump
                guard count > 0, start <= memory.byteCount - count else { return [] }
                let text = memory.withUnsafeBufferPointer(offset: UInt(start), count: count) {
                    String(decoding: $0, as: UTF8.self)
                }
                host.log(text)
                return []
            })
        imports.define(
            module: KernelABI.importModule, name: "input",
            Function(store: store, parameters: [.i32], results: [.f32]) { _, arguments in
                guard case .i32(let what) = arguments[0] else { return [.f32(Float(0).bitPattern)] }
                return [.f32(host.input(Int32(bitPattern: what)).bitPattern)]
            })

        let instance: Instance
        do {
            store.fuel = Fuel(remaining: Self.setupFuel)
            instance = try kernel.module.instantiate(store: store, imports: imports)
        } catch {
            if let refused = limiter.takeRefusal() {
                throw KernelError(
                    .invalidModule,
                    "\(path): the kernel's initial memory (\(Self.mebibytes(refused))) exceeds the limit of \(Self.mebibytes(limits.maxMemoryBytes)); raise --max-memory",
                    fault: .memoryRefused)
            }
            throw KernelError(.invalidModule, "\(path): cannot instantiate kernel: \(error)")
        }

        // Signatures: checked on the instance, where WasmKit resolves export types for us.
        func function(_ name: String, _ type: FunctionType, required: Bool) throws(KernelError) -> Function? {
            guard let function = instance.exports[function: name] else {
                if required {
                    throw KernelError(
                        .invalidModule,
                        "\(path): kernel is missing required export `\(name)` \(WasmKitEngine.describe(type)) (docs/kernel-abi.md)"
                    )
                }
                return nil
            }
            guard function.type == type else {
                throw KernelError(
                    .invalidModule,
                    "\(path): export `\(name)` has type \(WasmKitEngine.describe(function.type)), expected \(WasmKitEngine.describe(type)) (docs/kernel-abi.md)"
                )
            }
            return function
        }
        var required: [String: Function] = [:]
        for entry in WasmKitEngine.requiredFunctions {
            required[entry.name] = try function(entry.name, entry.type, required: true)
        }
        let pointsFunction = try function(WasmKitEngine.pointsFunction.0, WasmKitEngine.pointsFunction.1, required: false)
        let statefulFunction = try function(
            WasmKitEngine.statefulFunction.0, WasmKitEngine.statefulFunction.1, required: false)
        guard let memory = instance.exports[memory: "memory"],
            let abiVersionFunction = required["fp_abi_version"], let formatFunction = required["fp_format"],
            let initFunction = required["fp_init"], let outputFunction = required["fp_output"],
            let frameFunction = required["fp_frame"]
        else {
            throw KernelError(.invalidModule, "\(path): kernel does not export its linear memory as `memory`")
        }
        self.memory = memory
        self.frameFunction = frameFunction
        self.outputFunction = outputFunction
        self.stack = ExecutionStack(engine: engine)

        func callI32(_ function: Function, _ name: String, _ arguments: [Value] = []) throws(KernelError) -> Int32 {
            store.fuel = Fuel(remaining: Self.setupFuel)
            let results: [Value]
            do {
                results = try function.invoke(arguments)
            } catch {
                let (reason, fault) = Self.describe(error, limiter: limiter, fuel: Self.setupFuel)
                throw KernelError(.invalidModule, "\(path): \(name) failed: \(reason)", fault: fault)
            }
            if let refused = limiter.takeRefusal() {
                throw KernelError(
                    .invalidModule,
                    "\(path): \(name) asked to grow memory to \(Self.mebibytes(refused)), over the limit of \(Self.mebibytes(limits.maxMemoryBytes)); raise --max-memory or use a smaller --size",
                    fault: .memoryRefused)
            }
            guard case .i32(let bits) = results.first else {
                throw KernelError(.invalidModule, "\(path): \(name) returned no i32")
            }
            return Int32(bitPattern: bits)
        }

        let abiVersion = try callI32(abiVersionFunction, "fp_abi_version")
        guard abiVersion == KernelABI.version else {
            throw KernelError(
                .invalidModule,
                "\(path): kernel ABI version \(abiVersion) is not supported; this host runs ABI v\(KernelABI.version) (docs/kernel-abi.md)"
            )
        }
        let formatCode = try callI32(formatFunction, "fp_format")
        guard let format = KernelFormat(rawValue: formatCode) else {
            throw KernelError(
                .invalidModule,
                "\(path): fp_format returned \(formatCode); it must be 1 (RGBA8), 2 (f32 field) or 3 (points)")
        }
        self.format = format
        if let statefulFunction {
            let answer = try callI32(statefulFunction, "fp_stateful")
            guard answer == 0 || answer == 1 else {
                throw KernelError(
                    .invalidModule, "\(path): fp_stateful returned \(answer); it must be 0 (stateless) or 1 (stateful)")
            }
            self.isStateful = answer == 1
        } else {
            self.isStateful = false
        }

        let initResult = try callI32(initFunction, "fp_init", [.i32(UInt32(width)), .i32(UInt32(height))])
        guard initResult == 0 else {
            throw KernelError(
                .invalidModule, "\(path): fp_init(\(width), \(height)) returned error code \(initResult)",
                fault: .errorCode)
        }

        switch format {
        case .rgba8, .f32Field:
            unitCount = height
            bytesPerUnit = width * 4
        case .points:
            guard let pointsFunction else {
                throw KernelError(
                    .invalidModule, "\(path): format 3 (points) kernels must export `fp_points` () -> (i32)")
            }
            let points = try callI32(pointsFunction, "fp_points")
            guard points > 0, Int(points) <= KernelABI.maxPoints else {
                throw KernelError(
                    .invalidModule,
                    "\(path): fp_points returned \(points); it must be in 1...\(KernelABI.maxPoints)")
            }
            unitCount = Int(points)
            bytesPerUnit = KernelABI.bytesPerPoint
        }
        let offset = try callI32(outputFunction, "fp_output")
        outputOffset = Int(UInt32(bitPattern: offset))
        do {
            try checkOutputRegion()
        } catch {
            throw KernelError(.invalidModule, error.message, fault: error.fault)
        }
    }

    /// The output region must lie inside linear memory; checked after every call that may move it.
    private func checkOutputRegion(after call: String? = nil) throws(KernelError) {
        let end = outputOffset + outputByteCount
        guard end <= memory.byteCount else {
            throw KernelError(
                .runtimeFault,
                "\(kernel.path): \(call.map { "after \($0), " } ?? "")output region \(outputOffset)..<\(end) (\(outputByteCount) bytes for \(unitCount) \(format.unitName)) lies outside the kernel's \(memory.byteCount)-byte memory",
                fault: .outputOutsideMemory)
        }
    }

    /// Fuel the last `fp_frame` call burned (for sizing `--fuel`; see kernel-bench --fuel-report).
    public private(set) var fuelUsedByLastRun: UInt64 = 0

    public func run(frame: Int32, time: Double, units: Range<Int>) throws(KernelError) {
        guard units.lowerBound >= 0, units.upperBound <= unitCount, !units.isEmpty else {
            throw KernelError(.runtimeFault, "units \(units) are outside 0..<\(unitCount)")
        }
        let call = "fp_frame(frame \(frame), \(format.unitName) \(units.lowerBound)..<\(units.upperBound))"
        store.fuel = Fuel(remaining: limits.fuelPerTile)
        let results: [Value]
        do {
            results = try frameFunction.invoke(
                [
                    .i32(UInt32(bitPattern: frame)), .f64(time.bitPattern),
                    .i32(UInt32(units.lowerBound)), .i32(UInt32(units.upperBound)),
                ], on: &stack)
        } catch {
            let (reason, fault) = Self.describe(error, limiter: limiter, fuel: limits.fuelPerTile)
            throw KernelError(.runtimeFault, "\(kernel.path): \(call) \(reason)", fault: fault)
        }
        fuelUsedByLastRun = limits.fuelPerTile - (store.fuel?.remaining ?? limits.fuelPerTile)
        if let refused = limiter.takeRefusal() {
            throw KernelError(
                .runtimeFault,
                "\(kernel.path): \(call) asked to grow memory to \(Self.mebibytes(refused)), over the limit of \(Self.mebibytes(limits.maxMemoryBytes)) (raise --max-memory)",
                fault: .memoryRefused)
        }
        if case .i32(let code) = results.first, code != 0 {
            throw KernelError(
                .runtimeFault, "\(kernel.path): \(call) returned error code \(Int32(bitPattern: code))",
                fault: .errorCode)
        }
        store.fuel = Fuel(remaining: Self.setupFuel)
        do {
            let answer = try outputFunction.invoke([], on: &stack)
            guard case .i32(let offset) = answer.first else {
                throw KernelError(.runtimeFault, "\(kernel.path): fp_output returned no i32", fault: .trap)
            }
            outputOffset = Int(offset)
        } catch let error as KernelError {
            throw error
        } catch {
            let (reason, fault) = Self.describe(error, limiter: limiter, fuel: Self.setupFuel)
            throw KernelError(.runtimeFault, "\(kernel.path): fp_output after \(call) \(reason)", fault: fault)
        }
        try checkOutputRegion(after: call)
    }

    public func withOutput<Result>(
        units: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> Result
    ) throws -> Result {
        try checkOutputRegion()
        guard units.lowerBound >= 0, units.upperBound <= unitCount else {
            throw KernelError(.runtimeFault, "units \(units) are outside 0..<\(unitCount)")
        }
        let start = outputOffset + units.lowerBound * bytesPerUnit
        return try memory.withUnsafeBufferPointer(offset: UInt(start), count: units.count * bytesPerUnit, body)
    }

    public var memoryByteCount: Int { memory.byteCount }

    static func mebibytes(_ bytes: Int) -> String {
        bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : String(format: "%.1f MiB", Double(bytes) / 1048576)
    }

    /// One line for an engine error: the reason, then the wasm backtrace when WasmKit has one
    /// ("backtrace: fp_frame ← shade ← ..."), innermost first.
    static func describe(_ error: any Error, limiter: MemoryLimiter, fuel: UInt64) -> (String, KernelError.Fault) {
        let lines = "\(error)".split(whereSeparator: \.isNewline).map(String.init)
        let reason = (lines.first ?? "unknown error").replacingOccurrences(of: "Trap: ", with: "")
        let frames = lines.dropFirst().compactMap { line -> String? in
            // WasmKit's frame lines look like "    0: (0x1234) fp_frame".
            guard let close = line.firstIndex(of: ")") else { return nil }
            let name = line[line.index(after: close)...].trimmingCharacters(in: .whitespaces)
            return name.isEmpty ? nil : name
        }
        let backtrace = frames.isEmpty ? "" : "; backtrace: " + frames.joined(separator: " ← ")
        if reason.contains("out of fuel") || reason.contains("outOfFuel") {
            return (
                "ran out of fuel after \(fuel) units (an endless loop? raise --fuel if the kernel really needs more)\(backtrace)",
                .fuelExhausted
            )
        }
        if let refused = limiter.takeRefusal() {
            return (
                "failed after its memory growth to \(mebibytes(refused)) was refused (limit \(mebibytes(limiter.maxBytes)), raise --max-memory): \(reason)\(backtrace)",
                .memoryRefused
            )
        }
        return ("trapped: \(reason)\(backtrace)", .trap)
    }
}
