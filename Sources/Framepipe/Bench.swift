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
    public var warmup: Int = 5
    public var outputDirectory: String = "framepipe-bench"
    public var deviceIndex: Int?
    public var limits = KernelLimits()
    /// Compute worker threads (each with its own instance).
    public var workers = ThreadPlacement.defaultWorkerCount
    public var placement = ThreadPlacement.automatic()
    public var maxConsecutiveFailures = 3
    public var slotCount = 3
    public var policy: HandoffPolicy = .latest
    public var colormap: Colormap = .viridis
    /// Reload the kernel when its file changes (`--watch`).
    public var watch = false
    /// Longest wait for the next frame before the run is abandoned (a kernel this slow is broken).
    public var stallTimeoutSeconds: Double = 60
    /// Where log lines from the run (kernel `fp.log`, frame failures, reloads) go.
    public var log: @Sendable (String) -> Void = { _ in }
    /// Called on the render thread after each rendered frame with (rendered, total).
    public var progress: @Sendable (Int, Int) -> Void = { _, _ in }
    /// Set it to end the run early; the reports cover the frames measured so far.
    public var stop: BenchStopRequest?

    public init(kernelPath: String) {
        self.kernelPath = kernelPath
    }
}

/// Ends a running bench early from any thread (Ctrl-C, a test).
public final class BenchStopRequest: Sendable {
    private let requested = Atomic<Bool>(false)
    public init() {}
    public func request() { requested.store(true, ordering: .relaxed) }
    public var isRequested: Bool { requested.load(ordering: .relaxed) }
}

/// `summary.json`, schema `framepipe.bench/1` (documented field by field in docs/benchmarking.md).
public struct BenchSummary: Codable, Sendable {
    public struct Device: Codable, Sendable {
        public var name: String
        public var type: String
        public var index: Int
        public var api_version: String
    }
    public struct Frames: Codable, Sendable {
        public var measured: Int
        public var failed: Int
        public var dropped: UInt64
        public var stale_rejected: UInt64
        public var warmup: Int
        /// Frames cancelled because a reload replaced their kernel mid-frame.
        public var cancelled: Int
    }
    public struct Placement: Codable, Sendable {
        /// CPUs per compute worker ([] = unpinned).
        public var compute_cpus: [[Int32]]
        public var render_cpus: [Int32]
        public var warnings: [String]
    }
    public struct Limits: Codable, Sendable {
        public var fuel_per_tile: UInt64
        public var max_memory_mib: Int
        public var max_failures: Int
    }
    public struct Reload: Codable, Sendable {
        public var path: String
        /// First frame computed by the new kernel; absent when refused.
        public var first_frame: Int32?
        /// Why the file was refused; absent when applied.
        public var error: String?
    }
    public struct Failure: Codable, Sendable {
        public var fault: String
        public var message: String
    }
    public struct Stats: Codable, Sendable {
        public var count: Int
        public var mean: Double
        public var p50: Double
        public var p90: Double
        public var p95: Double
        public var p99: Double
        public var p999: Double
        public var max: Double
        public var min: Double
        public var stddev: Double

        init(_ statistics: DurationStatistics?) {
            count = statistics?.count ?? 0
            mean = statistics?.mean ?? 0
            p50 = statistics?.p50 ?? 0
            p90 = statistics?.p90 ?? 0
            p95 = statistics?.p95 ?? 0
            p99 = statistics?.p99 ?? 0
            p999 = statistics?.p999 ?? 0
            max = statistics?.max ?? 0
            min = statistics?.min ?? 0
            stddev = statistics?.stddev ?? 0
        }
    }

    public var schema = "framepipe.bench/1"
    public var kernel: String
    public var format: String
    public var engine: String
    public var device: Device
    public var size: String
    public var workers: Int
    /// Stateful kernels run on one instance, frames in order, whatever `workers` says.
    public var stateful: Bool
    public var tiles_per_frame: Int
    public var placement: Placement
    public var limits: Limits
    public var slots: Int
    public var policy: String
    public var frames: Frames
    public var fps: Double
    public var frame_interval_ms: Stats
    /// Jitter of the frame interval: its stddev and p99 − p50.
    public var jitter_ms: Jitter
    public var latency_ms: Stats
    public var compute_ms: Stats
    public var gpu_ms: Stats?
    public var duration_s: Double
    public var last_frame: LastFrame
    public var reloads: [Reload]
    /// The first faults (at most 10), in order.
    public var failures: [Failure]

    public struct Jitter: Codable, Sendable {
        public var stddev: Double
        public var p99_minus_p50: Double
    }

    public struct LastFrame: Codable, Sendable {
        public var generation: UInt64
        public var frame: Int32
        public var png: String
    }
}

public struct BenchResult: Sendable {
    public let summary: BenchSummary
    public let summaryPath: String
    public let lastFramePath: String
}

/// One frame as the render thread saw it.
struct RenderedFrame {
    var generation: UInt64
    var acquireNanos: UInt64
    var submitNanos: UInt64
    var completeNanos: UInt64 = 0
    var gpuNanos: Double?
}

/// A frame's compute side, assembled from the workers' telemetry events.
struct ComputedFrame {
    var frameIndex: Int32
    var scheduleNanos: UInt64
    var computeStartNanos: UInt64 = .max
    var computeEndNanos: UInt64 = 0
    var publishNanos: UInt64 = 0
    var tiles = 0
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

public enum Bench {
    public static let engine: any KernelEngine = WasmKitEngine()
    public static var engineDescription: String { engine.description }

    /// Runs the kernel on the compute pool into the slot ring and renders every frame it acquires
    /// offscreen with Vulkan on the calling (render) thread; writes summary.json and last-frame.png.
    public static func run(_ options: BenchOptions) throws(FramepipeError) -> BenchResult {
        guard options.frames > 0, options.warmup >= 0 else {
            throw FramepipeError(.usage, "--frames must be positive and --warmup not negative")
        }
        let log = options.log
        let host = KernelHost(log: { log("kernel: \($0)") }, input: { _ in 0 })
        let settings = ComputeSettings(
            width: options.width, height: options.height, limits: options.limits, deterministicTime: true,
            maxConsecutiveFailures: options.maxConsecutiveFailures, workers: options.workers,
            placement: options.placement)
        let compute = try ComputeSide.load(
            path: options.kernelPath, width: options.width, height: options.height, limits: options.limits, host: host)
        let renderer: HeadlessRenderer
        do {
            renderer = try HeadlessRenderer(
                width: options.width, height: options.height, content: compute.content(colormap: options.colormap),
                deviceIndex: options.deviceIndex)
        } catch {
            throw FramepipeError(error)
        }
        let run = try compute.build(
            settings: settings, host: host, slotCount: options.slotCount, policy: options.policy, watch: options.watch,
            log: log)
        let (ring, pool) = (run.ring, run.pool)

        pinCurrentThread(to: options.placement.renderCPUs)
        defer { if !options.placement.renderCPUs.isEmpty { pinCurrentThread(to: ThreadPlacement.availableCPUs) } }
        run.start()
        func stopAll() -> ComputeReport { run.stop() }

        let total = options.warmup + options.frames
        var rendered: [RenderedFrame] = []
        rendered.reserveCapacity(total)
        var pendingByGeneration: [UInt64: Int] = [:]
        // Compute events arrive through the workers' telemetry rings, drained once per frame.
        var computed: [UInt64: ComputedFrame] = [:]
        computed.reserveCapacity(4 * total)
        func drainTelemetry() {
            pool.drainTelemetry { event in
                var frame = computed[event.generation]
                    ?? ComputedFrame(frameIndex: event.frameIndex, scheduleNanos: event.scheduleNanos)
                switch event.kind {
                case .tile:
                    frame.computeStartNanos = min(frame.computeStartNanos, event.startNanos)
                    frame.computeEndNanos = max(frame.computeEndNanos, event.endNanos)
                    frame.tiles += 1
                case .published:
                    frame.publishNanos = event.endNanos
                case .failed, .cancelled:
                    break
                }
                computed[event.generation] = frame
            }
        }
        let runStart = monotonicNanos()
        var lastGeneration: UInt64 = 0
        do {
            while rendered.count < total, !(options.stop?.isRequested ?? false) {
                guard let lease = try nextFrame(ring, pool, stallTimeoutSeconds: options.stallTimeoutSeconds, stop: stopAll)
                else {
                    break  // the kernel was disabled; the reason is reported below
                }
                let acquireNanos = monotonicNanos()
                let submitted = try ring.withReadableBytes(lease) { bytes in
                    try renderer.submitFrame(pixels: bytes, tag: lease.handle.generation)
                }
                // The renderer copied the frame into its staging buffer: the slot can go back now.
                try ring.release(lease)
                lastGeneration = lease.handle.generation
                pendingByGeneration[lease.handle.generation] = rendered.count
                rendered.append(
                    RenderedFrame(
                        generation: lease.handle.generation, acquireNanos: acquireNanos,
                        submitNanos: submitted.submitNanos))
                for completed in try renderer.collectCompleted() {
                    record(completed, into: &rendered, index: &pendingByGeneration)
                }
                drainTelemetry()
                options.progress(rendered.count, total)
            }
            for completed in try renderer.finish() {
                record(completed, into: &rendered, index: &pendingByGeneration)
            }
        } catch let error as RenderError {
            _ = stopAll()
            throw FramepipeError(error)
        } catch let error as FramepipeError {
            throw error
        } catch {
            _ = stopAll()
            throw FramepipeError(.failure, "render loop failed: \(error)")
        }
        let runEnd = monotonicNanos()
        let report = stopAll()
        drainTelemetry()
        if let reason = report.disabledBecause { throw FramepipeError(.kernelFailed, reason.message) }
        guard !rendered.isEmpty else {
            throw FramepipeError(.failure, "the run ended before any frame was rendered; nothing to report")
        }

        let pixels: [UInt8]
        do { pixels = try renderer.readBackLastFrame() } catch { throw FramepipeError(error) }

        try OutputFiles.createDirectory(options.outputDirectory)
        let pngPath = (options.outputDirectory as NSString).appendingPathComponent("last-frame.png")
        try OutputFiles.writePNG(pixels, width: options.width, height: options.height, to: pngPath)

        let measured = Array(rendered.dropFirst(options.warmup))
        let intervals = zip(measured.dropFirst(), measured).map { Double($0.submitNanos - $1.submitNanos) / 1e6 }
        let latencies = measured.compactMap { frame -> Double? in
            guard let compute = computed[frame.generation], frame.completeNanos > 0 else { return nil }
            return Double(frame.completeNanos - compute.scheduleNanos) / 1e6
        }
        let computeTimes = measured.compactMap { frame -> Double? in
            guard let compute = computed[frame.generation], compute.tiles > 0 else { return nil }
            return Double(compute.computeEndNanos - compute.computeStartNanos) / 1e6
        }
        let gpuTimes = measured.compactMap { $0.gpuNanos.map { $0 / 1e6 } }
        let intervalStats = DurationStatistics(milliseconds: intervals)
        let counters = ring.counters
        let lastFrameIndex = computed[lastGeneration]?.frameIndex ?? -1
        let stateful = pool.isStateful
        let tilesPerFrame = pool.tilesPerFrame

        let summary = BenchSummary(
            kernel: options.kernelPath,
            format: pool.format.name,
            engine: engine.description,
            device: .init(
                name: renderer.device.name, type: renderer.device.type, index: renderer.device.index,
                api_version: renderer.device.apiVersion),
            size: "\(options.width)x\(options.height)",
            workers: pool.workerCount,
            stateful: stateful,
            tiles_per_frame: tilesPerFrame,
            placement: .init(
                compute_cpus: report.workerCPUs, render_cpus: options.placement.renderCPUs,
                warnings: report.placementWarnings),
            limits: .init(
                fuel_per_tile: options.limits.fuelPerTile, max_memory_mib: options.limits.maxMemoryBytes >> 20,
                max_failures: options.maxConsecutiveFailures),
            slots: options.slotCount,
            policy: ring.policy.rawValue,
            frames: .init(
                measured: measured.count, failed: report.failedFrames, dropped: counters.dropped,
                stale_rejected: counters.staleRejected, warmup: min(options.warmup, rendered.count),
                cancelled: report.cancelledFrames),
            fps: intervalStats.map { $0.mean > 0 ? 1000 / $0.mean : 0 } ?? 0,
            frame_interval_ms: .init(intervalStats),
            jitter_ms: .init(stddev: intervalStats?.stddev ?? 0, p99_minus_p50: intervalStats?.p99MinusP50 ?? 0),
            latency_ms: .init(DurationStatistics(milliseconds: latencies)),
            compute_ms: .init(DurationStatistics(milliseconds: computeTimes)),
            gpu_ms: gpuTimes.isEmpty ? nil : .init(DurationStatistics(milliseconds: gpuTimes)),
            duration_s: Double(runEnd - runStart) / 1e9,
            last_frame: .init(generation: lastGeneration, frame: lastFrameIndex, png: "last-frame.png"),
            reloads: report.reloads.map { .init(path: $0.path, first_frame: $0.firstFrame, error: $0.error) },
            failures: report.failures.prefix(10).map { .init(fault: $0.fault?.rawValue ?? "fault", message: $0.message) })

        let summaryPath = (options.outputDirectory as NSString).appendingPathComponent("summary.json")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data: Data
        do { data = try encoder.encode(summary) } catch {
            throw FramepipeError(.failure, "cannot encode summary.json: \(error)")
        }
        try OutputFiles.write(data + Data("\n".utf8), to: summaryPath)
        return BenchResult(summary: summary, summaryPath: summaryPath, lastFramePath: pngPath)
    }

    /// Waits for the next published frame in short slices, so a disabled kernel ends the wait at once.
    private static func nextFrame(
        _ ring: SlotRing, _ pool: ComputePool, stallTimeoutSeconds: Double, stop: () -> ComputeReport
    ) throws(FramepipeError) -> ReadLease? {
        let deadline = monotonicNanos() + UInt64(stallTimeoutSeconds * 1e9)
        while monotonicNanos() < deadline {
            if let lease = ring.waitForFrame(timeoutNanos: 50_000_000) { return lease }
            if pool.isDisabled { return nil }
        }
        _ = stop()
        throw FramepipeError(
            .failure,
            "no frame from the kernel in \(Int(stallTimeoutSeconds)) s (too slow for --size? try a smaller one)")
    }

    private static func record(
        _ completed: CompletedFrame, into rendered: inout [RenderedFrame], index: inout [UInt64: Int]
    ) {
        guard let position = index.removeValue(forKey: completed.tag) else { return }
        rendered[position].completeNanos = completed.completeNanos
        rendered[position].gpuNanos = completed.gpuNanos
    }
}
