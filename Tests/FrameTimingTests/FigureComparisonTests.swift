import XCTest

@testable import FrameTiming

final class FigureComparisonTests: XCTestCase {
    typealias Figure = FigureComparison.Figure

    func testClearBetterClearWorseAndWithinNoise() throws {
        let baseline = [
            Figure(name: "fps", value: 60, higherIsBetter: true),
            Figure(name: "frame_interval_ms.p99", value: 20, higherIsBetter: false),
            Figure(name: "frame_interval_ms.p50", value: 16.7, higherIsBetter: false),
            Figure(name: "latency_ms.p99", value: 40, higherIsBetter: false),
            Figure(name: "stages_ms.gpu.p50", value: 2, higherIsBetter: false),
        ]
        let current = [
            Figure(name: "fps", value: 72, higherIsBetter: true),  // +20 %: better
            Figure(name: "frame_interval_ms.p99", value: 26, higherIsBetter: false),  // +30 %: worse
            Figure(name: "frame_interval_ms.p50", value: 16.9, higherIsBetter: false),  // +1.2 %: same
            Figure(name: "latency_ms.p99", value: 30, higherIsBetter: false),  // −25 %: better
            Figure(name: "stages_ms.gpu.p50", value: 1.95, higherIsBetter: false),  // −2.5 %: same
        ]
        let comparison = FigureComparison(baseline: baseline, current: current)
        XCTAssertEqual(comparison.rows.map(\.name), current.map(\.name))
        XCTAssertEqual(comparison.rows.map(\.verdict), [.better, .worse, .same, .better, .same])
        let p99 = try XCTUnwrap(comparison.row(named: "frame_interval_ms.p99"))
        XCTAssertEqual(try XCTUnwrap(p99.changePercent), 30, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(p99.noiseThreshold), 0.6, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(comparison.row(named: "fps")?.changePercent), 20, accuracy: 1e-9)

        XCTAssertTrue(comparison.regressed(p99LimitPercent: 10))
        XCTAssertTrue(comparison.regressed(p99LimitPercent: 29.9))
        XCTAssertFalse(comparison.regressed(p99LimitPercent: 30.1))
    }

    func testTheNoiseFloorDecidesAtItsEdge() {
        func verdict(_ current: Double, floor: Double = 3) -> FigureComparison.Verdict? {
            FigureComparison(
                baseline: [Figure(name: "x", value: 100, higherIsBetter: false)],
                current: [Figure(name: "x", value: current, higherIsBetter: false)],
                noiseFloorPercent: floor
            ).rows.first?.verdict
        }
        XCTAssertEqual(verdict(103), .same)
        XCTAssertEqual(verdict(103.01), .worse)
        XCTAssertEqual(verdict(96.99), .better)
        XCTAssertEqual(verdict(100), .same)
        XCTAssertEqual(verdict(104, floor: 5), .same)
        XCTAssertEqual(verdict(104, floor: 1), .worse)
    }

    func testStandardErrorWidensTheBandForNoisyMeans() throws {
        // Means 10.0 vs 10.5 ms (+5 %): beyond the 3 % floor. With stddev 4 ms over 100 samples each,
        // SE of the difference = √(0.16 + 0.16) ≈ 0.566, 2 × SE ≈ 1.13 > 0.5: within noise.
        let noisy = FigureComparison(
            baseline: [Figure(name: "frame_interval_ms.mean", value: 10, higherIsBetter: false, stddev: 4, count: 100)],
            current: [Figure(name: "frame_interval_ms.mean", value: 10.5, higherIsBetter: false, stddev: 4, count: 100)])
        let row = try XCTUnwrap(noisy.rows.first)
        XCTAssertEqual(row.verdict, .same)
        XCTAssertEqual(try XCTUnwrap(row.noiseThreshold), 2 * 0.32.squareRoot(), accuracy: 1e-12)
        // The same change with tight samples (stddev 0.5 over 10 000): SE tiny, the floor rules: worse.
        let tight = FigureComparison(
            baseline: [Figure(name: "frame_interval_ms.mean", value: 10, higherIsBetter: false, stddev: 0.5, count: 10_000)],
            current: [Figure(name: "frame_interval_ms.mean", value: 10.5, higherIsBetter: false, stddev: 0.5, count: 10_000)])
        XCTAssertEqual(tight.rows.first?.verdict, .worse)
        XCTAssertEqual(try XCTUnwrap(tight.rows.first?.noiseThreshold), 0.3, accuracy: 1e-12)
    }

    func testRegressionNeedsTheP99FigureInBothRunsAndAWorseVerdict() {
        let better = FigureComparison(
            baseline: [Figure(name: FigureComparison.frameIntervalP99, value: 20, higherIsBetter: false)],
            current: [Figure(name: FigureComparison.frameIntervalP99, value: 10, higherIsBetter: false)])
        XCTAssertFalse(better.regressed(p99LimitPercent: 0))
        let missing = FigureComparison(
            baseline: [Figure(name: FigureComparison.frameIntervalP99, value: 20, higherIsBetter: false)],
            current: [Figure(name: "fps", value: 60, higherIsBetter: true)])
        XCTAssertFalse(missing.regressed(p99LimitPercent: 0))
        XCTAssertEqual(missing.rows.map(\.verdict), [.onlyInCurrent, .onlyInBaseline])
        // Worse but within noise: not a regression even with a 1 % limit.
        let withinNoise = FigureComparison(
            baseline: [Figure(name: FigureComparison.frameIntervalP99, value: 20, higherIsBetter: false)],
            current: [Figure(name: FigureComparison.frameIntervalP99, value: 20.4, higherIsBetter: false)])
        XCTAssertEqual(withinNoise.rows.first?.verdict, .same)
        XCTAssertFalse(withinNoise.regressed(p99LimitPercent: 1))
    }

    func testTextTableIsAligned() {
        let comparison = FigureComparison(
            baseline: [
                Figure(name: "fps", value: 59.94, higherIsBetter: true),
                Figure(name: "frame_interval_ms.p99", value: 18.25, higherIsBetter: false),
            ],
            current: [
                Figure(name: "fps", value: 60.01, higherIsBetter: true),
                Figure(name: "frame_interval_ms.p99", value: 25.5, higherIsBetter: false),
            ])
        let lines = comparison.renderText().split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 4)
        XCTAssertTrue(lines[0].hasPrefix("figure"))
        XCTAssertTrue(lines[1].hasPrefix("fps "))
        XCTAssertTrue(lines[1].hasSuffix("same"))
        XCTAssertTrue(lines[2].contains("+39.7 %"))
        XCTAssertTrue(lines[2].hasSuffix("worse"))
        // Columns line up: "current" ends where each current value ends.
        let currentEnd = lines[0].range(of: "current").map { lines[0].distance(from: lines[0].startIndex, to: $0.upperBound) }
        for (line, value) in [(lines[1], "60.010"), (lines[2], "25.500")] {
            let end = line.range(of: value).map { line.distance(from: line.startIndex, to: $0.upperBound) }
            XCTAssertEqual(end, currentEnd, line)
        }
    }

    func testFiguresOfARunNameEveryStage() {
        let figures = Figure.figures(of: RunStatistics(log: steadyLog(frames: 10)))
        let names = Set(figures.map(\.name))
        XCTAssertEqual(names.count, figures.count, "names are unique")
        for name in ["fps", "frame_interval_ms.p99", "frame_interval_ms.mean", "jitter_ms.stddev", "jitter_ms.p99_minus_p50", "latency_ms.p50"]
            + Stage.allCases.map({ "stages_ms.\($0.rawValue).p99" })
        {
            XCTAssertTrue(names.contains(name), name)
        }
        XCTAssertEqual(figures.first { $0.name == "fps" }?.higherIsBetter, true)
        XCTAssertNotNil(figures.first { $0.name == "frame_interval_ms.mean" }?.count)
        XCTAssertNil(figures.first { $0.name == "frame_interval_ms.p99" }?.stddev)
        // The same run against itself: all the same.
        XCTAssertTrue(FigureComparison(baseline: figures, current: figures).rows.allSatisfy { $0.verdict == .same })
    }
}
