import XCTest

@testable import FrameTiming

final class FramesCSVTests: XCTestCase {
    private func parse(_ csv: String) -> (header: [String], rows: [[String: String]], widths: [Int]) {
        let lines = csv.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(lines.last, "", "ends with a newline")
        let content = lines.dropLast()
        let header = content.first.map { $0.components(separatedBy: ",") } ?? []
        let cells = content.dropFirst().map { $0.components(separatedBy: ",") }
        let rows = cells.map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
        return (header, rows, cells.map(\.count))
    }

    func testOneRowPerFrameWithItsStatusAndEqualColumnCounts() throws {
        var log = steadyLog(frames: 12)
        // Every frame has a row; what became of it is its status (only measured ones have an interval).
        log.records[0].outcome = .warmup
        log.records[5].outcome = .dropped
        log.records[7].outcome = .failed
        log.records[9].outcome = .cancelled
        let (header, allRows, widths) = parse(FramesCSV.render(log))
        XCTAssertEqual(header, FramesCSV.columns)
        XCTAssertEqual(Set(header).count, header.count, "column names are unique")
        XCTAssertEqual(allRows.count, 12)
        XCTAssertEqual(allRows.map { $0["generation"] }, (1...12).map { String($0) })
        XCTAssertTrue(widths.allSatisfy { $0 == header.count })
        XCTAssertEqual(
            allRows.map { $0["status"] ?? "" },
            ["shown", "shown", "shown", "shown", "shown", "dropped", "shown", "failed", "shown", "cancelled", "shown", "shown"])
        XCTAssertTrue(allRows.filter { $0["outcome"] != "measured" }.allSatisfy { $0["interval_ms"] == "NA" })
        let rows = allRows.filter { $0["outcome"] == "measured" }
        XCTAssertEqual(rows.count, log.measured.count)
        XCTAssertEqual(rows.count, 8)
        XCTAssertEqual(rows.map { $0["generation"] }, log.measured.map { String($0.generation) })

        // Frame 2 (index 1; generation 2) is the first measured one: its interval runs from the
        // warm-up frame before it (generation 1). Generation 7 follows 5 (6 was dropped): 20 ms.
        XCTAssertEqual(rows[0]["interval_ms"], "10.0000")
        var withoutWarmup = log
        withoutWarmup.records[0].outcome = .dropped
        XCTAssertEqual(
            parse(FramesCSV.render(withoutWarmup)).rows.first { $0["outcome"] == "measured" }?["interval_ms"], "NA",
            "no warm-up: no first interval")
        XCTAssertEqual(rows[1]["interval_ms"], "10.0000")
        let afterDropped = try XCTUnwrap(rows.first { $0["generation"] == "7" })
        XCTAssertEqual(afterDropped["interval_ms"], "20.0000")

        // Timestamps relative to the start of measuring; stage durations; latency.
        let first = rows[0]
        XCTAssertEqual(first["frame"], "1")
        XCTAssertEqual(first["t_schedule_ms"], "10.0000")
        XCTAssertEqual(first["t_compute_start_ms"], "10.5000")
        XCTAssertEqual(first["t_gpu_end_ms"], "15.0000")
        XCTAssertEqual(first["time_s"], "0.015000")
        XCTAssertEqual(first["tiles"], "4")
        XCTAssertEqual(first["compute_ms"], "2.0000")
        XCTAssertEqual(first["handoff_wait_ms"], "0.2000")
        XCTAssertEqual(first["upload_ms"], "0.5000")
        XCTAssertEqual(first["gpu_ms"], "1.5000")
        XCTAssertEqual(first["present_ms"], "0.2000")
        XCTAssertEqual(first["latency_ms"], "5.0000")
        // Headless: never presented.
        XCTAssertTrue(rows.allSatisfy { $0["t_present_ms"] == "NA" })
        XCTAssertTrue(rows.allSatisfy { $0["t_complete_ms"] != "NA" })
    }

    func testMissingValuesAreNAAndEarlyTimestampsNegative() throws {
        var record = FrameRecord(generation: 9)
        record.outcome = .measured
        record.scheduleNanos = at(-2.5)
        record.presentNanos = at(3)
        let log = FrameLog(records: [record], tiles: [], workers: 1, measureStartNanos: at(0), measureEndNanos: at(10))
        let (header, rows, widths) = parse(FramesCSV.render(log))
        XCTAssertEqual(widths, [header.count])
        let row = try XCTUnwrap(rows.first)
        XCTAssertEqual(row["frame"], "NA")
        XCTAssertEqual(row["tiles"], "NA")
        XCTAssertEqual(row["t_schedule_ms"], "-2.5000")
        XCTAssertEqual(row["t_present_ms"], "3.0000")
        XCTAssertEqual(row["time_s"], "0.003000")
        for column in ["t_compute_start_ms", "t_gpu_start_ms", "compute_ms", "gpu_ms", "present_ms", "interval_ms", "latency_ms"] {
            XCTAssertEqual(row[column], "NA", column)
        }
    }

    func testNoMeasuredFramesGivesTheHeaderOnly() {
        let csv = FramesCSV.render(FrameLog(records: [], tiles: [], workers: 0, measureStartNanos: 0, measureEndNanos: 0))
        XCTAssertEqual(csv, FramesCSV.columns.joined(separator: ",") + "\n")
    }
}
