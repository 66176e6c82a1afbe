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

    /// Folds one worker event into its frame's record.
    mutating func add(_ event: ComputeEvent) {
        guard let i = index(of: event.generation) else { return }
        if records[i].scheduleNanos == 0 { records[i].scheduleNanos = event.scheduleNanos }
        records[i].frameIndex = event.frameIndex
        records[i].tileCount = event.tileCount
        switch event.kind {
        case .tile:
            records[i].tilesRecorded &+= 1
            let start = records[i].computeStartNanos
            records[i].computeStartNanos = start == 0 ? event.startNanos : min(start, event.startNanos)
            records[i].computeEndNanos = max(records[i].computeEndNanos, event.endNanos)
            tiles.append(
                TileSpan(
                    generation: event.generation, worker: event.worker, tile: event.tile, startNanos: event.startNanos,
                    endNanos: event.endNanos))
        case .published:
            records[i].publishNanos = event.endNanos
        case .failed:
            records[i].outcome = .failed
            failedFrames += 1
        case .cancelled:
            records[i].outcome = .cancelled
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
