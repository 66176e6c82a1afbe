// Frame statistics: what a bench reports about a series of durations.

/// Summary statistics of a series of durations in milliseconds. Percentiles use the
/// nearest-rank method on the sorted samples (exact; the timing issue moves this to HDR histograms).
public struct DurationStatistics: Sendable, Equatable, Codable {
    public let count: Int
    public let mean: Double
    public let stddev: Double
    public let min: Double
    public let p50: Double
    public let p90: Double
    public let p99: Double
    public let max: Double

    public init?(milliseconds samples: [Double]) {
        guard !samples.isEmpty else { return nil }
        let sorted = samples.sorted()
        count = sorted.count
        let average = sorted.reduce(0, +) / Double(sorted.count)
        mean = average
        let squares = sorted.reduce(0) { $0 + ($1 - average) * ($1 - average) }
        stddev = count > 1 ? (squares / Double(count - 1)).squareRoot() : 0
        min = sorted[0]
        max = sorted[count - 1]
        p50 = Self.percentile(sorted, 50)
        p90 = Self.percentile(sorted, 90)
        p99 = Self.percentile(sorted, 99)
    }

    /// Nearest rank: the smallest sample with at least `percent`% of samples at or below it.
    public static func percentile(_ sorted: [Double], _ percent: Double) -> Double {
        precondition(!sorted.isEmpty, "percentile of no samples")
        let rank = Int((percent / 100 * Double(sorted.count)).rounded(.up))
        return sorted[Swift.max(0, Swift.min(sorted.count - 1, rank - 1))]
    }
}
