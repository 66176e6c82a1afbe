import ArgumentParser
import FrameHandoff
import Foundation
import Framepipe
import KernelRuntime
import VulkanRender

extension Colormap: ExpressibleByArgument {}
extension HandoffPolicy: ExpressibleByArgument {}

/// A CPU list such as 0-3,6 (as `taskset -c` takes it).
struct CPUList: ExpressibleByArgument, Sendable {
    var cpus: [Int32]
    init?(argument: String) {
        guard case .success(let cpus) = ThreadPlacement.parseCPUList(argument) else { return nil }
        self.cpus = cpus
    }
}

/// Options every command that runs a kernel shares.
struct KernelLimitOptions: ParsableArguments {
    @Option(help: "Fuel (≈ wasm operators) one tile — one fp_frame call — may burn before it is stopped.")
    var fuel: UInt64 = KernelLimits.defaultFuelPerTile
    @Option(name: .customLong("max-memory"), help: "Largest linear memory of one kernel instance, in MiB.")
    var maxMemory: Int = KernelLimits.defaultMaxMemoryBytes >> 20

    func validate() throws {
        guard fuel > 0 else { throw ValidationError("--fuel must be positive") }
        guard (1...4096).contains(maxMemory) else {
            throw ValidationError("--max-memory must be 1...4096 MiB (a wasm32 memory is at most 4 GiB)")
        }
    }

    var limits: KernelLimits { KernelLimits(fuelPerTile: fuel, maxMemoryBytes: maxMemory << 20) }
}

/// How `bench` and `view` run a kernel on the worker pool: the same flags, checked the same way.
struct PoolOptions: ParsableArguments {
    @Option(help: "Compute worker threads (default: available CPUs − 1, at least 1).")
    var workers = ThreadPlacement.defaultWorkerCount
    @OptionGroup var limits: KernelLimitOptions
    @Option(
        name: .customLong("max-failures"),
        help: "Disable the kernel after this many consecutive failed frames (bench exits 5; the viewer keeps running).")
    var maxFailures = 3
    @Flag(help: "Reload the kernel when its file changes; a bad file is refused and the old kernel keeps running.")
    var watch = false
    @Option(help: "Colour map for f32-field kernels: viridis, magma or gray.") var colormap: Colormap = .viridis

    func validate() throws {
        guard (1...256).contains(workers) else { throw ValidationError("--workers must be 1...256") }
        guard maxFailures >= 1 else { throw ValidationError("--max-failures must be at least 1") }
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
            5 kernel failed (bench: disabled after repeated failed frames; capture: the frame failed),
            6 no display (view), 64 bad arguments. See docs/cli.md.
            """,
        subcommands: [BenchCommand.self, CaptureCommand.self, InspectCommand.self, DevicesCommand.self, ViewCommand.self])

    static func main() {
        ensureRuntimeDirectory()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Headless benchmark: run a kernel, render every frame offscreen, write a report.")

    @Argument(help: "The kernel (.wasm, Kernel ABI v1).") var kernel: String
    @Flag(help: "Render offscreen, without a window (bench always does; `framepipe view` opens one).") var headless = false
    @Option(help: "Frames to measure.") var frames = 120
    @Option(help: "Frames rendered before measuring starts.") var warmup = 5
    @Option(help: "Frame size WIDTHxHEIGHT.") var size = FrameSize(width: 512, height: 512)
    @Option(help: "Report directory (summary.json, last-frame.png).") var out = "framepipe-bench"
    @Option(help: "Vulkan device index from `framepipe devices` (default: the best one).") var gpu: Int?
    @OptionGroup var pool: PoolOptions
    @Option(name: .customLong("compute-cpus"), help: "Pin compute workers to these CPUs, e.g. 0-2 (worker i → i-th CPU).")
    var computeCPUs: CPUList?
    @Option(name: .customLong("render-cpus"), help: "Pin the render thread to these CPUs, e.g. 3.")
    var renderCPUs: CPUList?
    @Option(help: "Slots in the frame ring (3...8).") var slots = 3
    @Option(help: "Handoff policy: latest (drop unread frames, never block compute) or fifo (every frame, backpressure).")
    var policy: HandoffPolicy = .latest

    func validate() throws {
        guard frames > 0 else { throw ValidationError("--frames must be at least 1") }
        guard warmup >= 0 else { throw ValidationError("--warmup must not be negative") }
        guard (3...8).contains(slots) else { throw ValidationError("--slots must be 3...8") }
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
            options.frames = frames
            options.warmup = warmup
            options.outputDirectory = out
            options.deviceIndex = gpu
            options.limits = pool.limits.limits
            options.workers = pool.workers
            options.placement = placement
            options.maxConsecutiveFailures = pool.maxFailures
            options.watch = pool.watch
            options.colormap = pool.colormap
            options.slotCount = slots
            options.policy = policy
            options.log = { FileHandle.standardError.write(Data("\($0)\n".utf8)) }
            print("framepipe bench: \(kernel) at \(size.width)x\(size.height), headless, \(frames) frames (+\(warmup) warm-up)")
            let result = try Bench.run(options)
            let summary = result.summary
            let interval = summary.frame_interval_ms
            let placement = summary.placement
            print("  device  \(summary.device.name) [\(summary.device.type)]")
            print(
                "  engine  \(summary.engine), \(summary.workers) worker\(summary.workers == 1 ? "" : "s")"
                    + (summary.stateful ? " (stateful kernel: one instance, in order)" : ", \(summary.tiles_per_frame) tile\(summary.tiles_per_frame == 1 ? "" : "s")/frame"))
            print(
                "  threads render on \(ThreadPlacement.describe(placement.render_cpus)); workers on "
                    + placement.compute_cpus.map { ThreadPlacement.describe($0) }.joined(separator: " | "))
            for warning in placement.warnings { print("  warning \(warning)") }
            print(String(format: "  %d frames in %.2f s: %.1f fps", summary.frames.measured, summary.duration_s, summary.fps))
            print(String(format: "  frame interval ms: mean %.2f  p50 %.2f  p99 %.2f  p99.9 %.2f  max %.2f", interval.mean, interval.p50, interval.p99, interval.p999, interval.max))
            print(String(format: "  jitter ms: stddev %.2f  p99 − p50 %.2f", summary.jitter_ms.stddev, summary.jitter_ms.p99_minus_p50))
            print("  dropped \(summary.frames.dropped), failed \(summary.frames.failed), stale rejected \(summary.frames.stale_rejected)")
            for reload in summary.reloads {
                if let frame = reload.first_frame {
                    print("  reload  \(reload.path) from frame \(frame)")
                } else {
                    print("  reload  refused: \(reload.error ?? "")")
                }
            }
            print("  report  \(result.summaryPath), \(result.lastFramePath)")
        }
    }
}

struct CaptureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capture", abstract: "Render one deterministic frame (time = frame / 60) to a PNG, headless.")

    @Argument(help: "The kernel (.wasm, Kernel ABI v1).") var kernel: String
    @Option(help: "Frame number.") var frame: Int32 = 0
    @Option(help: "Frame size WIDTHxHEIGHT.") var size = FrameSize(width: 512, height: 512)
    @Option(help: "Output PNG file.") var out: String
    @Option(help: "Vulkan device index from `framepipe devices`.") var gpu: Int?
    @Option(help: "Colour map for f32-field kernels: viridis, magma or gray.") var colormap: Colormap = .viridis
    @OptionGroup var limits: KernelLimitOptions

    func validate() throws {
        guard frame >= 0 else { throw ValidationError("--frame must not be negative") }
    }

    func run() throws {
        try reportingErrors { () throws(FramepipeError) in
            var options = Capture.Options(
                kernelPath: kernel, frame: frame, width: size.width, height: size.height, outputPath: out, deviceIndex: gpu)
            options.colormap = colormap
            options.limits = limits.limits
            try Capture.run(options)
            print("framepipe capture: frame \(frame) of \(kernel) at \(size.width)x\(size.height) → \(out)")
        }
    }
}

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Check a kernel against ABI v1 and show its exports, format and memory.")

    @Argument(help: "The kernel (.wasm).") var kernel: String
    @Option(help: "Frame size passed to fp_init for the check.") var size = FrameSize(width: 256, height: 256)

    func run() throws {
        try reportingErrors { () throws(FramepipeError) in
            print(try KernelInspection.inspect(path: kernel, width: size.width, height: size.height).text)
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
                print("\(device.index)  \(device.name)  [\(device.type)]  Vulkan \(device.apiVersion)")
            }
        }
    }
}
