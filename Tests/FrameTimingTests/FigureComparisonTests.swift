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
            Figure(name: "stages_ms.gpu.p50", value: 1.91, higherIsBetter: false),  // −4.5 %: same
        ]
        let comparison = FigureComparison(baseline: baseline, current: current)
        XCTAssertEqual(comparison.rows.map(\.name), current.map(\.name))
        XCTAssertEqual(comparison.rows.map(\.verdict), [.better, .worse, .same, .better, .same])
        let p99 = try XCTUnwrap(comparison.row(named: "frame_interval_ms.p99"))
        XCTAssertEqual(try XCTUnwrap(p99.changePercent), 30, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(p99.noiseThreshold), 1.0, accuracy: 1e-12)  // 5 % of 20 ms
        XCTAssertEqual(p99.method, .frames)
        XCTAssertNil(p99.pValue)
        XCTAssertEqual(try XCTUnwrap(comparison.row(named: "fps")?.changePercent), 20, accuracy: 1e-9)

        XCTAssertTrue(comparison.regressed(p99LimitPercent: 10))
        XCTAssertTrue(comparison.regressed(p99LimitPercent: 29.9))
        XCTAssertFalse(comparison.regressed(p99LimitPercent: 30.1))
    }

    func testTheMinimumEffectDecidesAtItsEdge() {
        func verdict(_ current: Double, minEffect: Double = 5) -> FigureComparison.Verdict? {
            FigureComparison(
                baseline: [Figure(name: "x", value: 100, higherIsBetter: false)],
                current: [Figure(name: "x", value: current, higherIsBetter: false)],
                minEffectPercent: minEffect
            ).rows.first?.verdict
        }
        XCTAssertEqual(verdict(105), .same)
        XCTAssertEqual(verdict(105.01), .worse)
        XCTAssertEqual(verdict(94.99), .better)
        XCTAssertEqual(verdict(100), .same)
        XCTAssertEqual(verdict(104, minEffect: 5), .same)
        XCTAssertEqual(verdict(104, minEffect: 1), .worse)
    }

    /// Both sides repeated: Welch's t test over the runs decides, and the minimum effect still applies.
    func testRepeatedRunsAreJudgedByWelchsTestAndTheMinimumEffect() throws {
        func row(_ baseline: [Double], _ current: [Double], minEffect: Double = 5) throws -> FigureComparison.Row {
            let mean = { (values: [Double]) in values.reduce(0, +) / Double(values.count) }
            return try XCTUnwrap(
                FigureComparison(
                    baseline: [Figure(name: "fps", value: mean(baseline), higherIsBetter: true, runs: baseline)],
                    current: [Figure(name: "fps", value: mean(current), higherIsBetter: true, runs: current)],
                    minEffectPercent: minEffect
                ).rows.first)
        }
        // 10 % slower, runs within ±1 %: significant and beyond 5 %: worse.
        let slower = try row([100, 101, 99, 100.5, 99.5], [90, 91, 89, 90.5, 89.5])
        XCTAssertEqual(slower.method, .runs)
        XCTAssertEqual(slower.verdict, .worse)
        XCTAssertLessThan(try XCTUnwrap(slower.pValue), 1e-6)
        let interval = try XCTUnwrap(slower.changeIntervalPercent)
        XCTAssertTrue(interval.contains(-10), "\(interval)")
        XCTAssertLessThan(interval.upperBound, 0)
        // The same 10 % with runs scattered ±15 %: not significant, so same, though beyond the minimum effect.
        let noisy = try row([100, 115, 85, 110, 90], [90, 105, 75, 100, 80])
        XCTAssertGreaterThan(try XCTUnwrap(noisy.pValue), 0.01)
        XCTAssertEqual(noisy.verdict, .same)
        // Significant but smaller than the minimum effect: same; with a 1 % minimum effect: worse.
        XCTAssertEqual(try row([100, 100.2, 99.8], [97, 97.2, 96.8]).verdict, .same)
        XCTAssertEqual(try row([100, 100.2, 99.8], [97, 97.2, 96.8], minEffect: 1).verdict, .worse)
        // Runs on one side only: judged as one run.
        let oneSided = try XCTUnwrap(
            FigureComparison(
                baseline: [Figure(name: "fps", value: 100, higherIsBetter: true)],
                current: [Figure(name: "fps", value: 80, higherIsBetter: true, runs: [79, 81])]
            ).rows.first)
        XCTAssertEqual(oneSided.method, .frames)
        XCTAssertEqual(oneSided.verdict, .worse)
    }

    /// Welch's test against values computed independently (SciPy 1.17: stats.ttest_ind(b, a, equal_var=False),
    /// stats.t.ppf).
    func testWelchsTestAndStudentsTMatchReferenceValues() throws {
        XCTAssertEqual(StudentT.quantile(0.975, degreesOfFreedom: 4), 2.776445, accuracy: 1e-5)
        XCTAssertEqual(StudentT.quantile(0.995, degreesOfFreedom: 10), 3.169273, accuracy: 1e-5)
        XCTAssertEqual(StudentT.quantile(0.975, degreesOfFreedom: 1000), 1.962339, accuracy: 1e-5)
        XCTAssertEqual(StudentT.cdf(0, degreesOfFreedom: 3.5), 0.5, accuracy: 1e-12)
        XCTAssertEqual(StudentT.cdf(-2.015048, degreesOfFreedom: 5), 0.05, accuracy: 1e-6)
        // a = 1…5, b = 3…8 (6 values): t = 2.40192, df = 8.98936, p = 0.039803, 95 % CI of b − a: 0.145047 … 4.854953.
        let test = try XCTUnwrap(WelchTest(baseline: [1, 2, 3, 4, 5], current: [3, 4, 5, 6, 7, 8], confidence: 0.95))
        XCTAssertEqual(test.difference, 2.5, accuracy: 1e-12)
        XCTAssertEqual(test.degreesOfFreedom, 8.989362, accuracy: 1e-5)
        XCTAssertEqual(test.pValue, 0.039803, accuracy: 1e-5)
        XCTAssertEqual(test.ciLow, 0.145047, accuracy: 1e-5)
        XCTAssertEqual(test.ciHigh, 4.854953, accuracy: 1e-5)
        XCTAssertNil(WelchTest(baseline: [1], current: [2, 3], confidence: 0.95))
        // A mean's interval over runs: 10, 12, 14 → mean 12, s = 2, t(0.975, 2) = 4.302653: ± 4.9683.
        let series = RunSeries(values: [10, 12, 14])
        XCTAssertEqual(series.mean, 12)
        XCTAssertEqual(series.stddev, 2, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(series.ciHigh) - 12, 4.302653 * 2 / 3.0.squareRoot(), accuracy: 1e-5)
        XCTAssertNil(RunSeries(values: [5]).ciLow)
    }

    func testStandardErrorWidensTheBandForNoisyMeans() throws {
        // Means 10.0 vs 10.6 ms (+6 %): beyond the 5 % minimum effect. With stddev 4 ms over 100 samples each,
        // SE of the difference = √(0.16 + 0.16) ≈ 0.566, 2 × SE ≈ 1.13 > 0.5: within noise.
        let noisy = FigureComparison(
            baseline: [Figure(name: "frame_interval_ms.mean", value: 10, higherIsBetter: false, stddev: 4, count: 100)],
            current: [Figure(name: "frame_interval_ms.mean", value: 10.6, higherIsBetter: false, stddev: 4, count: 100)])
        let row = try XCTUnwrap(noisy.rows.first)
        XCTAssertEqual(row.verdict, .same)
        XCTAssertEqual(try XCTUnwrap(row.noiseThreshold), 2 * 0.32.squareRoot(), accuracy: 1e-12)
        // The same change with tight samples (stddev 0.5 over 10 000): SE tiny, the minimum effect rules: worse.
        let tight = FigureComparison(
            baseline: [Figure(name: "frame_interval_ms.mean", value: 10, higherIsBetter: false, stddev: 0.5, count: 10_000)],
            current: [Figure(name: "frame_interval_ms.mean", value: 10.6, higherIsBetter: false, stddev: 0.5, count: 10_000)])
        XCTAssertEqual(tight.rows.first?.verdict, .worse)
        XCTAssertEqual(try XCTUnwrap(tight.rows.first?.noiseThreshold), 0.5, accuracy: 1e-12)
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
            current: [Figure(name: FigureComparison.frameIntervalP99, value: 20.9, higherIsBetter: false)])
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
        XCTAssertTrue(lines[3].contains("run-to-run noise is not measured"), lines[3])
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
