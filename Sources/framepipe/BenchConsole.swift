import CSystemShim
import Dispatch
import Foundation
import FrameTiming
import Framepipe
import KernelRuntime

/// What `bench` shows while it runs and at the end: a progress bar on a terminal (plain lines every
/// 10 % otherwise, so CI logs stay readable), log lines that do not tear the bar, and the summary
/// table. Progress and log lines go to stderr, the report to stdout.
final class BenchConsole: @unchecked Sendable {
    // @unchecked: the mutable state below is only touched under `lock`.
    private let lock = NSLock()
    private let enabled: Bool
    private let terminal: Bool
    private var barVisible = false
    private var lastDecile = -1
    private var lastRun = 1

    init(enabled: Bool) {
        self.enabled = enabled
        terminal = isatty(STDERR_FILENO) == 1
    }

    private static func writeError(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// A log line (kernel output, faults, reloads), on its own line even while the bar is shown.
    func log(_ line: String) {
        lock.withLock {
            if barVisible { Self.writeError("\r\u{1B}[K") }
            Self.writeError(line + "\n")
            barVisible = false
        }
    }

    static func logLine(_ line: String) { writeError(line + "\n") }

    func show(_ progress: BenchProgress) {
        guard enabled else { return }
        lock.withLock {
            let percent = Int((progress.fraction * 100).rounded(.down))
            let run = progress.runs > 1 ? "run \(progress.run)/\(progress.runs)  " : ""
            let figures =
                run
                + (progress.warmingUp
                ? "warming up"
                : String(
                    format: "%d frames  %.1f fps  p99 %.2f ms  dropped %llu  failed %d", progress.measured, progress.fps,
                    progress.p99IntervalMs, progress.dropped, progress.failed))
            if terminal {
                let width = 24
                let filled = min(width, Int(progress.fraction * Double(width)))
                let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
                Self.writeError("\r\u{1B}[K[\(bar)] \(String(format: "%3d", percent)) %  \(figures)")
                barVisible = true
            } else if !progress.warmingUp {
                if progress.run != lastRun {
                    lastRun = progress.run
                    lastDecile = -1
                }
                let decile = percent / 10
                guard decile > lastDecile, !(progress.finished && decile == 10 && lastDecile == 10) else { return }
                lastDecile = decile
                Self.writeError("bench: \(decile * 10) %  \(figures)\n")
            }
        }
    }

    /// Ends the bar's line before the report is printed.
    func finish() {
        lock.withLock {
            if barVisible { Self.writeError("\n") }
            barVisible = false
        }
    }

    // MARK: The report

    static func report(_ result: BenchResult) -> String {
        let summary = result.summary
        var lines: [String] = []
        lines.append("  device  \(summary.device.name) [\(summary.device.type)], GPU clock: \(summary.gpu_timestamps)")
        lines.append(
            "  engine  \(summary.engine.description), \(summary.workers) worker\(summary.workers == 1 ? "" : "s")"
                + (summary.stateful
                    ? " (stateful kernel: one instance, in order)"
                    : ", \(summary.tiles_per_frame) tile\(summary.tiles_per_frame == 1 ? "" : "s")/frame")
                + ", upload \(summary.upload), \(summary.slots) slots, \(summary.policy)")
        let placement = summary.placement
        lines.append(
            "  threads render on \(ThreadPlacement.describe(placement.render_cpus)); workers on "
                + placement.compute_cpus.map { ThreadPlacement.describe($0) }.joined(separator: " | ")
                + (placement.cpu_dma_latency_us.map { "; idle CPUs wake within \($0) µs (/dev/cpu_dma_latency)" } ?? ""))
        for warning in placement.warnings { lines.append("  warning \(warning)") }
        var lows: [String] = []
        if let low = summary.fps_1_percent_low { lows.append(String(format: "1 %% low %.1f", low)) }
        if let low = summary.fps_0_1_percent_low { lows.append(String(format: "0.1 %% low %.1f", low)) }
        lines.append(
            String(
                format: "  %d frames in %.2f s: %.1f fps%@%@", summary.frames.measured, summary.duration_s, summary.fps,
                lows.isEmpty ? "" : " (\(lows.joined(separator: ", ")))", summary.interrupted ? " (interrupted)" : ""))
        for warning in summary.warnings ?? [] { lines.append("  warning: \(warning)") }
        if summary.requested.recording {
            lines.append("")
            let rows = table(summary)
            lines.append(rows)
            if rows.contains("—") {
                lines.append(
                "  — : too few samples for that percentile (p99 needs \(DurationStatistics.samplesNeeded(forPercentile: 99)), "
                    + "p99.9 \(DurationStatistics.samplesNeeded(forPercentile: 99.9)))")
            }
            lines.append("")
            let p99Supported = !(summary.frame_interval_ms.unsupported ?? []).contains("p99")
            lines.append(
                String(format: "  jitter ms: stddev %.3f  p99 − p50 ", summary.jitter_ms.stddev)
                    + (p99Supported ? String(format: "%.3f", summary.jitter_ms.p99_minus_p50) : "—"))
            var busy: [String] = []
            if let gpu = summary.gpu_busy_percent { busy.append(String(format: "GPU busy %.1f %%", gpu)) }
            if let compute = summary.compute_utilisation_percent {
                busy.append(String(format: "compute utilisation %.1f %%", compute))
            }
            if !busy.isEmpty { lines.append("  " + busy.joined(separator: ", ")) }
        } else {
            lines.append("  recording off: no statistics (fps from the render thread's frame count)")
        }
        if let missed = summary.paced_missed_ticks, let hz = summary.requested.target_hz {
            lines.append(String(format: "  paced at %g Hz: %d tick%@ missed", hz, missed, missed == 1 ? "" : "s"))
        }
        lines.append(
            "  dropped \(summary.frames.dropped), failed \(summary.frames.failed), stale rejected "
                + "\(summary.frames.stale_rejected), cancelled \(summary.frames.cancelled)")
        for reload in summary.reloads {
            if let frame = reload.first_frame {
                lines.append("  reload  \(reload.path) from frame \(frame)")
            } else {
                lines.append("  reload  refused: \(reload.error ?? "")")
            }
        }
        if let runs = summary.runs {
            lines.append("")
            lines.append(runsTable(runs))
        }
        if let baseline = summary.baseline { lines.append(""); lines.append(comparison(baseline)) }
        let files = [
            BenchReportFiles.summary, summary.reports.frames_csv, summary.reports.trace, summary.reports.frametimes_svg,
            summary.reports.last_frame_png,
        ].compactMap { $0 }
        lines.append("  report  \(result.directory)/{\(files.joined(separator: ","))}")
        return lines.joined(separator: "\n")
    }

    /// Frame interval, latency and every stage: one row each, statistics in ms.
    static func table(_ summary: BenchSummary) -> String {
        let header = ["ms", "count", "mean", "p50", "p90", "p99", "p99.9", "max", "stddev"]
        var rows: [[String]] = [header]
        func row(_ name: String, _ stats: BenchSummary.Stats) {
            guard stats.count > 0 else {
                rows.append([name, "0", "NA", "NA", "NA", "NA", "NA", "NA", "NA"])
                return
            }
            let unsupported = Set(stats.unsupported ?? [])
            func percentile(_ key: String, _ value: Double) -> String {
                unsupported.contains(key) ? "—" : String(format: "%.3f", value)
            }
            rows.append(
                [name, "\(stats.count)", String(format: "%.3f", stats.mean), String(format: "%.3f", stats.p50),
                 percentile("p90", stats.p90), percentile("p99", stats.p99), percentile("p999", stats.p999),
                 String(format: "%.3f", stats.max), String(format: "%.3f", stats.stddev)])
        }
        row("frame interval", summary.frame_interval_ms)
        row("latency", summary.latency_ms)
        for stage in Stage.allCases { row("  " + stage.rawValue.replacingOccurrences(of: "_", with: " "), summary.stages_ms[stage]) }
        if let cpu = summary.compute_cpu_ms { row("compute cpu", cpu) }
        return TextTable.render(rows, indent: "  ")
    }

    /// The figures people read first, over the runs: mean ± the confidence interval's half width, and the range.
    static let runsTableFigures = [
        "fps", "fps_1_percent_low", "frame_interval_ms.mean", "frame_interval_ms.p50", "frame_interval_ms.p99",
        "jitter_ms.p99_minus_p50", "latency_ms.p50", "stages_ms.compute.mean", "compute_cpu_ms.mean", "stages_ms.gpu.mean",
    ]

    static func runsTable(_ runs: BenchSummary.Runs) -> String {
        let level = String(format: "%g %%", runs.confidence * 100)
        var rows: [[String]] = [["over \(runs.count) runs", "mean", "± \(level)", "min", "max"]]
        for name in runsTableFigures {
            guard let figure = runs.figure(named: name) else { continue }
            let halfWidth = (figure.ci_high - figure.ci_low) / 2
            let relative = figure.mean != 0 ? String(format: " (%.1f %%)", halfWidth / abs(figure.mean) * 100) : ""
            rows.append([
                name, String(format: "%.3f", figure.mean), String(format: "%.3f", halfWidth) + relative,
                String(format: "%.3f", figure.values.min() ?? 0), String(format: "%.3f", figure.values.max() ?? 0),
            ])
        }
        return TextTable.render(rows, indent: "  ")
            + "\n  (the tables above are the last run's; summary.json `runs` has every figure over the runs)"
    }

    static func comparison(_ baseline: BenchSummary.Baseline) -> String {
        let overRuns = baseline.figures.contains { $0.method == "runs" }
        var header = ["vs \(baseline.directory)", "baseline", "now", "change"]
        if overRuns { header += ["interval", "p"] }
        header.append("verdict")
        var rows: [[String]] = [header]
        for figure in baseline.figures {
            var row = [
                figure.name, String(format: "%.3f", figure.baseline), String(format: "%.3f", figure.current),
                String(format: "%+.1f %%", figure.change_percent),
            ]
            if overRuns {
                row.append(figure.change_interval_percent.map { String(format: "%+.1f … %+.1f %%", $0[0], $0[1]) } ?? "-")
                row.append(figure.p_value.map { $0 < 0.001 ? "<0.001" : String(format: "%.3f", $0) } ?? "-")
            }
            row.append(figure.verdict)
            rows.append(row)
        }
        var lines = [TextTable.render(rows, indent: "  ")]
        let effect = String(format: "%g %%", baseline.min_effect_percent ?? FigureComparison.defaultMinEffectPercent)
        let runs = "\(baseline.baseline_runs ?? 1) baseline run(s), \(baseline.current_runs ?? 1) now"
        if overRuns {
            lines.append(
                "  verdicts: Welch's t test over the runs, Holm-adjusted p < \(String(format: "%g", baseline.significance ?? FigureComparison.defaultSignificance)), "
                    + "and a change of more than \(effect) (\(runs))")
        } else {
            lines.append(
                "  verdicts: a change of more than \(effect) (\(runs)): run-to-run noise is not measured with one run on a side; "
                    + "compare --runs 5 or more on both sides")
        }
        let worse = baseline.worse ?? baseline.figures.filter { $0.verdict == "worse" }.map(\.name)
        lines.append(worse.isEmpty ? "  no figure worse" : "  worse: " + worse.joined(separator: ", "))
        return lines.joined(separator: "\n")
    }
}

/// Ctrl-C during `bench`: the first one asks the run to stop (the reports are still written); a
/// second one quits at once with 130. The handler is CSystemShim's (a sigaction installed before the
/// run prints anything, so no Ctrl-C after the header is lost); the run polls its count through the
/// BenchStopRequest it is given.
enum InterruptHandler {
    static func makeStopRequest() -> BenchStopRequest {
        fp_sigint_install(
            "\nframepipe: stopping — the reports will cover the frames measured so far (Ctrl-C again to quit at once)\n")
        return BenchStopRequest(external: { fp_sigint_count() > 0 })
    }

    static func uninstall() { fp_sigint_uninstall() }
}
