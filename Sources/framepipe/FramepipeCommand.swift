import ArgumentParser
import FrameHandoff
import Foundation
import FrameTiming
import Framepipe
import KernelRuntime
import VulkanRender

extension Colormap: ExpressibleByArgument {}
extension HandoffPolicy: ExpressibleByArgument {}
extension UploadMode: ExpressibleByArgument {}
extension EngineChoice: ExpressibleByArgument {}
extension KernelBuild: ExpressibleByArgument {}

extension ParameterAssignment: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }
}

/// The help of `--param` (bench, capture, view).
let parameterHelp = ArgumentHelp(
    "Set a kernel parameter, e.g. --param iterations=128 (repeat for more; `framepipe inspect` lists a kernel's parameters and ranges).",
    valueName: "name=value")

/// A CPU list such as 0-3,6 (as `taskset -c` takes it).
struct CPUList: ExpressibleByArgument, Sendable {
    var cpus: [Int32]
    init?(argument: String) {
        guard case .success(let cpus) = ThreadPlacement.parseCPUList(argument) else { return nil }
        self.cpus = cpus
    }
}

/// Options every command that runs a kernel shares: the engine and the limits it runs under.
struct KernelLimitOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "WebAssembly engine: wasmtime (Cranelift JIT), wasmkit (interpreter) or auto (wasmtime when its library loads, else WasmKit).",
            valueName: "engine"))
    var engine: EngineChoice = .auto
    @Option(
        name: .customLong("wasmtime-lib"),
        help: ArgumentHelp(
            "wasmtime's C API library (_libwasmtime.so); default: FRAMEPIPE_WASMTIME_LIB, then .deps/wasmtime (scripts/setup.sh), then Python's wasmtime package.",
            valueName: "path"))
    var wasmtimeLibrary: String?
    @Option(
        name: .customLong("kernel-build"),
        help: ArgumentHelp(
            "Kernel build: auto (NAME.simd.wasm beside the kernel on wasmtime, NAME.wasm on WasmKit), mvp or simd.",
            valueName: "build"))
    var kernelBuild: KernelBuild = .auto
    @Option(
        name: .customLong("tile-timeout"), parsing: .unconditional,
        help: ArgumentHelp(
            "Wall-clock bound of one call into the kernel, in ms: wasmtime interrupts it; WasmKit gets the fuel its slowest code burns in that time.",
            valueName: "ms"))
    var tileTimeout: Double = Double(KernelLimits.defaultTileTimeoutNanos) / 1e6
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Fuel (≈ wasm operators) one call may burn before it is stopped, on top of the time bound (default \(KernelLimits.defaultFuelPerTile); given, wasmtime meters fuel too).",
            valueName: "units"))
    var fuel: UInt64?
    @Option(name: .customLong("max-memory"), parsing: .unconditional, help: "Largest linear memory of one kernel instance, in MiB.")
    var maxMemory: Int = KernelLimits.defaultMaxMemoryBytes >> 20

    func validate() throws {
        if let fuel { guard fuel > 0 else { throw NumericFlags.refusal("--fuel") } }
        guard (1...4096).contains(maxMemory) else { throw NumericFlags.refusal("--max-memory") }
        guard tileTimeout >= 1, tileTimeout <= 3_600_000 else { throw NumericFlags.refusal("--tile-timeout") }
    }

    var limits: KernelLimits {
        KernelLimits(
            fuelPerTile: fuel ?? KernelLimits.defaultFuelPerTile, maxMemoryBytes: maxMemory << 20,
            tileTimeoutNanos: UInt64((tileTimeout * 1e6).rounded()))
    }

    var engineRequest: EngineRequest {
        EngineRequest(choice: engine, wasmtimeLibrary: wasmtimeLibrary, meterFuel: fuel != nil, build: kernelBuild)
    }
}

/// Writes a note line (e.g. the engine fallback) to stderr.
func printNote(_ line: String) { FileHandle.standardError.write(Data("framepipe: \(line)\n".utf8)) }

/// How `bench` and `view` run a kernel on the worker pool: the same flags, checked the same way.
struct PoolOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Compute worker threads (default: available CPUs − 1 with 3 or more, else one per CPU).")
    var workers = ThreadPlacement.defaultWorkerCount
    @OptionGroup var limits: KernelLimitOptions
    @Option(
        name: .customLong("max-failures"), parsing: .unconditional,
        help: "Disable the kernel after this many consecutive failed frames (bench exits 5; the viewer keeps running).")
    var maxFailures = 3
    @Flag(help: "Reload the kernel when its file changes; a bad file is refused and the old kernel keeps running.")
    var watch = false
    @Option(help: "Colour map for f32-field kernels: viridis, magma or gray.") var colormap: Colormap = .viridis

    func validate() throws {
        guard (1...256).contains(workers) else { throw NumericFlags.refusal("--workers") }
        guard maxFailures >= 1 else { throw NumericFlags.refusal("--max-failures") }
    }
}

/// `WIDTHxHEIGHT`, e.g. 512x512.
struct FrameSize: ExpressibleByArgument, Sendable {
    var width: Int
    var height: Int

    init?(argument: String) {
        let parts = argument.lowercased().split(separator: "x")
        guard parts.count == 2, let width = Int(parts[0]), let height = Int(parts[1]),
            (1...16384).contains(width), (1...16384).contains(height)
        else { return nil }
        self.width = width
        self.height = height
    }

    init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    var defaultValueDescription: String { "\(width)x\(height)" }
}

/// Runs a command body, turning a FramepipeError into its one-line message and exit code.
func reportingErrors(_ body: () throws(FramepipeError) -> Void) throws {
    do {
        try body()
    } catch {
        FileHandle.standardError.write(Data("framepipe: error: \(error.message)\n".utf8))
        throw ExitCode(error.exitCode.rawValue)
    }
}

/// lavapipe complains on stderr when XDG_RUNTIME_DIR is unset; give it a private directory so real
/// errors are not lost in that noise.
func ensureRuntimeDirectory() {
    guard ProcessInfo.processInfo.environment["XDG_RUNTIME_DIR"] == nil else { return }
    let path = NSTemporaryDirectory() + "framepipe-runtime-\(getuid())"
    if (try? FileManager.default.createDirectory(
        atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])) != nil
    {
        setenv("XDG_RUNTIME_DIR", path, 0)
    }
}

@main
struct FramepipeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "framepipe",
        abstract: "Sandboxed WebAssembly compute kernels rendered with Vulkan, measured end to end.",
        discussion: """
            Exit codes: 0 ok, 1 run-time failure, 2 unusable kernel, 3 no Vulkan loader or device,
            4 bench regression (--fail-on-regression), 5 kernel failed (bench: disabled after repeated
            failed frames; capture: the frame failed), 6 no display (view), 7 --engine wasmtime without
            its library (or another version), 64 bad arguments,
            130 bench interrupted by Ctrl-C (reports written if a frame was rendered). See docs/cli.md.
            """,
        version: FramepipeVersion.description,
        subcommands: [BenchCommand.self, CaptureCommand.self, InspectCommand.self, DevicesCommand.self, ViewCommand.self, NewCommand.self])

    static func main() {
        ensureRuntimeDirectory()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exitWithOneLineError(error, command: Self.self)
        }
    }
}

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Headless benchmark: run a kernel, render every frame offscreen, write a report.",
        discussion: "Writes \(BenchReportFiles.all.joined(separator: ", ")) to --out (open \(BenchReportFiles.trace) in "
            + "https://ui.perfetto.dev). Ctrl-C ends the run early and still writes the reports (exit 130).")

    @Argument(help: "The kernel (.wasm, Kernel ABI v1).") var kernel: String
    @Flag(help: "Render offscreen, without a window (bench always does; `framepipe view` opens one).") var headless = false
    @Option(parsing: .unconditional, help: "Frames to measure (default 120; or use --duration).") var frames: Int?
    @Option(parsing: .unconditional, help: ArgumentHelp("Seconds to measure, instead of a frame count.", valueName: "seconds"))
    var duration: Double?
    @Option(parsing: .unconditional, help: "Frames rendered before measuring starts.") var warmup = 5
    @Option(
        parsing: .unconditional,
        help: "Measured runs (1-100), each on a fresh engine instance, pool and renderer with its own warm-up: figures as mean ± confidence interval, and comparisons that test against run-to-run noise.")
    var runs = 5
    @Option(
        name: .customLong("target-hz"), parsing: .unconditional,
        help: ArgumentHelp("Pace the render thread to this many frames per second (default: unpaced).", valueName: "hz"))
    var targetHz: Double?
    @Option(
        name: .customLong("compute-rate"),
        help: ArgumentHelp(
            "Kernel frames computed: display (one per frame the render thread takes; the default with --target-hz), unpaced (as fast as the workers allow; the default without) or HZ (1-1000 a second).",
            valueName: "rate"))
    var computeRate: ComputeRate?
    @Flag(name: .customLong("no-record"), help: "Keep no frame records (to measure what recording costs): fps and counts only.")
    var noRecord = false
    @Option(parsing: .unconditional, help: "Frame size WIDTHxHEIGHT.") var size = FrameSize(width: 512, height: 512)
    @Option(help: ArgumentHelp("Report directory (\(BenchReportFiles.all.joined(separator: ", "))).", valueName: "dir"))
    var out = "framepipe-bench"
    @Option(
        help: ArgumentHelp(
            "Compare with an earlier run: its --out directory, or a name saved with --save-baseline. Refused when it was run differently (kernel, size, engine, device, workers, upload, policy, pacing) unless --allow-mismatch.",
            valueName: "dir|name"))
    var baseline: String?
    @Flag(name: .customLong("allow-mismatch"), help: "Compare with a --baseline that was run differently (the differences are listed).")
    var allowMismatch = false
    @Option(
        name: .customLong("save-baseline"), parsing: .unconditional,
        help: ArgumentHelp(
            "Also keep this run's summary.json as the baseline NAME (in $FRAMEPIPE_BASELINES, else $XDG_DATA_HOME/framepipe/baselines).",
            valueName: "name"))
    var saveBaseline: String?
    @Option(
        name: .customLong("fail-on-regression"), parsing: .unconditional,
        help: ArgumentHelp(
            "With --baseline: exit 4 when the frame-interval p99 is worse than the baseline's by more than PCT percent.",
            valueName: "pct"))
    var failOnRegression: Double?
    @Option(
        name: .customLong("min-effect"), parsing: .unconditional,
        help: ArgumentHelp("With --baseline: the smallest change (percent of the baseline) a verdict calls better or worse.", valueName: "pct"))
    var minEffect = FigureComparison.defaultMinEffectPercent
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("With --baseline and --runs on both sides: the significance level of the test over runs.", valueName: "alpha"))
    var significance = FigureComparison.defaultSignificance
    @Option(parsing: .unconditional, help: "Vulkan device index from `framepipe devices` (default: the best one).") var gpu: Int?
    @OptionGroup var pool: PoolOptions
    @Option(name: .customLong("compute-cpus"), help: "Pin compute workers to these CPUs, e.g. 0-2 (worker i → i-th CPU).")
    var computeCPUs: CPUList?
    @Option(name: .customLong("render-cpus"), help: "Pin the render thread to these CPUs, e.g. 3.")
    var renderCPUs: CPUList?
    @Option(
        name: .customLong("cpu-dma-latency"), parsing: .unconditional,
        help: ArgumentHelp(
            "Hold a PM QoS request on /dev/cpu_dma_latency for the run: idle CPUs wake within US microseconds (0: they poll instead of sleeping). Steadier paced runs, more power; needs root.",
            valueName: "us"))
    var cpuDMALatency: Int?
    @Option(parsing: .unconditional, help: "Slots in the frame ring (3...8).") var slots = 3
    @Option(help: "Handoff policy: latest (drop unread frames, never block compute) or fifo (every frame, backpressure).")
    var policy: HandoffPolicy = .latest
    @Option(
        help: ArgumentHelp(
            "How frames reach the GPU: zero-copy (the GPU reads the slot in place), copy (staging copy) or auto (zero-copy on integrated and CPU devices).",
            valueName: "mode"))
    var upload: UploadMode = .auto
    @Flag(name: .customLong("no-progress"), help: "No progress bar or progress lines.") var noProgress = false
    @Option(name: .customLong("param"), help: parameterHelp) var parameters: [ParameterAssignment] = []
    @OptionGroup var inputs: KernelInputOptions

    func validate() throws {
        // Bench's own numbers are checked once, by BenchOptions.validate (run, before anything is printed); here only
        // what combines flags.
        if duration != nil, frames != nil { throw ValidationError("give --frames or --duration, not both") }
        if failOnRegression != nil, baseline == nil {
            throw ValidationError("--fail-on-regression needs --baseline DIR|NAME to compare with")
        }
        if allowMismatch, baseline == nil { throw ValidationError("--allow-mismatch needs --baseline DIR|NAME to compare with") }
        let placement = self.placement
        if let missing = placement.firstUnavailableCPU() {
            throw ValidationError(
                "CPU \(missing) is not available to this process (available: \(ThreadPlacement.describe(ThreadPlacement.availableCPUs)))")
        }
    }

    /// Explicit lists win; otherwise the automatic placement (render thread alone on a core when
    /// there are 3 or more), with compute workers kept off an explicitly given render CPU.
    var placement: ThreadPlacement {
        var placement = ThreadPlacement.automatic()
        if let renderCPUs {
            placement.renderCPUs = renderCPUs.cpus
            if computeCPUs == nil {
                let rest = ThreadPlacement.availableCPUs.filter { !renderCPUs.cpus.contains($0) }
                placement.computeCPUs = rest.isEmpty ? [] : rest
            }
        }
        if let computeCPUs { placement.computeCPUs = computeCPUs.cpus }
        return placement
    }

    func run() throws {
        try reportingErrors { () throws(FramepipeError) in
            var options = BenchOptions(kernelPath: kernel)
            options.width = size.width
            options.height = size.height
            options.frames = frames ?? 120
            options.durationSeconds = duration
            options.warmup = warmup
            options.runs = runs
            options.minEffectPercent = minEffect
            options.significance = significance
            options.targetHz = targetHz
            options.computeRate = computeRate
            options.recording = !noRecord
            options.outputDirectory = out
            options.baselineDirectory = baseline
            options.allowBaselineMismatch = allowMismatch
            options.saveBaselineName = saveBaseline
            options.failOnRegressionPercent = failOnRegression
            options.deviceIndex = gpu
            options.limits = pool.limits.limits
            options.engine = pool.limits.engineRequest
            options.workers = pool.workers
            options.placement = placement
            options.cpuDMALatencyMicroseconds = cpuDMALatency
            options.maxConsecutiveFailures = pool.maxFailures
            options.watch = pool.watch
            options.colormap = pool.colormap
            options.slotCount = slots
            options.policy = policy
            options.upload = upload
            options.parameters = parameters
            options.wasi = inputs.wasi
            let console = BenchConsole(enabled: !noProgress)
            options.log = { console.log($0) }
            options.status = { console.show($0) }
            options.stop = InterruptHandler.makeStopRequest()
            defer { InterruptHandler.uninstall() }
            try options.validate()  // before the header: a bad number is the only line printed
            let length = (duration.map { String(format: "%g s", $0) } ?? "\(options.frames) frames")
                + (runs > 1 ? " × \(runs) runs" : "")
            let pace = targetHz.map { String(format: ", paced at %g Hz", $0) + ", compute \(options.effectiveComputeRate)" } ?? ""
            print("framepipe bench: \(kernel) at \(size.width)x\(size.height), headless, \(length) (+\(warmup) warm-up)\(pace)")
            fflush(nil)  // the header line before progress on stderr, also when piped
            let result = try Bench.run(options)
            console.finish()
            print(BenchConsole.report(result))
            if let mismatches = result.summary.baseline?.mismatches {
                printNote("warning: compared with a baseline run differently (--allow-mismatch): \(mismatches.joined(separator: "; "))")
            }
            if let saved = result.savedBaselinePath, let name = saveBaseline { print("baseline \(name) saved: \(saved)") }
            if result.summary.interrupted {
                throw FramepipeError(.interrupted, "interrupted: the reports cover the \(result.summary.frames.measured) frames measured")
            }
            if result.regressed, let limit = failOnRegression {
                let p99 = result.summary.baseline?.figures.first { $0.name == "frame_interval_ms.p99" }
                throw FramepipeError(
                    .regression,
                    String(format: "regression: frame interval p99 %.2f ms vs baseline %.2f ms (%+.1f %%, limit %g %%)",
                        p99?.current ?? 0, p99?.baseline ?? 0, p99?.change_percent ?? 0, limit))
            }
        }
    }
}

struct CaptureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capture", abstract: "Render one deterministic frame (time = frame / 60, or --time) to a PNG, headless.")

    @Argument(help: "The kernel (.wasm, Kernel ABI v1).") var kernel: String
    @Option(parsing: .unconditional, help: "Frame number.") var frame: Int32 = 0
    @Option(parsing: .unconditional, help: "Frame size WIDTHxHEIGHT.") var size = FrameSize(width: 512, height: 512)
    @Option(help: "Output PNG file.") var out: String
    @Option(parsing: .unconditional, help: "Vulkan device index from `framepipe devices`.") var gpu: Int?
    @Option(help: "Colour map for f32-field kernels: viridis, magma or gray.") var colormap: Colormap = .viridis
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "The kernel's time for the frame, in seconds (default frame / 60): a viewer screenshot's framepipe.time, to reproduce it.",
            valueName: "seconds"))
    var time: Double?
    @Option(name: .customLong("param"), help: parameterHelp) var parameters: [ParameterAssignment] = []
    @OptionGroup var inputs: KernelInputOptions
    @OptionGroup var limits: KernelLimitOptions

    // capture's own numbers are checked once, by Capture.Options.validate (in Capture.run); the file name is the
    // command's rule.
    func validate() throws {
        guard out.lowercased().hasSuffix(".png") else {
            throw ValidationError("--out must name a .png file (capture writes PNG only), not '\(out)'")
        }
    }

    func run() throws {
        try reportingErrors { () throws(FramepipeError) in
            var options = Capture.Options(
                kernelPath: kernel, frame: frame, width: size.width, height: size.height, outputPath: out, deviceIndex: gpu)
            options.colormap = colormap
            options.time = time
            options.parameters = parameters
            options.wasi = inputs.wasi
            options.limits = limits.limits
            options.engine = limits.engineRequest
            options.log = { printNote($0) }
            try Capture.run(options)
            print("framepipe capture: frame \(frame) of \(kernel) at \(size.width)x\(size.height) → \(out)")
        }
    }
}

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Check a kernel against ABI v1 and show its exports, format and memory.")

    @Argument(help: "The kernel (.wasm).") var kernel: String
    @Option(parsing: .unconditional, help: "Frame size passed to fp_init for the check.") var size = FrameSize(width: 256, height: 256)
    @OptionGroup var limits: KernelLimitOptions

    func run() throws {
        try reportingErrors { () throws(FramepipeError) in
            let inspection = try KernelInspection.inspect(
                path: kernel, width: size.width, height: size.height, limits: limits.limits,
                engine: limits.engineRequest, log: { printNote($0) })
            print(inspection.text)
        }
    }
}

struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "devices", abstract: "List Vulkan devices.")

    func run() throws {
        try reportingErrors { () throws(FramepipeError) in
            let devices: [VulkanDeviceInfo]
            do throws(RenderError) { devices = try VulkanSystem.devices() } catch { throw FramepipeError(error) }
            for device in devices {
                let driver = [device.driverName, device.driverInfo.isEmpty ? device.driverVersionText : device.driverInfo]
                    .filter { !$0.isEmpty }.joined(separator: " ")
                print("\(device.index)  \(device.name)  [\(device.type)]  Vulkan \(device.apiVersion)  driver \(driver)")
            }
        }
    }
}
