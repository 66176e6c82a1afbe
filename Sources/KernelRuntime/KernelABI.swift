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
    /// The only imports a kernel may ask for (module `fp`).
    public static let importNames = ["log", "input"]
    /// Bytes of one format-3 point: x, y, z, size, r, g, b, a as f32.
    public static let bytesPerPoint = 32
    /// Largest number of points a format-3 kernel may declare.
    public static let maxPoints = 4 * 1024 * 1024
    /// Largest frame side the host accepts.
    public static let maxSide = 16384
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

    public init(fuelPerTile: UInt64 = KernelLimits.defaultFuelPerTile, maxMemoryBytes: Int = KernelLimits.defaultMaxMemoryBytes) {
        self.fuelPerTile = fuelPerTile
        self.maxMemoryBytes = maxMemoryBytes
    }
}
