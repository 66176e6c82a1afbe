import Synchronization

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

    /// What one unit of work is: a row of the frame, or a point.
    public var unitName: String { self == .points ? "points" : "rows" }
}

/// The ABI v1 contract, engine-independent: version, import module and names, limits.
public enum KernelABI {
    public static let version: Int32 = 1
    public static let importModule = "fp"
    /// The only imports a kernel may ask for (module `fp`), with their types.
    public static let imports: [(name: String, type: WasmFunctionType)] = [
        ("log", WasmFunctionType([.i32, .i32], [])),
        ("input", WasmFunctionType([.i32], [.f32])),
        ("param", WasmFunctionType([.i32], [.f32])),
    ]
    /// The reactor initialiser (wasi-libc `-mexec-model=reactor`, Rust cdylib on wasm32-wasi): called, when
    /// exported, before every other export — it runs the C/C++ constructors libc needs.
    public static let reactorInitializer = "_initialize"
    public static var importNames: [String] { imports.map(\.name) }
    /// Longest `fp.log` message; longer ones are cut (a log line, not a dump).
    public static let maxLogBytes = 4096
    /// Bytes of one format-3 point: x, y, z, size, r, g, b, a as f32.
    public static let bytesPerPoint = 32
    /// Largest number of points a format-3 kernel may declare.
    public static let maxPoints = 4 * 1024 * 1024
    /// Largest frame side the host accepts.
    public static let maxSide = 16384
}

/// The functions a kernel exports (ABI v1), with the signatures the host checks.
public enum ABIFunction: String, Sendable, CaseIterable {
    case abiVersion = "fp_abi_version"
    case initialize = "fp_init"
    case format = "fp_format"
    case output = "fp_output"
    case frame = "fp_frame"
    case points = "fp_points"
    case stateful = "fp_stateful"
    /// Parameters (KernelParameters.swift): how many, and the address of their table. Optional, together.
    case parameterCount = "fp_param_count"
    case parameterTable = "fp_params"
    /// `KernelABI.reactorInitializer`: optional; returns nothing (engines answer 0 for it).
    case reactorInitialize = "_initialize"

    /// Position in `allCases`: engines index per-instance tables by it on every call, where a dictionary
    /// would hash the raw-value string each time.
    public var ordinal: Int {
        switch self {
        case .abiVersion: return 0
        case .initialize: return 1
        case .format: return 2
        case .output: return 3
        case .frame: return 4
        case .points: return 5
        case .stateful: return 6
        case .parameterCount: return 7
        case .parameterTable: return 8
        case .reactorInitialize: return 9
        }
    }

    public var type: WasmFunctionType {
        switch self {
        case .abiVersion, .format, .output, .points, .stateful, .parameterCount, .parameterTable:
            return WasmFunctionType([], [.i32])
        case .initialize: return WasmFunctionType([.i32, .i32], [.i32])
        case .frame: return WasmFunctionType([.i32, .f64, .i32, .i32], [.i32])
        case .reactorInitialize: return WasmFunctionType([], [])
        }
    }

    /// `fp_points` is required of format 3 only (checked after `fp_format`); `fp_stateful` and the parameter
    /// exports are optional.
    public var isRequired: Bool {
        switch self {
        case .points, .stateful, .parameterCount, .parameterTable, .reactorInitialize: return false
        case .abiVersion, .initialize, .format, .output, .frame: return true
        }
    }
}

/// The host side of the `fp` imports, the same for every engine: adapters link `fp.log`, `fp.input`
/// and `fp.param` to these methods and hand over the caller's memory.
public final class KernelImports: Sendable {
    public let host: KernelHost
    /// Names the kernel on every log line.
    let kernelName: String
    /// Shared by every instance of one kernel: the per-frame log allowance.
    let logAllowance: LogAllowance
    /// The frame the instance is computing (-1 during set-up); set by the one thread using it.
    private let frame = Atomic<Int32>(-1)
    /// What `fp.param` answers: the values of the frame being computed (set before each call by the thread that
    /// runs the instance, which is also the thread the import runs on; the lock costs ~20 ns uncontended).
    private let parameterValues = Mutex(KernelParameterValues.none)

    /// The instance's WASI preview1 state (WASIPreview1.swift): its own descriptors, clock and random stream.
    let wasi: WASISystem

    public init(host: KernelHost, kernelName: String = "kernel", logAllowance: LogAllowance = LogAllowance())
        throws(KernelError)
    {
        self.host = host
        self.kernelName = kernelName
        self.logAllowance = logAllowance
        // stdout and stderr lines are log lines, under the same allowance and escaping as fp.log.
        wasi = try WASISystem(options: host.wasi) { [host, kernelName, logAllowance] text, frame in
            KernelImports.emit(text, frame: frame, host: host, kernelName: kernelName, allowance: logAllowance)
        }
    }

    /// The instance is about to compute `frame` at kernel `time` from unit `firstUnit` (set-up: -1, 0, 0).
    func beginFrame(_ frame: Int32, time: Double = 0, firstUnit: Int32 = 0) {
        self.frame.store(frame, ordering: .relaxed)
        wasi.beginCall(frame: frame, time: time, firstUnit: firstUnit)
    }

    /// `fp.log(pointer, length)`: text at `pointer` in `memory`, read as UTF-8 (invalid bytes become
    /// U+FFFD), cut at `KernelABI.maxLogBytes`; dropped when `length <= 0`, when it is not inside
    /// memory, or past the frame's allowance. The host gets one line, "kernel NAME: TEXT", control
    /// characters escaped, at most `KernelText.maxLogCharacters` (KernelText.swift).
    public func log(pointer: Int32, length: Int32, memory: UnsafeRawBufferPointer) {
        guard length > 0 else { return }
        let start = Int(UInt32(bitPattern: pointer))
        let count = min(Int(length), KernelABI.maxLogBytes)
        guard start <= memory.count - count else { return }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: memory[start..<start + count]), as: UTF8.self)
        Self.emit(text, frame: frame.load(ordering: .relaxed), host: host, kernelName: kernelName, allowance: logAllowance)
    }

    /// One kernel log line (`fp.log`, or a line the kernel wrote to stdout or stderr), under the allowance.
    static func emit(_ text: String, frame: Int32, host: KernelHost, kernelName: String, allowance: LogAllowance) {
        switch allowance.admit(frame: frame) {
        case .drop:
            return
        case .lastNotice:
            host.log(
                "kernel \(kernelName): \(frame < 0 ? "set-up" : "frame \(frame)"): further log lines dropped (at most \(allowance.linesPerFrame) a frame)"
            )
        case .print:
            host.log("kernel \(kernelName): " + KernelText.bounded(KernelText.escaped(text), limit: KernelText.maxLogCharacters))
        }
    }

    /// `fp.input(what)`.
    public func input(_ what: Int32) -> Float { host.input(what) }

    /// `fp.param(index)`: the parameter's value for this frame, 0 for an index the kernel did not declare.
    public func param(_ index: Int32) -> Float { parameterValues.withLock { $0.value(at: index) } }

    var parameters: KernelParameterValues {
        get { parameterValues.withLock { $0 } }
        set { parameterValues.withLock { $0 = newValue } }
    }
}

/// How many `fp.log` lines a kernel may print per frame, over all its instances: the first
/// `linesPerFrame` of a frame are printed, then one notice, then nothing until a later frame. A
/// dropped line costs one atomic load: a kernel logging 100 000 lines a frame slows no worker
/// down with text it will never see.
public final class LogAllowance: Sendable {
    public enum Admission { case print, lastNotice, drop }
    public let linesPerFrame: UInt32
    /// High 32 bits: the frame being counted (biased by 1 so set-up, -1, is 0); low: lines so far.
    private let state = Atomic<UInt64>(0)

    public init(linesPerFrame: UInt32 = 16) { self.linesPerFrame = linesPerFrame }

    public func admit(frame: Int32) -> Admission {
        let key = UInt64(UInt32(bitPattern: frame &+ 1))
        var word = state.load(ordering: .relaxed)
        while true {
            let counted = word >> 32
            let lines = word & 0xFFFF_FFFF
            // A later frame starts a new allowance; an earlier one (another worker's) shares the current one.
            let next: UInt64
            if key > counted {
                next = key << 32 | 1
            } else if lines <= UInt64(linesPerFrame) {
                next = word + 1
            } else {
                return .drop
            }
            let (exchanged, original) = state.compareExchange(expected: word, desired: next, ordering: .relaxed)
            if exchanged {
                let line = next & 0xFFFF_FFFF
                return line <= UInt64(linesPerFrame) ? .print : .lastNotice
            }
            word = original
        }
    }
}

/// What a kernel may ask of its host through the `fp` imports.
public struct KernelHost: Sendable {
    /// Receives each `fp.log` message (UTF-8, already decoded).
    public var log: @Sendable (String) -> Void
    /// Answers `fp.input(what)`: 0 = pointer x (0..1), 1 = pointer y, 2 = button bitmask, 3 = pointer inside.
    public var input: @Sendable (Int32) -> Float
    /// Values to start with instead of a parameter's initial value, by name (`--param`; on a reload, the values the
    /// running kernel had): clamped into each range; names the kernel does not declare are ignored.
    public var parameterOverrides: [String: Float]
    /// The data directory and seed of the WASI functions (`--data`, `--seed`).
    public var wasi: WASIOptions

    public init(
        log: @escaping @Sendable (String) -> Void, input: @escaping @Sendable (Int32) -> Float,
        parameterOverrides: [String: Float] = [:], wasi: WASIOptions = WASIOptions()
    ) {
        self.log = log
        self.input = input
        self.parameterOverrides = parameterOverrides
        self.wasi = wasi
    }

    /// No window: pointer at 0, no buttons; log lines dropped.
    public static let headless = KernelHost(log: { _ in }, input: { _ in 0 })
}

/// Execution limits of one instance.
public struct KernelLimits: Sendable, Equatable {
    /// Fuel (≈ executed wasm operators) one tile — one `fp_frame` call — may burn before it is stopped.
    public var fuelPerTile: UInt64
    /// Largest linear memory of one instance, in bytes; growth past it is refused and fails the frame.
    public var maxMemoryBytes: Int

    /// Default fuel per tile. A whole 3840×2160 plasma frame in one tile burns 4.18·10⁹ (plasma's cost
    /// per pixel is fixed, so every frame burns the same; measured with kernel-bench, see
    /// docs/performance.md): 6·10⁹ leaves 1.4× headroom. A release build burns 1.5–2.6·10⁹ fuel per
    /// second on real kernel code, so an endless loop doing work is stopped in 2–4 s; the degenerate
    /// loop of a single branch burns only 0.46·10⁹/s and takes 13 s.
    public static let defaultFuelPerTile: UInt64 = 6_000_000_000
    public static let defaultMaxMemoryBytes = 256 << 20
    /// Wall-clock deadline of one call into a kernel (`--tile-timeout`), where the engine can
    /// interrupt code (wasmtime: epoch interruption). See `defaultTileTimeoutNanos`.
    public var tileTimeoutNanos: UInt64
    /// The heaviest gallery frame, mandelbrot at 3840×2160 in one tile, takes 1.0–1.4 s in wasmtime
    /// here (docs/performance.md, "Deadline"): 5 s leaves 3.5× headroom, and a runaway kernel costs a
    /// worker 5 s.
    public static let defaultTileTimeoutNanos: UInt64 = 5_000_000_000

    public init(
        fuelPerTile: UInt64 = KernelLimits.defaultFuelPerTile, maxMemoryBytes: Int = KernelLimits.defaultMaxMemoryBytes,
        tileTimeoutNanos: UInt64 = KernelLimits.defaultTileTimeoutNanos
    ) {
        self.fuelPerTile = fuelPerTile
        self.maxMemoryBytes = maxMemoryBytes
        self.tileTimeoutNanos = tileTimeoutNanos
    }

    /// The budget of one `fp_frame` call.
    public var tileBudget: CallBudget { CallBudget(fuel: fuelPerTile, deadlineNanos: tileTimeoutNanos) }
    /// The budget of a set-up call that may do real work (`fp_init`, which may seed a large state,
    /// and the start function): a tile's.
    public var setupBudget: CallBudget { tileBudget }
    /// The budget of a probe (`fp_abi_version`, `fp_format`, `fp_stateful`, `fp_points`,
    /// `fp_output`): each returns a constant or an address, so a probe that loops is stopped after
    /// at most `probeTimeoutNanos` on every engine.
    public var probeBudget: CallBudget {
        CallBudget(fuel: fuelPerTile, deadlineNanos: min(tileTimeoutNanos, Self.probeTimeoutNanos))
    }
    static let probeTimeoutNanos: UInt64 = 1_000_000_000
}
