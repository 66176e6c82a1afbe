import XCTest

@testable import FrameTiming

final class RunStatisticsTests: XCTestCase {
    func testFrameIntervalsPairConsecutiveMeasuredFramesAndSkipMissingOrReversedOnes() throws {
        // gen 2 dropped (ignored); gen 5 has no done timestamp (both its pairs skipped);
        // gen 7 is done before gen 6 (pair skipped). Intervals: 1→3 10, 3→4 15, 7→8 15.
        let records = [
            doneRecord(1, done: 10), doneRecord(2, done: 12, outcome: .dropped), doneRecord(3, done: 20),
            doneRecord(4, done: 35), doneRecord(5, done: nil), doneRecord(6, done: 50), doneRecord(7, done: 45),
            doneRecord(8, done: 60),
        ]
        // Out of generation order on purpose: the statistics sort by generation.
        let log = FrameLog(
            records: records.reversed(), tiles: [], workers: 1, measureStartNanos: at(0), measureEndNanos: at(100))
        let statistics = RunStatistics(log: log)
        let interval = try XCTUnwrap(statistics.frameInterval)
        XCTAssertEqual(interval.count, 3)
        XCTAssertEqual(interval.min, 10, accuracy: 1e-9)
        XCTAssertEqual(interval.max, 15, accuracy: 1e-9)
        XCTAssertEqual(interval.mean, 40.0 / 3, accuracy: 1e-9)
        // Sample stddev of {10, 15, 15}: √((100/9 + 25/9 + 25/9) / 2) = √(25/3).
        XCTAssertEqual(interval.stddev, (25.0 / 3).squareRoot(), accuracy: 1e-9)
        XCTAssertEqual(interval.p50, 15, accuracy: 15 * 0.001)
        XCTAssertEqual(statistics.jitterStddev ?? 0, interval.stddev)
        XCTAssertEqual(statistics.jitterP99MinusP50 ?? -1, interval.p99 - interval.p50)
        // 7 measured frames over 0.1 s.
        XCTAssertEqual(statistics.fps, 70, accuracy: 1e-9)
        XCTAssertEqual(statistics.outcomes[.measured], 7)
        XCTAssertEqual(statistics.outcomes[.dropped], 1)
        XCTAssertEqual(statistics.outcomes[.failed], 0)
        XCTAssertEqual(statistics.outcomes.count, FrameOutcome.allCases.count)
    }

    func testStageAndLatencyStatisticsOfASteadyPipeline() throws {
        let log = steadyLog(frames: 20, period: 10, workers: 2, tilesPerFrame: 4)
        let statistics = RunStatistics(log: log)
        // 4 tiles of 1 ms on 2 workers: compute 2 ms; then the fixed offsets of steadyLog.
        let expected: [Stage: Double] = [.compute: 2.0, .handoffWait: 0.2, .upload: 0.5, .gpu: 1.5, .present: 0.2]
        XCTAssertEqual(Set(statistics.stages.keys), Set(Stage.allCases))
        for (stage, milliseconds) in expected {
            let stageStatistics = try XCTUnwrap(statistics.stages[stage], "\(stage)")
            XCTAssertEqual(stageStatistics.count, 20, "\(stage)")
            XCTAssertEqual(stageStatistics.mean, milliseconds, accuracy: 1e-9, "\(stage)")
            XCTAssertEqual(stageStatistics.stddev, 0, accuracy: 1e-9, "\(stage)")
            XCTAssertEqual(stageStatistics.p99, milliseconds, accuracy: milliseconds * 0.001, "\(stage)")
        }
        // Latency: schedule → GPU end = 0.5 + 2 + 2.5.
        let latency = try XCTUnwrap(statistics.latency)
        XCTAssertEqual(latency.count, 20)
        XCTAssertEqual(latency.mean, 5.0, accuracy: 1e-9)
        let interval = try XCTUnwrap(statistics.frameInterval)
        XCTAssertEqual(interval.count, 19)
        XCTAssertEqual(interval.mean, 10, accuracy: 1e-9)
        XCTAssertEqual(statistics.fps, 100, accuracy: 1e-9)
        // GPU busy 1.5 ms of every 10 ms; compute: 4 ms of tile work per 10 ms on 2 workers.
        XCTAssertEqual(try XCTUnwrap(statistics.gpuBusyPercent), 15, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(statistics.computeUtilisationPercent), 20, accuracy: 1e-9)
    }

    func testStagesWithoutSamplesAreAbsentAndGPUBusyIsNilWithoutGPUTimestamps() {
        let statistics = RunStatistics(log: steadyLog(frames: 5, withGPU: false))
        XCTAssertNil(statistics.stages[.gpu])
        XCTAssertNotNil(statistics.stages[.compute])
        // Headless without GPU timestamps: present = GPU end → fence has no start either.
        XCTAssertNil(statistics.stages[.present])
        XCTAssertNil(statistics.gpuBusyPercent)
        // Latency falls back to schedule → fence seen.
        XCTAssertEqual(statistics.latency?.mean ?? 0, 0.5 + 2 + 2.7, accuracy: 1e-9)
    }

    func testGPUBusyMergesOverlappingIntervalsAndClipsToTheWindow() throws {
        func gpu(_ generation: UInt64, _ start: Double, _ end: Double, _ outcome: FrameOutcome = .measured) -> FrameRecord {
            var record = FrameRecord(generation: generation)
            record.outcome = outcome
            record.gpuStartNanos = at(start)
            record.gpuEndNanos = at(end)
            return record
        }
        let records = [
            gpu(1, -5, 5),  // clipped to 0…5: 5
            gpu(2, 10, 20), gpu(3, 15, 25),  // union 10…25: 15
            gpu(4, 18, 22),  // inside the union: 0 more
            gpu(5, 40, 60, .dropped),  // not measured: ignored
            gpu(6, 90, 110),  // clipped to 90…100: 10
        ]
        let log = FrameLog(records: records, tiles: [], workers: 1, measureStartNanos: at(0), measureEndNanos: at(100))
        XCTAssertEqual(try XCTUnwrap(RunStatistics(log: log).gpuBusyPercent), 30, accuracy: 1e-9)
    }

    func testComputeUtilisationSumsClippedTileSpansOverAllWorkers() throws {
        let tiles = [
            TileSpan(generation: 1, worker: 0, tile: 0, startNanos: at(0), endNanos: at(40)),
            TileSpan(generation: 2, worker: 0, tile: 0, startNanos: at(50), endNanos: at(60)),
            TileSpan(generation: 1, worker: 1, tile: 1, startNanos: at(-10), endNanos: at(10)),  // 10 inside
            TileSpan(generation: 3, worker: 1, tile: 0, startNanos: at(95), endNanos: at(120)),  // 5 inside
            TileSpan(generation: 4, worker: 1, tile: 0, startNanos: at(130), endNanos: at(140)),  // outside
        ]
        let log = FrameLog(records: [], tiles: tiles, workers: 2, measureStartNanos: at(0), measureEndNanos: at(100))
        let statistics = RunStatistics(log: log)
        // (40 + 10 + 10 + 5) / (2 × 100) = 32.5 %.
        XCTAssertEqual(try XCTUnwrap(statistics.computeUtilisationPercent), 32.5, accuracy: 1e-9)
        XCTAssertEqual(statistics.fps, 0)
        XCTAssertNil(statistics.frameInterval)
        XCTAssertNil(statistics.latency)
        XCTAssertTrue(statistics.stages.isEmpty)
    }

    func testNoMeasureWindowGivesZeroFPSAndNoPercentages() {
        var log = steadyLog(frames: 3)
        log.measureEndNanos = log.measureStartNanos
        let statistics = RunStatistics(log: log)
        XCTAssertEqual(statistics.fps, 0)
        XCTAssertNil(statistics.gpuBusyPercent)
        XCTAssertNil(statistics.computeUtilisationPercent)
        XCTAssertEqual(statistics.frameInterval?.count, 2)
    }

    func testFixedFormattingIsLocaleFreeAndRounds() {
        XCTAssertEqual(ReportFormatting.fixed(1.23456, decimals: 4), "1.2346")
        XCTAssertEqual(ReportFormatting.fixed(-2.5, decimals: 0), "-3")
        XCTAssertEqual(ReportFormatting.fixed(-0.00004, decimals: 4), "0.0000")
        XCTAssertEqual(ReportFormatting.fixed(-12.3, decimals: 2), "-12.30")
        XCTAssertEqual(ReportFormatting.fixed(0.05, decimals: 4), "0.0500")
        XCTAssertEqual(ReportFormatting.fixed(.nan, decimals: 4), "NA")
        XCTAssertEqual(ReportFormatting.microseconds(nanoseconds: 1_234_567), "1234.567")
        XCTAssertEqual(ReportFormatting.microseconds(nanoseconds: 5), "0.005")
        XCTAssertEqual(ReportFormatting.jsonString("a\"b\\c\n\u{1}"), #""a\"b\\c\n\u0001""#)
        XCTAssertEqual(ReportFormatting.xmlEscaped("<a & 'b'>"), "&lt;a &amp; &apos;b&apos;&gt;")
    }
}
