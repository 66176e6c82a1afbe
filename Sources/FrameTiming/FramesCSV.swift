// frames.csv: one row per frame the kernel produced (in generation order), one column per timestamp and stage, in
// the spirit of PresentMon's capture CSV; `status` says what became of the frame (shown, dropped, failed, cancelled,
// unfinished) and `outcome` whether a shown one was measured or warm-up. Only measured rows have an interval. `NA` wherever a value was not recorded. Timestamp columns (prefix `t_`)
// are milliseconds relative to the start of measuring (negative for what happened before it, e.g.
// the first frames' schedule); stage columns (no prefix) are durations in milliseconds. Columns are
// documented in docs/benchmarking.md ("frames.csv").

public enum FramesCSV {
    /// The header row's columns, in order.
    public static let columns: [String] = [
        "generation", "frame", "outcome", "time_s",
        "t_schedule_ms", "t_compute_start_ms", "t_compute_end_ms", "t_publish_ms", "t_acquire_ms",
        "t_submit_ms", "t_gpu_start_ms", "t_gpu_end_ms", "t_complete_ms", "t_present_ms",
        "tiles",
    ] + Stage.allCases.map { "\($0.name)_ms" } + ["interval_ms", "latency_ms", "status"]

    /// Marks a value that was not recorded.
    public static let notAvailable = "NA"

    /// Header plus one row per record (generation order), "\n" line ends, "." decimals.
    public static func render(_ log: FrameLog) -> String {
        var intervals: [UInt64: UInt64] = [:]
        for (record, interval) in log.measuredWithIntervals { if let interval { intervals[record.generation] = interval } }
        var text = header
        for record in log.records.sorted(by: { $0.generation < $1.generation }) {
            text += row(record, intervalNanos: intervals[record.generation], origin: log.measureStartNanos)
        }
        return text
    }

    /// What became of a frame, for the `status` column.
    public static func status(of outcome: FrameOutcome) -> String {
        switch outcome {
        case .measured, .warmup: "shown"
        case .dropped: "dropped"
        case .failed: "failed"
        case .cancelled: "cancelled"
        case .unfinished: "unfinished"
        }
    }

    /// The header line, with its line end.
    public static var header: String { columns.joined(separator: ",") + "\n" }

    /// One frame's line, with its line end; `origin` is the start of measuring (the time
    /// columns' zero). A bench streams these to the file as frames complete (FramesCSVStream).
    public static func row(_ record: FrameRecord, intervalNanos interval: UInt64?, origin: UInt64) -> String {
        func timestamp(_ nanos: UInt64) -> String {
            milliseconds(ReportFormatting.signedMilliseconds(from: origin, to: nanos))
        }
        func duration(_ nanos: UInt64?) -> String {
            milliseconds(nanos.map { Double($0) / 1e6 })
        }
        let done = record.doneNanos
        var fields: [String] = [
            String(record.generation),
            record.frameIndex >= 0 ? String(record.frameIndex) : notAvailable,
            record.outcome.reportName,
            done != 0
                ? ReportFormatting.fixed(
                    ReportFormatting.signedMilliseconds(from: origin, to: done).map { $0 / 1000 } ?? .nan,
                    decimals: 6)
                : notAvailable,
        ]
        fields.reserveCapacity(columns.count)
        fields += [
            record.scheduleNanos, record.computeStartNanos, record.computeEndNanos, record.publishNanos,
            record.acquireNanos, record.submitNanos, record.gpuStartNanos, record.gpuEndNanos,
            record.completeNanos, record.presentNanos,
        ].map(timestamp)
        fields.append(record.tileCount > 0 ? String(record.tileCount) : notAvailable)
        fields += Stage.allCases.map { duration(record.nanoseconds(in: $0)) }
        fields.append(duration(interval))
        fields.append(duration(record.latencyNanos))
        fields.append(status(of: record.outcome))
        return fields.joined(separator: ",") + "\n"
    }

    private static func milliseconds(_ value: Double?) -> String {
        guard let value else { return notAvailable }
        return ReportFormatting.fixed(value, decimals: 4)
    }
}
