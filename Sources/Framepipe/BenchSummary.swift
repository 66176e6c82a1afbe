import FrameTiming
import KernelRuntime

/// `summary.json`, schema `framepipe.bench/2` (documented field by field in docs/benchmarking.md).
/// Fields are only ever added to a schema, never renamed or removed: scripts read it. /2 made `engine`
/// an object (it was the description string in /1, now `engine.description`); nothing else changed.
public struct BenchSummary: Codable, Sendable {
    /// The engine that ran the kernel, as it describes itself.
    public struct Engine: Codable, Sendable {
        /// "WasmKit" or "wasmtime".
        public var name: String
        public var version: String
        /// "compiler" or "interpreter".
        public var kind: String
        public var mode: String
        /// What stops a runaway kernel, e.g. "deadline 5000 ms per call (epoch interruption)".
        public var runaway_guard: String
        /// One line: name, version, kind and mode (what /1 had as `engine`).
        public var description: String
    }
    public struct Device: Codable, Sendable {
        public var name: String
        public var type: String
        public var index: Int
        public var api_version: String
        /// The Vulkan driver (VulkanDeviceInfo.driverName / driverInfo / driverVersionText); absent in older summaries.
        public var driver_name: String?
        public var driver_info: String?
        public var driver_version: String?
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
        /// `--cpu-dma-latency`: the PM QoS request held during the run (µs), absent when none was.
        public var cpu_dma_latency_us: Int?
    }
    public struct Limits: Codable, Sendable {
        public var fuel_per_tile: UInt64
        public var max_memory_mib: Int
        public var max_failures: Int
        /// `--tile-timeout`: wall-clock deadline of one call into the kernel, where the engine has one.
        public var tile_timeout_ms: Double
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
    /// Statistics of one series of durations, in milliseconds; all 0 with `count` 0 when the series
    /// had no samples (e.g. GPU time on a queue without timestamps, or recording off).
    public struct Stats: Codable, Sendable, Equatable {
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
        /// The percentiles above that the sample count cannot support (p99 needs 100 samples, p999 1000:
        /// DurationStatistics.samplesNeeded), e.g. ["p999"]; they are shown as "—" and not compared with a baseline.
        /// Absent when all are supported, and in older summaries.
        public var unsupported: [String]?

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
            let unsupported = statistics?.unsupportedPercentiles ?? []
            self.unsupported = unsupported.isEmpty ? nil : unsupported
        }
    }
    /// One entry per stage of a frame (FrameTiming.Stage; definitions in docs/benchmarking.md).
    /// Encoded as an object with one key per stage, named and ordered as `Stage.allCases`.
    public struct Stages: Codable, Sendable {
        private var byStage: [Stage: Stats]

        init(_ stages: [Stage: DurationStatistics]) {
            byStage = Dictionary(uniqueKeysWithValues: Stage.allCases.map { ($0, Stats(stages[$0])) })
        }

        public subscript(stage: Stage) -> Stats { byStage[stage] ?? Stats(nil) }

        private struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Key.self)
            byStage = [:]
            for stage in Stage.allCases {
                byStage[stage] = try container.decode(Stats.self, forKey: Key(stringValue: stage.name))
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Key.self)
            for stage in Stage.allCases { try container.encode(self[stage], forKey: Key(stringValue: stage.name)) }
        }
    }
    public struct Jitter: Codable, Sendable {
        public var stddev: Double
        public var p99_minus_p50: Double
    }
    public struct LastFrame: Codable, Sendable {
        public var generation: UInt64
        public var frame: Int32
        public var png: String
    }
    /// What the run was asked to do.
    public struct Requested: Codable, Sendable {
        /// Frames to measure (absent when the run was asked for a duration).
        public var frames: Int?
        /// Seconds to measure (absent when the run was asked for frames).
        public var duration_s: Double?
        public var warmup: Int
        /// Pace: the render thread takes a frame every 1/target_hz s (absent: unpaced, as fast as it can).
        public var target_hz: Double?
        /// How fast the kernel computed (`--compute-rate`): "display", "unpaced" or a rate in Hz; absent in older
        /// summaries (which were all unpaced).
        public var compute_rate: String?
        /// Frame records kept (`--no-record` turns them off to measure what they cost).
        public var recording: Bool
    }
    /// What collecting the frame records cost.
    public struct Instrumentation: Codable, Sendable {
        /// Render-thread time spent draining telemetry and filling records, per rendered frame.
        public var render_thread_us_per_frame: Double
        /// Worker telemetry events lost because the render thread fell behind (0 expected).
        public var telemetry_events_lost: UInt64
    }
    /// The report files beside summary.json (names relative to it; absent when not written).
    public struct Reports: Codable, Sendable {
        /// Which frames trace.json and frametimes.svg show: the whole run, or in a long run the last
        /// `generations_kept` frame generations (frames.csv and the statistics always cover every frame).
        public struct Window: Codable, Sendable {
            /// The most generations kept (FrameLogBuilder.defaultWindowGenerations).
            public var generations_kept: Int
            public var first_generation: UInt64
            public var last_generation: UInt64
            /// Measured frames among them.
            public var measured_frames: Int
            /// Every record of the run is in the window (false: older ones were left out).
            public var whole_run: Bool
        }
        public var frames_csv: String?
        public var trace: String?
        public var frametimes_svg: String?
        public var last_frame_png: String
        /// Absent with recording off.
        public var window: Window?
    }
    /// `--baseline DIR`: each figure against the earlier run's.
    public struct Baseline: Codable, Sendable {
        public struct Figure: Codable, Sendable {
            public var name: String
            public var baseline: Double
            public var current: Double
            public var change_percent: Double
            /// better, same or worse (docs/benchmarking.md, "Verdicts", gives the rule).
            public var verdict: String
            /// What the verdict was judged on: "runs" (Welch's t test over both sides' runs, and the minimum effect)
            /// or "frames" (one run on a side: the minimum effect, and the frames' standard error for means).
            public var method: String?
            /// Method "runs": the test's two-sided p value, and the (1 − significance) confidence interval of the
            /// change in percent of the baseline, [low, high].
            public var p_value: Double?
            public var change_interval_percent: [Double]?
        }
        public var directory: String
        public var figures: [Figure]
        /// `--fail-on-regression PCT`: the limit, and whether frame_interval_ms.p99 got worse by more.
        public var fail_on_regression_percent: Double?
        public var regressed: Bool
        /// The rule's settings (`--min-effect`, `--significance`) and the runs on each side; absent in older summaries.
        public var min_effect_percent: Double?
        public var significance: Double?
        public var baseline_runs: Int?
        public var current_runs: Int?
        /// The figures judged worse (none: no regression).
        public var worse: [String]?
        /// `--allow-mismatch`: how the baseline was run differently ("NAME BASELINE → THIS RUN"); absent when alike.
        public var mismatches: [String]?
    }

    public var schema = BenchSummary.schemaName
    /// Which Framepipe, when, the command line and the host; absent in summaries of older runs.
    public var run: RunMetadata?
    public var kernel: String
    /// The file run: `kernel`, or its SIMD build (`--kernel-build`).
    public var kernel_file: String
    /// SHA-256 of `kernel_file`'s bytes.
    public var kernel_sha256: String
    public var format: String
    public var engine: Engine
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
    /// Upload mode used: copy or zero-copy.
    public var upload: String
    /// Why that mode (e.g. "auto: cpu device, host memory is its memory").
    public var upload_reason: String
    public var requested: Requested
    /// The run ended early on Ctrl-C (or a stop request); the figures cover the frames measured.
    public var interrupted: Bool
    public var frames: Frames
    /// Frames per second over the measured window: 1000 / mean frame interval with records on.
    public var fps: Double
    /// "1 % low" / "0.1 % low" fps: 1000 / the mean of the slowest 1 % (0.1 %) of frame intervals; absent with fewer
    /// than 100 (1000) intervals, with recording off, and in older summaries.
    public var fps_1_percent_low: Double?
    public var fps_0_1_percent_low: Double?
    /// Why the figures may not be trusted: a measured time or frame count too small (docs/benchmarking.md); absent
    /// when none applies.
    public var warnings: [String]?
    /// Measured frames per second from the render thread's acquire times — the same formula with
    /// records on or off (what the instrumentation-cost comparison uses).
    public var throughput_fps: Double
    public var frame_interval_ms: Stats
    /// Jitter of the frame interval: its stddev and p99 − p50.
    public var jitter_ms: Jitter
    public var latency_ms: Stats
    public var stages_ms: Stages
    /// Same as stages_ms.compute (kept: scripts read it).
    public var compute_ms: Stats
    /// Same as stages_ms.gpu (kept: scripts read it); absent without GPU timestamps.
    public var gpu_ms: Stats?
    /// The compute workers' CPU time per frame, summed over its tiles (CLOCK_THREAD_CPUTIME_ID): the kernel's cost
    /// without the waits and preemptions in stages_ms.compute. Read only where tiles take 0.2 ms or more (the clock
    /// read costs ~1 µs); absent otherwise, and in older summaries.
    public var compute_cpu_ms: Stats?
    /// Share of the measured window in which the GPU queue ran a frame (union of GPU intervals).
    public var gpu_busy_percent: Double?
    /// Share of the workers' time spent computing tiles in the measured window.
    public var compute_utilisation_percent: Double?
    /// How GPU timestamps were put on the CPU clock.
    public var gpu_timestamps: String
    /// Paced runs: ticks the render thread missed by more than a whole period (absent: unpaced).
    public var paced_missed_ticks: Int?
    public var duration_s: Double
    public var instrumentation: Instrumentation
    public var last_frame: LastFrame
    public var reports: Reports
    public var reloads: [Reload]
    /// The first faults (at most 10), in order.
    public var failures: [Failure]
    public var baseline: Baseline?
    /// `--runs N` with N ≥ 2: the compared figures over the runs (mean, stddev, confidence interval, each run's
    /// value); absent for one run, and in older summaries.
    public var runs: Runs?
    /// The kernel's parameters and the values the run ended with (`--param`, else each one's initial value; with
    /// `--watch`, as carried over reloads); `{}` for a kernel without parameters. Absent in summaries of older runs.
    public var parameters: [String: Float]?
}

extension BenchSummary.Engine {
    init(_ engine: any KernelEngine, limits: KernelLimits) {
        let identity = engine.identity
        self.init(
            name: identity.name, version: identity.version, kind: identity.kind.rawValue, mode: identity.mode,
            runaway_guard: engine.runawayGuard(under: limits), description: identity.description)
    }
}
