import Foundation
import XCTest

@testable import FrameTiming

final class ChromeTraceTests: XCTestCase {
    private struct Event {
        var fields: [String: Any]
        var phase: String { fields["ph"] as? String ?? "" }
        var tid: Int { (fields["tid"] as? NSNumber)?.intValue ?? -1 }
        var name: String { fields["name"] as? String ?? "" }
        /// Microseconds with 3 decimals → integer nanoseconds.
        func nanos(_ key: String) -> Int64? {
            (fields[key] as? NSNumber).map { Int64(($0.doubleValue * 1000).rounded()) }
        }
    }

    private func parse(_ json: String, file: StaticString = #filePath, line: UInt = #line) throws -> [Event] {
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8))
        let root = try XCTUnwrap(object as? [String: Any], file: file, line: line)
        XCTAssertEqual(root["displayTimeUnit"] as? String, "ms", file: file, line: line)
        let events = try XCTUnwrap(root["traceEvents"] as? [[String: Any]], file: file, line: line)
        return events.map(Event.init)
    }

    /// Keys every event of a phase must have (Trace Event Format).
    private let requiredKeys: [String: [String]] = [
        "M": ["name", "ph", "pid", "tid", "args"],
        "X": ["name", "ph", "pid", "tid", "ts", "dur"],
        "s": ["name", "cat", "ph", "pid", "tid", "ts", "id"],
        "f": ["name", "cat", "ph", "pid", "tid", "ts", "id", "bp"],
        "i": ["name", "ph", "pid", "tid", "ts", "s"],
        "C": ["name", "ph", "pid", "ts", "args"],
    ]

    private func assertWellFormed(_ events: [Event], file: StaticString = #filePath, line: UInt = #line) {
        for event in events {
            guard let keys = requiredKeys[event.phase] else {
                XCTFail("unexpected phase \(event.phase)", file: file, line: line)
                continue
            }
            for key in keys where event.fields[key] == nil {
                XCTFail("\(event.phase) event \(event.name) lacks \(key)", file: file, line: line)
            }
            if let ts = event.nanos("ts") { XCTAssertGreaterThanOrEqual(ts, 0, file: file, line: line) }
            if let dur = event.nanos("dur") { XCTAssertGreaterThanOrEqual(dur, 0, file: file, line: line) }
        }
        // Complete events on one track nest or are disjoint.
        let slicesByTrack = Dictionary(grouping: events.filter { $0.phase == "X" }, by: \.tid)
        for (tid, slices) in slicesByTrack {
            let intervals = slices.compactMap { slice -> (Int64, Int64)? in
                guard let start = slice.nanos("ts"), let duration = slice.nanos("dur") else { return nil }
                return (start, start + duration)
            }.sorted { ($0.0, $1.1) < ($1.0, $0.1) }
            var open: [Int64] = []
            for (start, end) in intervals {
                while let innermost = open.last, innermost <= start { open.removeLast() }
                if let innermost = open.last, end > innermost {
                    XCTFail("track \(tid): slice \(start)…\(end) partly overlaps one ending at \(innermost)", file: file, line: line)
                }
                open.append(end)
            }
        }
    }

    private func threadNames(_ events: [Event]) -> [Int: String] {
        var names: [Int: String] = [:]
        for event in events where event.phase == "M" && event.name == "thread_name" {
            names[event.tid] = (event.fields["args"] as? [String: Any])?["name"] as? String
        }
        return names
    }

    func testTracksSlicesAndOneFlowPerMeasuredFrameWithGPUTimestamps() throws {
        var log = steadyLog(frames: 10, workers: 3, tilesPerFrame: 6)
        log.records[2].outcome = .dropped  // no flow: not measured
        log.records[4].gpuStartNanos = 0  // no flow: no GPU timestamps
        log.records[4].gpuEndNanos = 0
        let events = try parse(ChromeTrace.render(log, processName: #"framepipe "bench" \ plasma"#))
        assertWellFormed(events)

        let process = events.first { $0.phase == "M" && $0.name == "process_name" }
        XCTAssertEqual((process?.fields["args"] as? [String: Any])?["name"] as? String, #"framepipe "bench" \ plasma"#)
        XCTAssertEqual(
            threadNames(events), [1: "fp-compute-0", 2: "fp-compute-1", 3: "fp-compute-2", 4: "render", 5: "GPU queue"])
        let sortIndices = events.filter { $0.phase == "M" && $0.name == "thread_sort_index" }.map(\.tid)
        XCTAssertEqual(Set(sortIndices), [1, 2, 3, 4, 5])

        let slices = events.filter { $0.phase == "X" }
        XCTAssertEqual(slices.filter { (1...3).contains($0.tid) }.count, log.tiles.count)
        XCTAssertEqual(slices.filter { $0.tid == 4 }.count, 10, "one upload+submit per rendered frame")
        XCTAssertEqual(slices.filter { $0.tid == 5 }.count, 9, "one GPU slice per frame with GPU timestamps")
        // A tile slice's args say which frame and tile it was.
        let tileArgs = slices.first { $0.tid == 1 }?.fields["args"] as? [String: Any]
        XCTAssertNotNil(tileArgs?["generation"])
        XCTAssertNotNil(tileArgs?["tile"])
        XCTAssertNotNil(tileArgs?["frame"])
        // Timestamps count from the earliest one in the log (frame 0's schedule); its first tile
        // starts 0.5 ms later.
        XCTAssertEqual(slices.compactMap { $0.nanos("ts") }.min(), 500_000)

        let sources = events.filter { $0.phase == "s" }
        let destinations = events.filter { $0.phase == "f" }
        let expectedFlows = log.records.filter { $0.outcome == .measured && $0.gpuNanos != nil }.map { Int($0.generation) }
        XCTAssertEqual(expectedFlows.count, 8)
        XCTAssertEqual(sources.compactMap { ($0.fields["id"] as? NSNumber)?.intValue }.sorted(), expectedFlows)
        XCTAssertEqual(destinations.compactMap { ($0.fields["id"] as? NSNumber)?.intValue }.sorted(), expectedFlows)
        XCTAssertTrue(destinations.allSatisfy { $0.tid == 5 && $0.fields["bp"] as? String == "e" })
        // Each endpoint lies strictly inside a slice on its own track: the source in the frame's last
        // tile, the destination in the frame's GPU slice.
        for flow in sources + destinations {
            let ts = try XCTUnwrap(flow.nanos("ts"))
            let id = (flow.fields["id"] as? NSNumber)?.intValue
            let enclosing = slices.filter { slice in
                guard slice.tid == flow.tid, let start = slice.nanos("ts"), let duration = slice.nanos("dur") else { return false }
                return start < ts && ts < start + duration
            }
            XCTAssertEqual(enclosing.count, 1, "flow \(flow.phase) \(id ?? -1)")
            let args = enclosing.first?.fields["args"] as? [String: Any]
            XCTAssertEqual((args?["generation"] as? NSNumber)?.intValue, id)
            if flow.phase == "s" {
                // The last tile of the frame: 6 tiles on 3 workers, 1 ms each, tiles 3, 4, 5 end last.
                XCTAssertGreaterThanOrEqual((args?["tile"] as? NSNumber)?.intValue ?? -1, 3)
                XCTAssertTrue((1...3).contains(flow.tid))
            }
        }
    }

    func testOverlappingGPUSlicesAreMadeDisjointAndKeepTheirFlow() throws {
        var log = steadyLog(frames: 3)
        // Generation 2's GPU work starts before generation 1's ends and ends after it.
        log.records[1].gpuStartNanos = log.records[0].gpuStartNanos + ms(0.5)
        log.records[1].gpuEndNanos = log.records[0].gpuEndNanos + ms(1)
        let events = try parse(ChromeTrace.render(log, processName: "overlap"))
        assertWellFormed(events)
        let gpuSlices = events.filter { $0.phase == "X" && $0.tid == ChromeTrace.gpuThreadID(workers: 2) }
        XCTAssertEqual(gpuSlices.count, 3)
        let moved = try XCTUnwrap(gpuSlices.first { ($0.fields["args"] as? [String: Any])?["overlap_us"] != nil })
        XCTAssertEqual(((moved.fields["args"] as? [String: Any])?["generation"] as? NSNumber)?.intValue, 2)
        XCTAssertEqual(events.filter { $0.phase == "f" }.count, 3)
    }

    func testRandomlyOverlappingGPUWorkStillNestsAndKeepsEveryFlowInsideItsSlice() throws {
        var generator = SplitMix64(state: 99)
        var log = steadyLog(frames: 60, period: 2)
        for index in log.records.indices {
            // GPU work 0.5…6.5 ms long, starting up to 3 ms late: neighbours overlap in every way.
            let start = log.records[index].submitNanos + generator.next() % ms(3)
            log.records[index].gpuStartNanos = start
            log.records[index].gpuEndNanos = start + ms(0.5) + generator.next() % ms(6)
        }
        let events = try parse(ChromeTrace.render(log, processName: "random"))
        assertWellFormed(events)
        let gpuTID = ChromeTrace.gpuThreadID(workers: 2)
        let gpuSlices = events.filter { $0.phase == "X" && $0.tid == gpuTID }
        XCTAssertEqual(gpuSlices.count, 60)
        XCTAssertTrue(gpuSlices.contains { ($0.fields["args"] as? [String: Any])?["overlap_us"] != nil })
        let destinations = events.filter { $0.phase == "f" }
        XCTAssertEqual(destinations.count, 60)
        for flow in destinations {
            let ts = try XCTUnwrap(flow.nanos("ts"))
            let id = (flow.fields["id"] as? NSNumber)?.intValue
            // The innermost slice around the endpoint (slices nest: the shortest one) is the frame's
            // own GPU slice, and the endpoint is strictly inside it.
            let enclosing = gpuSlices.filter { slice in
                guard let start = slice.nanos("ts"), let duration = slice.nanos("dur") else { return false }
                return start < ts && ts < start + duration
            }.min { ($0.nanos("dur") ?? 0) < ($1.nanos("dur") ?? 0) }
            XCTAssertEqual(((enclosing?.fields["args"] as? [String: Any])?["generation"] as? NSNumber)?.intValue, id)
        }
    }

    func testEmptyLogIsStillValidJSONWithTheTracksNamed() throws {
        let events = try parse(
            ChromeTrace.render(FrameLog(records: [], tiles: [], workers: 2, measureStartNanos: 0, measureEndNanos: 0), processName: "empty"))
        assertWellFormed(events)
        XCTAssertEqual(threadNames(events), [1: "fp-compute-0", 2: "fp-compute-1", 3: "render", 4: "GPU queue"])
        XCTAssertTrue(events.allSatisfy { $0.phase == "M" })
    }

    /// Perfetto aggregates slices by name: three stable names, the frame in the args (the GPU slice's `frame` is the
    /// frame index, as elsewhere); tracks named as the OS names the threads; counters for fps, frames in flight and
    /// drops; one `shown` mark per rendered frame.
    func testStableSliceNamesThreadNamesCountersAndShownMarks() throws {
        var log = steadyLog(frames: 10, workers: 2, tilesPerFrame: 4)
        for index in log.records.indices { log.records[index].frameIndex = Int32(index) + 100 }
        for dropped in [3, 6] {  // published, never taken by the renderer
            var record = FrameRecord(generation: log.records[dropped].generation)
            record.frameIndex = log.records[dropped].frameIndex
            record.scheduleNanos = log.records[dropped].scheduleNanos
            record.publishNanos = log.records[dropped].publishNanos
            record.outcome = .dropped
            log.records[dropped] = record
        }
        let events = try parse(ChromeTrace.render(log, processName: "names", renderThreadName: "framepipe"))
        assertWellFormed(events)
        XCTAssertEqual(threadNames(events)[ChromeTrace.renderThreadID(workers: 2)], "framepipe")
        let slices = events.filter { $0.phase == "X" }
        XCTAssertEqual(Set(slices.map(\.name)), ["tile", "frame", "gpu"])
        for gpu in slices where gpu.name == "gpu" {
            let args = try XCTUnwrap(gpu.fields["args"] as? [String: Any])
            let generation = try XCTUnwrap((args["generation"] as? NSNumber)?.intValue)
            XCTAssertEqual((args["frame"] as? NSNumber)?.intValue, generation - 1 + 100, "the frame index, not the generation")
        }

        func counter(_ name: String) -> [Double] {
            events.filter { $0.phase == "C" && $0.name == name }
                .compactMap { (($0.fields["args"] as? [String: Any])?["value"] as? NSNumber)?.doubleValue }
        }
        let measuredIntervals = log.measuredWithIntervals.filter { $0.intervalNanos != nil }
        XCTAssertEqual(counter("fps").count, measuredIntervals.count)
        for (fps, interval) in zip(counter("fps"), measuredIntervals.compactMap(\.intervalNanos)) {
            XCTAssertEqual(fps, 1e9 / Double(interval), accuracy: 0.001)
        }
        let inFlight = counter("frames in flight")
        XCTAssertEqual(inFlight.count, 2 * 8, "a submit and a completion per rendered frame")
        XCTAssertTrue(inFlight.allSatisfy { (0...8).contains($0) }, "\(inFlight)")
        XCTAssertEqual(inFlight.last, 0, "every frame completed")
        XCTAssertEqual(counter("dropped"), [1, 2])
        // Counters come in time order.
        let times = events.filter { $0.phase == "C" }.compactMap { $0.nanos("ts") }
        XCTAssertEqual(times, times.sorted())

        let shown = events.filter { $0.phase == "i" && $0.name == "shown" }
        XCTAssertEqual(shown.count, 8, "one mark per rendered frame, none for the dropped ones")
        XCTAssertTrue(events.filter { $0.phase == "i" }.allSatisfy { ["complete", "present", "shown"].contains($0.name) })
    }
}
