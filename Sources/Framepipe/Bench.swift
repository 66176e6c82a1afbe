import FrameHandoff
import FrameTiming
import Foundation
import KernelRuntime
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
    public var slotCount = 3
    /// Longest wait for the next frame before the run is abandoned (a kernel this slow is broken).
    public var stallTimeoutSeconds: Double = 60
    /// Where log lines from the run (kernel `fp.log`, frame failures) go.
    public var log: @Sendable (String) -> Void = { _ in }

    public init(kernelPath: String) {
        self.kernelPath = kernelPath
    }
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
    }
    public struct Stats: Codable, Sendable {
        public var mean: Double
        public var p50: Double
        public var p90: Double
        public var p99: Double
        public var max: Double
        public var min: Double
        public var stddev: Double

        init(_ statistics: DurationStatistics?) {
            mean = statistics?.mean ?? 0
            p50 = statistics?.p50 ?? 0
            p90 = statistics?.p90 ?? 0
            p99 = statistics?.p99 ?? 0
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
    public var slots: Int
    public var policy: String
    public var frames: Frames
    public var fps: Double
    public var frame_interval_ms: Stats
    public var latency_ms: Stats
    public var compute_ms: Stats
    public var gpu_ms: Stats?
    public var duration_s: Double
    public var last_frame: LastFrame

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

public enum Bench {
    public static let engineDescription = "WasmKit 0.4.2 (interpreter, eager compilation, fuel metering)"

    /// Runs the kernel on a compute worker into the slot ring and renders every frame it acquires
    /// offscreen with Vulkan on the calling (render) thread; writes summary.json and last-frame.png.
    public static func run(_ options: BenchOptions) throws(FramepipeError) -> BenchResult {
        guard options.frames > 0, options.warmup >= 0 else {
            throw FramepipeError(.usage, "--frames must be positive and --warmup not negative")
        }
        let module: KernelModule
        do { module = try KernelModule(path: options.kernelPath) } catch { throw FramepipeError(error) }

        let renderer: HeadlessRenderer
        do {
            renderer = try HeadlessRenderer(
                width: options.width, height: options.height, deviceIndex: options.deviceIndex)
        } catch {
            throw FramepipeError(error)
        }
        let frameBytes = options.width * options.height * 4
        let ring: SlotRing
        do {
            ring = try SlotRing(slotCount: options.slotCount, slotByteCount: frameBytes)
        } catch {
            throw FramepipeError(.usage, "cannot build the slot ring: \(error)")
        }
        let log = options.log
        let worker = ComputeWorker(
            module: module,
            settings: ComputeSettings(
                width: options.width, height: options.height, limits: options.limits, deterministicTime: true),
            ring: ring,
            host: KernelHost(log: { log("kernel: \($0)") }, input: { _ in 0 }))
        let format: KernelFormat
        do { format = try worker.start() } catch { throw FramepipeError(error) }
        // Only RGBA8 frames are drawn so far; the renderer issue adds fields and points.
        guard format == .rgba8 else {
            _ = worker.stop()
            throw FramepipeError(
                .badKernel,
                "\(options.kernelPath): format \(format.name) is not rendered yet; only RGBA8 (format 1) kernels are")
        }

        let total = options.warmup + options.frames
        var rendered: [RenderedFrame] = []
        rendered.reserveCapacity(total)
        var pendingByGeneration: [UInt64: Int] = [:]
        // Compute records arrive through the worker's telemetry ring, drained once per frame.
        var computeByGeneration: [UInt64: ComputeRecord] = [:]
        computeByGeneration.reserveCapacity(4 * total)
        func drainTelemetry() { worker.telemetry.drain { computeByGeneration[$0.generation] = $0 } }
        let runStart = monotonicNanos()
        var lastGeneration: UInt64 = 0
        do {
            while rendered.count < total {
                guard let lease = try nextFrame(ring, worker, stallTimeoutSeconds: options.stallTimeoutSeconds) else {
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
            }
            for completed in try renderer.finish() {
                record(completed, into: &rendered, index: &pendingByGeneration)
            }
        } catch let error as RenderError {
            _ = worker.stop()
            throw FramepipeError(error)
        } catch let error as FramepipeError {
            throw error
        } catch {
            _ = worker.stop()
            throw FramepipeError(.failure, "render loop failed: \(error)")
        }
        let runEnd = monotonicNanos()
        let report = worker.stop()
        drainTelemetry()
        if let reason = report.disabledBecause { throw FramepipeError(.kernelFailed, reason.message) }

        let pixels: [UInt8]
        do { pixels = try renderer.readBackLastFrame() } catch { throw FramepipeError(error) }

        try OutputFiles.createDirectory(options.outputDirectory)
        let pngPath = (options.outputDirectory as NSString).appendingPathComponent("last-frame.png")
        try OutputFiles.writePNG(pixels, width: options.width, height: options.height, to: pngPath)

        let measured = Array(rendered.dropFirst(options.warmup))
        let intervals = zip(measured.dropFirst(), measured).map { Double($0.submitNanos - $1.submitNanos) / 1e6 }
        let latencies = measured.compactMap { frame -> Double? in
            guard let compute = computeByGeneration[frame.generation], frame.completeNanos > 0 else { return nil }
            return Double(frame.completeNanos - compute.scheduleNanos) / 1e6
        }
        let computeTimes = measured.compactMap { frame -> Double? in
            guard let compute = computeByGeneration[frame.generation] else { return nil }
            return Double(compute.computeEndNanos - compute.computeStartNanos) / 1e6
        }
        let gpuTimes = measured.compactMap { $0.gpuNanos.map { $0 / 1e6 } }
        let intervalStats = DurationStatistics(milliseconds: intervals)
        let counters = ring.counters
        let lastFrameIndex = computeByGeneration[lastGeneration]?.frameIndex ?? -1

        let summary = BenchSummary(
            kernel: options.kernelPath,
            format: format.name,
            engine: engineDescription,
            device: .init(
                name: renderer.device.name, type: renderer.device.type, index: renderer.device.index,
                api_version: renderer.device.apiVersion),
            size: "\(options.width)x\(options.height)",
            workers: 1,
            slots: options.slotCount,
            policy: ring.policy.rawValue,
            frames: .init(
                measured: measured.count, failed: report.failedFrames, dropped: counters.dropped,
                stale_rejected: counters.staleRejected, warmup: options.warmup),
            fps: intervalStats.map { $0.mean > 0 ? 1000 / $0.mean : 0 } ?? 0,
            frame_interval_ms: .init(intervalStats),
            latency_ms: .init(DurationStatistics(milliseconds: latencies)),
            compute_ms: .init(DurationStatistics(milliseconds: computeTimes)),
            gpu_ms: gpuTimes.isEmpty ? nil : .init(DurationStatistics(milliseconds: gpuTimes)),
            duration_s: Double(runEnd - runStart) / 1e9,
            last_frame: .init(generation: lastGeneration, frame: lastFrameIndex, png: "last-frame.png"))

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
        _ ring: SlotRing, _ worker: ComputeWorker, stallTimeoutSeconds: Double
    ) throws(FramepipeError) -> ReadLease? {
        let deadline = monotonicNanos() + UInt64(stallTimeoutSeconds * 1e9)
        while monotonicNanos() < deadline {
            if let lease = ring.waitForFrame(timeoutNanos: 50_000_000) { return lease }
            if worker.isDisabled { return nil }
        }
        _ = worker.stop()
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
