// Frame records: one per frame generation, with the timestamps of the brief's frame record, all on
// CLOCK_MONOTONIC nanoseconds (GPU timestamps converted by the renderer). 0 means "not recorded" in
// every timestamp field (CLOCK_MONOTONIC is never 0 on a running system), which keeps the record
// a fixed-size, bitwise-copyable value: storing one never allocates.

/// What happened to a frame.
public enum FrameOutcome: UInt8, Sendable, BitwiseCopyable, Codable, CaseIterable {
    /// Rendered and counted in the statistics.
    case measured
    /// Rendered before measuring began (`--warmup`).
    case warmup
    /// Computed and published, but replaced by a newer frame before the renderer took it (`latest`).
    case dropped
    /// A tile faulted; the frame was never published.
    case failed
    /// Cancelled by a kernel reload while being computed.
    case cancelled
    /// Scheduled or computed but the run ended before it was rendered.
    case unfinished
}

/// The frame record of one generation (see the brief, "Frame record").
public struct FrameRecord: Sendable, BitwiseCopyable, Equatable {
    public var generation: UInt64
    /// The kernel's frame index (fp_frame's `frame` argument); -1 when unknown.
    public var frameIndex: Int32 = -1
    public var outcome: FrameOutcome = .unfinished
    /// Tiles the frame was cut into, and how many were recorded (see `FrameLog.tiles`).
    public var tileCount: UInt16 = 0
    public var tilesRecorded: UInt16 = 0
    /// The opener started claiming a slot for the frame.
    public var scheduleNanos: UInt64 = 0
    /// First tile start and last tile end over all tiles.
    public var computeStartNanos: UInt64 = 0
    public var computeEndNanos: UInt64 = 0
    /// Worker CPU time summed over the tiles whose CPU time was read (ComputeEvent.cpuNanos), and how many those were.
    public var computeCPUNanos: UInt64 = 0
    public var cpuTilesRecorded: UInt16 = 0
    /// The last tile completed and the frame became visible to the renderer.
    public var publishNanos: UInt64 = 0
    /// The render thread acquired the frame's slot.
    public var acquireNanos: UInt64 = 0
    /// Just before vkQueueSubmit (after the upload copy or the in-place bind, and command recording).
    public var submitNanos: UInt64 = 0
    /// The frame's first and last GPU timestamps, on CLOCK_MONOTONIC.
    public var gpuStartNanos: UInt64 = 0
    public var gpuEndNanos: UInt64 = 0
    /// Headless: the host saw the frame's fence signalled.
    public var completeNanos: UInt64 = 0
    /// Window: vkQueuePresentKHR returned for the frame.
    public var presentNanos: UInt64 = 0

    public init(generation: UInt64) {
        self.generation = generation
    }

    /// Nanoseconds from `start` to `end` when both were recorded and in order, else nil.
    @inline(__always)
    public static func span(_ start: UInt64, _ end: UInt64) -> UInt64? {
        start != 0 && end != 0 && end >= start ? end - start : nil
    }

    /// When the frame was done: presented (window), else GPU end, else fence seen; 0 if none.
    public var doneNanos: UInt64 {
        if presentNanos != 0 { return presentNanos }
        if gpuEndNanos != 0 { return gpuEndNanos }
        return completeNanos
    }

    // Stage durations (nil where a timestamp is missing), as docs/benchmarking.md defines them.
    /// compute: first tile start → last tile end.
    public var computeNanos: UInt64? { Self.span(computeStartNanos, computeEndNanos) }
    /// compute CPU: the workers' CPU time over all the frame's tiles — compute without the waits and preemptions that
    /// the wall-clock `compute` includes; nil unless every tile's CPU time was read.
    public var computeCPUTotalNanos: UInt64? {
        tileCount > 0 && cpuTilesRecorded == tileCount ? computeCPUNanos : nil
    }
    /// handoff_wait: publish → acquire (the frame waited in the ring for the render thread).
    public var handoffWaitNanos: UInt64? { Self.span(publishNanos, acquireNanos) }
    /// upload: acquire → submit (host copy into staging, or validate + bind in place; command recording).
    public var uploadNanos: UInt64? { Self.span(acquireNanos, submitNanos) }
    /// gpu: first → last GPU timestamp.
    public var gpuNanos: UInt64? { Self.span(gpuStartNanos, gpuEndNanos) }
    /// present: GPU end → presented (window) or fence seen (headless).
    public var presentStageNanos: UInt64? {
        Self.span(gpuEndNanos, presentNanos != 0 ? presentNanos : completeNanos)
    }
    /// End-to-end latency: schedule → GPU end (→ fence seen where there are no GPU timestamps).
    public var latencyNanos: UInt64? {
        Self.span(scheduleNanos, gpuEndNanos != 0 ? gpuEndNanos : completeNanos)
    }
}

/// One tile's compute span.
public struct TileSpan: Sendable, BitwiseCopyable, Equatable {
    public var generation: UInt64
    public var worker: UInt16
    public var tile: UInt16
    public var startNanos: UInt64
    public var endNanos: UInt64

    public init(generation: UInt64, worker: UInt16, tile: UInt16, startNanos: UInt64, endNanos: UInt64) {
        self.generation = generation
        self.worker = worker
        self.tile = tile
        self.startNanos = startNanos
        self.endNanos = endNanos
    }
}

/// Everything a run recorded: frame records in generation order and every tile span. Built by the
/// pipeline (`Framepipe`) off the hot path from the workers' telemetry rings and the render
/// thread's own stamps; read by the statistics and the exporters.
public struct FrameLog: Sendable {
    /// Ordered by generation, one per generation seen.
    public var records: [FrameRecord]
    /// Ordered as recorded (per worker in time order).
    public var tiles: [TileSpan]
    /// Compute workers (trace tracks 0..<workers).
    public var workers: Int
    /// CLOCK_MONOTONIC ns when measuring began (after warmup) and ended.
    public var measureStartNanos: UInt64
    public var measureEndNanos: UInt64
    /// False when the records are only the run's last ones (a long bench keeps a bounded window of
    /// them for trace.json and frametimes.svg): then the measured frames here are not all the run's.
    public var coversWholeRun: Bool

    public init(
        records: [FrameRecord], tiles: [TileSpan], workers: Int, measureStartNanos: UInt64, measureEndNanos: UInt64,
        coversWholeRun: Bool = true
    ) {
        self.records = records
        self.tiles = tiles
        self.workers = workers
        self.measureStartNanos = measureStartNanos
        self.measureEndNanos = measureEndNanos
        self.coversWholeRun = coversWholeRun
    }

    /// The measured frames, in generation order.
    public var measured: [FrameRecord] { records.filter { $0.outcome == .measured } }
}
