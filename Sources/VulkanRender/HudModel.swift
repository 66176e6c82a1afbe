// What the overlay of `framepipe view` (H) plots: the last 240 frames' stage durations, the target line and the
// scale, as pure Swift (FrameOverlay.swift hands them to Dear ImGui). Unit-tested in
// Tests/VulkanRenderTests/HudModelTests.swift.

import FrameTiming

extension Stage {
    /// The stage's colour in the overlay. Okabe–Ito colours (distinguishable with the common colour-vision
    /// deficiencies), neighbours in the stack chosen to differ in lightness too: compute blue, handoff_wait orange,
    /// upload bluish green, gpu reddish purple, present yellow.
    public var colour: HudColour {
        switch self {
        case .compute: HudColour(0 / 255, 114 / 255, 178 / 255)
        case .handoffWait: HudColour(230 / 255, 159 / 255, 0 / 255)
        case .upload: HudColour(0 / 255, 158 / 255, 115 / 255)
        case .gpu: HudColour(204 / 255, 121 / 255, 167 / 255)
        case .present: HudColour(240 / 255, 228 / 255, 66 / 255)
        }
    }
}

/// An RGBA colour, 0...1 per channel (straight alpha).
public struct HudColour: Sendable, Equatable {
    public var r, g, b, a: Float
    public init(_ r: Float, _ g: Float, _ b: Float, _ a: Float = 1) {
        self.r = r
        self.g = g
        self.b = b
        self.a = a
    }
}

/// One frame's stage durations in milliseconds, per `Stage`; nil where the stage was not measured (drawn as a gap).
/// Fixed size (no allocation per frame).
public struct HudFrameStages: Sendable, Equatable {
    private var values = InlineArray<5, Double?>(repeating: nil)

    public init() {
        assert(Stage.allCases.count == values.count, "one value per stage")
    }

    /// From a dictionary of the measured stages (tests, mostly).
    public init(_ stages: [Stage: Double]) {
        self.init()
        for (stage, ms) in stages { self[stage] = ms }
    }

    public subscript(stage: Stage) -> Double? {
        get { values[stage.index] }
        set { values[stage.index] = newValue }
    }

    /// The stacked height in ms: the sum of the measured stages (negative or non-finite values count as 0).
    public var totalMs: Double {
        var sum = 0.0
        for stage in Stage.allCases {
            if let ms = self[stage], ms.isFinite, ms > 0 { sum += ms }
        }
        return sum
    }

    public static func == (a: Self, b: Self) -> Bool {
        Stage.allCases.allSatisfy { a[$0] == b[$0] }
    }
}

/// The last `capacity` frames' stages, oldest first: a fixed ring, so appending never allocates after init.
public struct HudHistory: RandomAccessCollection, Sendable {
    public static let capacity = 240
    private var storage: [HudFrameStages]
    private var oldest = 0
    public private(set) var count = 0

    public init() {
        storage = Array(repeating: HudFrameStages(), count: Self.capacity)
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }
    public subscript(position: Int) -> HudFrameStages {
        storage[(oldest + position) % Self.capacity]
    }

    /// Adds the newest frame, replacing the oldest once full.
    public mutating func append(_ frame: HudFrameStages) {
        if count < Self.capacity {
            storage[(oldest + count) % Self.capacity] = frame
            count += 1
        } else {
            storage[oldest] = frame
            oldest = (oldest + 1) % Self.capacity
        }
    }
}

/// What the overlay plots: the frames, the target line and the graph's vertical scale. The scale adapts to
/// max(p99 of the shown frames' stacked totals, 1.5 × target): it rises at once (so new spikes fit) and falls slowly
/// (so the graph does not jump back and forth), see `HudOverlay.nextTopMs`.
public struct HudOverlay: Sendable {
    public private(set) var history = HudHistory()
    /// The display's frame time in ms (the target line).
    public var targetMs: Double
    /// The overlay's text side (FrameOverlay.swift).
    public var panel = OverlayPanel()
    /// The graph's top, in ms.
    public private(set) var topMs: Double
    /// Scratch for the p99 (kept so that appending does not allocate).
    private var sortedTotals: [Double] = []

    public init(targetMs: Double) {
        self.targetMs = targetMs.isFinite && targetMs > 0 ? targetMs : 1000.0 / 60.0
        topMs = self.targetMs * 1.5
        sortedTotals.reserveCapacity(HudHistory.capacity)
    }

    public mutating func append(_ frame: HudFrameStages) {
        history.append(frame)
        sortedTotals.removeAll(keepingCapacity: true)
        for f in history { sortedTotals.append(f.totalMs) }
        sortedTotals.sort()
        let p99 = sortedTotals.isEmpty ? 0 : sortedTotals[min(sortedTotals.count - 1, sortedTotals.count * 99 / 100)]
        topMs = Self.nextTopMs(current: topMs, p99Ms: p99, targetMs: targetMs)
    }

    /// The next graph top: at least 1.5 × target; up at once to a higher p99; down by 5% of the gap per frame
    /// (about a second to settle at 60 fps).
    public static func nextTopMs(current: Double, p99Ms: Double, targetMs: Double) -> Double {
        let wanted = max(p99Ms.isFinite ? p99Ms : 0, targetMs * 1.5)
        if wanted >= current || !current.isFinite { return wanted }
        return current + (wanted - current) * 0.05
    }
}
