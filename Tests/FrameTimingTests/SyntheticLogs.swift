import FrameTiming

/// Milliseconds as nanoseconds, offset from a realistic CLOCK_MONOTONIC origin (never 0).
let origin: UInt64 = 5_000_000_000
func at(_ milliseconds: Double) -> UInt64 { UInt64(Int64(origin) + Int64((milliseconds * 1e6).rounded())) }
func ms(_ milliseconds: Double) -> UInt64 { UInt64((milliseconds * 1e6).rounded()) }

/// A complete pipeline: `frames` measured frames, one every `period` ms, each cut into
/// `tilesPerFrame` tiles spread round-robin over `workers` workers; every timestamp recorded
/// (headless: complete, no present). Frame g (0-based) is scheduled at g × period.
func steadyLog(
    frames: Int, period: Double = 10, workers: Int = 2, tilesPerFrame: Int = 4, withGPU: Bool = true
) -> FrameLog {
    var records: [FrameRecord] = []
    var tiles: [TileSpan] = []
    for index in 0..<frames {
        let base = Double(index) * period
        var record = FrameRecord(generation: UInt64(index + 1))
        record.frameIndex = Int32(index)
        record.outcome = .measured
        record.tileCount = UInt16(tilesPerFrame)
        record.tilesRecorded = UInt16(tilesPerFrame)
        record.scheduleNanos = at(base)
        // Tiles: per worker back to back, 1 ms each, starting 0.5 ms after schedule.
        var workerClock = [Double](repeating: base + 0.5, count: workers)
        for tile in 0..<tilesPerFrame {
            let worker = tile % workers
            let start = workerClock[worker]
            workerClock[worker] += 1
            tiles.append(
                TileSpan(
                    generation: record.generation, worker: UInt16(worker), tile: UInt16(tile),
                    startNanos: at(start), endNanos: at(start + 1)))
        }
        let computeEnd = workerClock.max() ?? base
        record.computeStartNanos = at(base + 0.5)
        record.computeEndNanos = at(computeEnd)
        record.publishNanos = at(computeEnd + 0.1)
        record.acquireNanos = at(computeEnd + 0.3)
        record.submitNanos = at(computeEnd + 0.8)
        if withGPU {
            record.gpuStartNanos = at(computeEnd + 1.0)
            record.gpuEndNanos = at(computeEnd + 2.5)
        }
        record.completeNanos = at(computeEnd + 2.7)
        records.append(record)
    }
    return FrameLog(
        records: records, tiles: tiles, workers: workers,
        measureStartNanos: at(0), measureEndNanos: at(Double(frames) * period))
}

/// A measured record that is done (GPU end) at `done` ms, with nothing else recorded.
func doneRecord(_ generation: UInt64, done: Double?, outcome: FrameOutcome = .measured) -> FrameRecord {
    var record = FrameRecord(generation: generation)
    record.outcome = outcome
    if let done {
        record.gpuStartNanos = at(done - 1)
        record.gpuEndNanos = at(done)
    }
    return record
}

/// A tiny deterministic generator (SplitMix64), so sampled distributions are the same every run.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in (0, 1).
    mutating func unit() -> Double { (Double(next() >> 11) + 0.5) / Double(1 << 53) }
}
