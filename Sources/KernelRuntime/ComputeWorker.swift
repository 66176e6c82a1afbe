import CSystemShim
import FrameHandoff
import Foundation
import Synchronization

/// How the compute side runs a kernel.
public struct ComputeSettings: Sendable {
    public var width: Int
    public var height: Int
    public var limits: KernelLimits
    /// `time = frame / 60` (bench, capture: reproducible) instead of seconds since start (viewer).
    public var deterministicTime: Bool
    /// After this many consecutive failed frames the kernel is disabled.
    public var maxConsecutiveFailures: Int
    /// CPUs to pin the worker thread to; empty = let the scheduler place it.
    public var cpus: [Int32]

    public init(
        width: Int, height: Int, limits: KernelLimits = KernelLimits(), deterministicTime: Bool = true,
        maxConsecutiveFailures: Int = 3, cpus: [Int32] = []
    ) {
        self.width = width
        self.height = height
        self.limits = limits
        self.deterministicTime = deterministicTime
        self.maxConsecutiveFailures = maxConsecutiveFailures
        self.cpus = cpus
    }
}

/// Per-frame compute timestamps (CLOCK_MONOTONIC ns), one per published generation.
public struct ComputeRecord: Sendable, Equatable, BitwiseCopyable {
    public var generation: UInt64
    public var frameIndex: Int32
    public var scheduleNanos: UInt64
    public var computeStartNanos: UInt64
    public var computeEndNanos: UInt64
    public var publishNanos: UInt64
}

/// What the worker did, handed over once it has stopped.
public struct ComputeReport: Sendable {
    public var failedFrames: Int
    public var failures: [KernelError]
    /// Set when the kernel was disabled after too many consecutive failures.
    public var disabledBecause: KernelError?
}

/// A dedicated thread that owns one kernel instance and publishes every frame it computes into the
/// slot ring. The multi-worker tile pool replaces the single worker in the compute issue.
public final class ComputeWorker: Sendable {
    public let module: KernelModule
    public let settings: ComputeSettings
    private let ring: SlotRing
    private let host: KernelHost
    private let stopRequested = Atomic<Bool>(false)
    private let finished = Mutex<ComputeReport?>(nil)
    private let exited = DispatchSemaphore(value: 0)

    /// Telemetry, worker → timing: one record per published frame. The consumer (the render thread)
    /// drains it as it goes; when it falls behind by `telemetryCapacity` records, new ones are
    /// dropped and counted (`telemetry.dropped`) rather than ever blocking the compute thread.
    public let telemetry: SPSCRing<ComputeRecord>
    public static let telemetryCapacity = 4096

    public init(module: KernelModule, settings: ComputeSettings, ring: SlotRing, host: KernelHost = .headless) {
        self.module = module
        self.settings = settings
        self.ring = ring
        self.host = host
        self.telemetry = SPSCRing(roundingUpTo: Self.telemetryCapacity)
    }

    /// Starts the thread and returns the format the kernel declared. Throws if the kernel cannot be
    /// instantiated (then no thread keeps running).
    @discardableResult
    public func start() throws(KernelError) -> KernelFormat {
        let ready = DispatchSemaphore(value: 0)
        let startError = Mutex<KernelError?>(nil)
        let declaredFormat = Mutex<KernelFormat>(.rgba8)
        let thread = Thread { [self] in
            if !settings.cpus.isEmpty {
                _ = settings.cpus.withUnsafeBufferPointer { fp_pin_current_thread($0.baseAddress, $0.count) }
            }
            let instance: KernelInstance
            do throws(KernelError) {
                instance = try makeInstance()
            } catch {
                startError.withLock { $0 = error }
                ready.signal()
                exited.signal()
                return
            }
            declaredFormat.withLock { $0 = instance.format }
            ready.signal()
            let report = runLoop(instance)
            finished.withLock { $0 = report }
            exited.signal()
        }
        thread.name = "framepipe-compute-0"
        thread.stackSize = 8 << 20
        thread.start()
        ready.wait()
        if let error = startError.withLock({ $0 }) { throw error }
        return declaredFormat.withLock { $0 }
    }

    /// Asks the worker to stop after the frame it is computing, waits for it, and returns its report.
    public func stop() -> ComputeReport {
        stopRequested.store(true, ordering: .relaxed)
        exited.wait()
        exited.signal()  // idempotent: a second stop() returns at once
        return finished.withLock { $0 } ?? ComputeReport(failedFrames: 0, failures: [], disabledBecause: nil)
    }

    /// True once the worker has given up on the kernel (read by the render loop to stop waiting).
    public var isDisabled: Bool { disabled.load(ordering: .relaxed) }
    private let disabled = Atomic<Bool>(false)

    private func makeInstance() throws(KernelError) -> KernelInstance {
        try KernelInstance(
            module: module, width: settings.width, height: settings.height, limits: settings.limits, host: host)
    }

    private func runLoop(_ initial: KernelInstance) -> ComputeReport {
        var instance = initial
        var failures: [KernelError] = []
        var failedFrames = 0
        var consecutiveFailures = 0
        var frameIndex: Int32 = 0
        let startNanos = monotonicNanos()

        while !stopRequested.load(ordering: .relaxed) {
            let scheduleNanos = monotonicNanos()
            // Every slot held by the reader is rare under `latest` (it holds more frames in flight than
            // N − 2) and normal under `fifo` (backpressure): wait on the ring's futex, then re-check stop.
            guard let lease = ring.beginFrame(timeoutNanos: 50_000_000) else { continue }
            let time =
                settings.deterministicTime
                ? Double(frameIndex) / 60 : Double(monotonicNanos() - startNanos) / 1e9
            let computeStart = monotonicNanos()
            do {
                try instance.run(frame: frameIndex, time: time, units: 0..<instance.unitCount)
                try instance.withOutput(units: 0..<instance.unitCount) { output in
                    try ring.write(lease, at: 0, from: output)
                }
            } catch {
                ring.cancel(lease)
                let fault = error as? KernelError ?? KernelError(.runtimeFault, "\(error)")
                failedFrames += 1
                consecutiveFailures += 1
                if failures.count < 100 { failures.append(fault) }
                host.log("frame \(frameIndex) failed: \(fault.message)")
                if consecutiveFailures >= settings.maxConsecutiveFailures {
                    disabled.store(true, ordering: .relaxed)
                    return ComputeReport(
                        failedFrames: failedFrames, failures: failures,
                        disabledBecause: KernelError(
                            .runtimeFault,
                            "kernel disabled after \(consecutiveFailures) consecutive failed frames; last: \(fault.message)"
                        ))
                }
                // A trap can leave the instance in any state: start the next frame on a fresh one.
                if let fresh = try? makeInstance() { instance = fresh }
                frameIndex &+= 1
                continue
            }
            let computeEnd = monotonicNanos()
            let generation = lease.handle.generation
            ring.publish(lease)
            consecutiveFailures = 0
            telemetry.push(
                ComputeRecord(
                    generation: generation, frameIndex: frameIndex, scheduleNanos: scheduleNanos,
                    computeStartNanos: computeStart, computeEndNanos: computeEnd, publishNanos: monotonicNanos()))
            frameIndex &+= 1
        }
        return ComputeReport(failedFrames: failedFrames, failures: failures, disabledBecause: nil)
    }
}
