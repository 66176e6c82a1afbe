import EngineTestSupport
import Foundation
import XCTest

/// `bench --runs N` and the verdicts over runs, as a user runs them (docs/benchmarking.md, "Repeated runs" and
/// "Verdicts"). How often the verdicts are right on this machine is measured by scripts/comparison-rates.sh, not here:
/// a rate is a timing figure (docs/testing.md).
extension BenchReportTests {
    /// Eight runs each side of the work-knob kernel, at 1× and 30× (WasmKit) or 100× (wasmtime) its work: every figure
    /// over the runs has eight values and an interval around its mean; the slower kernel's compute is judged worse over
    /// runs (Welch, Holm-adjusted p below 0.01) and listed in `worse`; the reports are the last run's. (Eight runs, not
    /// five: with Holm's correction over ~30 figures even a huge change needs t ≈ 10, which five runs — 4 degrees of
    /// freedom — reach only while the slower side's runs scatter by under ~20 %, not on a machine loaded by a parallel
    /// build. Past a few times the work, t hardly depends on how many: it is the change over the runs' relative
    /// scatter. WasmKit's 30×, not 100×: its 8 slower runs took 61 s of the suite at 100×, 18 s at 30×.)
    func testRepeatedRunsGiveIntervalsAndVerdictsOverRuns() throws {
        let knob = badModules.appendingPathComponent("good-work-knob.wasm").path
        try TestEngines.forEach { which in
            let root = try temporaryDirectory()
            let common = ["--size", "32x32", "--frames", "10", "--warmup", "2", "--runs", "8", "--no-progress"] + which.arguments
            let first = try framepipe(["bench", knob, "--param", "work=10", "--out", root + "/a"] + common)
            XCTAssertEqual(first.status, 0, "\(which): \(first.stderr)")
            XCTAssertTrue(first.stdout.contains("× 8 runs"), "\(which): \(first.stdout)")
            XCTAssertTrue(first.stdout.contains("over 8 runs"), "\(which): \(first.stdout)")
            let summary = try json(root + "/a/summary.json")
            let runs = try XCTUnwrap(summary["runs"] as? [String: Any], "\(which): runs")
            XCTAssertEqual(runs["count"] as? Int, 8)
            XCTAssertEqual(runs["confidence"] as? Double, 0.95)
            let figures = try XCTUnwrap(runs["figures"] as? [[String: Any]])
            let names = Set(figures.compactMap { $0["name"] as? String })
            for name in ["fps", "frame_interval_ms.p50", "stages_ms.compute.mean", "latency_ms.p50"] {
                XCTAssertTrue(names.contains(name), "\(which): \(name) over runs: \(names.sorted())")
            }
            // 10 frames support no p99: it is not a figure over runs either.
            XCTAssertFalse(names.contains("frame_interval_ms.p99"), "\(which)")
            for figure in figures {
                let values = try XCTUnwrap(figure["values"] as? [Double])
                let (mean, low, high) = try (
                    XCTUnwrap(figure["mean"] as? Double), XCTUnwrap(figure["ci_low"] as? Double),
                    XCTUnwrap(figure["ci_high"] as? Double))
                XCTAssertEqual(values.count, 8, "\(which): \(figure)")
                XCTAssertEqual(mean, values.reduce(0, +) / 8, accuracy: 1e-9 * max(1, abs(mean)))
                XCTAssertLessThanOrEqual(low, mean)
                XCTAssertGreaterThanOrEqual(high, mean)
            }
            // The folder's reports are one run's: frames.csv has that run's warm-up and measured rows.
            let csv = try String(contentsOfFile: root + "/a/frames.csv", encoding: .utf8)
            XCTAssertEqual(csv.split(separator: "\n").filter { $0.contains(",measured,") }.count, 10, "\(which)")
            XCTAssertFalse(
                try FileManager.default.contentsOfDirectory(atPath: root + "/a").contains { $0.hasPrefix(".") },
                "\(which): temporaries left")

            let slowerWork = which == .wasmkit ? 300 : 1000
            let slower = try framepipe(
                ["bench", knob, "--param", "work=\(slowerWork)", "--out", root + "/b", "--baseline", root + "/a"] + common)
            XCTAssertEqual(slower.status, 0, "\(which): \(slower.stderr)")
            XCTAssertTrue(slower.stdout.contains("Holm-adjusted p < 0.01"), "\(which): \(slower.stdout)")
            let comparison = try XCTUnwrap(try json(root + "/b/summary.json")["baseline"] as? [String: Any])
            XCTAssertEqual(comparison["baseline_runs"] as? Int, 8)
            XCTAssertEqual(comparison["current_runs"] as? Int, 8)
            XCTAssertEqual(comparison["min_effect_percent"] as? Double, 5)
            let rows = try XCTUnwrap(comparison["figures"] as? [[String: Any]])
            let compute = try XCTUnwrap(rows.first { $0["name"] as? String == "stages_ms.compute.mean" })
            XCTAssertEqual(compute["method"] as? String, "runs", "\(which)")
            XCTAssertEqual(compute["verdict"] as? String, "worse", "\(which): \(compute)")
            XCTAssertLessThan(try XCTUnwrap(compute["p_value"] as? Double), 0.01, "\(which)")
            let interval = try XCTUnwrap(compute["change_interval_percent"] as? [Double])
            XCTAssertEqual(interval.count, 2)
            XCTAssertGreaterThan(interval[0], 100, "\(which): 30× the work or more is far more than twice the time: \(interval)")
            let worse = try XCTUnwrap(comparison["worse"] as? [String])
            XCTAssertTrue(worse.contains("stages_ms.compute.mean"), "\(which): \(worse)")
            // (fps need not move as much: at 32×32 a fast kernel's run is bound by the renderer, not by compute.)
        }
        // The command's default is five runs (the helper above asks for one in every other test).
        let help = try framepipe(["bench", "--help"]).stdout
        let runsHelp = try XCTUnwrap(help.range(of: "--runs <runs>").map { help[$0.lowerBound...] }, help)
        let entry = runsHelp.range(of: "\n  -").map { runsHelp[..<$0.lowerBound] } ?? runsHelp
        XCTAssertTrue(entry.contains("(default: 5)"), String(entry))
    }
}

extension BenchReportTests {
    /// One worker, one tile per frame of about a millisecond or more: every measured frame has its CPU time, which a
    /// single thread cannot spend faster than the wall clock (compute_cpu_ms ≤ stages_ms.compute).
    func testComputeCPUTimeIsReportedAndBoundedByTheWallClock() throws {
        let knob = badModules.appendingPathComponent("good-work-knob.wasm").path
        try TestEngines.forEach { which in
            let root = try temporaryDirectory()
            let bench = try framepipe(
                ["bench", knob, "--param", "work=100", "--size", "64x64", "--frames", "10", "--warmup", "1", "--workers", "1",
                 "--no-progress", "--out", root] + which.arguments)
            XCTAssertEqual(bench.status, 0, "\(which): \(bench.stderr)")
            XCTAssertTrue(bench.stdout.contains("compute cpu"), "\(which): \(bench.stdout)")
            let summary = try json(root + "/summary.json")
            let cpu = try XCTUnwrap(summary["compute_cpu_ms"] as? [String: Any], "\(which)")
            let wall = try XCTUnwrap((summary["stages_ms"] as? [String: Any])?["compute"] as? [String: Any])
            XCTAssertEqual(cpu["count"] as? Int, 10, "\(which)")
            let (cpuMean, wallMean) = try (XCTUnwrap(cpu["mean"] as? Double), XCTUnwrap(wall["mean"] as? Double))
            XCTAssertGreaterThan(cpuMean, 0, "\(which)")
            // Both clocks tick in ns; the CPU clock's reads sit inside the wall clock's, so per frame CPU ≤ wall.
            XCTAssertLessThanOrEqual(cpuMean, wallMean * 1.001 + 0.001, "\(which)")
        }
    }
}
