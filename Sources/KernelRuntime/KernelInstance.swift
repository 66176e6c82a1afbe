import WasmKit

/// What a kernel may ask of its host through the `fp` imports.
public struct KernelHost: Sendable {
    /// Receives each `fp.log` message (UTF-8, already decoded).
    public var log: @Sendable (String) -> Void
    /// Answers `fp.input(what)`: 0 = pointer x (0..1), 1 = pointer y, 2 = button bitmask.
    public var input: @Sendable (Int32) -> Float

    public init(log: @escaping @Sendable (String) -> Void, input: @escaping @Sendable (Int32) -> Float) {
        self.log = log
        self.input = input
    }

    /// No window: pointer at 0, no buttons; log lines dropped.
    public static let headless = KernelHost(log: { _ in }, input: { _ in 0 })
}

/// Execution limits of one instance.
public struct KernelLimits: Sendable, Equatable {
    /// Fuel (≈ executed wasm operators) one `fp_frame` call may burn before it is stopped.
    public var fuelPerCall: UInt64
    /// Largest number of points a format-3 kernel may declare.
    public static let maxPoints = 4 * 1024 * 1024

    /// Default fuel: far above what one whole 3840×2160 plasma frame needs in one call
    /// (~2·10⁹), low enough that an endless loop is stopped instead of hanging a run.
    public static let defaultFuelPerCall: UInt64 = 20_000_000_000
    public init(fuelPerCall: UInt64 = KernelLimits.defaultFuelPerCall) {
        self.fuelPerCall = fuelPerCall
    }
}

/// One isolated, initialised instance of a kernel: its own engine, store and linear memory.
/// Confined to the thread that uses it (WasmKit stores are not shared across threads).
public final class KernelInstance {
    public let module: KernelModule
    public let width: Int
    public let height: Int
    public let format: KernelFormat
    public let isStateful: Bool
    /// Rows (formats 1, 2) or points (format 3).
    public let unitCount: Int
    public let bytesPerUnit: Int
    /// Byte offset of the output buffer in the instance's memory (`fp_output`).
    public let outputOffset: Int
    public let limits: KernelLimits

    private let store: Store
    private let memory: Memory
    private let frameFunction: Function
    private var stack: ExecutionStack

    /// Fuel for the setup calls (`fp_abi_version`, `fp_format`, `fp_init`, ...): they should be tiny.
    static let setupFuel: UInt64 = 2_000_000_000

    public var outputByteCount: Int { unitCount * bytesPerUnit }

    /// Instantiates and initialises the kernel for a `width`×`height` frame, checking the whole ABI.
    public init(
        module: KernelModule, width: Int, height: Int, limits: KernelLimits = KernelLimits(),
        host: KernelHost = .headless
    ) throws(KernelError) {
        let path = module.path
        guard (1...16384).contains(width), (1...16384).contains(height) else {
            throw KernelError(.invalidModule, "frame size \(width)x\(height) is outside 1x1...16384x16384")
        }
        self.module = module
        self.width = width
        self.height = height
        self.limits = limits
        let engine = Engine(configuration: EngineConfiguration(compilationMode: .eager, fuelMetering: true))
        let store = Store(engine: engine)
        self.store = store

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
            instance = try module.module.instantiate(store: store, imports: imports)
        } catch {
            throw KernelError(.invalidModule, "\(path): cannot instantiate kernel: \(error)")
        }

        // Signatures: checked on the instance, where WasmKit resolves export types for us.
        func function(_ name: String, _ type: FunctionType, required: Bool) throws(KernelError) -> Function? {
            guard let function = instance.exports[function: name] else {
                if required {
                    throw KernelError(
                        .invalidModule,
                        "\(path): kernel is missing required export `\(name)` \(KernelABI.describe(type)) (docs/kernel-abi.md)"
                    )
                }
                return nil
            }
            guard function.type == type else {
                throw KernelError(
                    .invalidModule,
                    "\(path): export `\(name)` has type \(KernelABI.describe(function.type)), expected \(KernelABI.describe(type)) (docs/kernel-abi.md)"
                )
            }
            return function
        }
        var required: [String: Function] = [:]
        for entry in KernelABI.requiredFunctions {
            required[entry.name] = try function(entry.name, entry.type, required: true)
        }
        let pointsFunction = try function("fp_points", KernelABI.optionalFunctions[0].type, required: false)
        let statefulFunction = try function("fp_stateful", KernelABI.optionalFunctions[1].type, required: false)
        guard let memory = instance.exports[memory: "memory"],
            let abiVersionFunction = required["fp_abi_version"], let formatFunction = required["fp_format"],
            let initFunction = required["fp_init"], let outputFunction = required["fp_output"],
            let frameFunction = required["fp_frame"]
        else {
            throw KernelError(.invalidModule, "\(path): kernel does not export its linear memory as `memory`")
        }
        self.memory = memory
        self.frameFunction = frameFunction
        self.stack = ExecutionStack(engine: engine)

        func callI32(_ function: Function, _ name: String, _ arguments: [Value] = []) throws(KernelError) -> Int32 {
            store.fuel = Fuel(remaining: Self.setupFuel)
            let results: [Value]
            do {
                results = try function.invoke(arguments)
            } catch {
                throw KernelError(.runtimeFault, "\(path): \(name) failed: \(Self.describe(error))")
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
        self.isStateful = try statefulFunction.map { (f: Function) throws(KernelError) in
            try callI32(f, "fp_stateful") == 1
        } ?? false

        let initResult = try callI32(initFunction, "fp_init", [.i32(UInt32(width)), .i32(UInt32(height))])
        guard initResult == 0 else {
            throw KernelError(
                .runtimeFault, "\(path): fp_init(\(width), \(height)) returned error code \(initResult)")
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
            guard points > 0, Int(points) <= KernelLimits.maxPoints else {
                throw KernelError(
                    .invalidModule,
                    "\(path): fp_points returned \(points); it must be in 1...\(KernelLimits.maxPoints)")
            }
            unitCount = Int(points)
            bytesPerUnit = 32
        }
        let offset = try callI32(outputFunction, "fp_output")
        outputOffset = Int(UInt32(bitPattern: offset))
        try checkOutputRegion()
    }

    /// The output region must lie inside linear memory; checked after every call that may move it.
    private func checkOutputRegion() throws(KernelError) {
        let end = outputOffset + outputByteCount
        guard end <= memory.byteCount else {
            throw KernelError(
                .runtimeFault,
                "\(module.path): output region \(outputOffset)..<\(end) lies outside the kernel's \(memory.byteCount)-byte memory"
            )
        }
    }

    /// Runs `fp_frame` for units [begin, end) of one frame, under the fuel limit.
    public func run(frame: Int32, time: Double, units: Range<Int>) throws(KernelError) {
        guard units.lowerBound >= 0, units.upperBound <= unitCount, !units.isEmpty else {
            throw KernelError(.runtimeFault, "units \(units) are outside 0..<\(unitCount)")
        }
        store.fuel = Fuel(remaining: limits.fuelPerCall)
        let results: [Value]
        do {
            results = try frameFunction.invoke(
                [
                    .i32(UInt32(bitPattern: frame)), .f64(time.bitPattern),
                    .i32(UInt32(units.lowerBound)), .i32(UInt32(units.upperBound)),
                ], on: &stack)
        } catch {
            throw KernelError(
                .runtimeFault,
                "\(module.path): fp_frame(frame \(frame), units \(units.lowerBound)..<\(units.upperBound)) failed: \(Self.describe(error))"
            )
        }
        if case .i32(let code) = results.first, code != 0 {
            throw KernelError(
                .runtimeFault,
                "\(module.path): fp_frame(frame \(frame), units \(units.lowerBound)..<\(units.upperBound)) returned error code \(Int32(bitPattern: code))"
            )
        }
        try checkOutputRegion()
    }

    /// Lends the output bytes of units [begin, end), after checking they lie inside memory.
    public func withOutput<Result>(
        units: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> Result
    ) throws -> Result {
        try checkOutputRegion()
        let start = outputOffset + units.lowerBound * bytesPerUnit
        return try memory.withUnsafeBufferPointer(offset: UInt(start), count: units.count * bytesPerUnit, body)
    }

    /// A copy of the whole output of the last computed frame.
    public func outputBytes() throws -> [UInt8] {
        try withOutput(units: 0..<unitCount) { [UInt8]($0) }
    }

    /// Linear memory size in bytes (it can grow while the kernel runs).
    public var memoryByteCount: Int { memory.byteCount }

    static func describe(_ error: any Error) -> String {
        let text = "\(error)"
        if text.contains("outOfFuel") || text.contains("out of fuel") {
            return "ran out of fuel (endless loop? raise --fuel if the kernel really needs more): \(text)"
        }
        return text
    }
}
