// Baseline comparison (`--baseline DIR|NAME`): one run's figures against an earlier run's, each judged better, same
// or worse. The rule, and the measurements it was chosen from, are in docs/benchmarking.md ("Verdicts"):
//
// - Both sides repeated (`--runs N`, N ≥ 2 each): a figure is its mean over the runs, and it changed when Welch's
//   t test on the per-run values gives p < `significance` (default 0.01) after Holm's correction over all the
//   figures tested (so that the chance of calling any figure of two runs of one build changed stays below
//   `significance`), and the change of the means is more than
//   `minEffectPercent` (default 5 %) of the baseline's. A run, not a frame, is the independent sample: what differs
//   between two runs of one build (clock speed, thread placement, the rest of the machine) holds for seconds and
//   moves a whole run's frames together, so a test on the frames alone reads that as an effect.
// - One run on either side: there is no run-to-run spread to test against, so the change must be more than the
//   minimum effect and, for means, more than 2 × the standard error of the difference of the per-frame means (a z
//   test on the frames). Such verdicts cannot see run-to-run noise; their rows say so (`method` .frames).
//
// Better or worse is the figure's good or bad direction; otherwise `same`.

public struct FigureComparison: Sendable {
    /// One named figure of one run (or of repeated runs).
    public struct Figure: Sendable, Equatable, Codable {
        /// Dotted path with the unit in it, e.g. "frame_interval_ms.p99", "fps", "stages_ms.gpu.mean".
        public var name: String
        /// The figure; with `runs`, their mean.
        public var value: Double
        /// Direction of improvement: fps up is better, a frame interval down is.
        public var higherIsBetter: Bool
        /// Sample stddev and count of the samples a mean was taken over: give both for means only,
        /// so the standard error can widen the noise band of a one-run comparison.
        public var stddev: Double?
        public var count: Int?
        /// The figure's value in each of repeated runs (`--runs N`); nil for one run.
        public var runs: [Double]?

        public init(
            name: String, value: Double, higherIsBetter: Bool, stddev: Double? = nil, count: Int? = nil,
            runs: [Double]? = nil
        ) {
            self.name = name
            self.value = value
            self.higherIsBetter = higherIsBetter
            self.stddev = stddev
            self.count = count
            self.runs = runs
        }
    }

    public enum Verdict: String, Sendable, Codable {
        case better, same, worse
        /// The figure is in only one of the two runs (e.g. no GPU timestamps in one of them).
        case onlyInBaseline = "only in baseline"
        case onlyInCurrent = "only in current"
    }

    /// What a verdict was judged on.
    public enum Method: String, Sendable, Codable {
        /// Welch's t test over the runs of both sides, plus the minimum effect.
        case runs
        /// One run on a side: the minimum effect (and the frames' standard error for means).
        case frames
    }

    /// The comparison of one figure.
    public struct Row: Sendable, Equatable {
        public var name: String
        public var baseline: Double?
        public var current: Double?
        public var higherIsBetter: Bool
        /// (current − baseline) / |baseline| × 100; nil when either is missing or the baseline is 0.
        public var changePercent: Double?
        /// The smallest |Δ| that could count as a change (same unit as the figure): the minimum effect, or for a
        /// one-run mean 2 × its standard error where that is larger.
        public var noiseThreshold: Double?
        public var verdict: Verdict
        public var method: Method?
        /// Welch's two-sided p value, Holm-adjusted over the figures tested (method .runs).
        public var pValue: Double?
        /// The confidence interval (1 − significance) of the change, in percent of the baseline (method .runs).
        public var changeIntervalPercent: ClosedRange<Double>?
    }

    /// The figure `regressed(p99LimitPercent:)` looks at.
    public static let frameIntervalP99 = "frame_interval_ms.p99"
    public static let defaultMinEffectPercent = 5.0
    public static let defaultSignificance = 0.01

    public let minEffectPercent: Double
    public let significance: Double
    /// One row per figure name: the current run's order, then figures only the baseline has.
    public let rows: [Row]

    public init(
        baseline: [Figure], current: [Figure], minEffectPercent: Double = defaultMinEffectPercent,
        significance: Double = defaultSignificance
    ) {
        precondition(significance > 0 && significance < 1, "significance is a probability")
        self.minEffectPercent = minEffectPercent
        self.significance = significance
        var baselineByName: [String: Figure] = [:]
        for figure in baseline where baselineByName[figure.name] == nil { baselineByName[figure.name] = figure }
        var seen = Set<String>()
        var rows: [Row] = []
        for figure in current where !seen.contains(figure.name) {
            seen.insert(figure.name)
            rows.append(Self.compare(baselineByName[figure.name], figure, minEffectPercent, significance))
        }
        for figure in baseline where !seen.contains(figure.name) {
            seen.insert(figure.name)
            rows.append(Self.compare(figure, nil, minEffectPercent, significance))
        }
        self.rows = Self.holmAdjusted(rows, significance: significance)
    }

    /// Holm's step-down correction over the figures tested over runs: each p value becomes its Holm-adjusted one, and
    /// a figure whose adjusted p is not below `significance` is `same`. Two runs of one build then call any figure
    /// changed with probability at most `significance` (not that per figure: some 30 figures are tested at once).
    static func holmAdjusted(_ rows: [Row], significance: Double) -> [Row] {
        var rows = rows
        let tested = rows.indices.filter { rows[$0].method == .runs && rows[$0].pValue != nil }
            .sorted { (rows[$0].pValue ?? 1) < (rows[$1].pValue ?? 1) }
        var running = 0.0
        for (rank, index) in tested.enumerated() {
            let raw = rows[index].pValue ?? 1
            running = Swift.max(running, Swift.min(1, Double(tested.count - rank) * raw))
            rows[index].pValue = running
            if running >= significance, rows[index].verdict == .better || rows[index].verdict == .worse {
                rows[index].verdict = .same
            }
        }
        return rows
    }

    public func row(named name: String) -> Row? { rows.first { $0.name == name } }

    /// Figures judged worse (what "no regression" means: none).
    public var worse: [Row] { rows.filter { $0.verdict == .worse } }

    /// True when `frame_interval_ms.p99` is worse (the verdict above) and by more than `p99LimitPercent` %
    /// (`--fail-on-regression PCT`: exit code 4). False when either run lacks the figure.
    public func regressed(p99LimitPercent: Double) -> Bool {
        guard let row = row(named: Self.frameIntervalP99), row.verdict == .worse else { return false }
        // A 0 ms baseline has no relative change: worse beyond noise is worse by any percentage.
        guard let change = row.changePercent else { return true }
        let worsening = row.higherIsBetter ? -change : change
        return worsening > p99LimitPercent
    }

    /// Aligned text table: figure, baseline, current, change %, its interval and p (repeated runs), verdict.
    public func renderText() -> String {
        let withRuns = rows.contains { $0.method == .runs }
        var header = ["figure", "baseline", "current", "change"]
        if withRuns { header += ["interval", "p"] }
        header.append("verdict")
        let body: [[String]] = rows.map { row in
            var cells = [
                row.name,
                row.baseline.map(Self.number) ?? "-",
                row.current.map(Self.number) ?? "-",
                row.changePercent.map(Self.percent) ?? "-",
            ]
            if withRuns {
                cells.append(row.changeIntervalPercent.map { Self.percent($0.lowerBound) + " … " + Self.percent($0.upperBound) } ?? "-")
                cells.append(row.pValue.map { $0 < 0.001 ? "<0.001" : ReportFormatting.fixed($0, decimals: 3) } ?? "-")
            }
            cells.append(row.verdict.rawValue)
            return cells
        }
        // Text columns (figure, verdict) left-aligned, numbers right-aligned.
        let table = TextTable.render([header] + body, leftAligned: [0, header.count - 1])
        let effect = ReportFormatting.fixed(minEffectPercent, decimals: 1) + " %"
        let rule =
            withRuns
            ? "changed: p < \(Self.trimmed(significance)) (Welch's t test over the runs, Holm-adjusted) and |change| > \(effect)"
            : "changed: |change| > \(effect) (and > 2 × standard error for means); one run on a side: run-to-run noise "
                + "is not measured, compare --runs 5 or more for verdicts that account for it"
        return table + "\n" + rule + "\n"
    }

    static func compare(_ baseline: Figure?, _ current: Figure?, _ minEffectPercent: Double, _ significance: Double) -> Row {
        guard let baseline, let current else {
            let only = baseline ?? current
            return Row(
                name: only?.name ?? "", baseline: baseline?.value, current: current?.value,
                higherIsBetter: only?.higherIsBetter ?? false, changePercent: nil, noiseThreshold: nil,
                verdict: baseline == nil ? .onlyInCurrent : .onlyInBaseline)
        }
        let delta = current.value - baseline.value
        let scale = baseline.value.magnitude
        let minimumEffect = minEffectPercent * scale / 100
        var threshold = minimumEffect
        var method = Method.frames
        var pValue: Double?
        var interval: ClosedRange<Double>?
        var significant = true
        if let baselineRuns = baseline.runs, let currentRuns = current.runs,
            let test = WelchTest(baseline: baselineRuns, current: currentRuns, confidence: 1 - significance)
        {
            method = .runs
            pValue = test.pValue
            significant = test.pValue < significance
            if scale > 0 { interval = (test.ciLow / scale * 100)...(test.ciHigh / scale * 100) }
        } else if let s1 = baseline.stddev, let n1 = baseline.count, let s2 = current.stddev, let n2 = current.count,
            n1 > 0, n2 > 0
        {
            let standardError = (s1 * s1 / Double(n1) + s2 * s2 / Double(n2)).squareRoot()
            threshold = Swift.max(threshold, 2 * standardError)
        }
        let verdict: Verdict
        if !significant || delta == 0 || delta.magnitude <= threshold {
            verdict = .same
        } else {
            verdict = (delta > 0) == current.higherIsBetter ? .better : .worse
        }
        return Row(
            name: current.name, baseline: baseline.value, current: current.value,
            higherIsBetter: current.higherIsBetter,
            changePercent: baseline.value != 0 ? delta / scale * 100 : nil,
            noiseThreshold: threshold, verdict: verdict, method: method, pValue: pValue, changeIntervalPercent: interval)
    }

    private static func number(_ value: Double) -> String {
        let magnitude = value.magnitude
        return ReportFormatting.fixed(value, decimals: magnitude >= 1000 ? 1 : magnitude >= 1 ? 3 : 4)
    }

    private static func percent(_ value: Double) -> String {
        (value > 0 ? "+" : "") + ReportFormatting.fixed(value, decimals: 1) + " %"
    }

    private static func trimmed(_ value: Double) -> String {
        var text = ReportFormatting.fixed(value, decimals: 4)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}

extension FigureComparison.Figure {
    /// The figures of one duration series under `prefix` (e.g. "frame_interval_ms"): mean (with
    /// stddev and count, so its noise band uses the standard error), p50, p90, p99, p999 and max.
    /// Lower is better for all of them.
    public static func durations(_ prefix: String, _ statistics: DurationStatistics) -> [Self] {
        [
            Self(name: prefix + ".mean", value: statistics.mean, higherIsBetter: false,
                 stddev: statistics.stddev, count: statistics.count),
            Self(name: prefix + ".p50", value: statistics.p50, higherIsBetter: false),
            Self(name: prefix + ".p90", value: statistics.p90, higherIsBetter: false),
            Self(name: prefix + ".p99", value: statistics.p99, higherIsBetter: false),
            Self(name: prefix + ".p999", value: statistics.p999, higherIsBetter: false),
            Self(name: prefix + ".max", value: statistics.max, higherIsBetter: false),
        ]
    }

    /// A run's comparable figures: fps; frame_interval_ms.*; jitter_ms.stddev and
    /// jitter_ms.p99_minus_p50; latency_ms.*; stages_ms.<stage>.*; compute_cpu_ms.* (names as in summary.json).
    public static func figures(of statistics: RunStatistics) -> [Self] {
        var figures = [Self(name: "fps", value: statistics.fps, higherIsBetter: true)]
        if let interval = statistics.frameInterval {
            figures += durations("frame_interval_ms", interval)
            figures.append(Self(name: "jitter_ms.stddev", value: interval.stddev, higherIsBetter: false))
            figures.append(Self(name: "jitter_ms.p99_minus_p50", value: interval.p99MinusP50, higherIsBetter: false))
        }
        if let latency = statistics.latency { figures += durations("latency_ms", latency) }
        for stage in Stage.allCases {
            if let stageStatistics = statistics.stages[stage] {
                figures += durations("stages_ms." + stage.rawValue, stageStatistics)
            }
        }
        if let cpu = statistics.computeCPU { figures += durations("compute_cpu_ms", cpu) }
        return figures
    }
}
