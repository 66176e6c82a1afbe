import CSystemShim
import FrameHandoff
import FrameTiming
import Foundation
import KernelRuntime
import Synchronization
import VulkanRender

/// Settings of one headless benchmark run.
public struct BenchOptions: Sendable {
    public var kernelPath: String
    public var width: Int = 512
    public var height: Int = 512
    /// Frames measured, after `warmup` frames that are rendered but not measured.
    public var frames: Int = 120
    /// Measure for this many seconds instead of `frames` frames (`--duration`).
    public var durationSeconds: Double?
    public var warmup: Int = 5
    /// Measured runs, each with its own warm-up (BenchRuns.method). `framepipe bench --runs` defaults to 5; library
    /// callers get one unless they ask.
    public var runs: Int = 1
    /// Take a frame every 1/targetHz s (`--target-hz`); nil: as fast as frames come.
    public var targetHz: Double?
    /// How fast the kernel computes (`--compute-rate`, as in the viewer); nil: `effectiveComputeRate`'s default.
    public var computeRate: ComputeRate?
    /// Keep frame records (worker telemetry, render stamps). Off only to measure what they cost:
    /// then the summary has fps and counts, no statistics, and no frames.csv/trace.json/SVG.
    public var recording = true
    public var outputDirectory: String = "framepipe-bench"
    public var deviceIndex: Int?
    public var limits = KernelLimits()
    /// Which engine (and kernel build) runs the kernel (`--engine`, `--kernel-build`).
    public var engine = EngineRequest()
    /// Compute worker threads (each with its own instance).
    public var workers = ThreadPlacement.defaultWorkerCount
    public var placement = ThreadPlacement.automatic()
    /// `--cpu-dma-latency US`: hold this PM QoS request for the whole bench (CPUWakeLatency.swift); nil: none.
    public var cpuDMALatencyMicroseconds: Int?
    public var maxConsecutiveFailures = 3
    public var slotCount = 3
    public var policy: HandoffPolicy = .latest
    public var colormap: Colormap = .viridis
    /// How frames reach the GPU (`--upload`): `auto` picks zero-copy where the GPU can read host
    /// memory cheaply (integrated and CPU devices), else copy.
    public var upload: UploadMode = .auto
    /// Reload the kernel when its file changes (`--watch`).
    public var watch = false
    /// `--param NAME=VALUE`: parameter values to run with instead of the kernel's initial ones.
    public var parameters: [ParameterAssignment] = []
    /// `--data`, `--seed`: what the kernel's WASI functions may read, and their random seed.
    public var wasi = WASIOptions()
    /// Compare with the summary.json in this directory, or with the named baseline of this name (`--baseline DIR|NAME`,
    /// NamedBaselines).
    public var baselineDirectory: String?
    /// Compare even when the baseline was run differently (kernel, size, engine, device, workers, upload, policy,
    /// pacing): `--allow-mismatch`. Otherwise such a baseline is refused before the run.
    public var allowBaselineMismatch = false
    /// Keep this run's summary.json as the named baseline NAME (`--save-baseline NAME`).
    public var saveBaselineName: String?
    /// With a baseline: a frame_interval_ms.p99 worse by more than this many percent is a regression.
    public var failOnRegressionPercent: Double?
    /// With a baseline: the smallest change, in percent of the baseline, that a verdict may call a change
    /// (`--min-effect`), and the significance level of the test over runs (`--significance`); FigureComparison.
    public var minEffectPercent = FigureComparison.defaultMinEffectPercent
    public var significance = FigureComparison.defaultSignificance
    /// Longest wait for the next frame before the run is abandoned (a kernel this slow is broken).
    public var stallTimeoutSeconds: Double = 60
    /// Where log lines from the run (kernel `fp.log`, frame failures, reloads) go.
    public var log: @Sendable (String) -> Void = { _ in }
    /// Called on the render thread after each rendered frame with (rendered, total); total is 0 for
    /// a `durationSeconds` run.
    public var progress: @Sendable (Int, Int) -> Void = { _, _ in }
    /// Called on the render thread about ten times a second (and once at the end) with the state
    /// of the run: what a progress bar shows.
    public var status: @Sendable (BenchProgress) -> Void = { _ in }
    /// Set it to end the run early; the reports cover the frames measured so far.
    public var stop: BenchStopRequest?

    public init(kernelPath: String) {
        self.kernelPath = kernelPath
    }

    /// `computeRate`, else: a paced run computes one kernel frame per frame it takes (`display`, the viewer's default:
    /// unpaced workers on every core would starve the render thread's ticks), an unpaced run as fast as it can.
    public var effectiveComputeRate: ComputeRate { computeRate ?? (targetHz == nil ? .unpaced : .display) }
}

/// A snapshot of a running bench for progress displays.
public struct BenchProgress: Sendable {
    public var warmingUp: Bool
    /// Frames measured so far.
    public var measured: Int
    /// 0...1 of the run (by frames, or by time for a `--duration` run).
    public var fraction: Double
    /// Over the frames measured so far; 0 until there are two.
    public var fps: Double
    public var p99IntervalMs: Double
    public var dropped: UInt64
    public var failed: Int
    public var finished: Bool
    /// Which of `runs` runs this is (1-based).
    public var run = 1
    public var runs = 1
}

/// Ends a running bench early from any thread (Ctrl-C, a test).
public final class BenchStopRequest: Sendable {
    private let requested = Atomic<Bool>(false)
    /// Also asks to stop when this says so (the CLI: a Ctrl-C counted by the process's SIGINT handler).
    private let external: (@Sendable () -> Bool)?
    public init(external: (@Sendable () -> Bool)? = nil) { self.external = external }
    public func request() { requested.store(true, ordering: .relaxed) }
    public var isRequested: Bool { requested.load(ordering: .relaxed) || external?() == true }
}

public struct BenchResult: Sendable {
    public let summary: BenchSummary
    public let directory: String
    public let summaryPath: String
    public let lastFramePath: String
    /// `--save-baseline NAME`: where the summary was kept.
    public var savedBaselinePath: String?
    /// `--fail-on-regression`: frame_interval_ms.p99 got worse than the baseline by more than allowed.
    public var regressed: Bool { summary.baseline?.regressed ?? false }
}

/// The renderer set up for what a kernel format produces.
extension FrameContent {
    init(_ format: KernelFormat, units: Int, colormap: Colormap) {
        switch format {
        case .rgba8: self = .rgba8
        case .f32Field: self = .scalarField(colormap)
        case .points: self = .points(count: units)
        }
    }
}

/// Sleeps the render thread to a fixed frame rate on an absolute schedule (no drift). A tick missed
/// by more than a whole period is not caught up (no burst of back-to-back frames): the schedule
/// restarts from now.
struct FramePacer {
    let periodNanos: UInt64
    private var nextNanos: UInt64 = 0
    private(set) var missedTicks = 0

    init(hz: Double) { periodNanos = UInt64((1e9 / hz).rounded()) }

    /// Waits until the next tick. Until then `waitForGPU(deadline)` may block on the frames still on the GPU (their
    /// fences, with the tick as deadline), so each completion is seen as it happens rather than at the next tick; it
    /// returns false once there is nothing left to wait for, and the rest of the wait is a sleep.
    mutating func waitForTick(waitForGPU: (UInt64) throws -> Bool) rethrows {
        let now = monotonicNanos()
        if nextNanos == 0 {
            nextNanos = now
        } else if nextNanos > now {
            while monotonicNanos() < nextNanos, try waitForGPU(nextNanos) {}
            var deadline = timespec(tv_sec: Int(nextNanos / 1_000_000_000), tv_nsec: Int(nextNanos % 1_000_000_000))
            while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nil) == EINTR {}
        } else if now - nextNanos > periodNanos {
            missedTicks += 1
            nextNanos = now
        }
        nextNanos += periodNanos
    }
}

public enum Bench {
    /// Runs the kernel on the compute pool into the slot ring and renders every frame it acquires
    /// offscreen with Vulkan on the calling (render) thread; writes the reports (BenchReports).
    public static func run(_ options: BenchOptions) throws(FramepipeError) -> BenchResult {
        try options.validate()
        // A bad baseline is found before the run, not after minutes of it.
        let baseline = try options.baselineDirectory.map { value throws(FramepipeError) in
            try BenchBaseline.load(directory: try NamedBaselines.resolve(value))
        }
        if let baseline, NamedBaselines.sameFolder(baseline.directory, options.outputDirectory) {
            throw FramepipeError(
                .usage, "--out \(options.outputDirectory) is the --baseline folder: the run would replace the baseline it "
                    + "compares with; give another --out (or keep the baseline by name: --save-baseline NAME)")
        }
        if let name = options.saveBaselineName { try NamedBaselines.check(name: name) }
        if options.failOnRegressionPercent != nil {
            // The gate judges the frame-interval p99, which needs 100 intervals in both runs to mean anything.
            let needed = DurationStatistics.samplesNeeded(forPercentile: 99)
            if options.durationSeconds == nil, options.frames < needed {
                throw FramepipeError(
                    .usage, "--fail-on-regression judges the frame-interval p99, which needs at least \(needed) measured frames: "
                        + "use --frames \(needed) or more")
            }
            if let baseline, !BenchBaseline.supported("frame_interval_ms.p99", in: baseline.json) {
                throw FramepipeError(
                    .usage, "--fail-on-regression: the baseline \(baseline.directory) measured fewer than \(needed) frames, too few "
                        + "for its frame-interval p99; rerun it with --frames \(needed) or more")
            }
        }
        // Every report goes into a staging folder that replaces --out's previous set only when the run
        // has written them all; a run that ends without reports leaves --out as it was.
        let folder = try ReportFolder(destination: options.outputDirectory, reportNames: BenchReports.names)
        var committed = false
        defer { if !committed { folder.discard() } }

        // Held over every run and released when bench returns, whichever way.
        let wakeLatency = try options.cpuDMALatencyMicroseconds.map { value throws(FramepipeError) in
            try CPUWakeLatencyRequest(microseconds: value)
        }
        defer { wakeLatency?.release() }

        // --runs N: each run is measured on its own engine instance, pool and renderer (BenchRuns.method); the
        // reports are the last run's, and summary.json's `runs` has every compared figure over the runs.
        let metadata = RunMetadata.current(startedAt: Date())
        var final: MeasuredRun?
        var completed: [[String: Any]] = []
        var mismatches: [String] = []
        for index in 0..<options.runs {
            let measured: MeasuredRun
            do {
                measured = try measureRun(
                    options, index: index, baseline: index == 0 ? baseline : nil, folder: folder, metadata: metadata)
            } catch let error where error.exitCode == .interrupted && final != nil {
                break  // Ctrl-C before this run's first frame: the runs so far are the result
            }
            if index == 0 { mismatches = measured.mismatches }
            final = measured
            if measured.summary.interrupted { break }
            completed.append(BenchRuns.jsonObject(measured.summary))
        }
        guard let final else { throw FramepipeError(.failure, "no run was measured") }
        var summary = final.summary
        summary.runs = BenchRuns.series(of: completed)
        summary.baseline = baseline.map {
            $0.compare(
                with: summary, failOnRegressionPercent: options.failOnRegressionPercent,
                minEffectPercent: options.minEffectPercent, significance: options.significance)
        }
        if !mismatches.isEmpty { summary.baseline?.mismatches = mismatches }
        let written = try BenchReports.write(
            summary: &summary, window: options.recording ? final.window : nil, lastFrame: final.pixels,
            width: options.width, height: options.height, targetHz: options.targetHz, to: folder)
        committed = true
        let savedBaseline = try options.saveBaselineName.map { name throws(FramepipeError) in
            try NamedBaselines.save(summaryAt: written.summaryPath, as: name)
        }
        return BenchResult(
            summary: summary, directory: options.outputDirectory, summaryPath: written.summaryPath,
            lastFramePath: written.lastFramePath, savedBaselinePath: savedBaseline)
    }

    /// One measured run: its summary (without `runs` and `baseline`), the records trace.json and the SVG show, the
    /// last frame's pixels; frames.csv is in the report folder already.
    struct MeasuredRun {
        var summary: BenchSummary
        var window: FrameLog
        var pixels: [UInt8]
        /// How `baseline` was run differently (checked in the first run, which has the engine, device and pool).
        var mismatches: [String]
    }

    /// Loads the kernel, starts the pool and the renderer, warms up and measures run `index`; streams its frames.csv
    /// into `folder` (replacing the previous run's only once this run has rendered a frame).
    private static func measureRun(
        _ runOptions: BenchOptions, index: Int, baseline: BenchBaseline?, folder: ReportFolder, metadata: RunMetadata
    ) throws(FramepipeError) -> MeasuredRun {
        var options = runOptions
        let status = runOptions.status
        let runs = runOptions.runs
        options.status = { progress in
            var progress = progress
            progress.run = index + 1
            progress.runs = runs
            status(progress)
        }
        let interruptedBeforeFirstFrame = FramepipeError(
            .interrupted, "interrupted before the first frame was rendered: no reports written (\(options.outputDirectory) is unchanged)")
        let log = options.log
        let host = KernelHost(log: { log($0) }, input: { _ in 0 }, wasi: options.wasi)
        var settings = ComputeSettings(
            width: options.width, height: options.height, limits: options.limits, deterministicTime: true,
            maxConsecutiveFailures: options.maxConsecutiveFailures, workers: options.workers,
            placement: options.placement, recordTelemetry: options.recording)
        settings.pacing = options.effectiveComputeRate.pacing
        let compute = try ComputeSide.load(
            path: options.kernelPath, width: options.width, height: options.height, limits: options.limits, host: host,
            engine: options.engine, parameters: options.parameters, log: log)
        if options.stop?.isRequested == true { throw interruptedBeforeFirstFrame }
        let renderer: HeadlessRenderer
        do {
            renderer = try HeadlessRenderer(
                width: options.width, height: options.height, content: compute.content(colormap: options.colormap),
                deviceIndex: options.deviceIndex, upload: options.upload)
        } catch {
            throw FramepipeError(error)
        }
        // Zero-copy: the ring lives in the renderer's host-visible memory and the reader holds a slot
        // per frame in flight, so it needs more slots than the copy path's 3.
        let slotCount = max(options.slotCount, renderer.requiredRingSlotCount)
        let payload = try renderer.lentRingPayload(slotCount: slotCount, slotByteCount: compute.probe.outputByteCount)
        let run = try compute.build(
            settings: settings, slotCount: slotCount, policy: options.policy, watch: options.watch,
            payload: payload, log: log)
        let (ring, pool) = (run.ring, run.pool)
        // In zero-copy mode the renderer owns the ring's memory: it must outlive the workers, whichever
        // way this function leaves (every path stops them first). The ring holds that memory too, until
        // `retire` lets it go here, so the Vulkan objects go with the renderer, on this thread.
        defer {
            ring.retire()
            withExtendedLifetime(renderer) {}
        }
        let feed = try RenderFeed(ring: ring, renderer: renderer)
        defer { feed.close() }  // after a failure: leases still held go back once the GPU is idle
        // Like with like: a baseline run differently is refused before anything runs (--allow-mismatch compares anyway).
        let mismatches = baseline?.mismatches(with: .init(options: options, compute: compute, renderer: renderer, pool: pool)) ?? []
        if !mismatches.isEmpty, !options.allowBaselineMismatch {
            throw FramepipeError(
                .usage, "--baseline \(options.baselineDirectory ?? "") was run differently: \(mismatches.joined(separator: "; ")) "
                    + "(compare like with like, or pass --allow-mismatch)")
        }

        pinCurrentThread(to: options.placement.renderCPUs)
        defer { if !options.placement.renderCPUs.isEmpty { pinCurrentThread(to: ThreadPlacement.availableCPUs) } }

        // Streamed beside the reports under a temporary name; it replaces the previous run's frames.csv once this run
        // has rendered a frame (a Ctrl-C before then keeps the previous run as the result, with its own rows).
        let csvPath = OutputFiles.temporaryPath(for: folder.path(BenchReports.framesCSVName))
        let csv = options.recording ? try FramesCSVStream(path: csvPath) : nil
        var csvKept = false
        defer { if !csvKept { unlink(csvPath) } }
        var loop = RenderLoop(
            options: options, pool: pool, feed: feed, csv: csv,
            expectedFrames: options.durationSeconds.map { Int(min($0 * 500, 1_000_000)) }
                ?? (options.warmup + options.frames))
        let runStart = monotonicNanos()
        loop.startRecords(at: runStart)
        run.start()
        do {
            try loop.run()
        } catch let error as RenderError {
            _ = run.stop()
            throw FramepipeError(error)
        } catch let error as FramepipeError {
            _ = run.stop()
            throw error
        } catch {
            _ = run.stop()
            throw FramepipeError(.failure, "render loop failed: \(error)")
        }
        let runEnd = monotonicNanos()
        let report = run.stop()
        loop.drainTelemetry()
        if let reason = report.disabledBecause { throw FramepipeError(.kernelFailed, reason.message) }
        if loop.rendered == 0, loop.interrupted || options.stop?.isRequested == true { throw interruptedBeforeFirstFrame }
        guard loop.rendered > 0 else {
            throw FramepipeError(.failure, "the run ended before any frame was rendered; nothing to report")
        }

        // The last frame's pixels came back with it (pipelined readback), unless the run ended
        // before the frame that asked for them (Ctrl-C, a --duration run): then read back now.
        let pixels: [UInt8]
        if let last = loop.lastPixels, last.generation == loop.lastGeneration {
            pixels = last.pixels
        } else {
            do { pixels = try renderer.readBackLastFrame() } catch { throw FramepipeError(error) }
        }

        let (window, statistics) = loop.finishRecords()
        try csv?.finish()
        if csv != nil {
            guard rename(csvPath, folder.path(BenchReports.framesCSVName)) == 0 else {
                throw FramepipeError(.failure, "cannot write \(BenchReports.framesCSVName): \(String(cString: strerror(errno)))")
            }
            csvKept = true
        }
        let summary = BenchSummary(
            options: options, compute: compute, renderer: renderer, pool: pool, ring: ring, report: report, loop: loop,
            slots: slotCount, statistics: statistics, window: window, durationNanos: runEnd - runStart,
            run: metadata)
        return MeasuredRun(summary: summary, window: window, pixels: pixels, mismatches: mismatches)
    }
}

/// The render thread's loop: take a frame, submit it, collect completions, keep the records.
struct RenderLoop {
    let options: BenchOptions
    let pool: ComputePool
    let feed: RenderFeed<HeadlessRenderer>
    /// frames.csv, fed the measured frames as their records settle (nil with recording off).
    let csv: FramesCSVStream?
    var ring: SlotRing { feed.ring }

    private(set) var builder: FrameLogBuilder
    /// Frames rendered (warm-up included) and measured.
    private(set) var rendered = 0
    private(set) var measured = 0
    private(set) var interrupted = false
    private(set) var lastGeneration: UInt64 = 0
    /// Acquire time of the first measured frame (what a `--duration` run counts from).
    private(set) var firstMeasuredAcquireNanos: UInt64 = 0
    private(set) var lastMeasuredAcquireNanos: UInt64 = 0
    /// Render-thread nanoseconds spent on records (draining telemetry, stamping, folding).
    private(set) var recordingNanos: UInt64 = 0
    private(set) var missedTicks = 0
    /// Frame intervals of measured frames seen so far, for the live progress (p99).
    private var liveIntervals = DurationHistogram()
    private var lastDoneNanos: UInt64 = 0
    private var lastStatusNanos: UInt64 = 0

    /// The newest frame read back with it (pipelined readback).
    private(set) var lastPixels: (generation: UInt64, pixels: [UInt8])?

    init(options: BenchOptions, pool: ComputePool, feed: RenderFeed<HeadlessRenderer>, csv: FramesCSVStream?, expectedFrames: Int) {
        self.options = options
        self.pool = pool
        self.feed = feed
        self.csv = csv
        builder = FrameLogBuilder(expectedFrames: expectedFrames, tilesPerFrame: pool.tilesPerFrame)
    }

    private var measuring: Bool { rendered >= options.warmup }

    private func done(now: UInt64) -> Bool {
        guard measuring else { return false }
        if let seconds = options.durationSeconds {
            return firstMeasuredAcquireNanos != 0 && Double(now - firstMeasuredAcquireNanos) >= seconds * 1e9
        }
        return measured >= options.frames
    }

    /// Renders until the run is done, interrupted, or the kernel disabled. On a thrown error the
    /// caller stops the compute side.
    mutating func run() throws {
        var pacer = options.targetHz.map { FramePacer(hz: $0) }
        while !done(now: monotonicNanos()) {
            if options.stop?.isRequested ?? false {
                interrupted = true
                break
            }
            try pacer?.waitForTick { deadline in try waitForNextCompletion(untilNanos: deadline) }
            // Zero-copy: wait for the GPU to finish a frame before taking another slot.
            try feed.reserveFrameSlot()
            try collectCompleted()
            guard let lease = try nextFrame() else {
                // Disabled kernel (reported by the caller) or a stop request.
                interrupted = options.stop?.isRequested ?? false
                break
            }
            let generation = lease.handle.generation
            let acquireNanos = monotonicNanos()
            let isMeasured = measuring
            if isMeasured {
                if firstMeasuredAcquireNanos == 0 { firstMeasuredAcquireNanos = acquireNanos }
                lastMeasuredAcquireNanos = acquireNanos
            }
            if options.recording { builder.acquired(generation, at: acquireNanos, measured: isMeasured) }
            fp_probe_acquire(generation)
            guard let submitted = try feed.submit(lease, readBack: wantsReadBack(isMeasured: isMeasured))
            else {
                // Stale (validated and counted by the ring): never read.
                if options.recording { builder.rejected(generation) }
                continue
            }
            fp_probe_submit(generation)
            lastGeneration = generation
            rendered += 1
            if isMeasured { measured += 1 }
            let recordStart = options.recording ? monotonicNanos() : 0
            if options.recording { builder.submitted(generation, at: submitted.submitNanos) }
            try collectCompleted()
            if options.recording {
                drainTelemetry()
                recordingNanos &+= monotonicNanos() &- recordStart
            }
            options.progress(rendered, options.durationSeconds == nil ? options.warmup + options.frames : 0)
            reportStatus(finished: false)
        }
        for completed in try feed.finish() { record(completed) }
        missedTicks = pacer?.missedTicks ?? 0
        reportStatus(finished: true)
    }

    /// Waits for the next published frame. While frames are on the GPU and none is published it waits on the oldest
    /// frame's fence, so its completion is seen as the fence signals (the `present` stage of a headless run) — a frame
    /// published meanwhile waits at most for that GPU frame to end; otherwise it waits on the ring in 50 ms slices, so
    /// a disabled kernel or a stop request ends the wait at once.
    private mutating func nextFrame() throws -> ReadLease? {
        // Never before a runaway kernel could be disabled: each of --max-failures frames may take a
        // whole --tile-timeout (and a rebuild) before it fails.
        let stallSeconds = max(
            options.stallTimeoutSeconds,
            Double(options.limits.tileTimeoutNanos) / 1e9 * Double(options.maxConsecutiveFailures + 1) + 10)
        let deadline = monotonicNanos() + UInt64(stallSeconds * 1e9)
        while monotonicNanos() < deadline {
            if let lease = try takeFrame() { return lease }
            if pool.isDisabled || options.stop?.isRequested == true { return nil }
        }
        throw FramepipeError(
            .failure,
            "no frame from the kernel in \(Int(stallSeconds)) s (too slow for --size? try a smaller one)")
    }

    /// One slice of nextFrame's wait: a published frame at once, else one GPU completion or 50 ms.
    private mutating func takeFrame() throws -> ReadLease? {
        let slice: UInt64 = 50_000_000
        var lease = ring.acquire()
        if lease == nil {
            if try waitForNextCompletion(untilNanos: monotonicNanos() + slice) { return nil }
            lease = ring.waitForFrame(timeoutNanos: slice)
        }
        // Paced compute (`display`): the next kernel frame may start.
        if lease != nil { pool.frameTaken() }
        return lease
    }

    /// Blocks until the oldest frame on the GPU completes (recording it) or `deadline` passes; false at once when no
    /// frame is on the GPU, and when the deadline passed first.
    private mutating func waitForNextCompletion(untilNanos deadline: UInt64) throws -> Bool {
        guard try feed.waitForNextCompletion(untilNanos: deadline) else { return false }
        try collectCompleted()
        return true
    }

    /// Whether the frame about to be submitted should come back with its pixels: the last one of a
    /// `--frames` run; for a `--duration` run, frames in about the last two intervals (the one that
    /// ends the run is not known in advance). Reading back every frame would cost 5–10 % of a 512²
    /// frame on lavapipe (docs/performance.md).
    private func wantsReadBack(isMeasured: Bool) -> Bool {
        guard isMeasured else { return false }
        if let seconds = options.durationSeconds {
            let elapsed = Double(monotonicNanos() &- firstMeasuredAcquireNanos)
            let interval = liveIntervals.count > 0 ? liveIntervals.meanNanos : 0
            return elapsed + 2 * interval >= seconds * 1e9
        }
        return measured + 1 == options.frames
    }

    /// Records the frames the GPU has finished since the last call (never waits).
    private mutating func collectCompleted() throws {
        for completed in try feed.collectCompleted() { record(completed) }
    }

    private mutating func record(_ completed: CompletedFrame) {
        fp_probe_complete(completed.tag)
        if let pixels = completed.pixels { lastPixels = (completed.tag, pixels) }
        guard options.recording else { return }
        builder.completed(
            completed.tag, completeNanos: completed.completeNanos, gpuStartNanos: completed.gpuStartNanos,
            gpuEndNanos: completed.gpuEndNanos)
        guard let record = builder.record(completed.tag) else { return }
        let done = record.doneNanos
        if record.outcome == .measured, lastDoneNanos != 0, done > lastDoneNanos {
            liveIntervals.record(nanoseconds: done - lastDoneNanos)
        }
        if done != 0 { lastDoneNanos = done }
    }

    /// Folds the workers' telemetry into the records, then settles what is final (frames.csv rows).
    mutating func drainTelemetry() {
        guard options.recording else { return }
        pool.drainTelemetry { event in self.builder.add(event) }
        builder.settle()
        builder.takeSettled { csv?.append($0) }
    }

    /// The measure window starts at `runStart` when there is no warm-up.
    mutating func startRecords(at runStart: UInt64) { builder.runStartNanos = runStart }

    private mutating func reportStatus(finished: Bool) {
        let now = monotonicNanos()
        guard finished || now - lastStatusNanos >= 100_000_000 else { return }
        lastStatusNanos = now
        let fraction: Double
        if !measuring {
            fraction = 0
        } else if let seconds = options.durationSeconds {
            fraction = firstMeasuredAcquireNanos == 0 ? 0 : min(1, Double(now - firstMeasuredAcquireNanos) / (seconds * 1e9))
        } else {
            fraction = min(1, Double(measured) / Double(options.frames))
        }
        let meanNanos = liveIntervals.meanNanos
        options.status(
            BenchProgress(
                warmingUp: !measuring, measured: measured, fraction: finished ? 1 : fraction,
                fps: liveIntervals.count > 0 && meanNanos > 0 ? 1e9 / meanNanos : 0,
                p99IntervalMs: Double(liveIntervals.nanoseconds(atPercentile: 99)) / 1e6,
                dropped: ring.counters.dropped, failed: builder.failedFrames, finished: finished))
    }

    /// After the run: the last rows to frames.csv; the window of records for trace.json and
    /// frametimes.svg, and the whole run's statistics.
    mutating func finishRecords() -> (window: FrameLog, statistics: RunStatistics) {
        let finished = builder.finish(workers: pool.workerCount)
        builder.takeSettled { csv?.append($0) }
        return finished
    }
}
