import ArgumentParser
import Foundation
import Framepipe
import KernelRuntime
import VulkanRender

extension ComputeRate: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
    public var defaultValueDescription: String { description }
}

struct ViewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "view",
        abstract: "Desktop viewer: run a kernel in real time and draw it into a window (GLFW + Vulkan swapchain).",
        discussion: "With --watch --build CMD, saving a source file reruns CMD; a failed build shows its errors in the overlay and leaves the kernel running. Keys: Space pause, N one kernel frame while paused, F full screen, R reload the kernel from its file, H overlay (fps, frame intervals, ms per stage, "
            + "the frame-time plot, kernel state and faults), S screenshot (PNG of the kernel frame as drawn), Esc quit. "
            + "Exit code 6: no display (use `framepipe bench` headless).")

    @Argument(help: "The kernel (.wasm, Kernel ABI v1).") var kernel: String
    @Option(parsing: .unconditional, help: "Kernel frame size WIDTHxHEIGHT (the window keeps its aspect ratio).")
    var size = FrameSize(width: 512, height: 512)
    @OptionGroup var pool: PoolOptions
    @Option(
        parsing: .unconditional,
        help: "Vulkan device index from `framepipe devices` (default: the best one that can draw to the window).")
    var gpu: Int?
    @Option(name: .customLong("present-mode"), help: "Swapchain present mode: fifo, mailbox or immediate (fifo when unsupported).")
    var presentMode = "fifo"
    @Option(name: .customLong("screenshot-dir"), help: "Directory for S screenshots (framepipe-<kernel>-<frame>.png).")
    var screenshotDir = "."
    @Option(name: .customLong("exit-after-frames"), parsing: .unconditional, help: "Quit with exit 0 after N presented frames (for tests).")
    var exitAfterFrames: Int?
    @Option(
        help: ArgumentHelp(
            "How frames reach the GPU: zero-copy (the GPU reads the ring slot in place), copy (staging copy) or auto (zero-copy on integrated and CPU devices).",
            valueName: "mode"))
    var upload: UploadMode = .auto
    @Option(
        name: .customLong("compute-rate"),
        help: ArgumentHelp(
            "Kernel frames computed: display (one per shown frame: a simulation advances one step per shown frame), unpaced (as fast as the workers allow; the latest is shown) or HZ (1-1000 a second).",
            valueName: "rate"))
    var computeRate: ComputeRate = .display
    @Flag(help: "Start with the overlay shown (H shows and hides it).") var overlay = false
    @Option(name: .customLong("param"), help: parameterHelp) var parameters: [ParameterAssignment] = []
    @OptionGroup var inputs: KernelInputOptions
    @Option(
        help: ArgumentHelp(
            "With --watch (implied): rerun this shell command when a source file changes (compiler errors go to the overlay and stderr; the .wasm it writes is reloaded).",
            valueName: "command"))
    var build: String?
    @Option(
        help: ArgumentHelp(
            "The folder of the kernel's sources for --build (default: the kernel file's folder; searched 4 levels deep).",
            valueName: "dir"))
    var sources: String?

    func validate() throws {
        // --present-mode is checked once, by Viewer.run.
        if let exitAfterFrames, exitAfterFrames < 1 { throw NumericFlags.refusal("--exit-after-frames") }
        if let gpu { guard gpu >= 0 else { throw NumericFlags.refusal("--gpu") } }
        if let build, build.trimmingCharacters(in: .whitespaces).isEmpty {
            throw ValidationError("--build needs a command, e.g. --build ./build.sh or --build make")
        }
        if let sources {
            guard build != nil else { throw ValidationError("--sources \(sources) needs --build CMD (the command to run when they change)") }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: sources, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("--sources \(sources): no such folder; give the folder of the kernel's source files")
            }
        }
    }

    func run() throws {
        if let build, !FileManager.default.fileExists(atPath: kernel) {
            // `framepipe new x && framepipe view x/x.wasm --build x/build.sh`: the first build makes the kernel.
            let log: @Sendable (String) -> Void = { FileHandle.standardError.write(Data("\($0)\n".utf8)) }
            log("build: \(kernel) does not exist yet; running \(build)")
            if case .failed(let status, _, _) = SourceRebuilder.run(build, log: log) {
                try reportingErrors { () throws(FramepipeError) in
                    throw FramepipeError(
                        .badKernel, "\(kernel) does not exist and --build \(build) failed (exit \(status)); fix the build and run again")
                }
            }
        }
        var options = ViewerOptions(kernelPath: kernel)
        options.width = size.width
        options.height = size.height
        options.deviceIndex = gpu
        options.limits = pool.limits.limits
        options.engine = pool.limits.engineRequest
        options.workers = pool.workers
        options.maxConsecutiveFailures = pool.maxFailures
        options.colormap = pool.colormap
        options.presentMode = presentMode
        options.watch = pool.watch || build != nil
        options.buildCommand = build
        options.sourceFolder = sources
        options.screenshotDirectory = screenshotDir
        options.exitAfterFrames = exitAfterFrames
        options.upload = upload
        options.computeRate = computeRate
        options.overlay = overlay
        options.parameters = parameters
        options.wasi = inputs.wasi
        options.log = { FileHandle.standardError.write(Data("\($0)\n".utf8)) }
        do {
            try Viewer.run(options)
        } catch {
            FileHandle.standardError.write(Data("framepipe: error: \(error.message)\n".utf8))
            throw ExitCode(error.exitCode)
        }
    }
}
