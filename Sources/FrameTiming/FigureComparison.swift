// Baseline comparison (`--baseline DIR`): one run's figures against an earlier run's, each marked
// better, same or worse beyond noise.
//
// Noise rule. A figure's change Δ = current − baseline is beyond noise when
//     |Δ| > max(noiseFloorPercent % × |baseline|, 2 × SE)
// where SE = √(s₁²/n₁ + s₂²/n₂) is the standard error of the difference of two means, used only
// when both runs give the figure's sample stddev s and count n (i.e. for means). Percentiles, fps
// and other figures have no cheap standard error (a bootstrap would need the samples), so they get
// the floor alone: default 3 %, about the spread of repeated runs of the same build on a quiet
// machine (a busy, shared machine needs a larger floor). 2 × SE is roughly a 95 % two-sided test for
// means of a few dozen samples or more. Beyond noise in the figure's good direction is `better`,
// in the other `worse`; otherwise `same`.

public struct FigureComparison: Sendable {
    /// One named figure of one run.
    public struct Figure: Sendable, Equatable, Codable {
        /// Dotted path with the unit in it, e.g. "frame_interval_ms.p99", "fps", "stages_ms.gpu.mean".
        public var name: String
        public var value: Double
        /// Direction of improvement: fps up is better, a frame interval down is.
        public var higherIsBetter: Bool
        /// Sample stddev and count of the samples a mean was taken over: give both for means only,
        /// so the standard error can widen the noise band.
        public var stddev: Double?
        public var count: Int?

        public init(name: String, value: Double, higherIsBetter: Bool, stddev: Double? = nil, count: Int? = nil) {
            self.name = name
            self.value = value
            self.higherIsBetter = higherIsBetter
            self.stddev = stddev
            self.count = count
        }
    }

    public enum Verdict: String, Sendable, Codable {
        case better, same, worse
        /// The figure is in only one of the two runs (e.g. no GPU timestamps in one of them).
        case onlyInBaseline = "only in baseline"
        case onlyInCurrent = "only in current"
    }

    /// The comparison of one figure.
    public struct Row: Sendable, Equatable {
        public var name: String
        public var baseline: Double?
        public var current: Double?
        public var higherIsBetter: Bool
        /// (current − baseline) / |baseline| × 100; nil when either is missing or the baseline is 0.
        public var changePercent: Double?
        /// The smallest |Δ| that counted as beyond noise (same unit as the figure).
        public var noiseThreshold: Double?
        public var verdict: Verdict
    }

    /// The figure `regressed(p99LimitPercent:)` looks at.
    public static let frameIntervalP99 = "frame_interval_ms.p99"

    public let noiseFloorPercent: Double
    /// One row per figure name: the current run's order, then figures only the baseline has.
    public let rows: [Row]

    public init(baseline: [Figure], current: [Figure], noiseFloorPercent: Double = 3) {
        self.noiseFloorPercent = noiseFloorPercent
        var baselineByName: [String: Figure] = [:]
        for figure in baseline where baselineByName[figure.name] == nil { baselineByName[figure.name] = figure }
        var seen = Set<String>()
        var rows: [Row] = []
        for figure in current where !seen.contains(figure.name) {
            seen.insert(figure.name)
            rows.append(Self.compare(baselineByName[figure.name], figure, noiseFloorPercent: noiseFloorPercent))
        }
        for figure in baseline where !seen.contains(figure.name) {
            seen.insert(figure.name)
            rows.append(Self.compare(figure, nil, noiseFloorPercent: noiseFloorPercent))
        }
        self.rows = rows
    }

    public func row(named name: String) -> Row? { rows.first { $0.name == name } }

    /// True when `frame_interval_ms.p99` is worse beyond noise and by more than `p99LimitPercent` %
    /// (`--fail-on-regression PCT`: exit code 4). False when either run lacks the figure.
    public func regressed(p99LimitPercent: Double) -> Bool {
        guard let row = row(named: Self.frameIntervalP99), row.verdict == .worse else { return false }
        // A 0 ms baseline has no relative change: worse beyond noise is worse by any percentage.
        guard let change = row.changePercent else { return true }
        let worsening = row.higherIsBetter ? -change : change
        return worsening > p99LimitPercent
    }

    /// Aligned text table: figure, baseline, current, change %, verdict.
    public func renderText() -> String {
        let header = ["figure", "baseline", "current", "change", "verdict"]
        let body: [[String]] = rows.map { row in
            [
                row.name,
                row.baseline.map(Self.number) ?? "-",
                row.current.map(Self.number) ?? "-",
                row.changePercent.map { ($0 > 0 ? "+" : "") + ReportFormatting.fixed($0, decimals: 1) + " %" } ?? "-",
                row.verdict.rawValue,
            ]
        }
        // Text columns (figure, verdict) left-aligned, numbers right-aligned.
        return TextTable.render([header] + body, leftAligned: [0, 4])
            + "\nnoise: |change| > max(\(ReportFormatting.fixed(noiseFloorPercent, decimals: 1)) % of baseline, 2 × standard error for means)\n"
    }

    static func compare(_ baseline: Figure?, _ current: Figure?, noiseFloorPercent: Double) -> Row {
        guard let baseline, let current else {
            let only = baseline ?? current
            return Row(
                name: only?.name ?? "", baseline: baseline?.value, current: current?.value,
                higherIsBetter: only?.higherIsBetter ?? false, changePercent: nil, noiseThreshold: nil,
                verdict: baseline == nil ? .onlyInCurrent : .onlyInBaseline)
        }
        let delta = current.value - baseline.value
        var threshold = noiseFloorPercent * baseline.value.magnitude / 100
        if let s1 = baseline.stddev, let n1 = baseline.count, let s2 = current.stddev, let n2 = current.count,
            n1 > 0, n2 > 0
        {
            let standardError = (s1 * s1 / Double(n1) + s2 * s2 / Double(n2)).squareRoot()
            threshold = Swift.max(threshold, 2 * standardError)
        }
        let verdict: Verdict
        if delta.magnitude <= threshold || delta == 0 {
            verdict = .same
        } else {
            verdict = (delta > 0) == current.higherIsBetter ? .better : .worse
        }
        return Row(
            name: current.name, baseline: baseline.value, current: current.value,
            higherIsBetter: current.higherIsBetter,
            changePercent: baseline.value != 0 ? delta / baseline.value.magnitude * 100 : nil,
            noiseThreshold: threshold, verdict: verdict)
    }

    private static func number(_ value: Double) -> String {
        let magnitude = value.magnitude
        return ReportFormatting.fixed(value, decimals: magnitude >= 1000 ? 1 : magnitude >= 1 ? 3 : 4)
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
    /// jitter_ms.p99_minus_p50; latency_ms.*; stages_ms.<stage>.* (names as in summary.json).
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
        return figures
    }
}
