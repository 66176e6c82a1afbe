import FrameTiming
import KernelRuntime

/// Assembles the run's frame records (FrameTiming.FrameLog) on the render thread, off the hot path:
/// the workers' side arrives as ComputeEvents drained from their SPSC telemetry rings, the render
/// side is stamped by the render loop itself.
///
/// Memory is bounded whatever the run's length: records live in a ring of the last
/// `windowGenerations` generations (indexed by `generation − 1` modulo its size: the ring hands out
/// generations 1, 2, 3 … densely, one per claimed slot), tile spans in a queue of those generations'
/// tiles. What the reports need of every frame is taken as records settle, in generation order
/// (`settle`): each measured frame goes to the statistics (RunStatisticsAccumulator) and to
/// `settled` (frames.csv's rows) once it is done; a record or tile leaving the window adds its
/// outcome and busy time. trace.json and frametimes.svg get the window (`finish`): the whole run when
/// it had no more generations than that. Storage is reserved for the frames the run expects (times
/// four, for frames dropped under `latest`), at most the window; nothing allocates on a worker thread.
struct FrameLogBuilder {
    /// Generations kept for trace.json and frametimes.svg (docs/benchmarking.md, "Long runs").
    static let defaultWindowGenerations = 16_384
    /// Tile spans kept at most (the newest): with many tiles per frame they cover fewer generations.
    static let maxTiles = 65_536

    let windowGenerations: Int
    private let tileCapacity: Int
    private var ring: [FrameRecord] = []
    private var tileQueue: [TileSpan] = []
    private var tileHead = 0
    /// The highest generation with a record (every one up to it has had one).
    private(set) var newestGeneration: UInt64 = 0
    /// Frames whose tile faulted, as the telemetry reported them so far.
    private(set) var failedFrames = 0
    private(set) var statistics = RunStatisticsAccumulator()
    /// Every generation up to this one has been settled.
    private var settledThrough: UInt64 = 0
    private var lastAcquired: UInt64 = 0
    /// The last frame acquired (rejected or not), for outcomes at the end.
    private var lastRendered: UInt64 { lastAcquired }
    /// Settling state: the last warm-up frame's done (even 0) and the done the next interval counts from.
    private var lastWarmupDone: UInt64?
    private var previousDone: UInt64?
    private var lastMeasuredDone: UInt64 = 0
    /// When measuring began without warm-up: the run's start.
    var runStartNanos: UInt64 = 0
    /// Frames settled since the last `takeSettled` (frames.csv's rows, in generation order).
    private var settledFrames: [SettledFrame] = []
    /// Rows settled before the start of measuring (their time columns' zero) is known: warm-up frames and what was
    /// dropped or failed among them; they follow once it is.
    private var rowsBeforeMeasuring: [FrameRecord] = []
    /// Whether a record or tile has left the window (the window is then not the whole run).
    private var retiredAny = false

    /// A frame whose record is final (any outcome), with its frame interval (measured frames) and the start of
    /// measuring.
    struct SettledFrame {
        var record: FrameRecord
        var intervalNanos: UInt64?
        var measureStartNanos: UInt64
    }

    init(expectedFrames: Int, tilesPerFrame: Int, windowGenerations: Int = Self.defaultWindowGenerations) {
        self.windowGenerations = max(1, windowGenerations)
        tileCapacity = min(self.windowGenerations * max(1, tilesPerFrame), Self.maxTiles)
        let frames = min(max(64, expectedFrames * 4), self.windowGenerations)
        ring.reserveCapacity(frames)
        tileQueue.reserveCapacity(min(frames * max(1, tilesPerFrame), tileCapacity))
    }

    /// The oldest generation still held.
    var oldestGeneration: UInt64 {
        newestGeneration > UInt64(windowGenerations) ? newestGeneration - UInt64(windowGenerations) + 1 : 1
    }

    /// The records held, in generation order.
    var records: [FrameRecord] {
        guard newestGeneration > 0 else { return [] }
        return (oldestGeneration...newestGeneration).map { ring[slot($0)] }
    }

    private func slot(_ generation: UInt64) -> Int { Int((generation - 1) % UInt64(windowGenerations)) }

    /// The slot of `generation`'s record, created (with every generation before it) if new; nil for
    /// generation 0 and for one that has left the window.
    private mutating func index(of generation: UInt64) -> Int? {
        guard generation > 0, generation <= UInt64(Int.max) else { return nil }
        if generation <= newestGeneration { return generation >= oldestGeneration ? slot(generation) : nil }
        let window = UInt64(windowGenerations)
        while newestGeneration < generation {
            let next = newestGeneration + 1
            if next > window {
                // Its slot's record leaves the window: settled first (a frame still on its way after
                // `windowGenerations` newer ones is settled as it is).
                let leaving = next - window
                if settledThrough < leaving { settle(through: leaving, final: true) }
                retire(leaving)
            }
            let record = FrameRecord(generation: next)
            if ring.count < windowGenerations { ring.append(record) } else { ring[slot(next)] = record }
            newestGeneration = next
        }
        return slot(generation)
    }

    /// A record leaving the window: its outcome (final) and its tiles go to the statistics.
    private mutating func retire(_ generation: UInt64) {
        retiredAny = true
        statistics.addSettledOutcome(finalOutcome(ring[slot(generation)]))
        while tileHead < tileQueue.count, tileQueue[tileHead].generation <= generation {
            statistics.addSettledTile(tileQueue[tileHead])
            tileHead += 1
        }
        compactTiles()
    }

    private mutating func compactTiles() {
        if tileHead > 0, tileHead >= tileQueue.count / 2 {
            tileQueue.removeFirst(tileHead)
            tileHead = 0
        }
    }

    /// Frames published but never rendered are `dropped` when a later frame was rendered (under
    /// `latest` they were replaced), else stay `unfinished` (the run ended first).
    private func finalOutcome(_ record: FrameRecord) -> FrameOutcome {
        record.outcome == .unfinished && record.publishNanos != 0 && record.generation < lastRendered
            ? .dropped : record.outcome
    }

    /// Folds one worker event into its frame's record (and keeps the tile's span for the trace).
    mutating func add(_ event: ComputeEvent) {
        let i = index(of: event.generation)
        if let i { ring[i].fold(event) }
        switch event.kind {
        case .tile:
            let tile = TileSpan(
                generation: event.generation, worker: event.worker, tile: event.tile, startNanos: event.startNanos,
                endNanos: event.endNanos)
            if i == nil {
                statistics.addSettledTile(tile)  // late, for a generation already out of the window
            } else {
                if tileQueue.count - tileHead >= tileCapacity {
                    retiredAny = true
                    statistics.addSettledTile(tileQueue[tileHead])
                    tileHead += 1
                    compactTiles()
                }
                tileQueue.append(tile)
            }
        case .failed:
            failedFrames += 1
        case .published, .cancelled:
            break
        }
    }

    mutating func acquired(_ generation: UInt64, at nanos: UInt64, measured: Bool) {
        guard let i = index(of: generation) else { return }
        ring[i].acquireNanos = nanos
        ring[i].outcome = measured ? .measured : .warmup
        lastAcquired = max(lastAcquired, generation)
    }

    mutating func submitted(_ generation: UInt64, at nanos: UInt64) {
        guard let i = existing(generation) else { return }
        ring[i].submitNanos = nanos
    }

    /// A frame the renderer could not use after all (its handle was stale when validated).
    mutating func rejected(_ generation: UInt64) {
        guard let i = existing(generation) else { return }
        ring[i].outcome = .dropped
    }

    mutating func completed(
        _ generation: UInt64, completeNanos: UInt64, gpuStartNanos: UInt64?, gpuEndNanos: UInt64?
    ) {
        guard let i = existing(generation) else { return }
        ring[i].completeNanos = completeNanos
        ring[i].gpuStartNanos = gpuStartNanos ?? 0
        ring[i].gpuEndNanos = gpuEndNanos ?? 0
    }

    private func existing(_ generation: UInt64) -> Int? {
        guard generation >= oldestGeneration, generation <= newestGeneration, generation > 0 else { return nil }
        return slot(generation)
    }

    func record(_ generation: UInt64) -> FrameRecord? { existing(generation).map { ring[$0] } }

    /// Settles, in generation order, every record that can no longer change what the reports say of
    /// it: each measured frame once done and its publish seen goes to the statistics and to
    /// `takeSettled` (frames.csv's row; its interval paired as FrameLog.measuredWithIntervals pairs
    /// them). It stops at the first frame still on its way (acquired and not completed or its publish
    /// not yet drained, or not acquired while nothing later is). Call it after a telemetry drain: a
    /// frame's tile events are pushed before it is published, so an acquired frame's are in.
    mutating func settle() { settle(through: newestGeneration, final: false) }

    /// The measured frames settled since the last call, oldest first.
    mutating func takeSettled(_ body: (SettledFrame) -> Void) {
        for frame in settledFrames { body(frame) }
        settledFrames.removeAll(keepingCapacity: true)
    }

    private mutating func settle(through last: UInt64, final: Bool) {
        while settledThrough < last {
            let generation = settledThrough + 1
            guard let i = existing(generation) else {
                settledThrough = generation  // left the window before it could settle (never acquired)
                continue
            }
            var record = ring[i]
            if record.acquireNanos != 0 {
                if record.outcome == .dropped {
                    emitRow(record)  // acquired, then its handle was stale
                } else {
                    // A measured frame also waits for its `published` event: the worker pushes it just
                    // after the frame became visible, so a fast GPU can finish the frame first.
                    let waiting = record.completeNanos == 0 || (record.outcome == .measured && record.publishNanos == 0)
                    if waiting && !final { return }
                    let done = record.doneNanos
                    if record.outcome == .warmup {
                        lastWarmupDone = done
                        if done != 0 { previousDone = done }
                        emitRow(record)
                    } else if record.outcome == .measured {
                        if statistics.measureStartNanos == nil {
                            let start = lastWarmupDone.flatMap { $0 != 0 ? $0 : nil } ?? runStartNanos
                            statistics.startMeasuring(at: start)
                        }
                        let interval = previousDone.flatMap { FrameRecord.span($0, done) }
                        previousDone = done
                        if done != 0 { lastMeasuredDone = done }
                        statistics.addMeasured(record, intervalNanos: interval)
                        flushRowsBeforeMeasuring()
                        settledFrames.append(
                            SettledFrame(
                                record: record, intervalNanos: interval,
                                measureStartNanos: statistics.measureStartNanos ?? runStartNanos))
                    }
                }
            } else if !(final || generation < lastAcquired) {
                return
            } else {
                record.outcome = finalOutcome(record)
                emitRow(record)
            }
            settledThrough = generation
        }
    }

    /// frames.csv's row of a settled frame that is not measured: now, or once the start of measuring is known.
    private mutating func emitRow(_ record: FrameRecord) {
        if let start = statistics.measureStartNanos {
            settledFrames.append(SettledFrame(record: record, intervalNanos: nil, measureStartNanos: start))
        } else {
            rowsBeforeMeasuring.append(record)
        }
    }

    /// The rows held back until measuring started (at `start`, or the measure start now known).
    private mutating func flushRowsBeforeMeasuring(start: UInt64? = nil) {
        guard !rowsBeforeMeasuring.isEmpty, let start = start ?? statistics.measureStartNanos else { return }
        for record in rowsBeforeMeasuring {
            settledFrames.append(SettledFrame(record: record, intervalNanos: nil, measureStartNanos: start))
        }
        rowsBeforeMeasuring.removeAll()
    }

    /// Settles everything (the last rows wait in `takeSettled`); returns the window's records
    /// (trace.json, frametimes.svg) and the whole run's statistics. The measure window starts where the
    /// last warm-up frame was done (so it holds exactly one interval per measured frame), or at the
    /// run's start without warm-up, and ends where the last measured frame was done.
    mutating func finish(workers: Int) -> (window: FrameLog, statistics: RunStatistics) {
        settle(through: newestGeneration, final: true)
        let start = statistics.measureStartNanos ?? (lastWarmupDone.flatMap { $0 != 0 ? $0 : nil } ?? runStartNanos)
        flushRowsBeforeMeasuring(start: start)  // a run that never measured a frame
        let end = max(start, lastMeasuredDone)
        var held = records
        for i in held.indices { held[i].outcome = finalOutcome(held[i]) }
        let oldest = oldestGeneration
        let remaining = FrameLog(
            records: held, tiles: Array(tileQueue[tileHead...]), workers: workers, measureStartNanos: start,
            measureEndNanos: end)
        var window = remaining
        window.tiles.removeAll { $0.generation < oldest }  // an older generation's late tile
        window.coversWholeRun = !retiredAny
        return (window, statistics.finish(measureEndNanos: end, remaining: remaining))
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
            if event.cpuNanos != 0 {
                computeCPUNanos &+= event.cpuNanos
                cpuTilesRecorded &+= 1
            }
        case .published:
            publishNanos = event.endNanos
        case .failed:
            outcome = .failed
        case .cancelled:
            outcome = .cancelled
        }
    }
}
