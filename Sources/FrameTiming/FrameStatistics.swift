// Frame statistics: what a bench reports about a series of durations.
import Histogram

/// Durations recorded into an HDR histogram (nanoseconds, 3 significant digits: every percentile is
/// within 0.1 % of the true sample value) plus exact running count, mean, variance (Welford), min and
/// max. Recording never allocates once the histogram covers the range seen (it starts at 1 ns … 1 s
/// and grows by itself for longer durations), so it may be fed on the fly.
public struct DurationHistogram: Sendable {
    private var histogram: Histogram<UInt64>
    public private(set) var count = 0
    private var runningMean = 0.0
    private var squaredDeviations = 0.0
    public private(set) var minNanos: UInt64 = .max
    public private(set) var maxNanos: UInt64 = 0

    public init() {
        histogram = Histogram(lowestDiscernibleValue: 1, highestTrackableValue: 1_000_000_000, numberOfSignificantValueDigits: .three)
        histogram.autoResize = true
    }

    public mutating func record(nanoseconds value: UInt64) {
        _ = histogram.record(max(value, 1))
        count += 1
        let delta = Double(value) - runningMean
        runningMean += delta / Double(count)
        squaredDeviations += delta * (Double(value) - runningMean)
        minNanos = Swift.min(minNanos, value)
        maxNanos = Swift.max(maxNanos, value)
    }

    public mutating func record(milliseconds value: Double) {
        record(nanoseconds: UInt64((Swift.max(value, 0) * 1e6).rounded()))
    }

    /// The value at `percent` (0...100) in nanoseconds: the HDR histogram's value at that percentile,
    /// clamped to the exact min and max.
    public func nanoseconds(atPercentile percent: Double) -> UInt64 {
        guard count > 0 else { return 0 }
        return Swift.min(Swift.max(histogram.valueAtPercentile(percent), minNanos), maxNanos)
    }

    public var meanNanos: Double { runningMean }

    /// The mean of the largest ⌊count × fraction⌋ samples (fraction 0.01: the slowest 1 %), ns, from the histogram's
    /// buckets (within 0.1 %); nil when that is no sample at all (fewer than 1 / fraction samples).
    public func meanOfLargest(fraction: Double) -> Double? {
        let wanted = Int((Double(count) * fraction).rounded(.down))
        guard wanted >= 1 else { return nil }
        var remaining = wanted
        var sum = 0.0
        for bucket in histogram.recordedValues().reversed() where remaining > 0 {
            let taken = Swift.min(remaining, Int(bucket.count))
            sum += Double(taken) * Double(Swift.min(Swift.max(bucket.value, minNanos), maxNanos))
            remaining -= taken
        }
        return sum / Double(wanted)
    }
    /// Sample standard deviation (n − 1).
    public var stddevNanos: Double { count > 1 ? (squaredDeviations / Double(count - 1)).squareRoot() : 0 }
}

/// Summary statistics of a series of durations in milliseconds: exact count, mean, stddev (n − 1),
/// min and max; percentiles from an HDR histogram (within 0.1 %).
public struct DurationStatistics: Sendable, Equatable, Codable {
    public let count: Int
    public let mean: Double
    public let stddev: Double
    public let min: Double
    public let p50: Double
    public let p90: Double
    public let p95: Double
    public let p99: Double
    public let p999: Double
    public let max: Double
    /// The mean of the slowest 1 % and 0.1 % of the samples (the "1 % low" and "0.1 % low" of a frame-interval
    /// series); nil with fewer than 100 / 1000 samples.
    public var slowest1PercentMean: Double? = nil
    public var slowest01PercentMean: Double? = nil

    /// The samples a percentile needs to be more than the largest sample (or close to it): 1 / (1 − p), so p99
    /// needs 100 and p99.9 needs 1000.
    public static func samplesNeeded(forPercentile percent: Double) -> Int {
        Int((100 / (100 - percent) - 1e-9).rounded(.up))  // 99.9 → 1000, not 1001 by rounding
    }

    /// The reported percentiles this series has too few samples for, by name ("p90", "p95", "p99", "p999").
    public var unsupportedPercentiles: [String] {
        [("p90", 90.0), ("p95", 95.0), ("p99", 99.0), ("p999", 99.9)]
            .filter { count < Self.samplesNeeded(forPercentile: $0.1) }.map(\.0)
    }

    /// Jitter of a frame-interval series: p99 − p50 (stddev is the other measure).
    public var p99MinusP50: Double { p99 - p50 }

    public init?(milliseconds samples: [Double]) {
        var histogram = DurationHistogram()
        for sample in samples { histogram.record(milliseconds: sample) }
        self.init(histogram)
    }

    public init?(_ histogram: DurationHistogram) {
        guard histogram.count > 0 else { return nil }
        func milliseconds(_ nanos: UInt64) -> Double { Double(nanos) / 1e6 }
        count = histogram.count
        mean = histogram.meanNanos / 1e6
        stddev = histogram.stddevNanos / 1e6
        min = milliseconds(histogram.minNanos)
        max = milliseconds(histogram.maxNanos)
        p50 = milliseconds(histogram.nanoseconds(atPercentile: 50))
        p90 = milliseconds(histogram.nanoseconds(atPercentile: 90))
        p95 = milliseconds(histogram.nanoseconds(atPercentile: 95))
        p99 = milliseconds(histogram.nanoseconds(atPercentile: 99))
        p999 = milliseconds(histogram.nanoseconds(atPercentile: 99.9))
        slowest1PercentMean = histogram.meanOfLargest(fraction: 0.01).map { $0 / 1e6 }
        slowest01PercentMean = histogram.meanOfLargest(fraction: 0.001).map { $0 / 1e6 }
    }
}
