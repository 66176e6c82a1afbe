import Dispatch
import FrameHandoff
import FrameTiming
import Foundation
import KernelRuntime
import VulkanRender

extension BenchSummary {
    /// Figures from fewer than this many measured frames, or this many seconds, scatter from run to run by more than
    /// a comparison can tell from a change (docs/benchmarking.md, "How many frames").
    static let minimumTrustedFrames = 100
    static let minimumTrustedSeconds = 1.0

    /// The warnings a run's size calls for (nil when none).
    static func warnings(measuredFrames: Int, measuredSeconds: Double) -> [String]? {
        var warnings: [String] = []
        if measuredFrames < minimumTrustedFrames {
            warnings.append(
                "only \(measuredFrames) frames measured: percentiles need more (p99 \(DurationStatistics.samplesNeeded(forPercentile: 99)), "
                    + "p99.9 \(DurationStatistics.samplesNeeded(forPercentile: 99.9))); use --frames or --duration")
        }
        if measuredSeconds < minimumTrustedSeconds {
            warnings.append(
                String(format: "measuring took %.2f s: under %g s the figures scatter from run to run; measure longer (--duration)", measuredSeconds, minimumTrustedSeconds))
        }
        return warnings.isEmpty ? nil : warnings
    }

    /// The summary of a finished run (everything but `baseline`, which compares it afterwards).
    init(
        options: BenchOptions, compute: ComputeSide, renderer: HeadlessRenderer, pool: ComputePool, ring: SlotRing, report: ComputeReport,
        loop: RenderLoop, slots: Int, statistics: RunStatistics, window: FrameLog, durationNanos: UInt64,
        run: RunMetadata
    ) {
        let counters = ring.counters
        let recording = options.recording
        let interval = recording ? statistics.frameInterval : nil
        // Throughput from the render thread's acquire times: the same formula with records on or off.
        let acquireSpan = loop.lastMeasuredAcquireNanos &- loop.firstMeasuredAcquireNanos
        let throughput = loop.measured > 1 && acquireSpan > 0 ? Double(loop.measured - 1) * 1e9 / Double(acquireSpan) : 0
        let stages = recording ? statistics.stages : [:]
        let gpu = stages[.gpu]
        self.init(
            run: run,
            kernel: options.kernelPath,
            kernel_file: compute.path,
            kernel_sha256: compute.kernelDigest,
            format: pool.format.name,
            engine: .init(compute.engine, limits: options.limits),
            device: .init(
                name: renderer.device.name, type: renderer.device.type, index: renderer.device.index,
                api_version: renderer.device.apiVersion, driver_name: renderer.device.driverName,
                driver_info: renderer.device.driverInfo, driver_version: renderer.device.driverVersionText),
            size: "\(options.width)x\(options.height)",
            workers: pool.workerCount,
            stateful: pool.isStateful,
            tiles_per_frame: pool.tilesPerFrame,
            placement: .init(
                compute_cpus: report.workerCPUs, render_cpus: options.placement.renderCPUs,
                warnings: report.placementWarnings, cpu_dma_latency_us: options.cpuDMALatencyMicroseconds),
            limits: .init(
                fuel_per_tile: options.limits.fuelPerTile, max_memory_mib: options.limits.maxMemoryBytes >> 20,
                max_failures: options.maxConsecutiveFailures,
                tile_timeout_ms: Double(options.limits.tileTimeoutNanos) / 1e6),
            slots: slots,
            policy: ring.policy.rawValue,
            upload: renderer.uploadMode.rawValue,
            upload_reason: renderer.uploadReason,
            requested: .init(
                frames: options.durationSeconds == nil ? options.frames : nil, duration_s: options.durationSeconds,
                warmup: options.warmup, target_hz: options.targetHz,
                compute_rate: options.effectiveComputeRate.description, recording: recording),
            interrupted: loop.interrupted,
            frames: .init(
                measured: loop.measured, failed: report.failedFrames, dropped: counters.dropped,
                stale_rejected: counters.staleRejected, warmup: min(options.warmup, loop.rendered),
                cancelled: report.cancelledFrames),
            fps: recording && statistics.fps > 0 ? statistics.fps : throughput,
            fps_1_percent_low: recording ? statistics.fps1PercentLow : nil,
            fps_0_1_percent_low: recording ? statistics.fps01PercentLow : nil,
            warnings: BenchSummary.warnings(
                measuredFrames: loop.measured, measuredSeconds: Double(acquireSpan) / 1e9),
            throughput_fps: throughput,
            frame_interval_ms: .init(interval),
            jitter_ms: .init(stddev: interval?.stddev ?? 0, p99_minus_p50: interval?.p99MinusP50 ?? 0),
            latency_ms: .init(recording ? statistics.latency : nil),
            stages_ms: .init(stages),
            compute_ms: .init(stages[.compute]),
            gpu_ms: gpu.map { .init($0) },
            compute_cpu_ms: statistics.computeCPU.map { .init($0) },
            gpu_busy_percent: recording ? statistics.gpuBusyPercent : nil,
            compute_utilisation_percent: recording ? statistics.computeUtilisationPercent : nil,
            gpu_timestamps: renderer.timestampCalibration,
            paced_missed_ticks: options.targetHz == nil ? nil : loop.missedTicks,
            duration_s: Double(durationNanos) / 1e9,
            instrumentation: .init(
                render_thread_us_per_frame: recording && loop.rendered > 0
                    ? Double(loop.recordingNanos) / 1e3 / Double(loop.rendered) : 0,
                telemetry_events_lost: pool.telemetryDropped),
            last_frame: .init(
                generation: loop.lastGeneration, frame: loop.builder.record(loop.lastGeneration)?.frameIndex ?? -1,
                png: BenchReports.lastFrameName),
            reports: .init(
                frames_csv: recording ? BenchReports.framesCSVName : nil,
                trace: recording ? BenchReports.traceName : nil,
                frametimes_svg: recording ? BenchReports.svgName : nil, last_frame_png: BenchReports.lastFrameName,
                window: recording
                    ? .init(
                        generations_kept: loop.builder.windowGenerations,
                        first_generation: window.records.first?.generation ?? 0,
                        last_generation: window.records.last?.generation ?? 0,
                        measured_frames: window.records.count(where: { $0.outcome == .measured }),
                        whole_run: window.coversWholeRun)
                    : nil),
            reloads: report.reloads.map { .init(path: $0.path, first_frame: $0.firstFrame, error: $0.error) },
            failures: report.failures.prefix(10).map { .init(fault: $0.fault?.rawValue ?? "fault", message: $0.message) },
            baseline: nil)
        self.parameters = pool.parameterValuesByName
    }
}

/// The report files of `bench --out DIR`, named once: the writer, the report folder, the console and the command's help
/// take them from here.
public enum BenchReportFiles {
    public static let summary = "summary.json"
    public static let framesCSV = "frames.csv"
    public static let trace = "trace.json"
    public static let frametimesSVG = "frametimes.svg"
    public static let lastFrame = "last-frame.png"
    /// In the order they are listed.
    public static let all = [summary, framesCSV, trace, frametimesSVG, lastFrame]
}

/// The files of `bench --out DIR`: summary.json, frames.csv, trace.json, frametimes.svg (with records
/// on) and last-frame.png. They are written into the run's ReportFolder (a staging folder that then
/// replaces DIR's previous set as a whole); frames.csv grows there during the run (FramesCSVStream).
enum BenchReports {
    static let summaryName = BenchReportFiles.summary
    static let framesCSVName = BenchReportFiles.framesCSV
    static let traceName = BenchReportFiles.trace
    static let svgName = BenchReportFiles.frametimesSVG
    static let lastFrameName = BenchReportFiles.lastFrame
    /// Every name a bench writes: a file so named in --out DIR is framepipe's to replace.
    static let names = Set(BenchReportFiles.all)

    struct Written {
        var summaryPath: String
        var lastFramePath: String
    }

    /// Writes the rest of the reports into `folder`'s staging folder (frames.csv is there already),
    /// then puts the set in place.
    static func write(
        summary: inout BenchSummary, window log: FrameLog?, lastFrame pixels: [UInt8], width: Int, height: Int,
        targetHz: Double?, to folder: ReportFolder
    ) throws(FramepipeError) -> Written {
        try OutputFiles.writePNG(pixels, width: width, height: height, to: folder.path(lastFrameName))
        if let log {
            try OutputFiles.write(
                Data(
                    ChromeTrace.render(log, processName: "framepipe bench", renderThreadName: currentThreadName()).utf8),
                to: folder.path(traceName))
            let title = "\((summary.kernel as NSString).lastPathComponent) \(summary.size), \(summary.workers) worker"
                + (summary.workers == 1 ? "" : "s") + " — \(summary.device.name)"
            try OutputFiles.write(
                Data(FrametimesSVG.render(log, title: title, targetIntervalMs: targetHz.map { 1000 / $0 }).utf8),
                to: folder.path(svgName))
        }
        // summary.json last: a directory whose summary.json exists has all its files.
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data: Data
        do { data = try encoder.encode(summary) } catch {
            throw FramepipeError(.failure, "cannot encode summary.json: \(error)")
        }
        try OutputFiles.write(data + Data("\n".utf8), to: folder.path(summaryName))
        try folder.commit()
        return Written(summaryPath: folder.finalPath(summaryName), lastFramePath: folder.finalPath(lastFrameName))
    }
}

/// frames.csv written while the run goes: settled frames are formatted and appended in batches on a
/// utility queue, off the render thread, so the file grows with the run and memory does not.
final class FramesCSVStream: @unchecked Sendable {
    // @unchecked: `handle` and `failure` are touched only on `queue` (and after `queue.sync`), `batch`
    // only by the render thread.
    private let queue = DispatchQueue(label: "framepipe.frames-csv", qos: .utility)
    private let handle: FileHandle
    private let path: String
    private var failure: String?
    private var batch: [FrameLogBuilder.SettledFrame] = []
    static let batchSize = 512

    init(path: String) throws(FramepipeError) {
        self.path = path
        guard FileManager.default.createFile(atPath: path, contents: Data(FramesCSV.header.utf8)),
            let handle = FileHandle(forWritingAtPath: path)
        else {
            throw FramepipeError(.failure, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        handle.seekToEndOfFile()
        self.handle = handle
        batch.reserveCapacity(Self.batchSize)
    }

    func append(_ frame: FrameLogBuilder.SettledFrame) {
        batch.append(frame)
        if batch.count >= Self.batchSize { sendBatch() }
    }

    private func sendBatch() {
        guard !batch.isEmpty else { return }
        let frames = batch
        batch = []
        batch.reserveCapacity(Self.batchSize)
        queue.async { [self] in
            guard failure == nil else { return }
            var text = ""
            for frame in frames {
                text += FramesCSV.row(frame.record, intervalNanos: frame.intervalNanos, origin: frame.measureStartNanos)
            }
            do { try handle.write(contentsOf: Data(text.utf8)) } catch {
                failure = "cannot write \(path): \(error.localizedDescription)"
            }
        }
    }

    /// Writes what is left and closes the file.
    func finish() throws(FramepipeError) {
        sendBatch()
        let failure: String? = queue.sync {
            try? handle.close()
            return self.failure
        }
        if let failure { throw FramepipeError(.failure, failure) }
    }
}

/// The OS name of the calling thread (what `ps -L`, perf and /proc/self/task/TID/comm show): the bench's render thread
/// is the caller's, so trace.json names its track after it.
func currentThreadName() -> String {
    let name = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8))?
        .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    return name.isEmpty ? "render" : name
}
