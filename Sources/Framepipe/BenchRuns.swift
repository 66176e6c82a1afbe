import FrameTiming
import Foundation

extension BenchSummary {
    /// `bench --runs N` (N ≥ 2): every compared figure (BenchBaseline.figures) over the runs, as mean with a Student-t
    /// confidence interval; the figures outside `runs` are the last run's, whose reports are in the folder.
    public struct Runs: Codable, Sendable {
        public struct Figure: Codable, Sendable, Equatable {
            /// The figure's key path in summary.json, e.g. "fps", "frame_interval_ms.p99".
            public var name: String
            public var mean: Double
            /// Sample standard deviation over the runs.
            public var stddev: Double
            /// The confidence interval for the mean (`confidence`).
            public var ci_low: Double
            public var ci_high: Double
            /// Each run's value, in run order.
            public var values: [Double]
        }
        /// Runs measured (a run interrupted before its end is not counted).
        public var count: Int
        /// Of the intervals, e.g. 0.95.
        public var confidence: Double
        /// How the runs were made (docs/benchmarking.md, "Repeated runs").
        public var method: String
        public var figures: [Figure]

        public func figure(named name: String) -> Figure? { figures.first { $0.name == name } }
    }
}

enum BenchRuns {
    static let confidence = 0.95
    static let method =
        "one process; each run loads the kernel into a new engine instance, starts its own worker pool and renderer, "
        + "warms up, then measures"

    /// The figures of `summaries` (one per run, as summary.json objects) over the runs; a figure that any run lacks or
    /// cannot support (too few samples for a percentile) is left out. nil with fewer than two runs.
    static func series(of summaries: [[String: Any]]) -> BenchSummary.Runs? {
        guard summaries.count >= 2 else { return nil }
        let figures = BenchBaseline.figures.compactMap { figure -> BenchSummary.Runs.Figure? in
            var values: [Double] = []
            for json in summaries {
                guard let value = BenchBaseline.value(at: figure.path, in: json), value.isFinite,
                    BenchBaseline.supported(figure.path, in: json)
                else { return nil }
                values.append(value)
            }
            let series = RunSeries(values: values, confidence: confidence)
            return .init(
                name: figure.path, mean: series.mean, stddev: series.stddev, ci_low: series.ciLow ?? series.mean,
                ci_high: series.ciHigh ?? series.mean, values: values)
        }
        return .init(count: summaries.count, confidence: confidence, method: method, figures: figures)
    }

    /// A summary as the JSON object summary.json holds ([:] if it cannot be encoded, which a BenchSummary always can).
    static func jsonObject(_ summary: BenchSummary) -> [String: Any] {
        guard let data = try? JSONEncoder().encode(summary),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return [:] }
        return object
    }
}
