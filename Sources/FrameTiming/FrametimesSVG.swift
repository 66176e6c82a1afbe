// frametimes.svg: the frame interval over time (one point per interval, with p50 and p99 lines and
// an optional target line) above a histogram of the intervals. Self-contained SVG 1.1: no scripts,
// no external fonts or images (generic font family only), so any rasteriser or browser shows it.
// Colours are written rgb(…): a `"#` inside the raw string literals below would end them.

public enum FrametimesSVG {
    /// The polyline of the time series carries this id (one point per frame interval).
    public static let seriesID = "frame-interval-series"
    /// Bins of the histogram between the smallest interval and p99.9; one more bin holds the rest.
    public static let histogramBins = 40

    private static let width = 960.0
    private static let height = 680.0
    private static let left = 80.0
    /// Room right of the plots for the reference lines' labels, which so never cover data.
    private static let right = 130.0
    private static let seriesTop = 80.0
    private static let seriesBottom = 350.0
    private static let histogramTop = 430.0
    private static let histogramBottom = 620.0

    /// The SVG document. `targetIntervalMs` draws a dashed target line (e.g. 16.667 for 60 Hz).
    public static func render(_ log: FrameLog, title: String, targetIntervalMs: Double?) -> String {
        let points: [(seconds: Double, milliseconds: Double)] = log.measuredWithIntervals.compactMap { record, interval in
            guard let interval else { return nil }
            let seconds = ReportFormatting.signedMilliseconds(from: log.measureStartNanos, to: record.doneNanos) ?? 0
            return (seconds / 1000, Double(interval) / 1e6)
        }
        var histogram = DurationHistogram()
        for (_, interval) in log.measuredWithIntervals {
            if let interval { histogram.record(nanoseconds: interval) }
        }
        let statistics = DurationStatistics(histogram)
        let target = targetIntervalMs.flatMap { $0.isFinite && $0 > 0 ? $0 : nil }

        var svg = Document()
        svg.line(
            #"<?xml version="1.0" encoding="UTF-8"?>"#)
        svg.line(
            #"<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\#(f(width))" height="\#(f(height))" viewBox="0 0 \#(f(width)) \#(f(height))" font-family="sans-serif" font-size="12">"#
        )
        svg.line(#"<rect x="0" y="0" width="\#(f(width))" height="\#(f(height))" fill="rgb(255,255,255)"/>"#)
        svg.text(title, x: left, y: 28, size: 18, weight: "bold")
        if let statistics {
            svg.text(
                (log.coversWholeRun ? "" : "last ") + "\(statistics.count) intervals · mean \(ms(statistics.mean)) · stddev \(ms(statistics.stddev)) · "
                    + "p50 \(ms(statistics.p50)) · p99 \(ms(statistics.p99)) · p99 − p50 \(ms(statistics.p99MinusP50)) · "
                    + "max \(ms(statistics.max))",
                x: left, y: 50, size: 12)
        }

        guard let statistics, !points.isEmpty else {
            svg.text("no frame intervals: fewer than two measured frames with a done timestamp", x: left, y: 200, size: 14)
            svg.line("</svg>")
            return svg.body
        }

        // Top panel: interval over time.
        let plotRight = width - right
        // From the start of measuring (or the earliest point) to its end (or the latest point).
        let windowSeconds = Double(FrameRecord.span(log.measureStartNanos, log.measureEndNanos) ?? 0) / 1e9
        // A log that keeps only the run's last frames: the axis spans those (its times still count from
        // the start of measuring, as frames.csv's do).
        var timeLower = log.coversWholeRun ? Swift.min(0, points.map(\.seconds).min() ?? 0) : points.map(\.seconds).min() ?? 0
        var timeUpper = Swift.max(log.coversWholeRun ? windowSeconds : 0, points.map(\.seconds).max() ?? 1)
        if timeUpper - timeLower < 1e-6 {
            timeLower -= 0.5
            timeUpper += 0.5
        }
        let timeTicks = niceTicks(timeLower, timeUpper, about: 8)
        let intervalUpperRaw = Swift.max(statistics.max, target ?? 0, 1e-6) * 1.05
        let intervalTicks = niceTicks(0, intervalUpperRaw, about: 6)
        let intervalUpper = Swift.max(intervalUpperRaw, intervalTicks.last ?? intervalUpperRaw)
        func seriesX(_ seconds: Double) -> Double { left + (seconds - timeLower) / (timeUpper - timeLower) * (plotRight - left) }
        func seriesY(_ milliseconds: Double) -> Double {
            seriesBottom - milliseconds / intervalUpper * (seriesBottom - seriesTop)
        }

        svg.axes(left: left, right: plotRight, top: seriesTop, bottom: seriesBottom)
        for tick in timeTicks where tick >= timeLower && tick <= timeUpper {
            svg.xTick(at: seriesX(tick), bottom: seriesBottom, label: label(tick))
        }
        for tick in intervalTicks where tick <= intervalUpper {
            svg.yTick(at: seriesY(tick), left: left, right: plotRight, label: label(tick))
        }
        svg.text("time since measuring began (s)", x: (left + plotRight) / 2, y: seriesBottom + 36, anchor: "middle")
        svg.verticalLabel("frame interval (ms)", x: 22, y: (seriesTop + seriesBottom) / 2)

        let pointList = points.map { "\(f(seriesX($0.seconds))),\(f(seriesY($0.milliseconds)))" }.joined(separator: " ")
        svg.line(
            #"<polyline id="\#(seriesID)" fill="none" stroke="rgb(31,95,191)" stroke-width="1.2" stroke-linejoin="round" points="\#(pointList)"/>"#
        )
        // Reference lines across the plot; their labels in the margin right of it, level with their lines where
        // they fit and pushed apart where lines lie close, so a label never covers data or another label.
        var references = [
            (y: seriesY(statistics.p99), color: "rgb(192,57,43)", dash: String?.none, label: "p99 \(ms(statistics.p99))"),
            (y: seriesY(statistics.p50), color: "rgb(46,139,87)", dash: String?.none, label: "p50 \(ms(statistics.p50))"),
        ]
        if let target {
            references.append((y: seriesY(target), color: "rgb(127,127,127)", dash: "6,4", label: "target \(ms(target))"))
        }
        for reference in references {
            svg.referenceLine(y: reference.y, left: left, right: plotRight, color: reference.color, dash: reference.dash)
        }
        let labelYs = spreadApart(references.map { $0.y + 4 }, gap: 13, within: seriesTop + 4...seriesBottom + 4)
        for (reference, y) in zip(references, labelYs) {
            svg.text(reference.label, x: plotRight + 8, y: y, size: 11, color: reference.color)
        }

        // Bottom panel: histogram of the intervals.
        let intervals = points.map(\.milliseconds)
        let lower = statistics.min
        var upper = statistics.p999
        if upper - lower < 1e-6 { upper = lower + Swift.max(lower * 0.01, 0.001) }
        let binWidth = (upper - lower) / Double(histogramBins)
        var counts = [Int](repeating: 0, count: histogramBins + 1)  // the last one: above p99.9
        for value in intervals {
            if value > upper {
                counts[histogramBins] += 1
            } else {
                counts[Swift.min(Int((value - lower) / binWidth), histogramBins - 1)] += 1
            }
        }
        let countTicks = niceTicks(0, Double(Swift.max(counts.max() ?? 1, 1)), about: 4).filter { $0 == $0.rounded() }
        let countUpper = Swift.max(Double(counts.max() ?? 1), countTicks.last ?? 1, 1)
        let slotWidth = (plotRight - left) / Double(histogramBins + 2)  // 40 bins, a gap, the overflow bin
        func barX(_ bin: Int) -> Double { left + slotWidth * Double(bin < histogramBins ? bin : histogramBins + 1) }
        func countY(_ count: Double) -> Double { histogramBottom - count / countUpper * (histogramBottom - histogramTop) }

        svg.axes(left: left, right: plotRight, top: histogramTop, bottom: histogramBottom)
        for tick in countTicks where tick <= countUpper {
            svg.yTick(at: countY(tick), left: left, right: plotRight, label: label(tick))
        }
        for (bin, count) in counts.enumerated() where count > 0 {
            let top = countY(Double(count))
            svg.line(
                #"<rect class="bin" x="\#(f(barX(bin) + 0.5))" y="\#(f(top))" width="\#(f(slotWidth - 1))" height="\#(f(histogramBottom - top))" fill="\#(bin < histogramBins ? "rgb(31,95,191)" : "rgb(192,57,43)")"><title>\#(bin < histogramBins ? "\(ms(lower + Double(bin) * binWidth)) – \(ms(lower + Double(bin + 1) * binWidth))" : "above p99.9 (\(ms(upper)))"): \#(count)</title></rect>"#
            )
        }
        let binTicks = niceTicks(lower, upper, about: 6).filter { $0 >= lower && $0 <= upper }
        for tick in binTicks {
            svg.xTick(at: left + (tick - lower) / binWidth * slotWidth, bottom: histogramBottom, label: label(tick))
        }
        svg.text("> p99.9", x: barX(histogramBins) + slotWidth / 2, y: histogramBottom + 16, size: 10, anchor: "middle")
        svg.text("frame interval (ms)", x: (left + plotRight) / 2, y: histogramBottom + 36, anchor: "middle")
        svg.verticalLabel("frames", x: 22, y: (histogramTop + histogramBottom) / 2)
        svg.line("</svg>")
        return svg.body
    }

    // MARK: - Drawing helpers

    private struct Document {
        var body = ""

        mutating func line(_ element: String) { body += element + "\n" }

        mutating func text(
            _ content: String, x: Double, y: Double, size: Double = 12, weight: String = "normal", anchor: String = "start",
            color: String = "rgb(34,34,34)"
        ) {
            line(
                #"<text x="\#(f(x))" y="\#(f(y))" font-size="\#(f(size))" font-weight="\#(weight)" text-anchor="\#(anchor)" fill="\#(color)">\#(ReportFormatting.xmlEscaped(content))</text>"#
            )
        }

        mutating func verticalLabel(_ content: String, x: Double, y: Double) {
            line(
                #"<text x="\#(f(x))" y="\#(f(y))" text-anchor="middle" fill="rgb(34,34,34)" transform="rotate(-90 \#(f(x)) \#(f(y)))">\#(ReportFormatting.xmlEscaped(content))</text>"#
            )
        }

        mutating func axes(left: Double, right: Double, top: Double, bottom: Double) {
            line(#"<rect x="\#(f(left))" y="\#(f(top))" width="\#(f(right - left))" height="\#(f(bottom - top))" fill="none" stroke="rgb(68,68,68)" stroke-width="1"/>"#)
        }

        mutating func xTick(at x: Double, bottom: Double, label: String) {
            line(#"<line x1="\#(f(x))" y1="\#(f(bottom))" x2="\#(f(x))" y2="\#(f(bottom + 5))" stroke="rgb(68,68,68)"/>"#)
            text(label, x: x, y: bottom + 18, size: 11, anchor: "middle")
        }

        mutating func yTick(at y: Double, left: Double, right: Double, label: String) {
            line(#"<line x1="\#(f(left))" y1="\#(f(y))" x2="\#(f(right))" y2="\#(f(y))" stroke="rgb(228,228,228)"/>"#)
            line(#"<line x1="\#(f(left - 5))" y1="\#(f(y))" x2="\#(f(left))" y2="\#(f(y))" stroke="rgb(68,68,68)"/>"#)
            text(label, x: left - 8, y: y + 4, size: 11, anchor: "end")
        }

        mutating func referenceLine(y: Double, left: Double, right: Double, color: String, dash: String?) {
            let dashAttribute = dash.map { #" stroke-dasharray="\#($0)""# } ?? ""
            line(#"<line x1="\#(f(left))" y1="\#(f(y))" x2="\#(f(right))" y2="\#(f(y))" stroke="\#(color)" stroke-width="1.5"\#(dashAttribute)/>"#)
        }
    }

    /// `positions` moved as little as possible so that any two are at least `gap` apart, inside `range` where it has
    /// room for them all; in the input's order.
    static func spreadApart(_ positions: [Double], gap: Double, within range: ClosedRange<Double>) -> [Double] {
        let order = positions.indices.sorted { positions[$0] < positions[$1] }
        var placed = order.map { Swift.min(Swift.max(positions[$0], range.lowerBound), range.upperBound) }
        for i in placed.indices.dropFirst() where placed[i] < placed[i - 1] + gap { placed[i] = placed[i - 1] + gap }
        // Pushed past the bottom: shift the run back up, keeping the gaps.
        if let last = placed.last, last > range.upperBound {
            let overflow = last - range.upperBound
            placed = placed.map { $0 - overflow }
            for i in placed.indices.reversed().dropFirst() where placed[i] > placed[i + 1] - gap { placed[i] = placed[i + 1] - gap }
        }
        var result = positions
        for (k, index) in order.enumerated() { result[index] = placed[k] }
        return result
    }

    /// Coordinates: two decimals.
    private static func f(_ value: Double) -> String { ReportFormatting.fixed(value, decimals: 2) }

    /// Milliseconds for labels: enough decimals for the magnitude.
    private static func ms(_ value: Double) -> String {
        let decimals = value.magnitude >= 100 ? 1 : value.magnitude >= 1 ? 2 : 3
        return ReportFormatting.fixed(value, decimals: decimals) + " ms"
    }

    /// A tick label: no trailing zeros beyond what the value needs (at most 4 decimals).
    private static func label(_ value: Double) -> String {
        var text = ReportFormatting.fixed(value, decimals: 4)
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text == "-0" ? "0" : text
    }

    /// Round tick values (1, 2 or 5 × 10^k apart) covering [lower, upper], about `count` of them.
    static func niceTicks(_ lower: Double, _ upper: Double, about count: Int) -> [Double] {
        guard lower.isFinite, upper.isFinite, upper > lower, count > 0 else { return [lower] }
        let rough = (upper - lower) / Double(count)
        var magnitude = 1.0
        while magnitude > rough { magnitude /= 10 }
        while magnitude * 10 <= rough { magnitude *= 10 }
        let step = [1.0, 2.0, 5.0, 10.0].map { $0 * magnitude }.first { $0 >= rough } ?? magnitude * 10
        let first = (lower / step).rounded(.down)
        let last = (upper / step).rounded(.up)
        guard last - first < 1000 else { return [lower, upper] }
        return stride(from: first, through: last, by: 1).map { $0 * step }
    }
}
