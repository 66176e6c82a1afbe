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
    ]
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

    public var type: WasmFunctionType {
        switch self {
        case .abiVersion, .format, .output, .points, .stateful: return WasmFunctionType([], [.i32])
        case .initialize: return WasmFunctionType([.i32, .i32], [.i32])
        case .frame: return WasmFunctionType([.i32, .f64, .i32, .i32], [.i32])
        }
    }

    /// `fp_points` is required of format 3 only (checked after `fp_format`); `fp_stateful` is optional.
    public var isRequired: Bool { self != .points && self != .stateful }
}

/// The host side of the `fp` imports, the same for every engine: adapters link `fp.log` and
/// `fp.input` to these two methods and hand over the caller's memory.
public final class KernelImports: Sendable {
    public let host: KernelHost

    public init(host: KernelHost) { self.host = host }

    /// `fp.log(pointer, length)`: UTF-8 text at `pointer` in `memory`, cut at `KernelABI.maxLogBytes`;
    /// dropped when `length <= 0` or the text is not inside memory.
    public func log(pointer: Int32, length: Int32, memory: UnsafeRawBufferPointer) {
        let start = Int(UInt32(bitPattern: pointer))
        let count = min(Int(length), KernelABI.maxLogBytes)
        guard count > 0, start <= memory.count - count else { return }
        host.log(String(decoding: UnsafeRawBufferPointer(rebasing: memory[start..<start + count]), as: UTF8.self))
    }

    /// `fp.input(what)`.
    public func input(_ what: Int32) -> Float { host.input(what) }
}

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
    /// The budget of a set-up call (`fp_abi_version`, `fp_init`, `fp_output`, ...): they should be
    /// tiny, but `fp_init` may seed a large state.
    public var setupBudget: CallBudget { CallBudget(fuel: Self.setupFuel, deadlineNanos: tileTimeoutNanos) }
    static let setupFuel: UInt64 = 4_000_000_000
}
