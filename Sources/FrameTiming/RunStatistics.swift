// Run statistics: what one run's frame log says, per stage and for the frame interval and latency.
// Everything is computed from the FrameLog alone, so the statistics, frames.csv and the trace agree
// by construction (the CSV's interval column uses the very same pairing as the statistics).

/// A stage of a frame's way through the pipeline (definitions: FrameRecord's stage durations). The one list of stages:
/// summary.json's `stages_ms`, frames.csv's stage columns, the console table, the viewer's overlay and timing report all
/// follow `allCases`, in this order (bottom to top in the overlay's stacked bars).
public enum Stage: String, CaseIterable, Sendable, Codable {
    /// First tile start → last tile end.
    case compute
    /// Publish → acquire: the frame waited in the slot ring for the render thread.
    case handoffWait = "handoff_wait"
    /// Acquire → submit: copy into staging (or validate and bind in place) and command recording.
    case upload
    /// First → last GPU timestamp.
    case gpu
    /// GPU end → presented (window) or fence seen (headless).
    case present

    /// The stage's name in reports, the overlay and docs.
    public var name: String { rawValue }

    /// The stage's position in `allCases` (fixed-size per-stage storage is indexed by it).
    public var index: Int {
        switch self {
        case .compute: 0
        case .handoffWait: 1
        case .upload: 2
        case .gpu: 3
        case .present: 4
        }
    }
}

extension FrameRecord {
    /// The frame's duration in `stage` in nanoseconds, nil where a timestamp is missing.
    public func nanoseconds(in stage: Stage) -> UInt64? {
        switch stage {
        case .compute: computeNanos
        case .handoffWait: handoffWaitNanos
        case .upload: uploadNanos
        case .gpu: gpuNanos
        case .present: presentStageNanos
        }
    }
}

extension FrameLog {
    /// The measured frames in generation order, each with its frame interval: `doneNanos` minus the
    /// previous measured frame's, nil for the first measured frame and where either `doneNanos` is 0
    /// or the two are out of order.
    public var measuredWithIntervals: [(record: FrameRecord, intervalNanos: UInt64?)] {
        let frames = measured.sorted { $0.generation < $1.generation }
        // The first measured frame's interval runs from the last warm-up frame before it, so a run
        // with warm-up has one interval per measured frame (and fps = 1000 / mean interval).
        let first = frames.first?.generation ?? 0
        var previousDone: UInt64? = records.last {
            $0.outcome == .warmup && $0.generation < first && $0.doneNanos != 0
        }?.doneNanos
        return frames.map { frame in
            defer { previousDone = frame.doneNanos }
            guard let previous = previousDone else { return (frame, nil) }
            return (frame, FrameRecord.span(previous, frame.doneNanos))
        }
    }
}

/// Statistics of one run's frame log.
public struct RunStatistics: Sendable {
    /// Between consecutive measured frames' `doneNanos`, in generation order (the first from the
    /// last warm-up frame's).
    public let frameInterval: DurationStatistics?
    /// `FrameRecord.latencyNanos` of the measured frames.
    public let latency: DurationStatistics?
    /// Stage durations of the measured frames; only stages with at least one sample.
    public let stages: [Stage: DurationStatistics]
    /// `FrameRecord.computeCPUTotalNanos` of the measured frames that have it (nil when none does).
    public let computeCPU: DurationStatistics?
    /// Measured frames / (measureEnd − measureStart) in seconds; 0 if there is no span.
    public let fps: Double
    /// Union of the measured frames' GPU intervals, clipped to the measure window, / window × 100;
    /// nil without GPU timestamps or without a window.
    public let gpuBusyPercent: Double?
    /// Sum of all tile spans (any outcome: a worker busy on a frame that was later dropped was busy)
    /// clipped to the window, / (workers × window) × 100; nil without tiles, workers or a window.
    public let computeUtilisationPercent: Double?
    /// Frames per outcome over all records; every outcome is present (0 where none).
    public let outcomes: [FrameOutcome: Int]

    /// The "1 % low" and "0.1 % low" fps (PresentMon's and CapFrameX's figures from frame times): 1000 / the mean of
    /// the slowest 1 % (0.1 %) of frame intervals in ms; nil with fewer than 100 (1000) intervals.
    public var fps1PercentLow: Double? { frameInterval?.slowest1PercentMean.map { $0 > 0 ? 1000 / $0 : 0 } }
    public var fps01PercentLow: Double? { frameInterval?.slowest01PercentMean.map { $0 > 0 ? 1000 / $0 : 0 } }

    /// Jitter of the frame interval: its sample standard deviation, ms.
    public var jitterStddev: Double? { frameInterval?.stddev }
    /// Jitter of the frame interval: p99 − p50, ms.
    public var jitterP99MinusP50: Double? { frameInterval?.p99MinusP50 }

    init(
        frameInterval: DurationStatistics?, latency: DurationStatistics?, stages: [Stage: DurationStatistics],
        computeCPU: DurationStatistics?, fps: Double, gpuBusyPercent: Double?, computeUtilisationPercent: Double?,
        outcomes: [FrameOutcome: Int]
    ) {
        self.frameInterval = frameInterval
        self.latency = latency
        self.stages = stages
        self.computeCPU = computeCPU
        self.fps = fps
        self.gpuBusyPercent = gpuBusyPercent
        self.computeUtilisationPercent = computeUtilisationPercent
        self.outcomes = outcomes
    }

    public init(log: FrameLog) {
        var intervals = DurationHistogram()
        var latencies = DurationHistogram()
        var stageHistograms = [Stage: DurationHistogram]()
        var cpu = DurationHistogram()
        for (record, interval) in log.measuredWithIntervals {
            if let interval { intervals.record(nanoseconds: interval) }
            if let latency = record.latencyNanos { latencies.record(nanoseconds: latency) }
            if let nanos = record.computeCPUTotalNanos { cpu.record(nanoseconds: nanos) }
            for stage in Stage.allCases {
                if let duration = record.nanoseconds(in: stage) {
                    stageHistograms[stage, default: DurationHistogram()].record(nanoseconds: duration)
                }
            }
        }
        frameInterval = DurationStatistics(intervals)
        latency = DurationStatistics(latencies)
        stages = stageHistograms.compactMapValues { DurationStatistics($0) }
        computeCPU = DurationStatistics(cpu)

        var counts = Dictionary(uniqueKeysWithValues: FrameOutcome.allCases.map { ($0, 0) })
        for record in log.records { counts[record.outcome, default: 0] += 1 }
        outcomes = counts

        let window = FrameRecord.span(log.measureStartNanos, log.measureEndNanos) ?? 0
        let measuredCount = counts[.measured] ?? 0
        fps = window > 0 ? Double(measuredCount) / (Double(window) / 1e9) : 0

        if window > 0 {
            let gpuIntervals = log.measured.compactMap { record -> (UInt64, UInt64)? in
                guard record.gpuNanos != nil else { return nil }
                return (record.gpuStartNanos, record.gpuEndNanos)
            }
            gpuBusyPercent = gpuIntervals.isEmpty
                ? nil
                : Double(Self.unionLength(gpuIntervals, from: log.measureStartNanos, to: log.measureEndNanos))
                    / Double(window) * 100
            if log.workers > 0, !log.tiles.isEmpty {
                var busy: UInt64 = 0
                for tile in log.tiles {
                    busy += Self.clippedLength(
                        tile.startNanos, tile.endNanos, from: log.measureStartNanos, to: log.measureEndNanos)
                }
                computeUtilisationPercent = Double(busy) / (Double(log.workers) * Double(window)) * 100
            } else {
                computeUtilisationPercent = nil
            }
        } else {
            gpuBusyPercent = nil
            computeUtilisationPercent = nil
        }
    }

    /// Length of [start, end] ∩ [windowStart, windowEnd]; 0 for an empty or reversed interval.
    static func clippedLength(_ start: UInt64, _ end: UInt64, from windowStart: UInt64, to windowEnd: UInt64) -> UInt64 {
        let lower = Swift.max(start, windowStart)
        let upper = Swift.min(end, windowEnd)
        return upper > lower ? upper - lower : 0
    }

    /// Total length of the union of `intervals` clipped to the window (overlaps counted once).
    static func unionLength(_ intervals: [(UInt64, UInt64)], from windowStart: UInt64, to windowEnd: UInt64) -> UInt64 {
        let clipped = intervals.compactMap { start, end -> (UInt64, UInt64)? in
            let lower = Swift.max(start, windowStart)
            let upper = Swift.min(end, windowEnd)
            return upper > lower ? (lower, upper) : nil
        }.sorted { $0.0 < $1.0 }
        var total: UInt64 = 0
        var current: (UInt64, UInt64)? = nil
        for interval in clipped {
            if let open = current, interval.0 <= open.1 {
                current = (open.0, Swift.max(open.1, interval.1))
            } else {
                if let open = current { total += open.1 - open.0 }
                current = interval
            }
        }
        if let open = current { total += open.1 - open.0 }
        return total
    }
}

/// RunStatistics built on the fly, for runs too long to keep every record: the same figures as
/// `RunStatistics(log:)` over the whole run, from records handed over once each, in generation order,
/// as they settle (FrameLogBuilder). Memory is the histograms', whatever the run's length.
///
/// The measure window's end is known only at the end, so records and tiles still held then are given
/// to `finish` and clipped there exactly; those handed over earlier (`addSettledTile`) are clipped at
/// the window's start only — they ended long before the run did. GPU intervals of measured frames
/// arrive in submission order (one queue), so their union is kept as one open interval plus a total.
public struct RunStatisticsAccumulator: Sendable {
    private var intervals = DurationHistogram()
    private var latencies = DurationHistogram()
    private var stageHistograms = [Stage: DurationHistogram]()
    private var cpu = DurationHistogram()
    /// Start of the measure window: set before the first measured frame is added.
    public private(set) var measureStartNanos: UInt64?
    public private(set) var measuredCount = 0
    private var gpuClosedNanos: UInt64 = 0
    private var gpuOpen: (start: UInt64, end: UInt64)?
    private var sawGPU = false
    private var settledTileBusyNanos: UInt64 = 0
    private var sawTile = false
    private var settledOutcomes = Dictionary(uniqueKeysWithValues: FrameOutcome.allCases.map { ($0, 0) })

    public init() {}

    public mutating func startMeasuring(at nanos: UInt64) { measureStartNanos = nanos }

    /// A measured frame, with its frame interval (FrameLog.measuredWithIntervals' pairing).
    public mutating func addMeasured(_ record: FrameRecord, intervalNanos interval: UInt64?) {
        measuredCount += 1
        if let interval { intervals.record(nanoseconds: interval) }
        if let latency = record.latencyNanos { latencies.record(nanoseconds: latency) }
        if let nanos = record.computeCPUTotalNanos { cpu.record(nanoseconds: nanos) }
        for stage in Stage.allCases {
            if let duration = record.nanoseconds(in: stage) {
                stageHistograms[stage, default: DurationHistogram()].record(nanoseconds: duration)
            }
        }
        guard record.gpuNanos != nil else { return }
        sawGPU = true
        let start = Swift.max(record.gpuStartNanos, measureStartNanos ?? 0)
        let end = record.gpuEndNanos
        guard end > start else { return }
        if let open = gpuOpen, start <= open.end {
            gpuOpen = (Swift.min(open.start, start), Swift.max(open.end, end))
        } else {
            if let open = gpuOpen { gpuClosedNanos += open.end - open.start }
            gpuOpen = (start, end)
        }
    }

    /// A record leaving the builder's window (any outcome, final).
    public mutating func addSettledOutcome(_ outcome: FrameOutcome) { settledOutcomes[outcome, default: 0] += 1 }

    /// A tile span leaving the builder's window. Before measuring has a start it counts nothing: such a
    /// tile belongs to a warm-up frame, done before the last warm-up frame that starts the window.
    public mutating func addSettledTile(_ tile: TileSpan) {
        sawTile = true
        guard let start = measureStartNanos else { return }
        settledTileBusyNanos += RunStatistics.clippedLength(tile.startNanos, tile.endNanos, from: start, to: .max)
    }

    /// The statistics of the whole run. `remaining`: the records and tiles still held (their outcomes
    /// final), clipped here to the window [measure start, `measureEndNanos`].
    public func finish(measureEndNanos end: UInt64, remaining: FrameLog) -> RunStatistics {
        let start = measureStartNanos ?? remaining.measureStartNanos
        var outcomes = settledOutcomes
        for record in remaining.records { outcomes[record.outcome, default: 0] += 1 }
        let window = FrameRecord.span(start, end) ?? 0
        let fps = window > 0 ? Double(measuredCount) / (Double(window) / 1e9) : 0
        var gpuBusy: Double?
        var computeUtilisation: Double?
        if window > 0 {
            if sawGPU {
                let last = gpuOpen.map { RunStatistics.clippedLength($0.start, $0.end, from: start, to: end) } ?? 0
                gpuBusy = Double(gpuClosedNanos + last) / Double(window) * 100
            }
            if remaining.workers > 0, sawTile || !remaining.tiles.isEmpty {
                var busy = settledTileBusyNanos
                for tile in remaining.tiles {
                    busy += RunStatistics.clippedLength(tile.startNanos, tile.endNanos, from: start, to: end)
                }
                computeUtilisation = Double(busy) / (Double(remaining.workers) * Double(window)) * 100
            }
        }
        return RunStatistics(
            frameInterval: DurationStatistics(intervals), latency: DurationStatistics(latencies),
            stages: stageHistograms.compactMapValues { DurationStatistics($0) }, computeCPU: DurationStatistics(cpu),
            fps: fps, gpuBusyPercent: gpuBusy,
            computeUtilisationPercent: computeUtilisation, outcomes: outcomes)
    }
}
