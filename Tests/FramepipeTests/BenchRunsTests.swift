import EngineTestSupport
import Foundation
import XCTest

/// `bench --runs N` and the verdicts over runs, as a user runs them (docs/benchmarking.md, "Repeated runs" and
/// "Verdicts"). How often the verdicts are right on this machine is measured by scripts/comparison-rates.sh, not here:
/// a rate is a timing figure (docs/testing.md).
extension BenchReportTests {
    /// Five runs each side of the work-knob kernel, at 1× and 10× its work: every figure over the runs has five values
    /// and an interval around its mean; the 10× run's compute is judged worse over runs (Welch, Holm-adjusted p below
    /// 0.01) and listed in `worse`; the reports are the last run's.
    func testRepeatedRunsGiveIntervalsAndVerdictsOverRuns() throws {
        let knob = badModules.appendingPathComponent("good-work-knob.wasm").path
        try TestEngines.forEach { which in
            let root = try temporaryDirectory()
            let common = ["--size", "64x64", "--frames", "20", "--warmup", "2", "--runs", "5", "--no-progress"] + which.arguments
            let first = try framepipe(["bench", knob, "--param", "work=20", "--out", root + "/a"] + common)
            XCTAssertEqual(first.status, 0, "\(which): \(first.stderr)")
            XCTAssertTrue(first.stdout.contains("× 5 runs"), "\(which): \(first.stdout)")
            XCTAssertTrue(first.stdout.contains("over 5 runs"), "\(which): \(first.stdout)")
            let summary = try json(root + "/a/summary.json")
            let runs = try XCTUnwrap(summary["runs"] as? [String: Any], "\(which): runs")
            XCTAssertEqual(runs["count"] as? Int, 5)
            XCTAssertEqual(runs["confidence"] as? Double, 0.95)
            let figures = try XCTUnwrap(runs["figures"] as? [[String: Any]])
            let names = Set(figures.compactMap { $0["name"] as? String })
            for name in ["fps", "frame_interval_ms.p50", "stages_ms.compute.mean", "latency_ms.p50"] {
                XCTAssertTrue(names.contains(name), "\(which): \(name) over runs: \(names.sorted())")
            }
            // 20 frames support no p99: it is not a figure over runs either.
            XCTAssertFalse(names.contains("frame_interval_ms.p99"), "\(which)")
            for figure in figures {
                let values = try XCTUnwrap(figure["values"] as? [Double])
                let (mean, low, high) = try (
                    XCTUnwrap(figure["mean"] as? Double), XCTUnwrap(figure["ci_low"] as? Double),
                    XCTUnwrap(figure["ci_high"] as? Double))
                XCTAssertEqual(values.count, 5, "\(which): \(figure)")
                XCTAssertEqual(mean, values.reduce(0, +) / 5, accuracy: 1e-9 * max(1, abs(mean)))
                XCTAssertLessThanOrEqual(low, mean)
                XCTAssertGreaterThanOrEqual(high, mean)
            }
            // The folder's reports are one run's: frames.csv has that run's warm-up and measured rows.
            let csv = try String(contentsOfFile: root + "/a/frames.csv", encoding: .utf8)
            XCTAssertEqual(csv.split(separator: "\n").filter { $0.contains(",measured,") }.count, 20, "\(which)")
            XCTAssertFalse(
                try FileManager.default.contentsOfDirectory(atPath: root + "/a").contains { $0.hasPrefix(".") },
                "\(which): temporaries left")

            let slower = try framepipe(["bench", knob, "--param", "work=200", "--out", root + "/b", "--baseline", root + "/a"] + common)
            XCTAssertEqual(slower.status, 0, "\(which): \(slower.stderr)")
            XCTAssertTrue(slower.stdout.contains("Holm-adjusted p < 0.01"), "\(which): \(slower.stdout)")
            let comparison = try XCTUnwrap(try json(root + "/b/summary.json")["baseline"] as? [String: Any])
            XCTAssertEqual(comparison["baseline_runs"] as? Int, 5)
            XCTAssertEqual(comparison["current_runs"] as? Int, 5)
            XCTAssertEqual(comparison["min_effect_percent"] as? Double, 5)
            let rows = try XCTUnwrap(comparison["figures"] as? [[String: Any]])
            let compute = try XCTUnwrap(rows.first { $0["name"] as? String == "stages_ms.compute.mean" })
            XCTAssertEqual(compute["method"] as? String, "runs", "\(which)")
            XCTAssertEqual(compute["verdict"] as? String, "worse", "\(which): \(compute)")
            XCTAssertLessThan(try XCTUnwrap(compute["p_value"] as? Double), 0.01, "\(which)")
            let interval = try XCTUnwrap(compute["change_interval_percent"] as? [Double])
            XCTAssertEqual(interval.count, 2)
            XCTAssertGreaterThan(interval[0], 100, "\(which): 10× the work is far more than twice the time: \(interval)")
            let worse = try XCTUnwrap(comparison["worse"] as? [String])
            XCTAssertTrue(worse.contains("stages_ms.compute.mean"), "\(which): \(worse)")
            // (fps need not move: at 64×64 the wasmtime run stays bound by the renderer, not by compute.)
        }
    }
}
