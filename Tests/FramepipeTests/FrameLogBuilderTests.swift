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

        let log = builder.finish(workers: 2, measureStartNanos: 2_500, measureEndNanos: 3_900)
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
}
