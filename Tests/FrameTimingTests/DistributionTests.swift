import Foundation
import XCTest

@testable import FrameTiming

/// The statistics against distributions with known answers.
final class DistributionTests: XCTestCase {
    func testUniformOneToTenThousandNanoseconds() throws {
        var histogram = DurationHistogram()
        // Shuffled order: the result must not depend on it.
        var generator = SplitMix64(state: 7)
        var values = Array(UInt64(1)...10_000)
        for index in stride(from: values.count - 1, to: 0, by: -1) {
            values.swapAt(index, Int(generator.next() % UInt64(index + 1)))
        }
        for value in values { histogram.record(nanoseconds: value) }
        let statistics = try XCTUnwrap(DurationStatistics(histogram))
        let n = 10_000.0
        XCTAssertEqual(statistics.count, 10_000)
        XCTAssertEqual(statistics.mean, (n + 1) / 2 / 1e6, accuracy: 1e-15)
        // Sample variance of 1…N: N(N+1)/12.
        XCTAssertEqual(statistics.stddev, (n * (n + 1) / 12).squareRoot() / 1e6, accuracy: 1e-12)
        XCTAssertEqual(statistics.min, 1e-6, accuracy: 1e-15)
        XCTAssertEqual(statistics.max, 1e-2, accuracy: 1e-15)
        for (percentile, expected) in [(statistics.p50, 5_000.0), (statistics.p90, 9_000.0), (statistics.p99, 9_900.0), (statistics.p999, 9_990.0)] {
            XCTAssertEqual(percentile, expected / 1e6, accuracy: expected / 1e6 * 0.001)
        }
    }

    func testSeededExponentialSampleMatchesTheAnalyticalQuantiles() throws {
        let meanNanos = 2_000_000.0  // 2 ms
        var generator = SplitMix64(state: 0x5EED)
        var histogram = DurationHistogram()
        for _ in 0..<100_000 {
            histogram.record(nanoseconds: UInt64((-log(generator.unit()) * meanNanos).rounded()))
        }
        let statistics = try XCTUnwrap(DurationStatistics(histogram))
        // Quantile q of an exponential: −ln(1 − q) × mean; stddev = mean. With 100 000 samples the
        // sampling error is about 0.5 % at p50 and 0.7 % at p99 (one standard error).
        XCTAssertEqual(statistics.mean, 2.0, accuracy: 2.0 * 0.02)
        XCTAssertEqual(statistics.stddev, 2.0, accuracy: 2.0 * 0.02)
        for (value, q, tolerance) in [
            (statistics.p50, 0.5, 0.02), (statistics.p90, 0.9, 0.02), (statistics.p99, 0.99, 0.03),
        ] {
            let expected = -log(1 - q) * 2.0
            XCTAssertEqual(value, expected, accuracy: expected * tolerance, "quantile \(q)")
        }
    }

    func testPercentilesAreWithinATenthOfAPercentOfTheExactNearestRank() throws {
        // Log-normal-ish intervals around 16.7 ms, fed through a frame log as the bench would.
        var generator = SplitMix64(state: 42)
        var doneNanos = at(1)
        var records: [FrameRecord] = []
        var intervals: [Double] = []
        for generation in 1...2_001 {
            if generation > 1 {
                let gaussian = (-2 * log(generator.unit())).squareRoot() * cos(2 * .pi * generator.unit())
                let intervalNanos = ms(16.7 * exp(0.25 * gaussian))
                intervals.append(Double(intervalNanos) / 1e6)
                doneNanos += intervalNanos
            }
            var record = FrameRecord(generation: UInt64(generation))
            record.outcome = .measured
            record.gpuEndNanos = doneNanos
            records.append(record)
        }
        let frameLog = FrameLog(
            records: records, tiles: [], workers: 1, measureStartNanos: at(0), measureEndNanos: doneNanos + 1)
        let statistics = try XCTUnwrap(RunStatistics(log: frameLog).frameInterval)
        let sorted = intervals.sorted()
        func nearestRank(_ percent: Double) -> Double {
            // Rank ⌈p × n⌉; the epsilon keeps 99.9 % × 2000 = 1998.0000000000002 at rank 1998.
            sorted[max(Int((percent / 100 * Double(sorted.count) - 1e-9).rounded(.up)) - 1, 0)]
        }
        XCTAssertEqual(statistics.count, 2_000)
        for (value, percent) in [(statistics.p50, 50.0), (statistics.p90, 90.0), (statistics.p95, 95.0), (statistics.p99, 99.0), (statistics.p999, 99.9)] {
            XCTAssertEqual(value, nearestRank(percent), accuracy: nearestRank(percent) * 0.001, "p\(percent)")
        }
        let mean = intervals.reduce(0, +) / Double(intervals.count)
        let variance = intervals.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(intervals.count - 1)
        XCTAssertEqual(statistics.mean, mean, accuracy: 1e-6)
        XCTAssertEqual(statistics.stddev, variance.squareRoot(), accuracy: 1e-6)
        XCTAssertEqual(statistics.min, sorted.first ?? 0, accuracy: 1e-9)
        XCTAssertEqual(statistics.max, sorted.last ?? 0, accuracy: 1e-9)
    }
}
