import FrameTiming
import XCTest

@testable import Framepipe
@testable import KernelRuntime

/// How the bench folds worker telemetry and render stamps into frame records.
final class FrameLogBuilderTests: XCTestCase {
    private func event(
        _ kind: ComputeEvent.Kind, generation: UInt64, worker: UInt16 = 0, tile: UInt16 = 0, tiles: UInt16 = 2,
        start: UInt64, end: UInt64
    ) -> ComputeEvent {
        ComputeEvent(
            kind: kind, worker: worker, tile: tile, tileCount: tiles, frameIndex: Int32(generation) - 1,
            generation: generation, scheduleNanos: 1_000 * generation, startNanos: start, endNanos: end)
    }

    func testRecordsFromTelemetryAndRenderStamps() throws {
        var builder = FrameLogBuilder(expectedFrames: 4, tilesPerFrame: 2)
        // Generation 1: two tiles on two workers, published, rendered as warm-up.
        builder.add(event(.tile, generation: 1, worker: 0, tile: 0, start: 1_100, end: 1_500))
        builder.add(event(.tile, generation: 1, worker: 1, tile: 1, start: 1_050, end: 1_700))
        builder.add(event(.published, generation: 1, start: 1_710, end: 1_710))
        builder.acquired(1, at: 1_800, measured: false)
        builder.submitted(1, at: 1_900)
        builder.completed(1, completeNanos: 2_600, gpuStartNanos: 2_000, gpuEndNanos: 2_500)
        // Generation 2: published, never rendered: replaced by 3 (dropped).
        builder.add(event(.tile, generation: 2, start: 2_100, end: 2_200))
        builder.add(event(.published, generation: 2, start: 2_210, end: 2_210))
        // Generation 3: measured, completed without GPU timestamps.
        builder.add(event(.tile, generation: 3, start: 3_100, end: 3_300))
        builder.add(event(.published, generation: 3, start: 3_310, end: 3_310))
        builder.acquired(3, at: 3_400, measured: true)
        builder.submitted(3, at: 3_450)
        builder.completed(3, completeNanos: 3_900, gpuStartNanos: nil, gpuEndNanos: nil)
        // Generation 4: a tile faulted. Generation 5: published after the last render (unfinished).
        builder.add(event(.failed, generation: 4, start: 4_000, end: 4_000))
        builder.add(event(.published, generation: 5, start: 5_000, end: 5_000))
        XCTAssertEqual(builder.failedFrames, 1)

        builder.runStartNanos = 900
        let log = builder.finish(workers: 2).window
        XCTAssertEqual(log.measureStartNanos, 2_500, "measuring starts where the last warm-up frame was done")
        XCTAssertEqual(log.measureEndNanos, 3_900, "and ends where the last measured frame was")
        XCTAssertTrue(log.coversWholeRun)
        XCTAssertEqual(log.records.map(\.generation), [1, 2, 3, 4, 5])
        XCTAssertEqual(log.records.map(\.outcome), [.warmup, .dropped, .measured, .failed, .unfinished])
        let first = log.records[0]
        XCTAssertEqual(first.tilesRecorded, 2)
        XCTAssertEqual(first.computeStartNanos, 1_050, "earliest tile start")
        XCTAssertEqual(first.computeEndNanos, 1_700, "latest tile end")
        XCTAssertEqual(first.scheduleNanos, 1_000)
        XCTAssertEqual(first.handoffWaitNanos, 90)
        XCTAssertEqual(first.uploadNanos, 100)
        XCTAssertEqual(first.gpuNanos, 500)
        XCTAssertEqual(first.doneNanos, 2_500, "GPU end where there are GPU timestamps")
        XCTAssertEqual(log.records[2].doneNanos, 3_900, "fence seen without them")
        XCTAssertNil(log.records[2].gpuNanos)
        XCTAssertEqual(log.tiles.count, 4)
        XCTAssertEqual(Set(log.tiles.filter { $0.generation == 1 }.map(\.worker)), [0, 1])
        XCTAssertEqual(log.measured.map(\.generation), [3])
    }

    func testGenerationsOutsideTheTableAreIgnored() {
        var builder = FrameLogBuilder(expectedFrames: 1, tilesPerFrame: 1)
        builder.acquired(0, at: 5, measured: true)  // generation 0 is never handed out
        XCTAssertTrue(builder.records.isEmpty)
        XCTAssertNil(builder.record(0))
        XCTAssertNil(builder.record(7))
    }

    /// A run as the render loop drives the builder: frames published, some dropped (never acquired),
    /// some failed, the rest rendered (warm-up first), each completed one loop turn after its submit,
    /// with a settle after every telemetry drain. Deterministic (a fixed-seed generator).
    private func drive(_ builder: inout FrameLogBuilder, generations: UInt64, onSettled: (FrameLogBuilder.SettledFrame) -> Void) {
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func random(_ bound: UInt64) -> UInt64 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (seed >> 33) % bound
        }
        builder.runStartNanos = 500
        var rendered = 0
        var inFlight: (generation: UInt64, submit: UInt64)?
        var latePublish: UInt64?
        for generation in 1...generations {
            let base = 1_000 + generation * 1_000
            let fate = random(10)
            builder.add(event(.tile, generation: generation, worker: 0, tile: 0, start: base, end: base + 300 + random(200)))
            builder.add(event(.tile, generation: generation, worker: 1, tile: 1, start: base + 50, end: base + 400))
            if fate == 0 {
                builder.add(event(.failed, generation: generation, start: base + 450, end: base + 450))
                continue
            }
            // fate 8: the `published` event is drained only after the frame was completed (the worker
            // pushes it just after the frame became visible; a fast GPU can be done first).
            if fate != 8 { builder.add(event(.published, generation: generation, start: base + 500, end: base + 500)) }
            if fate <= 3 { continue }  // replaced by a newer frame before the renderer took it
            builder.acquired(generation, at: base + 600, measured: rendered >= 3)
            builder.submitted(generation, at: base + 700)
            rendered += 1
            if let (previous, submit) = inFlight {
                let gpu = fate == 9 ? nil : submit + 200 + random(300)
                builder.completed(previous, completeNanos: base + 650, gpuStartNanos: gpu.map { $0 - 150 }, gpuEndNanos: gpu)
                if let late = latePublish, late == previous {
                    builder.settle()
                    builder.takeSettled(onSettled)
                    builder.add(event(.published, generation: late, start: submit - 200, end: submit - 200))
                    latePublish = nil
                }
            }
            if fate == 8 { latePublish = generation }
            inFlight = (generation, base + 700)
            builder.settle()
            builder.takeSettled(onSettled)
        }
        if let (previous, submit) = inFlight {
            builder.completed(previous, completeNanos: submit + 900, gpuStartNanos: submit + 100, gpuEndNanos: submit + 800)
        }
    }

    /// A long run keeps a bounded window of records, yet its statistics and frames.csv rows are those
    /// of the whole run: the same as a builder that kept everything, computed the old way from the log.
    func testABoundedWindowGivesTheWholeRunsStatisticsAndRows() throws {
        var everything = FrameLogBuilder(expectedFrames: 10, tilesPerFrame: 2, windowGenerations: 100_000)
        var rowsOfEverything: [FrameLogBuilder.SettledFrame] = []
        drive(&everything, generations: 3_000) { rowsOfEverything.append($0) }
        let whole = everything.finish(workers: 2)
        everything.takeSettled { rowsOfEverything.append($0) }
        XCTAssertTrue(whole.window.coversWholeRun)
        XCTAssertEqual(whole.window.records.count, 3_000)

        var bounded = FrameLogBuilder(expectedFrames: 10, tilesPerFrame: 2, windowGenerations: 64)
        var rows: [FrameLogBuilder.SettledFrame] = []
        drive(&bounded, generations: 3_000) { rows.append($0) }
        XCTAssertLessThanOrEqual(bounded.records.count, 64, "records stay within the window")
        let windowed = bounded.finish(workers: 2)
        bounded.takeSettled { rows.append($0) }
        XCTAssertFalse(windowed.window.coversWholeRun)
        XCTAssertEqual(windowed.window.records.map(\.generation), Array(2_937...3_000))
        XCTAssertTrue(windowed.window.tiles.allSatisfy { $0.generation >= 2_937 })

        // The reference: the batch statistics and frames.csv of the full log.
        let reference = RunStatistics(log: whole.window)
        let csv = FramesCSV.render(whole.window)
        for (name, rowsSeen) in [("everything", rowsOfEverything), ("bounded", rows)] {
            let streamed = FramesCSV.header + rowsSeen.map {
                FramesCSV.row($0.record, intervalNanos: $0.intervalNanos, origin: $0.measureStartNanos)
            }.joined()
            XCTAssertEqual(streamed, csv, "\(name): frames.csv rows streamed as frames settle")
        }
        for (name, statistics) in [("everything", whole.statistics), ("bounded", windowed.statistics)] {
            XCTAssertEqual(statistics.frameInterval, reference.frameInterval, name)
            XCTAssertEqual(statistics.latency, reference.latency, name)
            XCTAssertEqual(statistics.stages, reference.stages, name)
            XCTAssertEqual(statistics.outcomes, reference.outcomes, name)
            XCTAssertEqual(statistics.fps, reference.fps, accuracy: 1e-9, name)
            XCTAssertEqual(try XCTUnwrap(statistics.gpuBusyPercent), try XCTUnwrap(reference.gpuBusyPercent), accuracy: 1e-9, name)
            XCTAssertEqual(
                try XCTUnwrap(statistics.computeUtilisationPercent), try XCTUnwrap(reference.computeUtilisationPercent),
                accuracy: 1e-9, name)
        }
        XCTAssertGreaterThan(reference.outcomes[.measured] ?? 0, 1_000)
        XCTAssertGreaterThan(reference.outcomes[.failed] ?? 0, 100)
        XCTAssertGreaterThan(reference.outcomes[.dropped] ?? 0, 100)
        let csvRows = csv.split(separator: "\n").dropFirst()
        XCTAssertFalse(csvRows.filter { $0.contains(",measured,") }.contains { $0.split(separator: ",")[7] == "NA" },
            "every measured row has its publish time")
        // Every frame has its row, dropped and failed ones too.
        XCTAssertEqual(csvRows.count, whole.window.records.count)
        XCTAssertEqual(csvRows.filter { $0.hasSuffix(",dropped") }.count, reference.outcomes[.dropped])
        XCTAssertEqual(csvRows.filter { $0.hasSuffix(",failed") }.count, reference.outcomes[.failed])
    }
}

extension FrameLogBuilderTests {
    /// A frame's CPU time is the sum of its tiles' (ComputeEvent.cpuNanos), and only when every tile's was read; the
    /// sampling rule reads it while tiles take 0.2 ms or more.
    func testComputeCPUTimeIsTheSumOfEveryTilesOrNothing() {
        var whole = FrameRecord(generation: 1)
        var partial = FrameRecord(generation: 2)
        for tile in 0..<3 {
            var event = ComputeEvent(
                kind: .tile, worker: 0, tile: UInt16(tile), tileCount: 3, frameIndex: 0, generation: 1,
                scheduleNanos: 10, startNanos: 100, endNanos: 900)
            event.cpuNanos = 250 + UInt64(tile)
            whole.fold(event)
            event.generation = 2
            if tile == 1 { event.cpuNanos = 0 }  // this tile's CPU time was not read
            partial.fold(event)
        }
        XCTAssertEqual(whole.computeCPUTotalNanos, 753)
        XCTAssertNil(partial.computeCPUTotalNanos)
        XCTAssertNil(FrameRecord(generation: 3).computeCPUTotalNanos)

        var sampling = CPUTimeSampling()
        XCTAssertTrue(sampling.worthReading, "the first tile is read")
        sampling.tileTook(CPUTimeSampling.minimumTileNanos - 1)
        XCTAssertFalse(sampling.worthReading)
        sampling.tileTook(CPUTimeSampling.minimumTileNanos)
        XCTAssertTrue(sampling.worthReading)
    }
}
