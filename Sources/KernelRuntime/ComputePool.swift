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
    /// After this many consecutive failed frames the kernel is disabled (until a reload).
    public var maxConsecutiveFailures: Int
    /// Worker threads, each with its own instance (stateful kernels use one instance, in order).
    public var workers: Int
    /// Tiles per frame and worker when several workers share a frame: more tiles balance uneven
    /// rows better, fewer cost less per-tile overhead. One worker computes a frame as one tile.
    public var tilesPerWorker: Int
    public var placement: ThreadPlacement
    /// Whether workers time their tiles and push `ComputeEvent`s into the telemetry rings. Off only
    /// to measure what that recording costs (the same bench with it off and on); the USDT probes
    /// stay either way (a `nop` each unless perf attaches).
    public var recordTelemetry: Bool = true
    /// How fast frames open: unpaced (bench, capture), one per frame the consumer takes (the viewer's
    /// default) or a fixed rate (`view --compute-rate`).
    public var pacing: ComputePacing = .unpaced

    public init(
        width: Int, height: Int, limits: KernelLimits = KernelLimits(), deterministicTime: Bool = true,
        maxConsecutiveFailures: Int = 3, workers: Int = 1, tilesPerWorker: Int = 8,
        placement: ThreadPlacement = ThreadPlacement(), recordTelemetry: Bool = true
    ) {
        self.width = width
        self.height = height
        self.limits = limits
        self.deterministicTime = deterministicTime
        self.maxConsecutiveFailures = maxConsecutiveFailures
        self.workers = workers
        self.tilesPerWorker = tilesPerWorker
        self.placement = placement
        self.recordTelemetry = recordTelemetry
    }
}

/// How fast a pool opens frames (`view --compute-rate display|unpaced|HZ`, docs/cli.md).
public enum ComputePacing: Sendable, Equatable {
    /// As fast as the workers and the ring allow (bench, capture).
    case unpaced
    /// One frame per frame the consumer takes (`ComputePool.frameTaken()`), at most one ahead
    /// (PacingGate.swift): a stateful kernel advances one step per shown frame.
    case consumer
    /// At most `hz` frames a second, evenly spaced (no catch-up bursts after a stall).
    case rate(hz: Double)
}

/// One compute event, worker → timing, through that worker's SPSC telemetry ring. Fixed size and
/// bitwise-copyable so recording it never allocates.
public struct ComputeEvent: Sendable, Equatable, BitwiseCopyable {
    public enum Kind: UInt8, Sendable, BitwiseCopyable {
        /// A tile was computed (or skipped because its frame was cancelled: start == end).
        case tile
        /// The last tile of a frame completed and the frame was published.
        case published
        /// A frame failed (a tile faulted) and its slot was freed.
        case failed
        /// A frame was cancelled for a kernel reload and its slot was freed.
        case cancelled
    }
    public var kind: Kind
    public var worker: UInt16
    public var tile: UInt16
    public var tileCount: UInt16
    public var frameIndex: Int32
    public var generation: UInt64
    /// When the frame was scheduled (its opener started claiming a slot).
    public var scheduleNanos: UInt64
    /// `.tile`: compute start/end. `.published`: both = publish time. Others: both = when freed.
    public var startNanos: UInt64
    public var endNanos: UInt64
    /// `.tile`, `.published`: the `time` the kernel was given for this frame (seconds), which a viewer screenshot
    /// records so that `capture --time` can reproduce it.
    public var kernelTime: Double = 0
    /// `.tile`: the worker thread's CPU time over the tile (CPUTimeSampling); 0 when not read.
    public var cpuNanos: UInt64 = 0
    /// `.tile`, `.published`: the revision of the parameter values the frame was computed with
    /// (`ComputePool.parameterValues(revision:)`), which a viewer screenshot records with the time.
    public var parameterRevision: UInt32 = 0
}

/// Whether a worker reads its thread CPU time around a tile (ComputeEvent.cpuNanos). The read is a system call of about
/// 1 µs here (twice per tile), so it is made only while this worker's tiles take at least `minimumTileNanos` (the cost
/// then stays under 1 %); a kernel of smaller tiles has no CPU-time figure. Per worker, never shared.
struct CPUTimeSampling {
    static let minimumTileNanos: UInt64 = 200_000
    /// The last tile's wall time; the first tile of a run is always read.
    private var lastTileNanos: UInt64 = .max

    var worthReading: Bool { lastTileNanos >= Self.minimumTileNanos }
    mutating func tileTook(_ nanos: UInt64) { lastTileNanos = nanos }
}

/// A kernel reload, as the pool saw it.
public struct ReloadEvent: Sendable, Equatable {
    public var path: String
    /// First frame index computed with the new kernel (nil when refused).
    public var firstFrame: Int32?
    /// Why the new file was refused (nil when applied).
    public var error: String?
}

/// What the pool did, handed over once it has stopped.
public struct ComputeReport: Sendable {
    public var failedFrames: Int
    /// Frames cancelled because a reload replaced their kernel mid-frame.
    public var cancelledFrames: Int
    /// The first 100 faults, in the order they happened.
    public var failures: [KernelError]
    /// Set when the kernel was disabled after too many consecutive failures (and not reloaded since).
    public var disabledBecause: KernelError?
    public var reloads: [ReloadEvent]
    /// Per worker, the CPUs it was pinned to (empty = unpinned), and any pinning failure.
    public var workerCPUs: [[Int32]]
    public var placementWarnings: [String]
}

/// A pool of worker threads that computes frames of one kernel into the slot ring.
///
/// Each frame is split into tiles (row or point ranges) that workers take from a lock-free
/// `TileQueue`, so fast workers take more. Every worker owns its own kernel instance (its own linear
/// memory). When every tile of frame g is taken, the next worker to ask opens frame g + 1 — as soon as
/// the ring has a free slot — so frames overlap instead of waiting for g's slowest tile. Stateful
/// kernels run as one tile on one shared instance, frame after frame in order.
///
/// Faults (trap, fuel exhausted, refused memory growth, non-zero return, output outside memory) fail
/// the frame: one log line, the faulting worker's instance is rebuilt, the pool goes on. After
/// `maxConsecutiveFailures` failed frames in a row the kernel is disabled until `reload`.
///
/// USDT probes (`sdt_framepipe:*`, docs/profiling.md): `schedule` when a frame opens, `tile_start` /
/// `tile_end` around each tile's compute, `publish` when the last tile published the frame.
public final class ComputePool: Sendable {
    public let settings: ComputeSettings
    public let workerCount: Int
    private let ring: SlotRing
    private let host: KernelHost
    private let diagnostics: @Sendable (String) -> Void
    private let queue: TileQueue<FrameJob>

    /// Telemetry, one SPSC ring per worker (single producer each); the consumer drains all of them.
    /// A consumer that falls `telemetryCapacity` events behind loses new ones (counted), never
    /// blocking a worker.
    private let telemetry: [SPSCRing<ComputeEvent>]
    public static let telemetryCapacity = 8192

    /// The job a frame's tiles carry: everything a worker needs, no references.
    struct FrameJob: BitwiseCopyable {
        var frame: SharedFrame
        var frameIndex: Int32
        var time: Double
        var parameters: KernelParameterValues
        var parameterRevision: UInt32
        var kernelEpoch: UInt32
        var unitCount: Int
        var unitsPerTile: Int
        var scheduleNanos: UInt64
    }

    /// A kernel version with the instances prepared for it.
    final class Installation: Sendable {
        let epoch: UInt32
        let kernel: any CompiledKernel
        let format: KernelFormat
        let isStateful: Bool
        let unitCount: Int
        let bytesPerUnit: Int
        let parameters: [KernelParameter]
        /// What its instances were made with (the parameter values to start from; a rebuilt instance uses it too).
        let host: KernelHost
        /// Stateless: one instance per worker, taken by each worker when it first sees this epoch.
        let spares: Locked<[Int: any KernelInstance]>
        /// Stateful: the one instance every frame runs on (whichever worker takes the frame's tile).
        let shared: Locked<(any KernelInstance)?>

        init(epoch: UInt32, kernel: any CompiledKernel, host: KernelHost, instances: [any KernelInstance]) {
            let first = instances[0]
            self.epoch = epoch
            self.kernel = kernel
            self.host = host
            self.parameters = first.parameters
            self.format = first.format
            self.isStateful = first.isStateful
            self.unitCount = first.unitCount
            self.bytesPerUnit = first.bytesPerUnit
            if first.isStateful {
                spares = Locked([:])
                shared = Locked(first)
            } else {
                spares = Locked(Dictionary(uniqueKeysWithValues: instances.enumerated().map { ($0.offset, $0.element) }))
                shared = Locked(nil)
            }
        }
    }

    private let installations = Locked<[UInt32: Installation]>([:])
    private let currentEpoch = Atomic<UInt32>(0)
    /// Set by `reload`, taken by the next opener (at a frame boundary).
    private let pendingInstallation = Locked<Installation?>(nil)
    private let reloadPending = Atomic<Bool>(false)

    private let nextFrameIndex = Atomic<Int32>(0)
    /// Consecutive failed frames, counted in frame order (FrameOutcomeLedger.swift).
    private let ledger: Locked<FrameOutcomeLedger>
    private let disabled = Atomic<Bool>(false)
    private let stopRequested = Atomic<Bool>(false)
    private let paused = Atomic<Bool>(false)
    /// The kernel's real-time clock (viewer): time paused is taken out, so a kernel resumes where it
    /// was, and each single step (N while paused) moves it on by the step's length.
    private let pauseClock = Locked(PauseClock())
    /// Single steps asked for while paused, not yet opened.
    private let stepsRequested = Atomic<Int>(0)
    /// `.consumer` pacing: frames settle as the consumer takes them or as they fail.
    private let pacingGate: PacingGate?
    /// `.rate` pacing: when the next frame is due (monotonic ns; 0: at once).
    private let rateNextDue = Atomic<UInt64>(0)
    private let failedFrameCount = Atomic<Int>(0)
    private let cancelledFrameCount = Atomic<Int>(0)
    private let record = Locked(Record())
    private let startNanos: UInt64
    private let exited: [DispatchSemaphore]
    private let started = Atomic<Bool>(false)
    private let liveParameters: Locked<LiveParameters>

    /// The running kernel's parameters and the values the next frame opens with (viewer sliders change them). Every
    /// change is a new revision; the last `parameterHistoryCapacity` revisions stay looked-up-able, so a frame shown a
    /// few frames after a change still names the values it was computed with.
    private struct LiveParameters {
        var parameters: [KernelParameter]
        var values: KernelParameterValues
        var revision: UInt32 = 0
        var history: [(revision: UInt32, values: KernelParameterValues)] = []

        init(parameters: [KernelParameter], values: KernelParameterValues) {
            self.parameters = parameters
            self.values = values
            history = [(0, values)]
        }

        mutating func set(_ new: KernelParameterValues) {
            revision &+= 1
            values = new
            history.append((revision, new))
            if history.count > ComputePool.parameterHistoryCapacity { history.removeFirst() }
        }

        var byName: [String: Float] {
            Dictionary(zip(parameters.map(\.name), values.array), uniquingKeysWith: { first, _ in first })
        }
    }

    private struct PauseClock {
        var pausedSince: UInt64?
        var pausedTotal: UInt64 = 0
        var stepped: UInt64 = 0

        /// Nanoseconds of kernel time at `now`, for a pool started at `start`.
        func kernelNanos(now: UInt64, start: UInt64) -> UInt64 {
            let paused = pausedTotal &+ (pausedSince.map { now &- $0 } ?? 0)
            return (now &- start) &- paused &+ stepped
        }
    }

    private struct Record {
        var failures: [KernelError] = []
        var disabledBecause: KernelError?
        var reloads: [ReloadEvent] = []
        var placementWarnings: [String] = []
        /// Every fault so far, and the lines of the last `recentFaultCapacity` (as logged), oldest first.
        var faultCount = 0
        var recentFaultLines: [String] = []
    }

    /// Builds the pool and one instance per worker on the calling thread, so a kernel that cannot
    /// start throws here, before any thread runs.
    public init(
        kernel: any CompiledKernel, settings: ComputeSettings, ring: SlotRing, host: KernelHost = .headless,
        diagnostics: @escaping @Sendable (String) -> Void = { _ in }
    ) throws(KernelError) {
        let workerCount = min(max(settings.workers, 1), 256)
        self.settings = settings
        self.workerCount = workerCount
        self.ring = ring
        self.host = host
        self.diagnostics = diagnostics
        self.ledger = Locked(FrameOutcomeLedger(limit: settings.maxConsecutiveFailures))
        self.pacingGate = settings.pacing == .consumer ? PacingGate(lookahead: 1) : nil
        do {
            self.queue = try TileQueue<FrameJob>(jobCapacity: 16)
        } catch {
            throw KernelError(.hostFailure, "cannot build the tile queue: \(error)")
        }
        self.telemetry = (0..<workerCount).map { _ in SPSCRing(roundingUpTo: Self.telemetryCapacity) }
        self.exited = (0..<workerCount).map { _ in DispatchSemaphore(value: 0) }
        self.startNanos = monotonicNanos()
        let installation = try Self.install(
            kernel, epoch: 0, settings: settings, workers: workerCount, host: host, expecting: nil, slotBytes: ring.slotByteCount)
        let values = KernelParameterValues(installation.parameters, overrides: host.parameterOverrides)
        liveParameters = Locked(LiveParameters(parameters: installation.parameters, values: values))
        installations.withLock { $0[0] = installation }
    }

    /// How many parameter revisions `parameterValues(revision:)` keeps.
    public static let parameterHistoryCapacity = 64

    /// The running kernel's parameters (empty when it declares none).
    public var parameters: [KernelParameter] { liveParameters.withLock { $0.parameters } }
    /// The values the next frame opens with, by name (what `bench` records in summary.json).
    public var parameterValuesByName: [String: Float] { liveParameters.withLock { $0.byName } }
    /// The values the next frame opens with, and their revision.
    public var parameterValues: (values: KernelParameterValues, revision: UInt32) {
        liveParameters.withLock { ($0.values, $0.revision) }
    }
    /// The values of an earlier revision (a `ComputeEvent.parameterRevision`), while it is among the last
    /// `parameterHistoryCapacity`.
    public func parameterValues(revision: UInt32) -> KernelParameterValues? {
        liveParameters.withLock { live in live.history.last(where: { $0.revision == revision })?.values }
    }

    /// Sets parameter `index` of the running kernel (clamped into its range) from the next frame on; ignored for an
    /// index it does not declare.
    public func setParameter(_ index: Int, to value: Float) {
        liveParameters.withLock { live in
            guard index >= 0, index < live.parameters.count, value.isFinite else { return }
            var values = live.values
            values[index] = live.parameters[index].clamped(value)
            if values != live.values { live.set(values) }
        }
    }

    /// The format the running kernel declared.
    public var format: KernelFormat { installation(currentEpoch.load(ordering: .relaxed))?.format ?? .rgba8 }
    /// Units (rows or points) per frame of the running kernel.
    public var unitCount: Int { installation(currentEpoch.load(ordering: .relaxed))?.unitCount ?? 0 }
    /// Whether the running kernel is stateful (one instance, frames in order).
    public var isStateful: Bool { installation(currentEpoch.load(ordering: .relaxed))?.isStateful ?? false }

    private func installation(_ epoch: UInt32) -> Installation? { installations.withLock { $0[epoch] } }

    private static func install(
        _ kernel: any CompiledKernel, epoch: UInt32, settings: ComputeSettings, workers: Int, host: KernelHost,
        expecting running: Installation?, slotBytes: Int
    ) throws(KernelError) -> Installation {
        let first = try kernel.instantiate(
            width: settings.width, height: settings.height, limits: settings.limits, host: host)
        if let running {
            guard first.format == running.format else {
                throw KernelError(
                    .invalidModule,
                    "\(kernel.path): declares format \(first.format.name) but the running kernel is \(running.format.name); restart to change formats"
                )
            }
            guard first.unitCount == running.unitCount else {
                throw KernelError(
                    .invalidModule,
                    "\(kernel.path): declares \(first.unitCount) \(first.format.unitName) but the running kernel has \(running.unitCount); restart to change the point count"
                )
            }
        }
        guard first.outputByteCount <= slotBytes else {
            throw KernelError(
                .invalidModule,
                "\(kernel.path): output of \(first.outputByteCount) bytes does not fit a \(slotBytes)-byte slot")
        }
        var instances: [any KernelInstance] = [first]
        if !first.isStateful {
            for _ in 1..<max(workers, 1) {
                instances.append(
                    try kernel.instantiate(
                        width: settings.width, height: settings.height, limits: settings.limits, host: host))
            }
        }
        return Installation(epoch: epoch, kernel: kernel, host: host, instances: instances)
    }

    // MARK: Control

    /// Starts the worker threads (once).
    public func start() {
        guard !started.exchange(true, ordering: .relaxed) else { return }
        for worker in 0..<workerCount {
            let exited = self.exited[worker]
            // The worker holds the pool only while it runs and lets go before it signals: the
            // thread that stops the pool then owns the last reference, so the pool (its instances,
            // its ring, the renderer memory the ring keeps alive) is never freed on a worker thread
            // racing the process's exit.
            let thread = Thread { [weak self] in
                if let pool = self {
                    // The name perf, top and gdb show. Foundation on Linux applies a name only when the
                    // thread sets its own (one set before `start()` is kept but never reaches the OS),
                    // and Linux keeps 15 bytes, refusing longer ones: "fp-compute-255" fits.
                    Thread.current.name = "fp-compute-\(worker)"
                    let cpus = pool.settings.placement.cpus(forWorker: worker)
                    if let warning = pinCurrentThread(to: cpus) {
                        pool.record.withLock { $0.placementWarnings.append("worker \(worker): \(warning)") }
                    }
                    pool.runWorker(worker)
                }
                exited.signal()
            }
            thread.name = "fp-compute-\(worker)"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// Stops the workers after the tiles they are computing, waits for them, and returns the report.
    public func stop() -> ComputeReport {
        stopRequested.store(true, ordering: .sequentiallyConsistent)
        queue.stop()
        if started.load(ordering: .relaxed) {
            for semaphore in exited {
                semaphore.wait()
                semaphore.signal()  // a second stop() returns at once
            }
        }
        let record = self.record.withLock { $0 }
        return ComputeReport(
            failedFrames: failedFrameCount.load(ordering: .relaxed),
            cancelledFrames: cancelledFrameCount.load(ordering: .relaxed),
            failures: record.failures, disabledBecause: record.disabledBecause, reloads: record.reloads,
            workerCPUs: (0..<workerCount).map { settings.placement.cpus(forWorker: $0) },
            placementWarnings: record.placementWarnings)
    }

    /// Pauses or resumes the pool (viewer: Space). While paused no new frame opens — frames in
    /// flight finish — and, with real time, the clock a kernel sees stands still.
    public func setPaused(_ pause: Bool) {
        let now = monotonicNanos()
        pauseClock.withLock { clock in
            if pause, clock.pausedSince == nil { clock.pausedSince = now }
            if !pause, let since = clock.pausedSince {
                clock.pausedTotal &+= now &- since
                clock.pausedSince = nil
            }
        }
        if !pause { stepsRequested.store(0, ordering: .relaxed) }
        paused.store(pause, ordering: .relaxed)
    }
    public var isPaused: Bool { paused.load(ordering: .relaxed) }

    /// While paused: opens one more frame (viewer: N), its real-time clock `nanos` later than the
    /// last one's. Ignored while running.
    public func step(advancingClockBy nanos: UInt64) {
        guard paused.load(ordering: .relaxed) else { return }
        pauseClock.withLock { $0.stepped &+= nanos }
        stepsRequested.add(1, ordering: .relaxed)
    }

    /// `.consumer` pacing: the consumer took a frame off the ring, so the next one may open. Call
    /// once per frame taken (whatever is done with it afterwards); a no-op for other pacings.
    public func frameTaken() { pacingGate?.settle() }

    /// How many fault lines `recentFaults` keeps.
    public static let recentFaultCapacity = 4
    /// Faults so far and the lines of the last few, oldest first (the viewer shows them): cheap to poll.
    public var recentFaults: (count: Int, lines: [String]) {
        record.withLock { ($0.faultCount, $0.recentFaultLines) }
    }

    /// Frames that failed or were cancelled so far (never published).
    public var framesSettledUnshown: Int {
        failedFrameCount.load(ordering: .relaxed) + cancelledFrameCount.load(ordering: .relaxed)
    }

    /// Frames opened so far (the next frame's index).
    public var framesOpened: Int { Int(nextFrameIndex.load(ordering: .relaxed)) }

    /// True while the kernel is disabled after repeated failures (until a successful reload).
    public var isDisabled: Bool { disabled.load(ordering: .relaxed) }
    /// Why the kernel is disabled, while it is.
    public var disabledReason: KernelError? { isDisabled ? record.withLock { $0.disabledBecause } : nil }

    /// Builds and validates instances of `kernel` on the calling thread (off the hot path), then
    /// queues them; the next frame to open uses them, and frames of the old kernel still in flight are
    /// cancelled at their next tile boundary. A kernel that cannot be used throws and changes nothing:
    /// the old kernel keeps running. A successful reload also re-enables a disabled kernel.
    public func reload(_ kernel: any CompiledKernel) throws(KernelError) {
        let running = installation(currentEpoch.load(ordering: .relaxed))
        let epoch = pendingInstallation.withLock { $0?.epoch } ?? currentEpoch.load(ordering: .relaxed)
        let installation: Installation
        do {
            installation = try Self.install(
                kernel, epoch: epoch &+ 1, settings: settings, workers: workerCount, host: reloadHost(), expecting: running,
                slotBytes: ring.slotByteCount)
        } catch {
            recordRefusedReload(path: kernel.path, error)
            throw error
        }
        installations.withLock { $0[installation.epoch] = installation }
        pendingInstallation.withLock { $0 = installation }
        reloadPending.store(true, ordering: .releasing)
    }

    /// The host a reloaded kernel starts with: the values the running kernel has now, by name, over `--param`'s.
    private func reloadHost() -> KernelHost {
        var reloaded = host
        reloaded.parameterOverrides.merge(parameterValuesByName) { _, live in live }
        return reloaded
    }

    /// Reloads so far: applied (with their first frame) and refused (with the reason).
    public var reloads: [ReloadEvent] { record.withLock { $0.reloads } }
    /// How many reloads there were (applied and refused), and the last one: cheap to poll every frame.
    public var lastReload: (count: Int, event: ReloadEvent?) { record.withLock { ($0.reloads.count, $0.reloads.last) } }

    func recordRefusedReload(path: String, _ error: KernelError) {
        record.withLock { $0.reloads.append(ReloadEvent(path: path, firstFrame: nil, error: error.message)) }
    }

    /// Hands every telemetry event recorded since the last call to `body` (one consumer thread).
    public func drainTelemetry(_ body: (ComputeEvent) -> Void) {
        for ring in telemetry { ring.drain(body) }
    }

    /// Events lost because the consumer fell behind.
    public var telemetryDropped: UInt64 { telemetry.reduce(0) { $0 + $1.dropped } }

    // MARK: Workers

    private func runWorker(_ worker: Int) {
        var current: Installation?
        var instance: (any KernelInstance)?
        var cpuSampling = CPUTimeSampling()
        while true {
            switch queue.take() {
            case .stopped:
                return
            case .open(let after):
                openNextFrame(after: after)
            case .tile(let ticket, let job):
                if current?.epoch != job.kernelEpoch {
                    current = installation(job.kernelEpoch)
                    instance = current.flatMap { installation in installation.spares.withLock { $0.removeValue(forKey: worker) } }
                }
                guard let current else {
                    // Unreachable: an epoch is installed before any job carries it. Free the tile.
                    complete(ticket, job, worker: worker)
                    continue
                }
                computeTile(
                    ticket, job, worker: worker, installation: current, instance: &instance, cpuSampling: &cpuSampling)
            }
        }
    }

    /// The opener: applies a pending reload, waits while the kernel is disabled, claims a slot, and
    /// opens the next frame's tiles.
    private func openNextFrame(after sequence: UInt32) {
        while true {
            if stopRequested.load(ordering: .relaxed) {
                queue.stop()
                return
            }
            if reloadPending.load(ordering: .acquiring) { applyReload(openedSoFar: sequence) }
            // Disabled (nothing to compute until a reload or stop) or paused: idle, so a 5 ms poll
            // costs nothing and keeps the hot path free of any wake-up protocol for these states.
            if disabled.load(ordering: .relaxed) {
                usleep(5_000)
                continue
            }
            // Paced: waits of at most 5 ms, so stop, reload and pause are seen between them.
            let next = UInt32(bitPattern: nextFrameIndex.load(ordering: .relaxed))
            if let pacingGate, !pacingGate.wait(toOpen: next, timeoutNanos: 5_000_000) { continue }
            if paused.load(ordering: .relaxed) {
                if !takeStep() {
                    usleep(5_000)
                    continue
                }
            } else if case .rate(let hz) = settings.pacing {
                let now = monotonicNanos()
                let due = rateNextDue.load(ordering: .relaxed)
                if now < due {
                    usleep(UInt32(min(due - now, 5_000_000) / 1_000))
                    continue
                }
                // Evenly spaced from the last due time; after a stall (paused, slow frames) from now,
                // never a burst to catch up.
                let period = UInt64(1e9 / hz)
                let following = due &+ period
                rateNextDue.store(following > now ? following : now &+ period, ordering: .relaxed)
            }
            break
        }
        guard let installation = installation(currentEpoch.load(ordering: .relaxed)) else {
            queue.stop()
            return
        }
        let scheduleNanos = monotonicNanos()
        guard let lease = claimSlot() else {
            queue.stop()
            return
        }
        let units = installation.unitCount
        let (unitsPerTile, tiles) = tiling(of: installation)
        let frameIndex = nextFrameIndex.load(ordering: .relaxed)
        nextFrameIndex.store(frameIndex &+ 1, ordering: .relaxed)
        let time =
            settings.deterministicTime
            ? Double(frameIndex) / 60
            : Double(pauseClock.withLock { $0.kernelNanos(now: monotonicNanos(), start: startNanos) }) / 1e9
        let (parameters, parameterRevision) = liveParameters.withLock { ($0.values, $0.revision) }
        let frame = ring.share(lease, tiles: tiles)
        fp_probe_schedule(frame.handle.generation, frameIndex)
        queue.open(
            FrameJob(
                frame: frame, frameIndex: frameIndex, time: time, parameters: parameters,
                parameterRevision: parameterRevision, kernelEpoch: installation.epoch, unitCount: units,
                unitsPerTile: unitsPerTile, scheduleNanos: scheduleNanos),
            tileCount: tiles, after: sequence, inOrder: installation.isStateful)
    }

    /// Takes one requested single step, if any.
    private func takeStep() -> Bool {
        var steps = stepsRequested.load(ordering: .relaxed)
        while steps > 0 {
            let (exchanged, original) = stepsRequested.compareExchange(
                expected: steps, desired: steps - 1, ordering: .relaxed)
            if exchanged { return true }
            steps = original
        }
        return false
    }

    /// How a frame of `installation` is cut: consecutive units per tile, and the tile count that
    /// gives (`min(units, tilesPerWorker × workers)` tiles asked for; rounding the tile size up may
    /// need fewer). One tile for one worker or a stateful kernel.
    private func tiling(of installation: Installation) -> (unitsPerTile: Int, tiles: Int) {
        let units = installation.unitCount
        // An engine that bounds time by fuel cuts frames even for one worker, so that one call does
        // a fraction of a frame's work, well inside its time budget.
        let asked =
            installation.isStateful || (workerCount == 1 && !installation.kernel.boundsTimeByFuel)
            ? 1 : min(units, workerCount * max(1, settings.tilesPerWorker), TileQueue<FrameJob>.maxTileCount)
        let unitsPerTile = (units + asked - 1) / asked
        return (unitsPerTile, (units + unitsPerTile - 1) / unitsPerTile)
    }

    /// Tiles per frame of the running kernel.
    public var tilesPerFrame: Int {
        installation(currentEpoch.load(ordering: .relaxed)).map { tiling(of: $0).tiles } ?? 1
    }

    /// A free slot, waiting while there is none (the reader holds the others: fifo backpressure, or
    /// a slow renderer); nil once stop is requested.
    private func claimSlot() -> WriteLease? {
        while !stopRequested.load(ordering: .relaxed) {
            if let lease = ring.beginFrame(timeoutNanos: 50_000_000) { return lease }
        }
        return nil
    }

    /// At a frame boundary: switch to the pending installation and cancel the old kernel's frames
    /// still in flight (their remaining tiles are skipped; the last one frees the slot).
    private func applyReload(openedSoFar sequence: UInt32) {
        guard let next = pendingInstallation.withLock({ pending -> Installation? in
            defer { pending = nil }
            return pending
        }) else { return }
        reloadPending.store(false, ordering: .relaxed)
        // The opener is the only writer of job records, so reading recent ones here is safe; a record
        // whose frame already finished names a slot generation that no longer exists, and
        // `cancel` ignores it.
        for back in 0..<UInt32(queue.jobCapacity) where back < sequence {
            let job = queue.job(sequence &- back)
            if job.kernelEpoch != next.epoch { ring.cancel(job.frame) }
        }
        currentEpoch.store(next.epoch, ordering: .releasing)
        installations.withLock { all in all = all.filter { $0.key == next.epoch } }
        let firstFrame = nextFrameIndex.load(ordering: .relaxed)
        ledger.withLock { $0.restart(countingFrom: firstFrame) }
        // Values carry over by name as they are now (a slider may have moved since `reload` built the instances).
        liveParameters.withLock { live in
            var overrides = next.host.parameterOverrides
            overrides.merge(live.byName) { _, now in now }
            live.parameters = next.parameters
            live.history.removeAll()  // revisions of the old kernel name none of the new one's frames
            live.set(KernelParameterValues(next.parameters, overrides: overrides))
        }
        let wasDisabled = disabled.exchange(false, ordering: .relaxed)
        record.withLock {
            $0.reloads.append(ReloadEvent(path: next.kernel.path, firstFrame: firstFrame, error: nil))
            if wasDisabled { $0.disabledBecause = nil }
        }
        diagnostics("kernel \(next.kernel.name): reloaded from \(next.kernel.path), from frame \(firstFrame) on")
    }

    private func computeTile(
        _ ticket: TileTicket, _ job: FrameJob, worker: Int, installation: Installation,
        instance: inout (any KernelInstance)?, cpuSampling: inout CPUTimeSampling
    ) {
        let lower = ticket.tile * job.unitsPerTile
        let units = lower..<min(job.unitCount, lower + job.unitsPerTile)
        let recording = settings.recordTelemetry
        let generation = job.frame.handle.generation
        let probeWorker = Int32(truncatingIfNeeded: worker)
        let probeTile = Int32(truncatingIfNeeded: ticket.tile)
        let start = recording ? monotonicNanos() : 0
        let cpuStart = recording && cpuSampling.worthReading ? threadCPUNanos() : 0
        fp_probe_tile_start(generation, probeWorker, probeTile)
        if !ring.isCancelled(job.frame) {
            do throws(KernelError) {
                if installation.isStateful {
                    try installation.shared.withLock { shared throws(KernelError) in
                        guard let stateful = shared else { throw KernelError(.runtimeFault, "no instance") }
                        try run(stateful, job, units: units, bytesPerUnit: installation.bytesPerUnit)
                    }
                } else {
                    if instance == nil { instance = try rebuild(installation) }
                    if let instance { try run(instance, job, units: units, bytesPerUnit: installation.bytesPerUnit) }
                }
            } catch {
                fail(ticket, job, worker: worker, installation: installation, units: units, error)
                // A fault can leave an instance in any state: replace it before its next tile.
                if installation.isStateful {
                    let fresh = try? rebuild(installation)
                    installation.shared.withLock { $0 = fresh }
                } else {
                    instance = try? rebuild(installation)
                }
            }
        }
        fp_probe_tile_end(generation, probeWorker, probeTile)
        if recording {
            let cpu = cpuStart != 0 ? max(1, threadCPUNanos() &- cpuStart) : 0
            let end = monotonicNanos()
            cpuSampling.tileTook(end &- start)
            telemetry[worker].push(
                ComputeEvent(
                    kind: .tile, worker: UInt16(truncatingIfNeeded: worker), tile: UInt16(truncatingIfNeeded: ticket.tile),
                    tileCount: UInt16(truncatingIfNeeded: ticket.tileCount), frameIndex: job.frameIndex,
                    generation: generation, scheduleNanos: job.scheduleNanos, startNanos: start, endNanos: end,
                    kernelTime: job.time, cpuNanos: cpu, parameterRevision: job.parameterRevision))
        }
        complete(ticket, job, worker: worker)
    }

    private func run(_ instance: any KernelInstance, _ job: FrameJob, units: Range<Int>, bytesPerUnit: Int)
        throws(KernelError)
    {
        // Every tile of a frame sees the values the frame opened with (FrameJob); the count differs only for a job of
        // another kernel version, which is being cancelled.
        if job.parameters.count == instance.parameters.count { instance.parameterValues = job.parameters }
        try instance.run(frame: job.frameIndex, time: job.time, units: units)
        do {
            try instance.withOutput(units: units) { output in
                try ring.write(job.frame, at: units.lowerBound * bytesPerUnit, from: output)
            }
        } catch let error as KernelError {
            throw error
        } catch {
            throw KernelError(.runtimeFault, "cannot copy the tile into its slot: \(error)", fault: .outputOutsideMemory)
        }
    }

    private func rebuild(_ installation: Installation) throws(KernelError) -> any KernelInstance {
        try installation.kernel.instantiate(
            width: settings.width, height: settings.height, limits: settings.limits, host: installation.host)
    }

    private func fail(
        _ ticket: TileTicket, _ job: FrameJob, worker: Int, installation: Installation, units: Range<Int>,
        _ error: KernelError
    ) {
        queue.markFailed(ticket)
        ring.cancel(job.frame)
        let line =
            "kernel \(installation.kernel.name): frame \(job.frameIndex) tile \(ticket.tile + 1)/\(ticket.tileCount) "
            + "(\(installation.format.unitName) \(units.lowerBound)..<\(units.upperBound), worker \(worker)) failed "
            + "[\(error.fault?.rawValue ?? "fault")]: \(error.message)"
        diagnostics(line)
        ledger.withLock { $0.noteFailure(of: job.frameIndex, error) }
        record.withLock {
            if $0.failures.count < 100 { $0.failures.append(error) }
            $0.faultCount += 1
            if $0.recentFaultLines.count == Self.recentFaultCapacity { $0.recentFaultLines.removeFirst() }
            $0.recentFaultLines.append(line)
        }
    }

    /// Completes a tile in the ring (the last one publishes or frees the frame) and in the queue.
    private func complete(_ ticket: TileTicket, _ job: FrameJob, worker: Int) {
        // Stamped before completeTile: once it publishes, a waiting renderer may acquire the frame
        // at once, and publish must not be recorded after acquire.
        let beforeCompletion = settings.recordTelemetry ? monotonicNanos() : 0
        let outcome = ring.completeTile(job.frame)
        var event = ComputeEvent(
            kind: .published, worker: UInt16(truncatingIfNeeded: worker), tile: UInt16(truncatingIfNeeded: ticket.tile),
            tileCount: UInt16(truncatingIfNeeded: ticket.tileCount), frameIndex: job.frameIndex,
            generation: job.frame.handle.generation, scheduleNanos: job.scheduleNanos, startNanos: 0, endNanos: 0,
            kernelTime: job.time, parameterRevision: job.parameterRevision)
        switch outcome {
        case .published:
            fp_probe_publish(job.frame.handle.generation, job.frameIndex)
            _ = ledger.withLock { $0.record(.published, of: job.frameIndex) }
            event.kind = .published
        case .cancelled:
            if queue.jobFailed(ticket) {
                failedFrameCount.add(1, ordering: .relaxed)
                event.kind = .failed
                let trip = ledger.withLock { ledger in
                    _ = ledger.record(.failed, of: job.frameIndex)
                    return ledger.takeTrip()
                }
                if let trip { disable(after: settings.maxConsecutiveFailures, last: trip) }
            } else {
                cancelledFrameCount.add(1, ordering: .relaxed)
                event.kind = .cancelled
                _ = ledger.withLock { $0.record(.cancelled, of: job.frameIndex) }
            }
            // Never shown, so the consumer will not take it: the pacing gate must not wait for it.
            pacingGate?.settle()
        case .pending, .stale:
            queue.finish(ticket)
            return
        }
        if settings.recordTelemetry {
            event.startNanos = beforeCompletion
            event.endNanos = beforeCompletion
            telemetry[worker].push(event)
        }
        queue.finish(ticket)
    }

    /// Disables the kernel; `last` is the failure of the last failed frame in frame order.
    private func disable(after failures: Int, last: KernelError?) {
        guard !disabled.exchange(true, ordering: .relaxed) else { return }
        let reason = record.withLock { record -> KernelError in
            let error = KernelError(
                .runtimeFault,
                "kernel disabled after \(failures) consecutive failed frames (--max-failures \(settings.maxConsecutiveFailures)); last: \(last?.message ?? "unknown fault")",
                fault: last?.fault)
            record.disabledBecause = error
            return error
        }
        diagnostics(reason.message)
    }
}
