import Foundation
import FrameTiming
import XCTest

/// DurationStatistics (HDR histogram percentiles, exact mean/stddev/min/max) on known series.
final class DurationStatisticsTests: XCTestCase {
    /// Relative precision of the HDR histogram (3 significant digits).
    let precision = 0.001

    func testPercentilesAndSpreadOfAKnownSeries() throws {
        // 1...100 ms: p50 = 50, p90 = 90, p95 = 95, p99 = 99, p99.9 = 100; squared deviations sum to
        // n(n²−1)/12 = 83325. Mean, stddev, min and max are exact; percentiles within 0.1 %.
        let stats = try XCTUnwrap(DurationStatistics(milliseconds: (1...100).map(Double.init).shuffled()))
        XCTAssertEqual(stats.count, 100)
        XCTAssertEqual(stats.mean, 50.5, accuracy: 1e-9)
        XCTAssertEqual(stats.stddev, (83325.0 / 99).squareRoot(), accuracy: 1e-9)
        XCTAssertEqual(stats.min, 1)
        XCTAssertEqual(stats.max, 100)
        for (value, expected) in [(stats.p50, 50.0), (stats.p90, 90), (stats.p95, 95), (stats.p99, 99), (stats.p999, 100)] {
            XCTAssertEqual(value, expected, accuracy: expected * precision)
        }
        XCTAssertNil(DurationStatistics(milliseconds: []))
        XCTAssertEqual(DurationStatistics(milliseconds: [4])?.p99, 4)
        XCTAssertEqual(DurationStatistics(milliseconds: [4])?.stddev, 0)
    }

    /// 200 000 samples of a normal (16.7 ms, σ 0.5) and an exponential (mean 2 ms) distribution from a
    /// fixed seed: every reported percentile is within 0.1 % of the exact nearest-rank percentile of
    /// the same samples, and mean and stddev match the distributions.
    func testPercentilesMatchExactRanksOnKnownDistributions() throws {
        var generator = SplitMix64(state: 0x5EED)
        func uniform() -> Double { generator.unit() }
        let normal = (0..<200_000).map { _ in 16.7 + 0.5 * (-2 * log(uniform())).squareRoot() * cos(2 * .pi * uniform()) }
        let exponential = (0..<200_000).map { _ in -2 * log(uniform()) }
        for (samples, mean, stddev) in [(normal, 16.7, 0.5), (exponential, 2.0, 2.0)] {
            let stats = try XCTUnwrap(DurationStatistics(milliseconds: samples))
            let sorted = samples.sorted()
            func exact(_ percent: Double) -> Double {
                sorted[Swift.max(0, Int((percent / 100 * Double(sorted.count)).rounded(.up)) - 1)]
            }
            for (value, percent) in [(stats.p50, 50.0), (stats.p90, 90), (stats.p95, 95), (stats.p99, 99), (stats.p999, 99.9)] {
                XCTAssertEqual(value, exact(percent), accuracy: exact(percent) * precision + 1e-6, "p\(percent)")
            }
            XCTAssertEqual(stats.mean, mean, accuracy: mean * 0.01)
            XCTAssertEqual(stats.stddev, stddev, accuracy: stddev * 0.02)
            XCTAssertEqual(stats.min, sorted[0], accuracy: 1e-6)
            XCTAssertEqual(stats.max, sorted[sorted.count - 1], accuracy: 1e-6)
        }
    }

    /// The "1 % low" and "0.1 % low": the mean of the slowest 1 % / 0.1 % of the samples, absent with too few; which
    /// percentiles a sample count supports.
    func testSlowestShareMeansAndSupportedPercentiles() throws {
        // 1 ... 2000 ms: the slowest 1 % are 1981 ... 2000 (mean 1990.5), the slowest 0.1 % 1999 and 2000 (1999.5).
        let stats = try XCTUnwrap(DurationStatistics(milliseconds: (1...2000).map(Double.init)))
        XCTAssertEqual(try XCTUnwrap(stats.slowest1PercentMean), 1990.5, accuracy: 1990.5 * 0.001)
        XCTAssertEqual(try XCTUnwrap(stats.slowest01PercentMean), 1999.5, accuracy: 1999.5 * 0.001)
        XCTAssertEqual(stats.unsupportedPercentiles, [])
        // One slow outlier among 100 equal samples is the whole 1 % low.
        let outlier = try XCTUnwrap(DurationStatistics(milliseconds: Array(repeating: 10, count: 99) + [50]))
        XCTAssertEqual(try XCTUnwrap(outlier.slowest1PercentMean), 50, accuracy: 0.05)
        XCTAssertNil(outlier.slowest01PercentMean, "0.1 % of 100 samples is no sample")
        XCTAssertEqual(outlier.unsupportedPercentiles, ["p999"])

        XCTAssertEqual(DurationStatistics.samplesNeeded(forPercentile: 50), 2)
        XCTAssertEqual(DurationStatistics.samplesNeeded(forPercentile: 90), 10)
        XCTAssertEqual(DurationStatistics.samplesNeeded(forPercentile: 99), 100)
        XCTAssertEqual(DurationStatistics.samplesNeeded(forPercentile: 99.9), 1000)
        let sixty = try XCTUnwrap(DurationStatistics(milliseconds: (1...60).map(Double.init)))
        XCTAssertEqual(sixty.unsupportedPercentiles, ["p99", "p999"], "p99 and p99.9 of 60 samples are its maximum")
        XCTAssertNil(sixty.slowest1PercentMean)
        XCTAssertEqual(try XCTUnwrap(DurationStatistics(milliseconds: [1, 2, 3])).unsupportedPercentiles, ["p90", "p95", "p99", "p999"])
    }
}
