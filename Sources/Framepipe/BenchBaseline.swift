import FrameTiming
import Foundation
import KernelRuntime
import VulkanRender

/// `bench --baseline DIR`: the figures of an earlier run's summary.json, compared with this run's.
///
/// Figures are read by key path from the JSON (not decoded into BenchSummary), so a baseline written
/// by an older framepipe that lacks newer fields still compares on the figures both runs have.
struct BenchBaseline {
    let directory: String
    let json: [String: Any]

    /// What is compared: key path in summary.json, and whether higher is better.
    static let figures: [(path: String, higherIsBetter: Bool)] = {
        var figures: [(String, Bool)] = [("fps", true), ("fps_1_percent_low", true), ("fps_0_1_percent_low", true)]
        for statistic in ["mean", "p50", "p90", "p99", "p999", "max"] { figures.append(("frame_interval_ms.\(statistic)", false)) }
        figures.append(("jitter_ms.stddev", false))
        figures.append(("jitter_ms.p99_minus_p50", false))
        for statistic in ["mean", "p50", "p99"] { figures.append(("latency_ms.\(statistic)", false)) }
        for stage in Stage.allCases {
            for statistic in ["mean", "p50", "p99"] { figures.append(("stages_ms.\(stage.rawValue).\(statistic)", false)) }
        }
        for statistic in ["mean", "p50", "p99"] { figures.append(("compute_cpu_ms.\(statistic)", false)) }
        return figures
    }()

    static func load(directory: String) throws(FramepipeError) -> BenchBaseline {
        let path = (directory as NSString).appendingPathComponent(BenchReports.summaryName)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FramepipeError(
                .usage, "--baseline \(directory): no readable \(BenchReports.summaryName) there (give the --out directory of an earlier bench)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data), let json = object as? [String: Any],
            let schema = json["schema"] as? String
        else {
            throw FramepipeError(.usage, "--baseline \(directory): \(BenchReports.summaryName) is not a framepipe bench summary (not JSON or no schema)")
        }
        guard BenchSummary.readableSchemas.contains(schema) else {
            throw FramepipeError(
                .usage, "--baseline \(directory): schema \"\(schema)\" is not \(BenchSummary.schemaName); rerun the baseline with this framepipe")
        }
        return BenchBaseline(directory: directory, json: json)
    }

    /// The number at `path` (dotted keys) in a summary's JSON; nil when absent or not a number.
    static func value(at path: String, in json: [String: Any]) -> Double? {
        var node: Any = json
        for key in path.split(separator: ".") {
            guard let object = node as? [String: Any], let next = object[String(key)] else { return nil }
            node = next
        }
        return (node as? NSNumber)?.doubleValue
    }

    /// Whether the run had the samples a percentile figure needs (p99: 100, p999: 1000): one it did not have is not
    /// compared (it is the largest sample, or near it, and scatters like one).
    static func supported(_ path: String, in json: [String: Any]) -> Bool {
        let percentiles: [String: Double] = ["p90": 90, "p95": 95, "p99": 99, "p999": 99.9]
        if path == "jitter_ms.p99_minus_p50" { return supported("frame_interval_ms.p99", in: json) }
        guard let dot = path.lastIndex(of: "."), let percent = percentiles[String(path[path.index(after: dot)...])] else {
            return true
        }
        guard let count = value(at: path[..<dot] + ".count", in: json) else { return true }  // no count: cannot tell
        return Int(count) >= DurationStatistics.samplesNeeded(forPercentile: percent)
    }

    /// Stddev and count of the series a `….mean` figure is the mean of, for the noise rule.
    static func spread(of path: String, in json: [String: Any]) -> (stddev: Double, count: Int)? {
        guard path.hasSuffix(".mean") else { return nil }
        let series = String(path.dropLast(".mean".count))
        guard let stddev = value(at: series + ".stddev", in: json), let count = value(at: series + ".count", in: json)
        else { return nil }
        return (stddev, Int(count))
    }
}

extension BenchBaseline.RunShape {
    init(options: BenchOptions, compute: ComputeSide, renderer: HeadlessRenderer, pool: ComputePool) {
        let identity = compute.engine.identity
        fields = [
            ("kernel", "kernel_sha256", compute.kernelDigest),
            ("size", "size", "\(options.width)x\(options.height)"),
            ("engine", "engine.name", identity.name),
            ("engine version", "engine.version", identity.version),
            ("device", "device.name", renderer.device.name),
            ("workers", "workers", "\(pool.workerCount)"),
            ("upload", "upload", renderer.uploadMode.rawValue),
            ("policy", "policy", options.policy.rawValue),
            ("pacing", "requested.target_hz", options.targetHz.map { NSNumber(value: $0).stringValue } ?? "unpaced"),
            ("compute rate", "requested.compute_rate", options.effectiveComputeRate.description),
        ]
    }
}

extension BenchBaseline {
    /// What this run is, for the like-with-like check: the field's name in errors, its key path in summary.json, and
    /// this run's value.
    struct RunShape {
        var fields: [(name: String, path: String, value: String)]
    }

    /// The fields where the baseline was run differently (kernel by content, size, engine and its version, device,
    /// workers, upload, policy, pacing), each as "NAME BASELINE → THIS RUN"; a field the baseline's summary lacks
    /// (an older framepipe) is not compared.
    func mismatches(with shape: RunShape) -> [String] {
        shape.fields.compactMap { field in
            guard let theirs = Self.text(at: field.path, in: json), theirs != field.value else { return nil }
            // A content hash is told apart by its first 12 digits.
            let shown = field.path == "kernel_sha256" ? (theirs.prefix(12), field.value.prefix(12)) : (theirs[...], field.value[...])
            return "\(field.name) \(shown.0) → \(shown.1)"
        }
    }

    /// The value at `path` as text (numbers as JSON writes them, null and absent alike as "none").
    static func text(at path: String, in json: [String: Any]) -> String? {
        var node: Any? = json
        for key in path.split(separator: ".") {
            guard let object = node as? [String: Any] else { return nil }
            node = object[String(key)]
        }
        switch node {
        case nil, is NSNull: return path == "requested.target_hz" ? "unpaced" : nil
        case let text as String: return text
        case let number as NSNumber: return number.stringValue
        default: return nil
        }
    }
}

extension BenchSummary {
    public static let schemaName = "framepipe.bench/2"
    /// Summaries a baseline may be: figures are read by key path, and /1 differs only in `engine`.
    static let readableSchemas: Set<String> = ["framepipe.bench/1", schemaName]
}

extension BenchBaseline {
    /// The figures of a summary's JSON, for FigureComparison: means carry stddev and count, and a summary of repeated
    /// runs gives each figure's mean over the runs with the values (its `runs`).
    static func figures(in json: [String: Any]) -> [FigureComparison.Figure] {
        let overRuns = Self.runValues(in: json)
        return figures.compactMap { figure in
            if let values = overRuns[figure.path] {
                return FigureComparison.Figure(
                    name: figure.path, value: values.reduce(0, +) / Double(values.count),
                    higherIsBetter: figure.higherIsBetter, runs: values)
            }
            guard let value = value(at: figure.path, in: json), supported(figure.path, in: json) else { return nil }
            let spread = spread(of: figure.path, in: json)
            return FigureComparison.Figure(
                name: figure.path, value: value, higherIsBetter: figure.higherIsBetter, stddev: spread?.stddev,
                count: spread?.count)
        }
    }

    /// `runs.figures[].values` by figure name ([:] for a summary of one run).
    static func runValues(in json: [String: Any]) -> [String: [Double]] {
        guard let runs = json["runs"] as? [String: Any], let figures = runs["figures"] as? [[String: Any]] else { return [:] }
        var byName: [String: [Double]] = [:]
        for figure in figures {
            guard let name = figure["name"] as? String, let values = figure["values"] as? [NSNumber], values.count >= 2 else {
                continue
            }
            byName[name] = values.map(\.doubleValue)
        }
        return byName
    }

    /// This run against the baseline: a verdict per figure both runs have (FigureComparison's rule).
    func compare(
        with summary: BenchSummary, failOnRegressionPercent: Double?, minEffectPercent: Double, significance: Double
    ) -> BenchSummary.Baseline {
        let comparison = FigureComparison(
            baseline: Self.figures(in: json), current: Self.figures(in: BenchRuns.jsonObject(summary)),
            minEffectPercent: minEffectPercent, significance: significance)
        let figures = comparison.rows.compactMap { row -> BenchSummary.Baseline.Figure? in
            guard let baseline = row.baseline, let now = row.current else { return nil }
            return .init(
                name: row.name, baseline: baseline, current: now, change_percent: row.changePercent ?? 0,
                verdict: row.verdict.rawValue, method: row.method?.rawValue, p_value: row.pValue,
                change_interval_percent: row.changeIntervalPercent.map { [$0.lowerBound, $0.upperBound] })
        }
        let baselineRuns = (json["runs"] as? [String: Any])?["count"] as? Int ?? 1
        return BenchSummary.Baseline(
            directory: directory, figures: figures, fail_on_regression_percent: failOnRegressionPercent,
            regressed: failOnRegressionPercent.map { comparison.regressed(p99LimitPercent: $0) } ?? false,
            min_effect_percent: minEffectPercent, significance: significance, baseline_runs: baselineRuns,
            current_runs: summary.runs?.count ?? 1, worse: comparison.worse.map(\.name))
    }
}
