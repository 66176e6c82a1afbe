import ArgumentParser
import Foundation
import Framepipe
import VulkanRender

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
            5 kernel disabled after repeated failed frames, 64 bad arguments. See docs/cli.md.
            """,
        subcommands: [BenchCommand.self, CaptureCommand.self, InspectCommand.self, DevicesCommand.self])

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
    @Flag(help: "Render offscreen, without a window (the only mode so far).") var headless = false
    @Option(help: "Frames to measure.") var frames = 120
    @Option(help: "Frames rendered before measuring starts.") var warmup = 5
    @Option(help: "Frame size WIDTHxHEIGHT.") var size = FrameSize(width: 512, height: 512)
    @Option(help: "Report directory (summary.json, last-frame.png).") var out = "framepipe-bench"
    @Option(help: "Vulkan device index from `framepipe devices` (default: the best one).") var gpu: Int?
    @Option(help: "Fuel (≈ wasm operators) one fp_frame call may use.") var fuel: UInt64 = 20_000_000_000

    func validate() throws {
        guard frames > 0 else { throw ValidationError("--frames must be at least 1") }
        guard warmup >= 0 else { throw ValidationError("--warmup must not be negative") }
        guard fuel > 0 else { throw ValidationError("--fuel must be positive") }
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
            options.limits.fuelPerCall = fuel
            options.log = { FileHandle.standardError.write(Data("\($0)\n".utf8)) }
            print("framepipe bench: \(kernel) at \(size.width)x\(size.height), headless, \(frames) frames (+\(warmup) warm-up)")
            let result = try Bench.run(options)
            let summary = result.summary
            let interval = summary.frame_interval_ms
            print("  device  \(summary.device.name) [\(summary.device.type)]")
            print("  engine  \(summary.engine), \(summary.workers) worker")
            print(String(format: "  %d frames in %.2f s: %.1f fps", summary.frames.measured, summary.duration_s, summary.fps))
            print(String(format: "  frame interval ms: mean %.2f  p50 %.2f  p99 %.2f  max %.2f", interval.mean, interval.p50, interval.p99, interval.max))
            print("  dropped \(summary.frames.dropped), failed \(summary.frames.failed), stale rejected \(summary.frames.stale_rejected)")
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

    func validate() throws {
        guard frame >= 0 else { throw ValidationError("--frame must not be negative") }
    }

    func run() throws {
        try reportingErrors { () throws(FramepipeError) in
            try Capture.run(
                .init(kernelPath: kernel, frame: frame, width: size.width, height: size.height, outputPath: out, deviceIndex: gpu))
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
