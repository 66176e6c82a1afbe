import FrameHandoff
import FrameTiming
import Foundation
import KernelRuntime
import Synchronization
import VulkanRender

/// Settings of one `framepipe view` session.
public struct ViewerOptions: Sendable {
    public var kernelPath: String
    public var width = 512
    public var height = 512
    public var deviceIndex: Int?
    public var limits = KernelLimits()
    public var workers = ThreadPlacement.defaultWorkerCount
    public var maxConsecutiveFailures = 3
    public var colormap: Colormap = .viridis
    /// "fifo" (default), "mailbox" or "immediate"; fifo when the display does not offer the one asked for.
    public var presentMode = "fifo"
    /// Reload the kernel when its file changes.
    public var watch = false
    /// Where `S` writes its PNGs.
    public var screenshotDirectory = "."
    /// Quit (exit 0) after this many presented frames (tests).
    public var exitAfterFrames: Int?
    /// Where log lines go (kernel `fp.log`, faults, reloads, screenshots, the disabled reason).
    public var log: @Sendable (String) -> Void = { _ in }

    public init(kernelPath: String) {
        self.kernelPath = kernelPath
    }
}

/// Why the viewer stopped with an error.
public struct ViewerError: Error, CustomStringConvertible, Sendable {
    /// Exit code 6: there is no display to open a window on.
    public static let noDisplayExitCode: Int32 = ExitStatus.noDisplay.rawValue
    public let exitCode: Int32
    public let message: String
    public var description: String { message }

    init(_ error: FramepipeError) {
        exitCode = error.exitCode.rawValue
        message = error.message
    }

    init(noDisplay detail: String) {
        exitCode = Self.noDisplayExitCode
        message =
            "no display: \(detail) (run under a desktop session or xvfb-run; use `framepipe bench` for headless runs)"
    }
}

/// The pointer as the kernel sees it through `fp.input`: written by the main thread, read by the workers.
final class PointerInput: Sendable {
    private let x = Atomic<UInt32>(0)
    private let y = Atomic<UInt32>(0)
    private let buttons = Atomic<UInt32>(0)

    func set(x: Float, y: Float, buttons: UInt32) {
        self.x.store(x.bitPattern, ordering: .relaxed)
        self.y.store(y.bitPattern, ordering: .relaxed)
        self.buttons.store(buttons, ordering: .relaxed)
    }

    /// fp.input(what): 0 = x (0..1), 1 = y (0..1, down), 2 = button bitmask; anything else 0.
    func value(_ what: Int32) -> Float {
        switch what {
        case 0: Float(bitPattern: x.load(ordering: .relaxed))
        case 1: Float(bitPattern: y.load(ordering: .relaxed))
        case 2: Float(buttons.load(ordering: .relaxed))
        default: 0
        }
    }
}

/// `framepipe view`: the kernel on a worker pool into the slot ring, drawn into a GLFW window by the main thread.
/// Everything GLFW and Vulkan happens on the calling thread, which must be the process's main thread.
public enum Viewer {
    public static let presentModes = ["fifo", "mailbox", "immediate"]

    public static func run(_ options: ViewerOptions) throws(ViewerError) {
        defer { ViewerWindow.terminate() }
        try session(options)
    }

    /// The initial window size: the kernel frame scaled by a whole factor up to at least 512 px on its longer side,
    /// or down to at most 1024.
    static func windowSize(width: Int, height: Int) -> (Int, Int) {
        let longer = max(width, height)
        if longer < 512 {
            let factor = max(1, 512 / longer)
            return (width * factor, height * factor)
        }
        if longer > 1024 {
            let scale = 1024.0 / Double(longer)
            return (max(1, Int(Double(width) * scale)), max(1, Int(Double(height) * scale)))
        }
        return (width, height)
    }

    private static func session(_ options: ViewerOptions) throws(ViewerError) {
        let log = options.log
        let kernelName = ((options.kernelPath as NSString).lastPathComponent as NSString).deletingPathExtension
        guard presentModes.contains(options.presentMode) else {
            throw ViewerError(FramepipeError(.usage, "--present-mode must be fifo, mailbox or immediate"))
        }

        let window: ViewerWindow
        do {
            let (w, h) = windowSize(width: options.width, height: options.height)
            window = try ViewerWindow(width: w, height: h, title: "framepipe — \(kernelName)")
        } catch {
            if error.noDisplay { throw ViewerError(noDisplay: error.message) }
            throw ViewerError(FramepipeError(.noVulkan, error.message))
        }

        let pointer = PointerInput()
        let host = KernelHost(log: { log("kernel: \($0)") }, input: { pointer.value($0) })
        let settings = ComputeSettings(
            width: options.width, height: options.height, limits: options.limits, deterministicTime: false,
            maxConsecutiveFailures: options.maxConsecutiveFailures, workers: options.workers)
        let compute: ComputeSide
        do {
            compute = try ComputeSide.load(
                path: options.kernelPath, width: options.width, height: options.height, limits: options.limits,
                host: host)
        } catch {
            throw ViewerError(error)
        }
        let renderer: WindowRenderer
        do {
            renderer = try WindowRenderer(
                window: window, width: options.width, height: options.height,
                content: compute.content(colormap: options.colormap),
                presentMode: options.presentMode, deviceIndex: options.deviceIndex)
        } catch {
            throw ViewerError(FramepipeError(error))
        }
        if let warning = renderer.presentModeWarning { log("warning: \(warning)") }
        let run: ComputeRun
        do {
            run = try compute.build(
                settings: settings, host: host, slotCount: 3, policy: .latest, watch: options.watch, log: log)
        } catch {
            throw ViewerError(error)
        }
        let (ring, pool) = (run.ring, run.pool)
        run.start()
        defer {
            _ = run.stop()
            renderer.waitIdle()
        }

        var state = LoopState()
        var frameIndexByGeneration: [UInt64: Int32] = [:]
        var shownFrame: (generation: UInt64, frame: Int32)?
        var shownDisabledReason: String?
        var dirty = true
        var lastTitleNanos: UInt64 = 0

        while true {
            window.pollEvents()
            if window.shouldClose { break }
            var quit = false
            for key in window.takeKeys() {
                switch key {
                case .escape:
                    quit = true
                case .space:
                    state.paused.toggle()
                    pool.setPaused(state.paused)
                    lastTitleNanos = 0
                case .h:
                    state.hud.toggle()
                    dirty = true
                case .r:
                    do {
                        try pool.reload(path: options.kernelPath, engine: Bench.engine)
                        state.reloadError = nil
                        shownDisabledReason = nil
                        log("reloaded \(options.kernelPath)")
                    } catch {
                        state.reloadError = error.message
                        log("reload refused, the previous kernel keeps running: \(error.message)")
                    }
                    lastTitleNanos = 0
                case .s:
                    do {
                        let path = try screenshot(
                            renderer, directory: options.screenshotDirectory, kernel: kernelName,
                            frame: shownFrame.map { Int($0.frame) } ?? 0)
                        if let path { print(path) } else { log("screenshot: no frame drawn yet") }
                    } catch {
                        log("screenshot failed: \(error.message)")
                    }
                }
            }
            if quit { break }
            if window.takeResized() {
                renderer.windowResized()
                dirty = true
            }

            let size = window.framebufferSize
            if size.width == 0 || size.height == 0 {
                window.waitEvents(timeout: 0.1)  // minimised: nothing to draw into
                continue
            }
            updatePointer(pointer, window: window, rect: renderer.drawnRect)

            if let reason = pool.disabledReason?.message, reason != shownDisabledReason {
                shownDisabledReason = reason
                // The pool has logged the reason already; this line says what the viewer does about it.
                log("viewer: the kernel is disabled; its last good frame stays on screen until it is fixed and reloaded (R\(options.watch ? " or save the file" : ""))")
                lastTitleNanos = 0
            } else if !pool.isDisabled, shownDisabledReason != nil {
                shownDisabledReason = nil  // re-enabled by a reload (R or --watch)
                state.reloadError = nil
                lastTitleNanos = 0
            }

            pool.drainTelemetry { event in
                if event.kind == .published { frameIndexByGeneration[event.generation] = event.frameIndex }
            }
            let lease = dirty ? ring.acquire() : ring.waitForFrame(timeoutNanos: 8_000_000)
            let hud = state.hud ? state.intervals : nil
            var presented = false
            do {
                if let lease {
                    presented = try ring.withReadableBytes(lease) { bytes in
                        try renderer.drawFrame(bytes, hudIntervals: hud)
                    }
                    try ring.release(lease)
                    let generation = lease.handle.generation
                    shownFrame = (generation, frameIndexByGeneration[generation] ?? Int32(truncatingIfNeeded: generation))
                    frameIndexByGeneration = frameIndexByGeneration.filter { $0.key > generation }
                } else if dirty {
                    presented = try renderer.drawFrame(nil, hudIntervals: hud)
                }
            } catch let error as RenderError {
                throw ViewerError(FramepipeError(error))
            } catch {
                throw ViewerError(FramepipeError(.failure, "render loop failed: \(error)"))
            }
            if lease != nil || dirty { dirty = !presented }
            if presented { state.presented(at: monotonicNanos()) }

            let now = monotonicNanos()
            if now &- lastTitleNanos >= 500_000_000 {
                lastTitleNanos = now
                window.setTitle(
                    state.title(kernel: kernelName, now: now, disabled: pool.isDisabled ? shownDisabledReason : nil))
            }
            if let limit = options.exitAfterFrames, state.presentedCount >= limit { break }
        }
    }

    /// Pointer position relative to the drawn frame, 0..1 (clamped), y down.
    private static func updatePointer(
        _ pointer: PointerInput, window: ViewerWindow, rect: (x: Int, y: Int, width: Int, height: Int)
    ) {
        guard rect.width > 0, rect.height > 0 else { return }
        let p = window.pointer
        let x = min(max((p.x - Double(rect.x)) / Double(rect.width), 0), 1)
        let y = min(max((p.y - Double(rect.y)) / Double(rect.height), 0), 1)
        pointer.set(x: Float(x), y: Float(y), buttons: window.buttons)
    }

    /// Writes the kernel frame as drawn (kernel size, no HUD, no letterbox) to
    /// DIR/framepipe-<kernel>-<frame>.png, atomically; returns the path, or nil before the first frame.
    static func screenshot(
        _ renderer: WindowRenderer, directory: String, kernel: String, frame: Int
    ) throws(FramepipeError) -> String? {
        let pixels: [UInt8]?
        do { pixels = try renderer.readBackLastFrame() } catch { throw FramepipeError(error) }
        guard let pixels else { return nil }
        try OutputFiles.createDirectory(directory)
        let path = (directory as NSString).appendingPathComponent("framepipe-\(kernel)-\(frame).png")
        try OutputFiles.writePNG(pixels, width: renderer.width, height: renderer.height, to: path)
        return path
    }
}

/// What the main loop keeps between frames: keys' toggles and the frame intervals for the title and the HUD.
struct LoopState {
    var paused = false
    var hud = false
    var reloadError: String?
    /// The last WindowRenderer.hudBarCount intervals between presents, in ms, oldest first.
    var intervals: [Double] = []
    var presentedCount = 0
    private var lastPresent: UInt64?
    private var recentPresents: [UInt64] = []

    mutating func presented(at nanos: UInt64) {
        presentedCount += 1
        if let lastPresent {
            intervals.append(Double(nanos &- lastPresent) / 1e6)
            if intervals.count > WindowRenderer.hudBarCount { intervals.removeFirst(intervals.count - WindowRenderer.hudBarCount) }
        }
        lastPresent = nanos
        recentPresents.append(nanos)
    }

    /// "framepipe — plasma — 59.9 fps — p99 17.4 ms" (+ " — paused", " — disabled: …", " — reload failed: …").
    /// fps over the last second of presents, p99 over the last 240 intervals.
    mutating func title(kernel: String, now: UInt64, disabled: String?) -> String {
        recentPresents.removeAll { now &- $0 > 1_000_000_000 }
        var title = "framepipe — \(kernel) — \(String(format: "%.1f", Double(recentPresents.count))) fps"
        if let p99 = DurationStatistics(milliseconds: intervals)?.p99 {
            title += " — p99 \(String(format: "%.1f", p99)) ms"
        }
        if paused { title += " — paused" }
        if let disabled { title += " — disabled: \(disabled)" }
        if let reloadError { title += " — reload failed: \(reloadError)" }
        return title
    }
}
