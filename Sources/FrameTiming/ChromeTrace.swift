// trace.json: the run as Chrome trace-event JSON (the "JSON Object Format"), which Perfetto UI
// (https://ui.perfetto.dev) and chrome://tracing open. One process; one track (thread) per compute
// worker, one for the render thread, one for the GPU queue, named as the OS names the threads
// (`fp-compute-N`; the render thread's own name), so a perf trace lines up; each measured frame's way
// from compute to GPU drawn as a flow arrow. Slice names are stable (`tile`, `frame`, `gpu`) so that
// Perfetto aggregates them; which frame a slice belongs to is in its args (`generation`, `frame`: the
// kernel frame index). Counter tracks: `fps` (1000 ÷ the interval ending at each measured frame),
// `frames in flight` (submitted, not yet complete) and `dropped` (frames replaced before the renderer
// took them, cumulative); a `shown` instant marks each rendered frame once.
//
// Perfetto binds a flow endpoint to the innermost slice that encloses it on its track, and a track's
// complete events must nest or be disjoint. Both are ensured here rather than assumed: flow endpoints
// are placed strictly inside their slices and outside any slice nested in them, and a slice that
// would partly overlap the one before it on its track (GPU work of two frames overlapping, say)
// starts where that one ends instead, with its true start kept in its args (`overlap_us`).

public enum ChromeTrace {
    /// Thread ids: workers 1...N, then render, then GPU queue.
    public static func workerThreadID(_ worker: Int) -> Int { worker + 1 }
    public static func renderThreadID(workers: Int) -> Int { workers + 1 }
    public static func gpuThreadID(workers: Int) -> Int { workers + 2 }
    /// The trace's only process id.
    public static let processID = 1

    /// The trace as JSON text: {"traceEvents":[...],"displayTimeUnit":"ms"}. Timestamps are
    /// microseconds (three decimals: exact nanoseconds) from the earliest timestamp in the log.
    /// - renderThreadName: the OS name of the thread that rendered (the track is named after it).
    public static func render(_ log: FrameLog, processName: String, renderThreadName: String = "render") -> String {
        // A worker id beyond `workers` still gets its own track rather than sharing the render one.
        let workerTracks = Swift.max(log.workers, (log.tiles.map { Int($0.worker) + 1 }.max() ?? 0))
        let renderTID = renderThreadID(workers: workerTracks)
        let gpuTID = gpuThreadID(workers: workerTracks)
        let origin = earliestTimestamp(log)
        let frameIndexByGeneration = Dictionary(
            log.records.map { ($0.generation, $0.frameIndex) }, uniquingKeysWith: { first, _ in first })
        let outcomeByGeneration = Dictionary(
            log.records.map { ($0.generation, $0.outcome) }, uniquingKeysWith: { first, _ in first })

        var events: [String] = []
        func metadata(_ name: String, tid: Int, args: String) {
            events.append(
                #"{"name":"\#(name)","ph":"M","pid":\#(processID),"tid":\#(tid),"args":{\#(args)}}"#)
        }
        // tid = pid: Perfetto makes the named tid a thread of the process; tid 0 would be the idle task.
        metadata("process_name", tid: processID, args: #""name":\#(ReportFormatting.jsonString(processName))"#)
        for worker in 0..<workerTracks {
            let tid = workerThreadID(worker)
            metadata("thread_name", tid: tid, args: #""name":"\#(computeThreadName(worker))""#)
            metadata("thread_sort_index", tid: tid, args: #""sort_index":\#(tid)"#)
        }
        metadata("thread_name", tid: renderTID, args: #""name":\#(ReportFormatting.jsonString(renderThreadName))"#)
        metadata("thread_sort_index", tid: renderTID, args: #""sort_index":\#(renderTID)"#)
        metadata("thread_name", tid: gpuTID, args: #""name":"GPU queue""#)
        metadata("thread_sort_index", tid: gpuTID, args: #""sort_index":\#(gpuTID)"#)

        // Slices per track, before overlap repair.
        var slicesByTrack: [Int: [Slice]] = [:]
        for tile in log.tiles where tile.startNanos != 0 && tile.endNanos >= tile.startNanos {
            let frame = frameIndexByGeneration[tile.generation] ?? -1
            let outcome = outcomeByGeneration[tile.generation]?.reportName ?? "unknown"
            slicesByTrack[workerThreadID(Int(tile.worker)), default: []].append(
                Slice(
                    name: "tile", category: "compute",
                    start: tile.startNanos, end: tile.endNanos,
                    args: #""generation":\#(tile.generation),"frame":\#(frame),"tile":\#(tile.tile),"outcome":"\#(outcome)""#,
                    flowKey: FlowKey(generation: tile.generation, end: .source)))
        }
        for record in log.records {
            let common = #""generation":\#(record.generation),"frame":\#(record.frameIndex),"outcome":"\#(record.outcome.reportName)""#
            if FrameRecord.span(record.acquireNanos, record.submitNanos) != nil {
                slicesByTrack[renderTID, default: []].append(
                    Slice(
                        name: "frame", category: "render",
                        start: record.acquireNanos, end: record.submitNanos, args: common, flowKey: nil))
            }
            if record.gpuNanos != nil {
                slicesByTrack[gpuTID, default: []].append(
                    Slice(
                        name: "gpu", category: "gpu",
                        start: record.gpuStartNanos, end: record.gpuEndNanos, args: common,
                        flowKey: FlowKey(generation: record.generation, end: .destination)))
            }
        }

        // Flows: one per measured frame that has GPU timestamps and at least one tile, from its last
        // tile (latest end) to its GPU slice.
        let flowGenerations = Set(
            log.records.filter { $0.outcome == .measured && $0.gpuNanos != nil }.map(\.generation))
        var lastTileEnd: [UInt64: UInt64] = [:]
        for slices in slicesByTrack.values {
            for slice in slices {
                guard let key = slice.flowKey, key.end == .source, flowGenerations.contains(key.generation) else { continue }
                lastTileEnd[key.generation] = Swift.max(lastTileEnd[key.generation] ?? 0, slice.end)
            }
        }

        var emittedSource = Set<UInt64>()
        var emittedDestination = Set<UInt64>()
        var sourceEvents: [UInt64: String] = [:]
        var destinationEvents: [UInt64: String] = [:]
        for tid in slicesByTrack.keys.sorted() {
            let repaired = repairNesting(slicesByTrack[tid] ?? [])
            for (index, slice) in repaired.enumerated() {
                let start = slice.start - origin
                let duration = slice.end - slice.start
                var args = slice.args
                if slice.overlapNanos > 0 {
                    args += #","overlap_us":\#(ReportFormatting.microseconds(nanoseconds: slice.overlapNanos))"#
                }
                events.append(
                    #"{"name":\#(ReportFormatting.jsonString(slice.name)),"cat":"\#(slice.category)","ph":"X","pid":\#(processID),"tid":\#(tid),"ts":\#(ReportFormatting.microseconds(nanoseconds: start)),"dur":\#(ReportFormatting.microseconds(nanoseconds: duration)),"args":{\#(args)}}"#
                )
                guard let key = slice.flowKey, flowGenerations.contains(key.generation) else { continue }
                // Slices nested in this one follow it in `repaired` and start before its end.
                let nested = repaired[(index + 1)...].prefix { $0.start < slice.end }.map { ($0.start, $0.end) }
                switch key.end {
                case .source:
                    guard slice.end == lastTileEnd[key.generation], !emittedSource.contains(key.generation),
                        let at = innermostPoint(of: slice, avoiding: nested, nearEnd: true)
                    else { continue }
                    emittedSource.insert(key.generation)
                    sourceEvents[key.generation] =
                        #"{"name":"frame","cat":"frame","ph":"s","id":\#(key.generation),"pid":\#(processID),"tid":\#(tid),"ts":\#(ReportFormatting.microseconds(nanoseconds: at - origin))}"#
                case .destination:
                    guard !emittedDestination.contains(key.generation),
                        let at = innermostPoint(of: slice, avoiding: nested, nearEnd: false)
                    else { continue }
                    emittedDestination.insert(key.generation)
                    destinationEvents[key.generation] =
                        #"{"name":"frame","cat":"frame","ph":"f","bp":"e","id":\#(key.generation),"pid":\#(processID),"tid":\#(tid),"ts":\#(ReportFormatting.microseconds(nanoseconds: at - origin))}"#
                }
            }
        }
        // Only complete pairs: a frame whose tiles were not recorded gets no arrow.
        for generation in flowGenerations.sorted() {
            if let source = sourceEvents[generation], let destination = destinationEvents[generation] {
                events.append(source)
                events.append(destination)
            }
        }

        // Completion marks on the render track (the render thread learns of them; they take no time), and one
        // `shown` mark per rendered frame at the moment it was done.
        for record in log.records {
            let common = #""generation":\#(record.generation),"frame":\#(record.frameIndex)"#
            var marks = [("complete", record.completeNanos), ("present", record.presentNanos)]
            if record.outcome == .measured || record.outcome == .warmup { marks.append(("shown", record.doneNanos)) }
            for (name, nanos) in marks where nanos >= origin && nanos != 0 {
                events.append(
                    #"{"name":"\#(name)","cat":"render","ph":"i","s":"t","pid":\#(processID),"tid":\#(renderTID),"ts":\#(ReportFormatting.microseconds(nanoseconds: nanos - origin)),"args":{\#(common)}}"#
                )
            }
        }
        events += counterEvents(log, origin: origin)

        return "{\"traceEvents\":[\n" + events.joined(separator: ",\n") + "\n],\"displayTimeUnit\":\"ms\"}\n"
    }

    /// The OS name ComputePool gives worker `worker`'s thread.
    public static func computeThreadName(_ worker: Int) -> String { "fp-compute-\(worker)" }

    /// The counter tracks: `fps` at each measured frame's done time (1000 ÷ its interval), `frames in flight` at every
    /// submit and completion, `dropped` at each dropped frame's publish (cumulative).
    static func counterEvents(_ log: FrameLog, origin: UInt64) -> [String] {
        var samples: [(nanos: UInt64, name: String, value: Double)] = []
        for (record, interval) in log.measuredWithIntervals {
            if let interval, interval > 0, record.doneNanos >= origin { samples.append((record.doneNanos, "fps", 1e9 / Double(interval))) }
        }
        var changes: [(UInt64, Int)] = []
        for record in log.records where record.submitNanos != 0 {
            changes.append((record.submitNanos, 1))
            if record.completeNanos >= record.submitNanos { changes.append((record.completeNanos, -1)) }
        }
        var inFlight = 0
        // At equal times a completion counts before a submit: the slot was free again first.
        for (nanos, change) in changes.sorted(by: { ($0.0, $0.1) < ($1.0, $1.1) }) where nanos >= origin {
            inFlight += change
            samples.append((nanos, "frames in flight", Double(inFlight)))
        }
        var dropped = 0
        for record in log.records.sorted(by: { $0.publishNanos < $1.publishNanos })
        where record.outcome == .dropped && record.publishNanos >= origin && record.publishNanos != 0 {
            dropped += 1
            samples.append((record.publishNanos, "dropped", Double(dropped)))
        }
        return samples.sorted { $0.nanos < $1.nanos }.map { sample in
            let value = sample.value.rounded() == sample.value ? String(Int(sample.value)) : ReportFormatting.fixed(sample.value, decimals: 3)
            return #"{"name":"\#(sample.name)","ph":"C","pid":\#(processID),"ts":\#(ReportFormatting.microseconds(nanoseconds: sample.nanos - origin)),"args":{"value":\#(value)}}"#
        }
    }

    private enum FlowEnd { case source, destination }
    private struct FlowKey {
        var generation: UInt64
        var end: FlowEnd
    }
    private struct Slice {
        var name: String
        var category: String
        var start: UInt64
        var end: UInt64
        var args: String
        var flowKey: FlowKey?
        /// How far the slice's true start lay inside the slice before it (moved to that one's end).
        var overlapNanos: UInt64 = 0
    }

    /// Sorted by start (longer first on ties), with every partial overlap removed: a slice starting
    /// inside an open one but ending after it starts at that one's end instead. Nested and disjoint
    /// slices are kept as they are.
    private static func repairNesting(_ slices: [Slice]) -> [Slice] {
        func precedes(_ a: Slice, _ b: Slice) -> Bool { (a.start, b.end) < (b.start, a.end) }
        var pending = slices.sorted(by: precedes)
        var result: [Slice] = []
        var open: [UInt64] = []  // ends of the enclosing slices, innermost last
        var index = 0
        while index < pending.count {
            var slice = pending[index]
            while let innermost = open.last, innermost <= slice.start { open.removeLast() }
            if let innermost = open.last, slice.end > innermost {
                // Partial overlap: move the start to the end of the enclosing slice it crosses, and
                // place it again (it may now cross or nest in others).
                let newStart = innermost
                slice.overlapNanos += newStart - slice.start
                slice.start = newStart
                slice.end = Swift.max(slice.end, newStart)
                pending.remove(at: index)
                let position = pending[index...].firstIndex { !precedes($0, slice) } ?? pending.endIndex
                pending.insert(slice, at: position)
                continue
            }
            open.append(slice.end)
            result.append(slice)
            index += 1
        }
        return result
    }

    /// A point where `slice` is the innermost slice, so a flow endpoint there binds to it: strictly
    /// inside it and at least 1 ns away from every slice nested in it, as close to its end (flow
    /// source) or its start (flow destination) as that allows. A zero-length slice with nothing
    /// nested gets its start. Nil when nested slices cover it all.
    private static func innermostPoint(of slice: Slice, avoiding nested: [(UInt64, UInt64)], nearEnd: Bool) -> UInt64? {
        if slice.end - slice.start < 2 { return nested.isEmpty ? slice.start : nil }
        // Merge the nested intervals, each widened by 1 ns on both sides.
        var covered: [(UInt64, UInt64)] = []
        for (start, end) in nested.sorted(by: { $0.0 < $1.0 }) {
            let lower = start == 0 ? 0 : start - 1
            if let last = covered.last, lower <= last.1 {
                covered[covered.count - 1].1 = Swift.max(last.1, end + 1)
            } else {
                covered.append((lower, end + 1))
            }
        }
        if nearEnd {
            var point = slice.end - 1
            for (lower, upper) in covered.reversed() where lower <= point && point <= upper {
                guard lower > slice.start else { return nil }
                point = lower
            }
            return point > slice.start ? point : nil
        } else {
            var point = slice.start + 1
            for (lower, upper) in covered where lower <= point && point <= upper {
                point = upper
            }
            return point < slice.end ? point : nil
        }
    }

    /// The earliest non-zero timestamp anywhere in the log (0 for an empty log).
    static func earliestTimestamp(_ log: FrameLog) -> UInt64 {
        var earliest = UInt64.max
        func consider(_ nanos: UInt64) { if nanos != 0 { earliest = Swift.min(earliest, nanos) } }
        for record in log.records {
            for nanos in [
                record.scheduleNanos, record.computeStartNanos, record.computeEndNanos, record.publishNanos,
                record.acquireNanos, record.submitNanos, record.gpuStartNanos, record.gpuEndNanos,
                record.completeNanos, record.presentNanos,
            ] { consider(nanos) }
        }
        for tile in log.tiles { consider(tile.startNanos) }
        return earliest == .max ? 0 : earliest
    }
}
