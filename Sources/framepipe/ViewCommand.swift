import ArgumentParser
import Foundation
import Framepipe
import KernelRuntime
import VulkanRender

struct ViewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "view",
        abstract: "Desktop viewer: run a kernel in real time and draw it into a window (GLFW + Vulkan swapchain).",
        discussion: """
            Keys: Space pause, R reload the kernel from its file, H frame-time HUD, S screenshot (PNG of the
            kernel frame as drawn), Esc quit. Exit code 6: no display (use `framepipe bench` headless).
            """)

    @Argument(help: "The kernel (.wasm, Kernel ABI v1).") var kernel: String
    @Option(help: "Kernel frame size WIDTHxHEIGHT (the window keeps its aspect ratio).")
    var size = FrameSize(width: 512, height: 512)
    @Option(help: "Compute worker threads (default: available CPUs − 1, at least 1).")
    var workers = ThreadPlacement.defaultWorkerCount
    @Option(help: "Vulkan device index from `framepipe devices` (default: the best one that can draw to the window).")
    var gpu: Int?
    @Option(help: "Colour map for f32-field kernels: viridis, magma or gray.") var colormap: Colormap = .viridis
    @Option(name: .customLong("present-mode"), help: "Swapchain present mode: fifo, mailbox or immediate (fifo when unsupported).")
    var presentMode = "fifo"
    @OptionGroup var limits: KernelLimitOptions
    @Option(name: .customLong("max-failures"), help: "Disable the kernel after this many consecutive failed frames (the viewer keeps running).")
    var maxFailures = 3
    @Flag(help: "Reload the kernel when its file changes; a bad file is refused and the old kernel keeps running.")
    var watch = false
    @Option(name: .customLong("screenshot-dir"), help: "Directory for S screenshots (framepipe-<kernel>-<frame>.png).")
    var screenshotDir = "."
    @Option(name: .customLong("exit-after-frames"), help: "Quit with exit 0 after N presented frames (for tests).")
    var exitAfterFrames: Int?

    func validate() throws {
        guard (1...256).contains(workers) else { throw ValidationError("--workers must be 1...256") }
        guard maxFailures >= 1 else { throw ValidationError("--max-failures must be at least 1") }
        guard Viewer.presentModes.contains(presentMode) else {
            throw ValidationError("--present-mode must be fifo, mailbox or immediate")
        }
        if let exitAfterFrames, exitAfterFrames < 1 { throw ValidationError("--exit-after-frames must be at least 1") }
    }

    func run() throws {
        var options = ViewerOptions(kernelPath: kernel)
        options.width = size.width
        options.height = size.height
        options.deviceIndex = gpu
        options.limits = limits.limits
        options.workers = workers
        options.maxConsecutiveFailures = maxFailures
        options.colormap = colormap
        options.presentMode = presentMode
        options.watch = watch
        options.screenshotDirectory = screenshotDir
        options.exitAfterFrames = exitAfterFrames
        options.log = { FileHandle.standardError.write(Data("\($0)\n".utf8)) }
        do {
            try Viewer.run(options)
        } catch {
            FileHandle.standardError.write(Data("framepipe: error: \(error.message)\n".utf8))
            throw ExitCode(error.exitCode)
        }
    }
}
