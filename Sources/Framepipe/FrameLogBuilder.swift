import FrameTiming
import KernelRuntime

/// Assembles the run's frame records (FrameTiming.FrameLog) on the render thread, off the hot path:
/// the workers' side arrives as ComputeEvents drained from their SPSC telemetry rings, the render
/// side is stamped by the render loop itself.
///
/// Records live in one array indexed by `generation − 1` (the ring hands out generations 1, 2, 3 …
/// densely, one per claimed slot), so finding a frame's record is an index, not a hash lookup.
/// Storage is reserved up front for the frames the run expects (times four, for frames dropped under
/// `latest`); a run that outgrows it grows the arrays geometrically — amortised, and never on a
/// worker thread.
struct FrameLogBuilder {
    private(set) var records: [FrameRecord] = []
    private(set) var tiles: [TileSpan] = []
    /// Frames whose tile faulted, as the telemetry reported them so far.
    private(set) var failedFrames = 0

    init(expectedFrames: Int, tilesPerFrame: Int) {
        let frames = max(64, expectedFrames * 4)
        records.reserveCapacity(frames)
        tiles.reserveCapacity(frames * max(1, tilesPerFrame))
    }

    /// The record of `generation`, created (with every generation before it) if new.
    private mutating func index(of generation: UInt64) -> Int? {
        guard generation > 0, generation <= UInt64(Int.max) else { return nil }
        let index = Int(generation - 1)
        while records.count <= index {
            records.append(FrameRecord(generation: UInt64(records.count + 1)))
        }
        return index
    }

    /// Folds one worker event into its frame's record (and keeps the tile's span for the trace).
    mutating func add(_ event: ComputeEvent) {
        guard let i = index(of: event.generation) else { return }
        records[i].fold(event)
        switch event.kind {
        case .tile:
            tiles.append(
                TileSpan(
                    generation: event.generation, worker: event.worker, tile: event.tile, startNanos: event.startNanos,
                    endNanos: event.endNanos))
        case .failed:
            failedFrames += 1
        case .published, .cancelled:
            break
        }
    }

    mutating func acquired(_ generation: UInt64, at nanos: UInt64, measured: Bool) {
        guard let i = index(of: generation) else { return }
        records[i].acquireNanos = nanos
        records[i].outcome = measured ? .measured : .warmup
    }

    mutating func submitted(_ generation: UInt64, at nanos: UInt64) {
        guard let i = index(of: generation) else { return }
        records[i].submitNanos = nanos
    }

    /// A frame the renderer could not use after all (its handle was stale when validated).
    mutating func rejected(_ generation: UInt64) {
        guard let i = index(of: generation) else { return }
        records[i].outcome = .dropped
    }

    mutating func completed(
        _ generation: UInt64, completeNanos: UInt64, gpuStartNanos: UInt64?, gpuEndNanos: UInt64?
    ) {
        guard let i = index(of: generation) else { return }
        records[i].completeNanos = completeNanos
        records[i].gpuStartNanos = gpuStartNanos ?? 0
        records[i].gpuEndNanos = gpuEndNanos ?? 0
    }

    func record(_ generation: UInt64) -> FrameRecord? {
        guard generation > 0, generation <= UInt64(records.count) else { return nil }
        return records[Int(generation - 1)]
    }

    /// The finished log. Frames published but never rendered become `dropped` when a later frame was
    /// rendered (under `latest` they were replaced), else stay `unfinished` (the run ended first).
    func finish(workers: Int, measureStartNanos: UInt64, measureEndNanos: UInt64) -> FrameLog {
        let lastRendered = records.last(where: { $0.acquireNanos != 0 })?.generation ?? 0
        var final = records
        for i in final.indices where final[i].outcome == .unfinished && final[i].publishNanos != 0 {
            if final[i].generation < lastRendered { final[i].outcome = .dropped }
        }
        return FrameLog(
            records: final, tiles: tiles, workers: workers, measureStartNanos: measureStartNanos,
            measureEndNanos: measureEndNanos)
    }
}

extension FrameRecord {
    /// Folds one worker telemetry event into this frame's record: schedule, frame index and tile
    /// count (the same in every event of a frame), the compute span over its tiles, publish, and a
    /// failed or cancelled outcome. The bench's FrameLogBuilder and the viewer's timeline share it.
    mutating func fold(_ event: ComputeEvent) {
        if scheduleNanos == 0 { scheduleNanos = event.scheduleNanos }
        frameIndex = event.frameIndex
        tileCount = event.tileCount
        switch event.kind {
        case .tile:
            tilesRecorded &+= 1
            if event.startNanos != 0 {
                computeStartNanos = computeStartNanos == 0 ? event.startNanos : min(computeStartNanos, event.startNanos)
            }
            computeEndNanos = max(computeEndNanos, event.endNanos)
        case .published:
            publishNanos = event.endNanos
        case .failed:
            outcome = .failed
        case .cancelled:
            outcome = .cancelled
        }
    }
}
