// Statistics over repeated runs (`bench --runs N`): each figure's mean with a confidence interval, and the test a
// baseline comparison's verdicts come from. The method and why it was chosen are in docs/benchmarking.md
// ("Verdicts"); this file only computes.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One figure over the runs of a bench: its value in each run, mean, sample stddev and a Student-t confidence
/// interval for the mean.
public struct RunSeries: Sendable, Equatable, Codable {
    public let values: [Double]
    public let mean: Double
    /// Sample standard deviation (n − 1); 0 with one run.
    public let stddev: Double
    /// The two-sided confidence interval for the mean at `confidence` (Student t, n − 1 degrees of freedom); nil with
    /// fewer than two runs.
    public let ciLow: Double?
    public let ciHigh: Double?
    public let confidence: Double

    public init(values: [Double], confidence: Double = 0.95) {
        precondition(!values.isEmpty, "RunSeries needs at least one value")
        precondition(confidence > 0 && confidence < 1, "confidence is a probability")
        self.values = values
        self.confidence = confidence
        let n = Double(values.count)
        let mean = values.reduce(0, +) / n
        self.mean = mean
        let variance = values.count > 1 ? values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1) : 0
        stddev = variance.squareRoot()
        if values.count > 1 {
            let halfWidth = StudentT.quantile(1 - (1 - confidence) / 2, degreesOfFreedom: n - 1) * stddev / n.squareRoot()
            ciLow = mean - halfWidth
            ciHigh = mean + halfWidth
        } else {
            ciLow = nil
            ciHigh = nil
        }
    }

    public var count: Int { values.count }

    /// The half width of the interval relative to the mean, in percent (e.g. 1.8 for "± 1.8 %"); nil without an
    /// interval or for a zero mean.
    public var ciHalfWidthPercent: Double? {
        guard let ciHigh, mean != 0 else { return nil }
        return (ciHigh - mean) / mean.magnitude * 100
    }
}

/// Welch's unequal-variance t test of two samples' means: the difference (current − baseline), its confidence
/// interval and two-sided p value. Used on per-run values, where a run, not a frame, is the independent unit.
public struct WelchTest: Sendable, Equatable {
    public let difference: Double
    public let standardError: Double
    /// Welch–Satterthwaite degrees of freedom.
    public let degreesOfFreedom: Double
    public let pValue: Double
    public let ciLow: Double
    public let ciHigh: Double

    /// nil when either sample has fewer than two values (no variance to test against).
    public init?(baseline: [Double], current: [Double], confidence: Double) {
        guard baseline.count >= 2, current.count >= 2 else { return nil }
        let a = RunSeries(values: baseline, confidence: confidence)
        let b = RunSeries(values: current, confidence: confidence)
        let va = a.stddev * a.stddev / Double(a.count)
        let vb = b.stddev * b.stddev / Double(b.count)
        difference = b.mean - a.mean
        standardError = (va + vb).squareRoot()
        let quantileProbability = 1 - (1 - confidence) / 2
        if standardError == 0 {
            // Identical values within each side (a deterministic figure): any difference is exact.
            degreesOfFreedom = Double(a.count + b.count - 2)
            pValue = difference == 0 ? 1 : 0
            ciLow = difference
            ciHigh = difference
            return
        }
        let df = (va + vb) * (va + vb)
            / (va * va / Double(a.count - 1) + vb * vb / Double(b.count - 1))
        degreesOfFreedom = df
        let t = difference / standardError
        pValue = 2 * (1 - StudentT.cdf(t.magnitude, degreesOfFreedom: df))
        let halfWidth = StudentT.quantile(quantileProbability, degreesOfFreedom: df) * standardError
        ciLow = difference - halfWidth
        ciHigh = difference + halfWidth
    }
}

/// Student's t distribution: CDF through the regularized incomplete beta function, quantiles by bisection on it.
public enum StudentT {
    /// P(T ≤ t) for T with `degreesOfFreedom` (> 0, not necessarily whole).
    public static func cdf(_ t: Double, degreesOfFreedom df: Double) -> Double {
        precondition(df > 0, "degrees of freedom must be positive")
        let x = df / (df + t * t)
        let tail = 0.5 * regularizedIncompleteBeta(x, a: df / 2, b: 0.5)
        return t >= 0 ? 1 - tail : tail
    }

    /// The t with P(T ≤ t) = p, for 0 < p < 1.
    public static func quantile(_ p: Double, degreesOfFreedom df: Double) -> Double {
        precondition(p > 0 && p < 1, "quantile needs 0 < p < 1")
        if p < 0.5 { return -quantile(1 - p, degreesOfFreedom: df) }
        var low = 0.0
        var high = 1.0
        while cdf(high, degreesOfFreedom: df) < p { high *= 2 }
        // 100 halvings take any bracket below Double's resolution.
        for _ in 0..<100 {
            let middle = (low + high) / 2
            if cdf(middle, degreesOfFreedom: df) < p { low = middle } else { high = middle }
        }
        return (low + high) / 2
    }

    /// I_x(a, b), by the continued fraction (modified Lentz), on whichever side of the mean converges fast.
    static func regularizedIncompleteBeta(_ x: Double, a: Double, b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let logFront = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log(1 - x)
        if x < (a + 1) / (a + b + 2) {
            return exp(logFront) * continuedFraction(x, a: a, b: b) / a
        }
        return 1 - exp(logFront) * continuedFraction(1 - x, a: b, b: a) / b
    }

    private static func continuedFraction(_ x: Double, a: Double, b: Double) -> Double {
        let tiny = 1e-300
        var c = 1.0
        var d = 1 - (a + b) * x / (a + 1)
        if d.magnitude < tiny { d = tiny }
        d = 1 / d
        var result = d
        for m in 1...300 {
            let m = Double(m)
            let evenStep = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            d = 1 + evenStep * d
            if d.magnitude < tiny { d = tiny }
            c = 1 + evenStep / c
            if c.magnitude < tiny { c = tiny }
            d = 1 / d
            result *= d * c
            let oddStep = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            d = 1 + oddStep * d
            if d.magnitude < tiny { d = tiny }
            c = 1 + oddStep / c
            if c.magnitude < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            result *= delta
            if (delta - 1).magnitude < 1e-15 { break }
        }
        return result
    }
}
