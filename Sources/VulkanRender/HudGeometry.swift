// The HUD of `framepipe view` (H): its model (the last 240 frames' stage durations, the target, the scale) and its
// geometry, as pure Swift: no Vulkan here. WindowRenderer writes the vertices into a HUD vertex buffer and draws them
// in the HUD render pass. Unit-tested in Tests/VulkanRenderTests/HudGeometryTests.swift.
//
// Unsafe pointer invariant: HudGeometry.vertices writes only inside the UnsafeMutableBufferPointer<Float> it is given
// (its capacity is checked before each quad; a quad that does not fit is left out), and keeps no pointer past the call.

/// The stages of a frame, bottom to top in a HUD bar: FrameRecord's stage durations (compute, handoff_wait, upload,
/// gpu, present).
public enum HudStage: Int, CaseIterable, Sendable {
    case compute, handoffWait, upload, gpu, present

    /// The stage's name in reports and docs.
    public var name: String {
        switch self {
        case .compute: "compute"
        case .handoffWait: "handoff_wait"
        case .upload: "upload"
        case .gpu: "gpu"
        case .present: "present"
        }
    }

    /// Okabe–Ito colours (distinguishable with the common colour-vision deficiencies), neighbours in the stack chosen
    /// to differ in lightness too: compute blue, handoff_wait orange, upload bluish green, gpu reddish purple,
    /// present yellow.
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

/// An RGBA colour, 0...1 per channel (straight alpha; the HUD pipeline blends "over").
public struct HudColour: Sendable, Equatable {
    public var r, g, b, a: Float
    public init(_ r: Float, _ g: Float, _ b: Float, _ a: Float = 1) {
        self.r = r
        self.g = g
        self.b = b
        self.a = a
    }
    /// The panel behind the graph.
    public static let panel = HudColour(0, 0, 0, 0.65)
    /// The target line (the display's frame time).
    public static let target = HudColour(1, 1, 1, 0.9)
}

/// One frame's stage durations in milliseconds; nil where the stage was not measured (drawn as a gap).
public struct HudFrameStages: Sendable, Equatable {
    private var values: (Double?, Double?, Double?, Double?, Double?) = (nil, nil, nil, nil, nil)

    public init() {}

    public init(compute: Double?, handoffWait: Double?, upload: Double?, gpu: Double?, present: Double?) {
        values = (compute, handoffWait, upload, gpu, present)
    }

    public subscript(stage: HudStage) -> Double? {
        get {
            switch stage {
            case .compute: values.0
            case .handoffWait: values.1
            case .upload: values.2
            case .gpu: values.3
            case .present: values.4
            }
        }
        set {
            switch stage {
            case .compute: values.0 = newValue
            case .handoffWait: values.1 = newValue
            case .upload: values.2 = newValue
            case .gpu: values.3 = newValue
            case .present: values.4 = newValue
            }
        }
    }

    /// The stacked height in ms: the sum of the measured stages (negative or non-finite values count as 0).
    public var totalMs: Double {
        var sum = 0.0
        for stage in HudStage.allCases {
            if let ms = self[stage], ms.isFinite, ms > 0 { sum += ms }
        }
        return sum
    }

    public static func == (a: Self, b: Self) -> Bool {
        HudStage.allCases.allSatisfy { a[$0] == b[$0] }
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

/// What the HUD draws: the frames, the target line and the graph's vertical scale. The scale adapts to
/// max(p99 of the shown frames' stacked totals, 1.5 × target): it rises at once (so new spikes fit) and falls slowly
/// (so the graph does not jump back and forth), see `HudOverlay.nextTopMs`.
public struct HudOverlay: Sendable {
    public private(set) var history = HudHistory()
    /// The display's frame time in ms (the target line).
    public var targetMs: Double
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

/// A rectangle in framebuffer pixels, y down (Vulkan's framebuffer orientation).
public struct HudRect: Sendable, Equatable {
    public var x, y, width, height: Float
    public init(x: Float, y: Float, width: Float, height: Float) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }
    public var maxX: Float { x + width }
    public var maxY: Float { y + height }
    /// Whether `other` lies inside this rectangle (edges included, with a little float slack).
    public func contains(_ other: HudRect) -> Bool {
        let e: Float = 1e-3
        return other.x >= x - e && other.y >= y - e && other.maxX <= maxX + e && other.maxY <= maxY + e
    }
}

/// One coloured rectangle of the HUD.
public struct HudQuad: Sendable, Equatable {
    public enum Role: Sendable, Equatable {
        case panel
        /// Segment `stage` of bar `bar` (0 = the oldest frame shown).
        case segment(bar: Int, stage: HudStage)
        case targetLine
        case legend(HudStage)
    }
    public var rect: HudRect
    public var colour: HudColour
    public var role: Role
}

/// The HUD's layout: a pure function from the frames, target, scale, panel and extent to quads and vertices.
///
/// Panel (top left of the window): a background rectangle; inside it, `padding` from its edges, the graph area on top
/// and a legend row (one coloured square per stage, in stacking order, left to right) at the bottom. The graph has
/// HudHistory.capacity bar slots of equal width; the newest frame is the rightmost bar. Each bar stacks the frame's
/// stage durations bottom to top in HudStage order, 1 ms = graphHeight / topMs pixels; a stage that was not measured
/// leaves a `missingStageGap`-pixel gap (so later stages are not drawn as if it had taken 0 ms, and the gap shows that
/// something is missing); segments are clipped at the graph's top. The target line is 1 pixel high at targetMs.
public enum HudGeometry {
    public static let margin: Float = 8
    public static let padding: Float = 4
    public static let legendSquare: Float = 8
    public static let missingStageGap: Float = 2
    /// Quads at most: panel, a segment per stage per bar, target line, legend.
    public static let maxQuads = 1 + HudHistory.capacity * HudStage.allCases.count + 1 + HudStage.allCases.count
    /// position (x, y in clip space) + colour (r, g, b, a)
    public static let floatsPerVertex = 6
    public static let maxVertices = maxQuads * 6

    /// The panel for a framebuffer of `width`×`height` pixels: 1 px per bar (2 px and a taller graph in windows at
    /// least 640 px wide), shrunk to fit narrow windows; nil when the window is too small for a readable graph.
    public static func panel(framebufferWidth width: Int, height: Int) -> HudRect? {
        let barWidth: Float = width >= 640 ? 2 : 1
        let graphHeight: Float = width >= 640 ? 120 : 80
        let wanted = HudRect(
            x: margin, y: margin, width: Float(HudHistory.capacity) * barWidth + 2 * padding,
            height: graphHeight + legendSquare + 3 * padding)
        let availableWidth = Float(width) - 2 * margin
        let availableHeight = Float(height) - 2 * margin
        guard availableWidth >= 40, availableHeight >= 30 else { return nil }
        return HudRect(
            x: wanted.x, y: wanted.y, width: min(wanted.width, availableWidth),
            height: min(wanted.height, availableHeight))
    }

    /// The graph area inside `panel` (above the legend row).
    public static func graphRect(in panel: HudRect) -> HudRect {
        HudRect(
            x: panel.x + padding, y: panel.y + padding, width: max(0, panel.width - 2 * padding),
            height: max(0, panel.height - legendSquare - 3 * padding))
    }

    /// Hands every quad to `emit`, back to front: panel, bar segments (oldest bar first, each bottom to top), target
    /// line, legend. Only the last HudHistory.capacity frames are drawn; nothing lies outside `panel`.
    public static func quads(
        frames: some RandomAccessCollection<HudFrameStages>, targetMs: Double, topMs: Double, panel: HudRect,
        emit: (HudQuad) -> Void
    ) {
        guard panel.width > 0, panel.height > 0 else { return }
        emit(HudQuad(rect: panel, colour: .panel, role: .panel))
        let graph = graphRect(in: panel)
        guard graph.width > 0, graph.height > 0, topMs.isFinite, topMs > 0 else { return }
        let pixelsPerMs = Double(graph.height) / topMs
        let slots = HudHistory.capacity
        let barWidth = graph.width / Float(slots)
        let shown = min(frames.count, slots)
        let firstSlot = slots - shown
        let baseY = graph.maxY
        for (bar, frame) in frames.suffix(shown).enumerated() {
            let x0 = graph.x + Float(firstSlot + bar) * barWidth
            var cursor = baseY
            for stage in HudStage.allCases {
                guard cursor > graph.y else { break }
                guard let ms = frame[stage], ms.isFinite else {
                    cursor -= missingStageGap
                    continue
                }
                let height = Float(max(0, ms) * pixelsPerMs)
                let top = max(graph.y, cursor - height)
                if top < cursor {
                    emit(
                        HudQuad(
                            rect: HudRect(x: x0, y: top, width: barWidth, height: cursor - top), colour: stage.colour,
                            role: .segment(bar: bar, stage: stage)))
                }
                cursor = top
            }
        }
        if targetMs.isFinite, targetMs > 0, targetMs <= topMs {
            let y = baseY - Float(targetMs * pixelsPerMs)
            // 1 px high, centred on the target, kept inside the graph.
            let top = min(max(graph.y, y - 0.5), baseY - 1)
            emit(HudQuad(rect: HudRect(x: graph.x, y: top, width: graph.width, height: 1), colour: .target, role: .targetLine))
        }
        let legendY = graph.maxY + padding
        for stage in HudStage.allCases {
            let x = graph.x + Float(stage.rawValue) * 2 * legendSquare
            guard x + legendSquare <= panel.maxX - padding else { break }
            emit(
                HudQuad(
                    rect: HudRect(x: x, y: legendY, width: legendSquare, height: legendSquare), colour: stage.colour,
                    role: .legend(stage)))
        }
    }

    /// Writes the quads as triangle-list vertices (two triangles each; position in clip space for a framebuffer of
    /// `extent` pixels, then the colour) into `out`, at most out.count / floatsPerVertex vertices; returns the vertex
    /// count.
    public static func vertices(
        frames: some RandomAccessCollection<HudFrameStages>, targetMs: Double, topMs: Double, panel: HudRect,
        extent: (width: Int, height: Int), into out: UnsafeMutableBufferPointer<Float>
    ) -> Int {
        guard extent.width > 0, extent.height > 0 else { return 0 }
        let w = Float(extent.width)
        let h = Float(extent.height)
        let capacity = out.count / floatsPerVertex
        var n = 0
        quads(frames: frames, targetMs: targetMs, topMs: topMs, panel: panel) { quad in
            guard n + 6 <= capacity else { return }
            // pixels → clip space: x 0...w → -1...1; y 0...h → -1...1 (Vulkan's clip y points down, like pixels).
            let ax = quad.rect.x / w * 2 - 1
            let ay = quad.rect.y / h * 2 - 1
            let bx = quad.rect.maxX / w * 2 - 1
            let by = quad.rect.maxY / h * 2 - 1
            let c = quad.colour
            func put(_ x: Float, _ y: Float) {
                let base = n * floatsPerVertex
                out[base] = x
                out[base + 1] = y
                out[base + 2] = c.r
                out[base + 3] = c.g
                out[base + 4] = c.b
                out[base + 5] = c.a
                n += 1
            }
            put(ax, ay)
            put(bx, ay)
            put(bx, by)
            put(ax, ay)
            put(bx, by)
            put(ax, by)
        }
        return n
    }
}
