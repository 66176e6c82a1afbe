import CSystemShim
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
    /// Which engine (and kernel build) runs the kernel (`--engine`, `--kernel-build`).
    public var engine = EngineRequest()
    public var workers = ThreadPlacement.defaultWorkerCount
    public var maxConsecutiveFailures = 3
    public var colormap: Colormap = .viridis
    /// "fifo" (default), "mailbox" or "immediate"; fifo when the display does not offer the one asked for.
    public var presentMode = "fifo"
    /// Reload the kernel when its file changes.
    public var watch = false
    /// `--build CMD` (with --watch): rerun CMD when a source file under `sourceFolder` changes (SourceRebuilder).
    public var buildCommand: String?
    /// `--sources DIR`: where the kernel's sources are; default the kernel file's folder.
    public var sourceFolder: String?
    /// Where `S` writes its PNGs.
    public var screenshotDirectory = "."
    /// Quit (exit 0) after this many presented frames (tests).
    public var exitAfterFrames: Int?
    /// How frames reach the GPU (`--upload`): zero-copy (the slot ring lives in the renderer's host-visible memory and
    /// the GPU reads the slot in place), copy (a staging copy per frame) or auto (HeadlessRenderer's rule).
    public var upload: UploadMode = .auto
    /// How fast the kernel computes (`--compute-rate`): one kernel frame per shown frame by default.
    public var computeRate: ComputeRate = .display
    /// Start with the overlay shown (H toggles it either way).
    public var overlay = false
    /// `--param NAME=VALUE`: parameter values to start with instead of the kernel's initial ones (the sliders move them).
    public var parameters: [ParameterAssignment] = []
    /// `--data`, `--seed`: what the kernel's WASI functions may read, and their random seed.
    public var wasi = WASIOptions()
    /// Where log lines go (kernel `fp.log`, faults, reloads, screenshots, the disabled reason).
    public var log: @Sendable (String) -> Void = { _ in }

    public init(kernelPath: String) {
        self.kernelPath = kernelPath
    }
}

/// `view --compute-rate`: how many kernel frames are computed per shown frame (docs/cli.md).
public enum ComputeRate: Sendable, Equatable, CustomStringConvertible {
    /// One kernel frame per shown frame, computed while the one before is on screen: a stateful kernel
    /// advances exactly one step per shown frame.
    case display
    /// As fast as the workers allow; the display shows the latest (most computed frames are not shown).
    case unpaced
    /// At most this many kernel frames a second, whatever the display does.
    case hz(Double)

    public static let hzRange: ClosedRange<Double> = 1...1000

    /// "display", "unpaced" or a rate in Hz (1–1000); nil otherwise.
    public init?(_ text: String) {
        switch text.lowercased() {
        case "display": self = .display
        case "unpaced": self = .unpaced
        default:
            guard let hz = Double(text), hz.isFinite, Self.hzRange.contains(hz) else { return nil }
            self = .hz(hz)
        }
    }

    public var description: String {
        switch self {
        case .display: "display"
        case .unpaced: "unpaced"
        case .hz(let hz): String(format: "%g", hz)
        }
    }

    var pacing: ComputePacing {
        switch self {
        case .display: .consumer
        case .unpaced: .unpaced
        case .hz(let hz): .rate(hz: hz)
        }
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
    private let inside = Atomic<Bool>(false)

    func set(x: Float, y: Float, buttons: UInt32, inside: Bool) {
        self.x.store(x.bitPattern, ordering: .relaxed)
        self.y.store(y.bitPattern, ordering: .relaxed)
        self.buttons.store(buttons, ordering: .relaxed)
        self.inside.store(inside, ordering: .relaxed)
    }

    /// The pointer left the frame (or went over the overlay): x and y keep their last values.
    func leave() { inside.store(false, ordering: .relaxed) }

    /// fp.input(what): 0 = x (0..1), 1 = y (0..1, down), 2 = button bitmask, 3 = inside (1 while over the frame);
    /// anything else 0 (docs/kernel-abi.md).
    func value(_ what: Int32) -> Float {
        switch what {
        case 0: Float(bitPattern: x.load(ordering: .relaxed))
        case 1: Float(bitPattern: y.load(ordering: .relaxed))
        case 2: Float(buttons.load(ordering: .relaxed))
        case 3: inside.load(ordering: .relaxed) ? 1 : 0
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

    /// The initial window size: the kernel frame scaled by the smallest whole factor that makes its longer side at
    /// least 512 px, or down to at most 1024 (docs/cli.md, "view").
    static func windowSize(width: Int, height: Int) -> (Int, Int) {
        let longer = max(width, height)
        if longer < 512 {
            let factor = (512 + longer - 1) / longer
            let scaled = (width * factor, height * factor)
            // A thin frame (e.g. 8x300) scaled up so far that its longer side passes 1024: fit it instead.
            return max(scaled.0, scaled.1) > 1024 ? windowSize(width: scaled.0, height: scaled.1) : scaled
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
        let host = KernelHost(log: { log($0) }, input: { pointer.value($0) }, wasi: options.wasi)
        var settings = ComputeSettings(
            width: options.width, height: options.height, limits: options.limits, deterministicTime: false,
            maxConsecutiveFailures: options.maxConsecutiveFailures, workers: options.workers)
        settings.pacing = options.computeRate.pacing
        let compute: ComputeSide
        do {
            compute = try ComputeSide.load(
                path: options.kernelPath, width: options.width, height: options.height, limits: options.limits,
                host: host, engine: options.engine, parameters: options.parameters, log: log)
        } catch {
            throw ViewerError(error)
        }
        let renderer: WindowRenderer
        do {
            renderer = try WindowRenderer(
                window: window, width: options.width, height: options.height,
                content: compute.content(colormap: options.colormap),
                presentMode: options.presentMode, deviceIndex: options.deviceIndex,
                calibratedTimestamps: ProcessInfo.processInfo.environment[fenceTimestampsVariable] == nil,
                upload: options.upload)
        } catch {
            throw ViewerError(FramepipeError(error))
        }
        if let warning = renderer.presentModeWarning { log("warning: \(warning)") }
        log("viewer: upload \(renderer.uploadMode.rawValue) (\(renderer.uploadReason)) on \(renderer.device.name)")
        // Zero-copy: the ring lives in the renderer's memory and the loop holds a slot per frame in flight, so it needs
        // more slots than the copy path's 3 (FrameSink.requiredRingSlotCount explains the count).
        let slotCount = renderer.requiredRingSlotCount
        let run: ComputeRun
        let feed: RenderFeed<WindowRenderer>
        do throws(FramepipeError) {
            let payload = try renderer.lentRingPayload(slotCount: slotCount, slotByteCount: compute.probe.outputByteCount)
            run = try compute.build(
                settings: settings, slotCount: slotCount, policy: .latest, watch: options.watch,
                payload: payload, log: log)
            // The same feed as bench's: handles validated before binding, zero-copy leases held until the fence.
            feed = try RenderFeed(ring: run.ring, renderer: renderer)
        } catch {
            throw ViewerError(error)
        }
        let (ring, pool) = (run.ring, run.pool)
        let rebuilder = options.buildCommand.map { command in
            SourceRebuilder(
                command: command,
                sourceFolder: options.sourceFolder ?? Self.folder(of: options.kernelPath),
                log: log)
        }
        run.start()
        rebuilder?.start()
        defer {
            rebuilder?.stop()  // before the pool: a build finishing now only writes the .wasm
            _ = run.stop()  // no worker writes the ring from here on
            feed.close()  // the GPU idle, every lease still held given back
            ring.retire()  // lets go of the ring memory here, whichever thread drops the ring last
            // The zero-copy ring memory and the Vulkan objects are released with the renderer, on this thread.
            withExtendedLifetime(renderer) {}
        }

        var state = LoopState()
        var timeline = ViewerTimeline()
        let displayHz = window.displayRefreshHz ?? 60
        var hud = HudOverlay(targetMs: 1000.0 / displayHz)
        hud.panel.kernel = kernelName
        hud.panel.engine = "\(compute.engine.identity.name) \(compute.engine.identity.version)"
        hud.panel.device = renderer.device.name
        hud.panel.upload = renderer.uploadMode.rawValue
        hud.panel.computeRate = options.computeRate.description
        hud.panel.workers = pool.workerCount
        hud.panel.help = Self.keyHelp
        hud.panel.parameters = Self.sliders(of: pool)
        state.hud = options.overlay
        var overlayProblemLogged = false
        var faultsSeen = 0
        var buildsSeen = (builds: 0, finished: false)
        var buildLines: [String] = []
        // Timings collected this turn, folded into the records at the next (reserved: no allocation per frame).
        var timingsToFold: [WindowFrameTiming] = []
        timingsToFold.reserveCapacity(16)
        var shownFrame: (generation: UInt64, frame: Int32)?
        /// The kernel time and parameter revision of the frame on screen (for S).
        var shownKernelTime: (time: Double, parameterRevision: UInt32)?
        var shownDisabledReason: String?
        let reportSliders = ProcessInfo.processInfo.environment[Self.sliderReportVariable].map { !$0.isEmpty && $0 != "0" } == true
        var reportedSliderRects: [OverlayRect?] = []
        var dirty = true
        var lastTitleNanos: UInt64 = 0

        while true {
            window.pollEvents()
            if window.shouldClose { break }
            var quit = false
            // While a slider takes typed input (ctrl-click), keys go to the overlay only: taken and dropped here, so
            // they are not replayed as commands once it lets go.
            let keys = window.takeKeys()
            for key in keys where !renderer.overlayWantsKeyboard {
                switch key {
                case .escape:
                    quit = true
                case .space:
                    state.paused.toggle()
                    pool.setPaused(state.paused)
                    lastTitleNanos = 0
                case .n:
                    // One kernel frame while paused, its clock one display frame on.
                    if state.paused { pool.step(advancingClockBy: UInt64(1e9 / displayHz)) }
                case .f:
                    window.toggleFullscreen()
                    dirty = true
                case .h:
                    state.hud.toggle()
                    dirty = true
                case .r:
                    do {
                        try pool.reload(path: compute.path, engine: compute.engine)
                        state.reloadError = nil
                        shownDisabledReason = nil
                        log("reloaded \(compute.path)")
                    } catch {
                        state.reloadError = error.message
                        log("reload refused, the previous kernel keeps running: \(error.message)")
                    }
                    lastTitleNanos = 0
                case .s:
                    do {
                        let path = try screenshot(
                            renderer, directory: options.screenshotDirectory, kernel: kernelName,
                            frame: shownFrame.map { Int($0.frame) } ?? 0,
                            metadata: ScreenshotMetadata(
                                kernelPath: options.kernelPath, loadedFile: compute.path, kernelDigest: compute.kernelDigest,
                                engine: compute.engine.identity,
                                kernelBuild: options.engine.build.rawValue, stateful: pool.isStateful,
                                frame: shownFrame.map { Int($0.frame) } ?? 0, time: shownKernelTime?.time,
                                parameters: Self.parameterAssignments(of: pool, revision: shownKernelTime?.parameterRevision),
                                width: options.width, height: options.height, colormap: options.colormap.rawValue))
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
            if size.width == 0 || size.height == 0 || window.isHidden {
                // Minimised or unmapped: nothing on screen to draw into. Compute goes on (latest drops the unread
                // frames); its telemetry is drained so the ring does not overflow.
                state.hiddenWaits += 1
                if !state.hidden {  // the frame kept on screen, " — hidden": what the window tests wait on
                    window.setTitle("framepipe — \(kernelName)\(shownFrame.map { " — frame \($0.frame)" } ?? "") — hidden")
                }
                state.hidden = true
                pool.drainTelemetry { timeline.add($0) }
                window.waitEvents(timeout: 0.1)
                continue
            }
            if state.hidden {
                state.hidden = false
                state.presentsSinceHidden = 0
                dirty = true  // show the last frame again at once, even when paused
                lastTitleNanos = 0
            }
            // The pointer over the overlay (or dragging one of its sliders) is the overlay's, not the kernel's.
            if state.hud && renderer.overlayWantsPointer {
                pointer.leave()
            } else {
                updatePointer(pointer, window: window, rect: renderer.drawnRect)
            }

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

            let reload = pool.lastReload
            if reload.count != state.reloadsSeen {
                // R or a --watch change: a good reload clears an earlier refusal, a refused one replaces it.
                state.reloadsSeen = reload.count
                state.reloadError = reload.event?.error
                if let event = reload.event, event.error == nil {
                    state.lastReload = "reloaded \((event.path as NSString).lastPathComponent) at frame \(event.firstFrame ?? 0)"
                    hud.panel.parameters = Self.sliders(of: pool)  // the new kernel's, values carried over by name
                }
                lastTitleNanos = 0
            }

            pool.drainTelemetry { timeline.add($0) }
            for timing in timingsToFold { hud.append(ViewerTimeline.hudStages(of: timeline.rendered(timing))) }
            timingsToFold.removeAll(keepingCapacity: true)
            var presented = false
            var drewNewFrame = false
            do {
                // Before acquiring: wait for the frame slot the next draw uses, and give back the ring slots whose
                // frames the GPU finished, so the loop holds at most framesInFlight slots (requiredRingSlotCount).
                try feed.reserveFrameSlot()
                let lease = dirty ? ring.acquire() : ring.waitForFrame(timeoutNanos: 8_000_000)
                if let lease {
                    state.framesTaken += 1
                    pool.frameTaken()  // paced compute: the next kernel frame may start
                    let generation = lease.handle.generation
                    timeline.acquired(generation: generation, at: monotonicNanos())
                    fp_probe_acquire(generation)
                    if timeline.frameIndex(of: generation) == nil || timeline.kernelTime(of: generation) == nil {
                        // Published after the drain above: its events were pushed before the publish this acquire
                        // saw, so they are there now (the screenshot's name and metadata need them).
                        pool.drainTelemetry { timeline.add($0) }
                    }
                    let kernelTime = timeline.kernelTime(of: generation)
                    // drawFrame records, submits and presents: the probes bracket it.
                    fp_probe_submit(generation)
                    if let drawn = try feed.draw(lease, hud: state.hud ? hud : nil) {
                        presented = drawn
                        drewNewFrame = true
                        if presented { fp_probe_present(generation) }
                        shownFrame = (generation, timeline.frameIndex(of: generation) ?? Int32(truncatingIfNeeded: generation))
                        shownKernelTime = kernelTime
                    } else {
                        // Invariant 2: a stale handle is counted by the ring and skipped, never bound.
                        state.staleSkipped += 1
                    }
                } else if dirty || state.hud {
                    // The overlay is redrawn without a new frame too (at most every 8 ms), so it follows the pointer.
                    presented = try renderer.drawFrame(nil, hud: state.hud ? hud : nil)
                }
                try feed.releaseFinished()
                // Finished frames' timings are folded in at the next turn, after its telemetry drain: a
                // frame's `published` event is pushed just after the frame became visible, so it may
                // not have been drained yet when a fast GPU finishes the frame within this turn.
                try renderer.collectTimings { timing in timingsToFold.append(timing) }
            } catch let error as RenderError {
                throw ViewerError(FramepipeError(error))
            } catch let error as FramepipeError {
                throw ViewerError(error)
            } catch {
                throw ViewerError(FramepipeError(.failure, "render loop failed: \(error)"))
            }
            // A slider moved: the next frame to open computes with the new value.
            let sliders = renderer.overlayParameters
            if state.hud, sliders.count == hud.panel.parameters.count,
                zip(sliders, hud.panel.parameters).allSatisfy({ $0.name == $1.name })
            {
                var moved = false
                for (index, slider) in sliders.enumerated() where slider.value != hud.panel.parameters[index].value {
                    pool.setParameter(index, to: slider.value)
                    moved = true
                }
                if moved {
                    hud.panel.parameters = Self.sliders(of: pool)
                    if reportSliders {
                        log("viewer: parameters \(Self.parameterAssignments(of: pool, revision: nil).map(\.description).joined(separator: " ")) from the next frame")
                    }
                }
                if reportSliders {
                    let rects = sliders.map(\.sliderRect)
                    if rects != reportedSliderRects, !rects.contains(nil) {
                        reportedSliderRects = rects
                        for slider in sliders {
                            if let r = slider.sliderRect {
                                log("viewer: slider \(slider.name) at \(Int(r.x0)),\(Int(r.y0)) \(Int(r.x1)),\(Int(r.y1))")
                            }
                        }
                    }
                }
            }
            if drewNewFrame || dirty { dirty = !presented }
            if presented { state.presented(at: monotonicNanos()) }

            if let problem = renderer.overlayProblem, !overlayProblemLogged {
                overlayProblemLogged = true
                log("viewer: the overlay is unavailable (\(problem)); frames are drawn without it")
            }
            let now = monotonicNanos()
            if now &- lastTitleNanos >= 500_000_000 {
                lastTitleNanos = now
                let faults = pool.recentFaults
                var faultsChanged = faults.count != faultsSeen
                if let rebuilder {
                    let status = rebuilder.status
                    let finished = status.outcome != .running
                    if status.builds != buildsSeen.builds || finished != buildsSeen.finished {
                        buildsSeen = (status.builds, finished)
                        (state.buildFailed, buildLines) = Self.buildLines(status.outcome)
                        faultsChanged = true
                    }
                }
                if faultsChanged {
                    faultsSeen = faults.count
                    // A failed build's compiler output first: it is what the author is fixing.
                    hud.panel.faults = buildLines + faults.lines.map { KernelText.bounded($0, limit: Self.overlayLineLimit) }
                }
                state.fill(
                    &hud.panel, frame: shownFrame?.frame, now: now, disabledReason: pool.isDisabled ? shownDisabledReason : nil,
                    failed: UInt64(pool.framesSettledUnshown), stale: UInt64(state.staleSkipped))
                hud.panel.dropped = ring.counters.dropped
                window.setTitle(
                    state.title(
                        kernel: kernelName, frame: shownFrame?.frame, now: now,
                        disabled: pool.isDisabled))
            }
            if let limit = options.exitAfterFrames, state.presentedCount >= limit { break }
        }

        if ProcessInfo.processInfo.environment[timingReportVariable].map({ !$0.isEmpty && $0 != "0" }) == true {
            // Every submitted frame's fence, then its timing, so the report covers all presented frames.
            renderer.waitIdle()
            pool.drainTelemetry { timeline.add($0) }
            for timing in timingsToFold { _ = timeline.rendered(timing) }
            try? renderer.collectTimings { _ = timeline.rendered($0) }
            print(
                timeline.report(
                    calibration: renderer.timestampCalibration, overlayCPUMs: renderer.overlayCPUMedianMs,
                    loopCounts: [
                        ("hidden_waits", state.hiddenWaits), ("presents_since_hidden", state.presentsSinceHidden),
                        ("stale_skipped", state.staleSkipped), ("computed", pool.framesOpened),
                        ("taken", state.framesTaken),
                    ]))
        }
    }

    /// The running kernel's parameters as the overlay's sliders, at the values the next frame opens with.
    static func sliders(of pool: ComputePool) -> [OverlayParameter] {
        zip(pool.parameters, pool.parameterValues.values.array).map {
            OverlayParameter(name: $0.name, minimum: $0.minimum, maximum: $0.maximum, value: $1)
        }
    }

    /// The parameter values a shown frame was computed with (its revision), else the current ones.
    static func parameterAssignments(of pool: ComputePool, revision: UInt32?) -> [ParameterAssignment] {
        let values = revision.flatMap { pool.parameterValues(revision: $0) } ?? pool.parameterValues.values
        let parameters = pool.parameters
        guard values.count == parameters.count else { return [] }
        return zip(parameters, values.array).map { ParameterAssignment(name: $0.name, value: $1) }
    }

    /// The overlay's help line (docs/cli.md, "Keys").
    static let keyHelp = "Space pause   N step   R reload   H overlay   S screenshot   F full screen   Esc quit"
    /// The longest fault or reason line the overlay shows (the log has them whole, up to KernelText's bound).
    static let overlayLineLimit = 300
    /// Compiler lines the overlay shows of a failed build (the log has all it kept).
    static let overlayBuildLines = 12

    /// The folder a file is in ("." for a bare name).
    static func folder(of path: String) -> String {
        let folder = (path as NSString).deletingLastPathComponent
        return folder.isEmpty ? "." : folder
    }

    /// Whether the last build failed, and the overlay's lines for it: "build failed (exit 1)" then the compiler's
    /// error lines first (those naming an error), then the rest, bounded.
    static func buildLines(_ outcome: SourceRebuilder.Outcome?) -> (failed: Bool, lines: [String]) {
        switch outcome {
        case .none, .succeeded: return (false, [])
        case .running: return (false, ["build: running…"])
        case .failed(let status, _, let lines):
            let errors = lines.filter { $0.contains("error") }
            let shown = (errors.isEmpty ? lines : errors).suffix(overlayBuildLines)
            return (true, ["build failed (exit \(status)):"] + shown.map { KernelText.bounded($0, limit: overlayLineLimit) })
        }
    }

    /// Set (to anything but "" or "0") to make the viewer print one `view-timing:` line on stdout when it quits:
    /// how many frames were timed, how many had (calibrated) GPU timestamps, order violations beyond the slack, and
    /// the median stage durations of the last 240 frames. For tests and for checking a driver's timestamps.
    public static let timingReportVariable = "FRAMEPIPE_VIEW_TIMING_REPORT"
    /// Set (to anything) to use the fence-anchored GPU clock even where VK_EXT_calibrated_timestamps exists (tests of
    /// the fallback).
    public static let fenceTimestampsVariable = "FRAMEPIPE_VIEW_FENCE_TIMESTAMPS"
    /// Set (not 0): log where each parameter slider is drawn (`viewer: slider NAME at X0,Y0 X1,Y1`, window pixels, again
    /// when the layout moves) and every change a slider makes (`viewer: parameters NAME=VALUE … from the next frame`):
    /// what the slider test drags with xdotool, and a record of a session's changes.
    public static let sliderReportVariable = "FRAMEPIPE_VIEW_SLIDER_REPORT"

    /// Pointer position relative to the drawn frame, 0..1 (clamped), y down.
    private static func updatePointer(
        _ pointer: PointerInput, window: ViewerWindow, rect: (x: Int, y: Int, width: Int, height: Int)
    ) {
        guard rect.width > 0, rect.height > 0 else { return }
        let p = window.pointer
        let rawX = (p.x - Double(rect.x)) / Double(rect.width)
        let rawY = (p.y - Double(rect.y)) / Double(rect.height)
        let inside = window.isHovered && (0...1).contains(rawX) && (0...1).contains(rawY)
        pointer.set(
            x: Float(min(max(rawX, 0), 1)), y: Float(min(max(rawY, 0), 1)), buttons: window.buttons, inside: inside)
    }

    /// Writes the kernel frame as drawn (kernel size, no overlay, no letterbox) to
    /// DIR/framepipe-<kernel>-<frame>.png, atomically, with `metadata` in its tEXt chunks; returns the path, or nil
    /// before the first frame.
    static func screenshot(
        _ renderer: WindowRenderer, directory: String, kernel: String, frame: Int, metadata: ScreenshotMetadata
    ) throws(FramepipeError) -> String? {
        let pixels: [UInt8]?
        do { pixels = try renderer.readBackLastFrame() } catch { throw FramepipeError(error) }
        guard let pixels else { return nil }
        try OutputFiles.createDirectory(directory)
        let path = (directory as NSString).appendingPathComponent("framepipe-\(kernel)-\(frame).png")
        try OutputFiles.writePNG(pixels, width: renderer.width, height: renderer.height, to: path, text: metadata.textChunks)
        return path
    }
}

/// What a viewer screenshot records in its PNG tEXt chunks (docs/cli.md, "Screenshots"): enough to reproduce the frame of
/// a stateless kernel with `capture`, byte for byte.
struct ScreenshotMetadata {
    /// The kernel as given, and the file loaded (its SIMD build with `--kernel-build auto` on wasmtime).
    var kernelPath: String
    var loadedFile: String
    var kernelDigest: String
    var engine: EngineIdentity
    var kernelBuild: String
    var stateful: Bool
    var frame: Int
    /// The kernel time of the frame, seconds (nil: unknown, its telemetry was lost).
    var time: Double?
    /// The parameter values the frame was computed with (empty: the kernel has none).
    var parameters: [ParameterAssignment]
    var width: Int
    var height: Int
    var colormap: String

    /// The time as text that reads back as the same Double (17 significant digits).
    static func exact(_ time: Double) -> String { String(format: "%.17g", time) }

    var textChunks: [(String, String)] {
        var chunks: [(String, String)] = [
            ("Software", "framepipe view"),
            ("framepipe.kernel", kernelPath),
            ("framepipe.kernel-file", loadedFile),
            ("framepipe.kernel-sha256", kernelDigest),
            ("framepipe.kernel-build", kernelBuild),
            ("framepipe.engine", "\(engine.name) \(engine.version)"),
            ("framepipe.size", "\(width)x\(height)"),
            ("framepipe.frame", String(frame)),
            ("framepipe.colormap", colormap),
            ("framepipe.parameters", parameters.map(\.description).joined(separator: " ")),
        ]
        if let time { chunks.append(("framepipe.time", Self.exact(time))) }
        if stateful {
            chunks.append(("framepipe.reproduce", "no: a stateful kernel's frame depends on every step before it, each at its own real time"))
        } else if let time {
            chunks.append((
                "framepipe.reproduce",
                "framepipe capture \(kernelPath) --engine \(engine.name.lowercased()) --kernel-build \(kernelBuild) --frame \(frame) "
                    + "--time \(Self.exact(time)) "
                    + parameters.map { "--param \($0) " }.joined()
                    + "--size \(width)x\(height) --colormap \(colormap) --out FILE.png"
            ))
        }
        return chunks
    }
}

/// What the main loop keeps between frames: keys' toggles, the present intervals for the title, hidden-window counts.
struct LoopState {
    var paused = false
    var hud = false
    var reloadError: String?
    /// The last `--build` failed (the title says so until a build succeeds).
    var buildFailed = false
    /// The last WindowRenderer.hudBarCount intervals between presents, in ms, oldest first (the title's p99).
    var intervals: [Double] = []
    var presentedCount = 0
    /// Loop turns spent waiting while the window was minimised or unmapped, whether it is now, and the presents since
    /// it last was (for the timing report).
    var hiddenWaits = 0
    var hidden = false
    /// Zero-copy: acquired frames whose handle failed validation before binding (skipped; the ring counts them too).
    var staleSkipped = 0
    var presentsSinceHidden = 0
    /// Reload events seen so far (ComputePool.lastReload), and the last good one ("reloaded at frame N").
    var reloadsSeen = 0
    var lastReload: String?
    /// Kernel frames taken off the ring (each drawn once, unless its handle was stale).
    var framesTaken = 0
    private var lastPresent: UInt64?
    private var recentPresents: [UInt64] = []

    mutating func presented(at nanos: UInt64) {
        presentedCount += 1
        presentsSinceHidden += 1
        if let lastPresent {
            intervals.append(Double(nanos &- lastPresent) / 1e6)
            if intervals.count > WindowRenderer.hudBarCount { intervals.removeFirst(intervals.count - WindowRenderer.hudBarCount) }
        }
        lastPresent = nanos
        recentPresents.append(nanos)
    }

    /// The overlay's numbers and state: fps over the last second, interval p50 and p99 over the last 240 intervals.
    func fill(
        _ panel: inout OverlayPanel, frame: Int32?, now: UInt64, disabledReason: String?, failed: UInt64, stale: UInt64
    ) {
        let statistics = DurationStatistics(milliseconds: intervals)
        panel.fps = Double(recentPresents.filter { now &- $0 <= 1_000_000_000 }.count)
        panel.intervalP50Ms = statistics?.p50 ?? 0
        panel.intervalP99Ms = statistics?.p99 ?? 0
        panel.frameOnScreen = Int64(frame ?? 0)
        panel.failed = failed
        panel.stale = stale
        panel.state = disabledReason != nil ? "disabled" : paused ? "paused" : "running"
        panel.disabledReason = disabledReason.map { KernelText.bounded($0, limit: Viewer.overlayLineLimit) }
        panel.reload = reloadError.map { "reload refused: \(KernelText.bounded($0, limit: Viewer.overlayLineLimit))" } ?? lastReload
        panel.reloadFailed = reloadError != nil
    }

    /// "framepipe — plasma — frame 42 — 59.9 fps — p99 17.4 ms" (+ " — paused", " — disabled", " — reload failed"):
    /// short; the reasons are logged (and shown in the window). `frame`: the kernel frame on screen (none before the
    /// first; tests wait on it). fps over the last second of presents, p99 over the last 240 intervals.
    mutating func title(kernel: String, frame: Int32?, now: UInt64, disabled: Bool) -> String {
        recentPresents.removeAll { now &- $0 > 1_000_000_000 }
        var title = "framepipe — \(kernel)"
        if let frame { title += " — frame \(frame)" }
        title += " — \(String(format: "%.1f", Double(recentPresents.count))) fps"
        if let p99 = DurationStatistics(milliseconds: intervals)?.p99 {
            title += " — p99 \(String(format: "%.1f", p99)) ms"
        }
        if paused { title += " — paused" }
        if disabled { title += " — disabled" }
        if reloadError != nil { title += " — reload failed" }
        if buildFailed { title += " — build failed" }
        return title
    }
}

/// The viewer's frame records (the brief's "Frame record"), assembled on the main thread from three sources: the
/// pool's telemetry (schedule, tile spans, publish), the loop's own acquire stamp, and WindowRenderer's timings
/// (submit, GPU start/end on CLOCK_MONOTONIC, present), which come back one or two draws later. Storage is fixed: a
/// table of in-progress records indexed by generation modulo `pendingCapacity` (a newer generation overwrites an
/// older one that never completed, e.g. a dropped frame) and a ring of the last `recentCapacity` complete records.
/// Nothing here allocates per frame.
struct ViewerTimeline {
    static let pendingCapacity = 256
    static let recentCapacity = HudHistory.capacity
    /// Slack for the order checks in `report`: a calibration's max deviation (ns on lavapipe, µs on real GPUs) plus
    /// rounding; a wrong clock is off by far more.
    static let orderSlackNanos: UInt64 = 1_000_000
    private static let empty = UInt64.max

    private var pending: [FrameRecord]
    /// The kernel time of a frame by generation (from its tile events, which are pushed before the frame is
    /// published, so it is known by the time the frame can be acquired), for screenshots.
    private var kernelTimes: [(generation: UInt64, time: Double, parameterRevision: UInt32)]
    private var recentRecords: [FrameRecord]
    private var recentOldest = 0
    private(set) var recentCount = 0

    /// Counters over the whole run (for `report`).
    private(set) var timedFrames = 0
    private(set) var gpuTimedFrames = 0
    private(set) var calibratedFrames = 0
    private(set) var gpuStartBeforeSubmit = 0
    private(set) var presentBeforeGpuEnd = 0
    private(set) var presentedFrames = 0
    /// Frames whose publish was stamped after the render thread had already acquired them (the pool stamps publish
    /// just before making the frame visible, so this should stay 0): handoff_wait counts as 0.
    private(set) var publishAfterAcquire = 0

    init() {
        pending = Array(repeating: FrameRecord(generation: Self.empty), count: Self.pendingCapacity)
        kernelTimes = Array(repeating: (Self.empty, 0, 0), count: Self.pendingCapacity)
        recentRecords = Array(repeating: FrameRecord(generation: Self.empty), count: Self.recentCapacity)
    }

    private static func index(_ generation: UInt64) -> Int { Int(generation % UInt64(pendingCapacity)) }

    /// The in-progress record of `generation`, started fresh if its entry holds another generation.
    private mutating func withPending(_ generation: UInt64, _ body: (inout FrameRecord) -> Void) {
        let i = Self.index(generation)
        if pending[i].generation != generation { pending[i] = FrameRecord(generation: generation) }
        body(&pending[i])
    }

    mutating func add(_ event: ComputeEvent) {
        withPending(event.generation) { $0.fold(event) }
        if event.kind == .tile || event.kind == .published {
            kernelTimes[Self.index(event.generation)] = (event.generation, event.kernelTime, event.parameterRevision)
        }
    }

    /// The kernel time (seconds) and parameter revision of `generation`'s frame, once one of its events arrived.
    func kernelTime(of generation: UInt64) -> (time: Double, parameterRevision: UInt32)? {
        let entry = kernelTimes[Self.index(generation)]
        return entry.generation == generation ? (entry.time, entry.parameterRevision) : nil
    }

    mutating func acquired(generation: UInt64, at nanos: UInt64) {
        withPending(generation) { $0.acquireNanos = nanos }
    }

    /// The kernel frame index of `generation`, once its telemetry arrived.
    func frameIndex(of generation: UInt64) -> Int32? {
        let record = pending[Self.index(generation)]
        return record.generation == generation && record.frameIndex >= 0 ? record.frameIndex : nil
    }

    /// Completes the record of `timing.tag` (a generation) with the render side's times, keeps it among the recent
    /// records and returns it.
    @discardableResult
    mutating func rendered(_ timing: WindowFrameTiming) -> FrameRecord {
        let i = Self.index(timing.tag)
        var record = pending[i].generation == timing.tag ? pending[i] : FrameRecord(generation: timing.tag)
        pending[i] = FrameRecord(generation: Self.empty)
        record.outcome = .measured
        record.submitNanos = timing.submitNanos
        record.gpuStartNanos = timing.gpuStartNanos ?? 0
        record.gpuEndNanos = timing.gpuEndNanos ?? 0
        record.presentNanos = timing.presentNanos ?? 0
        record.completeNanos = timing.fenceSeenNanos

        timedFrames += 1
        if timing.presentNanos != nil { presentedFrames += 1 }
        if let start = timing.gpuStartNanos, let end = timing.gpuEndNanos {
            gpuTimedFrames += 1
            if timing.calibrated { calibratedFrames += 1 }
            if start &+ Self.orderSlackNanos < timing.submitNanos { gpuStartBeforeSubmit += 1 }
            if let present = timing.presentNanos, present &+ Self.orderSlackNanos < end { presentBeforeGpuEnd += 1 }
        }
        if record.publishNanos != 0, record.acquireNanos != 0, record.publishNanos > record.acquireNanos {
            publishAfterAcquire += 1
        }

        if recentCount < Self.recentCapacity {
            recentRecords[(recentOldest + recentCount) % Self.recentCapacity] = record
            recentCount += 1
        } else {
            recentRecords[recentOldest] = record
            recentOldest = (recentOldest + 1) % Self.recentCapacity
        }
        return record
    }

    /// The last `recentCount` complete records, oldest first.
    var recent: [FrameRecord] {
        (0..<recentCount).map { recentRecords[(recentOldest + $0) % Self.recentCapacity] }
    }

    /// A record's stage durations in ms for the HUD (nil where not measured). handoff_wait is 0, not missing, when
    /// the publish stamp landed after the acquire of a frame whose last tile had already ended (see
    /// `publishAfterAcquire`).
    static func hudStages(of record: FrameRecord) -> HudFrameStages {
        func ms(_ nanos: UInt64?) -> Double? { nanos.map { Double($0) / 1e6 } }
        var handoff = ms(record.handoffWaitNanos)
        if handoff == nil, record.publishNanos != 0, record.acquireNanos != 0, record.computeEndNanos != 0,
            record.acquireNanos >= record.computeEndNanos
        {
            handoff = 0
        }
        var stages = HudFrameStages()
        for stage in Stage.allCases { stages[stage] = stage == .handoffWait ? handoff : ms(record.nanoseconds(in: stage)) }
        return stages
    }

    /// One line: `view-timing: frames=… presented=… gpu_timestamps=… calibrated=… gpu_start_before_submit=…
    /// present_before_gpu_end=… publish_after_acquire=… [NAME=N for each of loopCounts] median_ms compute=…
    /// handoff_wait=… upload=… gpu=… present=… clock="…"` (medians over the recent records; NA where no frame
    /// measured the stage).
    func report(calibration: String, overlayCPUMs: Double? = nil, loopCounts: [(String, Int)] = []) -> String {
        let stages = recent.map(Self.hudStages)
        var line =
            "view-timing: frames=\(timedFrames) presented=\(presentedFrames) gpu_timestamps=\(gpuTimedFrames) "
            + "calibrated=\(calibratedFrames) gpu_start_before_submit=\(gpuStartBeforeSubmit) "
            + "present_before_gpu_end=\(presentBeforeGpuEnd) publish_after_acquire=\(publishAfterAcquire)"
        for (name, count) in loopCounts { line += " \(name)=\(count)" }
        line += " median_ms"
        for stage in Stage.allCases {
            let values = stages.compactMap { $0[stage] }.sorted()
            let median = values.isEmpty ? "NA" : String(format: "%.3f", values[values.count / 2])
            line += " \(stage.name)=\(median)"
        }
        line += " overlay_cpu=\(overlayCPUMs.map { String(format: "%.3f", $0) } ?? "NA")"
        return line + " clock=\"\(calibration)\""
    }
}
