// WindowRenderer: draws kernel frames into a GLFW window through a Vulkan swapchain (`framepipe view`).
//
// Design: each new kernel frame is rendered exactly as HeadlessRenderer renders it — same pipelines, same slots, built
// by VulkanObjects' own functions — into the frame-in-flight slot's offscreen RGBA8 target at the kernel's size. The
// swapchain image is then cleared to black and the most recent target is blitted into it, scaled to keep the kernel
// frame's aspect ratio (letterbox / pillarbox). The overlay render pass draws Dear ImGui's overlay (FrameOverlay.swift) on
// top, when shown, and leaves the image ready to present. Keeping the kernel frame offscreen means every format is drawn by the very code the bench measures and
// the screenshot is the kernel frame as drawn, bit for bit what `capture` would write; the last good frame survives
// pauses, disabled kernels and resizes without any extra copy.
//
// Synchronization: 2 frames in flight. Frame slot i owns VulkanObjects.slots[i] (staging, texture, target, command
// buffer, fence created signalled) and imageAvailable[i]; each swapchain image k owns renderFinished[k] (a present
// may still wait on it when slot i comes round again, so it cannot belong to the slot). The fence of slot i is
// waited on before anything of slot i is touched and reset only right before the submit that signals it again. A
// target written by slot i may be blitted by a later frame of the other slot: the kernel render pass's incoming
// dependency includes the TRANSFER stage, so its rewrite waits for such blits (queue submission order).
//
// Device and pipeline setup, frame fences and GPU timestamps: KernelFrameDevice.swift, shared with HeadlessRenderer.
//
// Timing (WindowFrameTiming): a frame drawn with a tag gets three GPU timestamps in its slot's query pool
// (FrameTimestamps): before the kernel-frame pass (TOP_OF_PIPE), after it, and after the overlay pass (BOTTOM_OF_PIPE,
// the end of everything the frame draws before the present). The host stamps submit (just before vkQueueSubmit) and present (just after
// vkQueuePresentKHR returns). Once the slot's fence is seen signalled — polled in collectTimings, or waited on before
// the slot is reused, which always happens before its queries are reset again — the ticks are read and put on
// CLOCK_MONOTONIC by GPUClock (TimestampCalibration.swift): VK_EXT_calibrated_timestamps where the device has it,
// recalibrated about once a second right after a submit; otherwise the fence-anchored fallback, fed with the time the
// fence was seen signalled. Frames therefore come back one or two draws after they were drawn.
//
// Upload (UploadMode, decided as HeadlessRenderer decides it: UploadModeDecision.swift): copy — drawFrame(_:) copies
// the caller's bytes into the frame slot's staging buffer; zero-copy — the slot ring lives in the renderer's
// host-visible memory (makeRingPayload) and drawFrame(ringSlot:) records commands that read the ring slot in place.
// A ring frame's read is over once the fence of the frame slot that drew it was seen signalled (polled in
// collectFinishedRingReads, waited on in waitForFreeFrameSlot or before the slot's reuse); only then does
// collectFinishedRingReads hand its tag back, and only then may the caller release the ring slot. Redraws without a
// new frame (pause, resize, overlay) blit the last target and never read the ring.
//
// Unsafe pointer invariants:
// - slot.stagingMapped (content.byteCount bytes, HOST_COHERENT): written only in drawFrame, after slot i's fence
//   signalled, i.e. once the GPU finished reading it; vkQueueSubmit makes the write visible to the device.
// - The zero-copy ring payload (ZeroCopyRingMemory, made by VulkanObjects.makeZeroCopyRing): this class never reads or
//   writes it on the host. The caller passes drawFrame(ringSlot:) only a ring slot it holds under a validated read
//   lease and keeps that lease until collectFinishedRingReads returned the frame's tag, i.e. until the host saw the
//   fence of the frame that read it signalled (or the frame was never submitted). So no writer's host write to a
//   slot overlaps a GPU read of it; host writes made before vkQueueSubmit are visible to the device without a flush
//   (coherent memory; the submit is a host→device memory dependency). ZeroCopyRingMemory keeps VulkanObjects,
//   and so the mapping, alive while anyone holds it; the pipeline lends the ring only its address (LentPayload
//   without owner) and keeps the renderer until the workers writing into the ring have stopped, so the device is
//   never torn down on a worker thread.
// - The overlay's vertex buffers belong to Dear ImGui's Vulkan backend, which keeps framesInFlight of them and rewrites
//   one only when the frame that used it framesInFlight draws ago is done: drawFrame waits for that frame's fence
//   before it builds and records the overlay (FrameOverlay.swift states its own invariants).
// - readbackMapped: written only by the read-back submission of VulkanObjects.readBackTarget (KernelFrameRecorder.swift,
//   ending with a TRANSFER→HOST barrier) and copied out there after its fence is waited on.
// - The caller's frame bytes are read only during drawFrame (memcpy into staging), never retained.
// - Submit and present info structs point at Swift locals lent with withUnsafePointer for the vkQueueSubmit /
//   vkQueuePresentKHR call only; Vulkan keeps no pointer past the call.
// Not thread-safe, not Sendable: the main thread owns it (it shares the GLFW window, which is main-thread only).

import CGLFW
import CVulkan

/// When one frame drawn by WindowRenderer went through the render side, all on CLOCK_MONOTONIC ns.
public struct WindowFrameTiming: Sendable, Equatable {
    /// The caller's tag (the viewer passes the frame's generation).
    public let tag: UInt64
    /// Just before vkQueueSubmit (after the frame-slot fence wait, the staging copy, the swapchain image acquire and
    /// command recording).
    public let submitNanos: UInt64
    /// The frame's first GPU timestamp (before the kernel-frame pass), its timestamp after the kernel-frame pass, and
    /// its last (after the blit and the overlay pass); nil when the queue writes no timestamps or they were unavailable.
    public let gpuStartNanos: UInt64?
    public let gpuKernelEndNanos: UInt64?
    public let gpuEndNanos: UInt64?
    /// Just after vkQueuePresentKHR returned; nil when the present failed as out of date. (On lavapipe the call
    /// returns once the frame is on the X server, i.e. after the GPU end; drivers with an asynchronous queue may
    /// return before it, so present - gpuEnd is only meaningful where it is not negative.)
    public let presentNanos: UInt64?
    /// When the host saw the frame's fence signalled (an upper bound on the GPU's end).
    public let fenceSeenNanos: UInt64
    /// True when the GPU times come from a VK_EXT_calibrated_timestamps anchor, false for the fence-anchored estimate.
    public let calibrated: Bool

    public init(
        tag: UInt64, submitNanos: UInt64, gpuStartNanos: UInt64?, gpuKernelEndNanos: UInt64?, gpuEndNanos: UInt64?,
        presentNanos: UInt64?, fenceSeenNanos: UInt64, calibrated: Bool
    ) {
        self.tag = tag
        self.submitNanos = submitNanos
        self.gpuStartNanos = gpuStartNanos
        self.gpuKernelEndNanos = gpuKernelEndNanos
        self.gpuEndNanos = gpuEndNanos
        self.presentNanos = presentNanos
        self.fenceSeenNanos = fenceSeenNanos
        self.calibrated = calibrated
    }
}

public final class WindowRenderer {
    public var device: VulkanDeviceInfo { gpu.info }
    /// The kernel frame's size.
    public var width: Int { gpu.width }
    public var height: Int { gpu.height }
    public var content: FrameContent { gpu.content }
    /// The present mode in use: "fifo", "mailbox" or "immediate".
    public private(set) var presentMode: String
    /// Set when the requested present mode is unsupported and fifo is used instead (say it once).
    public let presentModeWarning: String?
    /// Where the kernel frame lies in the window, in framebuffer pixels (for pointer input).
    public private(set) var drawnRect: (x: Int, y: Int, width: Int, height: Int) = (0, 0, 0, 0)
    /// Whether any kernel frame has been drawn yet.
    public var hasFrame: Bool { lastTargetSlot != nil }

    static let framesInFlight = 2
    /// Frames that may be in flight at once (the frame slots); a zero-copy reader holds a ring slot per frame in flight.
    public var framesInFlight: Int { Self.framesInFlight }
    /// The upload mode in use: `.copy` or `.zeroCopy` (`.auto` resolved at init, by HeadlessRenderer's rule).
    public var uploadMode: UploadMode { gpu.uploadMode }
    /// Why that mode, in a few words: e.g. "auto: cpu device, host memory is its memory".
    public var uploadReason: String { gpu.uploadReason }
    /// The overlay plot: the frames shown (HudHistory.capacity).
    public static let hudBarCount = HudHistory.capacity
    /// Timestamps per frame: before the kernel pass, after it, after the overlay pass.
    static let timestampsPerFrame: UInt32 = 3

    /// How GPU timestamps are put on CLOCK_MONOTONIC (as HeadlessRenderer.timestampCalibration words it).
    public var timestampCalibration: String { gpu.timestamps.clock.description }

    private let objects: WindowObjects
    /// Device, pipelines, frame slots and timestamps, set up as HeadlessRenderer sets up its own (KernelFrameDevice.swift).
    private let gpu: KernelFrameDevice
    private var vk: VulkanObjects { gpu.vk }
    private let window: ViewerWindow
    private var frameBytes: Int { gpu.frameBytes }
    private let presentModeValue: VkPresentModeKHR
    private var frameSlot = 0
    private var lastTargetSlot: Int?
    private var needsRecreate = false

    /// The overlay, made the first time a frame is drawn with one (nil until then, or when it could not be made:
    /// `overlayProblem` says why, and frames are drawn without it).
    private var overlay: FrameOverlay?
    /// Why the overlay could not be made, once that happened (the viewer logs it once).
    public private(set) var overlayProblem: String?
    /// The parameter values as the overlay's sliders left them in the last draw with an overlay.
    public private(set) var overlayParameters: [OverlayParameter] = []
    /// Whether the overlay wants the keyboard or the pointer now (a slider is dragged, the pointer is over it).
    public var overlayWantsKeyboard: Bool { overlay?.wantsKeyboard ?? false }
    public var overlayWantsPointer: Bool { overlay?.wantsPointer ?? false }
    /// CPU time the overlay took in each of the last draws with it (build + record), ns, for the timing report; reserved
    /// once, overwritten in a ring.
    private var overlayCPUNanos: [UInt64] = []
    private var overlayCPUNext = 0
    /// The median CPU time per frame of the overlay over the last 240 draws with it, in ms; nil before the first.
    public var overlayCPUMedianMs: Double? {
        guard !overlayCPUNanos.isEmpty else { return nil }
        let sorted = overlayCPUNanos.sorted()
        return Double(sorted[sorted.count / 2]) / 1e6
    }

    /// A timed frame whose fence has not been seen signalled yet; one per frame slot.
    private struct TimedFrame {
        let tag: UInt64
        let submitNanos: UInt64
        var presentNanos: UInt64?
    }
    private var timed: [TimedFrame?] = Array(repeating: nil, count: WindowRenderer.framesInFlight)
    /// Harvested and not yet handed out (at most framesInFlight; capacity reserved once).
    private var harvested: [WindowFrameTiming] = []

    /// The lent zero-copy ring, once makeRingPayload made it.
    private var ringMemory: ZeroCopyRingMemory?
    /// Zero-copy: the ring frames the GPU may still read (collectFinishedRingReads hands them back).
    private var ringReads = RingReads(frameSlots: WindowRenderer.framesInFlight)

    /// - presentMode: "fifo", "mailbox" or "immediate" (checked by the caller); fifo when unsupported.
    /// - calibratedTimestamps: false forces the fence-anchored fallback even where VK_EXT_calibrated_timestamps exists.
    /// - upload: how new frames reach the GPU (UploadMode; `auto` and the refusal of `zeroCopy` as in
    ///   HeadlessRenderer). In zero-copy mode, build the slot ring on makeRingPayload and draw with
    ///   drawFrame(ringSlot:tag:hud:).
    public init(
        window: ViewerWindow, width: Int, height: Int, content: FrameContent, presentMode: String,
        deviceIndex: Int? = nil, calibratedTimestamps: Bool = true, upload: UploadMode = .copy
    ) throws(RenderError) {
        let request = KernelFrameRequest(
            width: width, height: height, content: content, framesInFlight: Self.framesInFlight,
            deviceIndex: deviceIndex, upload: upload, calibratedTimestamps: calibratedTimestamps,
            timestampsPerFrame: Self.timestampsPerFrame, extraFormatNeeds: [.blitFrom],
            deviceExtensions: ["VK_KHR_swapchain"])
        try request.validate()
        self.window = window
        let objects = WindowObjects()
        (objects.vk.instance, objects.vk.debugMessenger) = try VulkanSystem.createInstance(
            extensions: ViewerWindow.requiredInstanceExtensions())
        guard let instance = objects.vk.instance else { throw RenderError.vulkan("vkCreateInstance", VK_ERROR_UNKNOWN) }
        objects.surface = try window.createSurface(instance)
        let surface = objects.surface
        /// A graphics queue family that can present to the window's surface.
        func presentFamily(_ physical: VkPhysicalDevice) -> (index: UInt32, timestampValidBits: UInt32)? {
            guard WindowObjects.hasSwapchainExtension(physical) else { return nil }
            return VulkanSystem.graphicsQueueFamily(physical) { family in
                var supported: VkBool32 = 0
                let r = vkGetPhysicalDeviceSurfaceSupportKHR(physical, family, surface, &supported)
                return r == VK_SUCCESS && supported != 0
            }
        }
        let gpu = try KernelFrameDevice(
            vk: objects.vk, request: request, unusable: "cannot draw to this window",
            noneUsable: "no Vulkan device can draw to this window", usableFamily: presentFamily)
        let info = gpu.info
        objects.linearBlit = gpu.formatFeatures & VK_FORMAT_FEATURE_SAMPLED_IMAGE_FILTER_LINEAR_BIT.rawValue != 0
        try objects.createFrameObjects(count: Self.framesInFlight)

        // Present mode: the requested one when the surface offers it, else fifo (always supported).
        let wanted: VkPresentModeKHR
        switch presentMode {
        case "mailbox": wanted = VK_PRESENT_MODE_MAILBOX_KHR
        case "immediate": wanted = VK_PRESENT_MODE_IMMEDIATE_KHR
        default: wanted = VK_PRESENT_MODE_FIFO_KHR
        }
        let available = try objects.presentModes()
        if wanted == VK_PRESENT_MODE_FIFO_KHR || available.contains(wanted) {
            presentModeValue = wanted
            self.presentMode = presentMode
            presentModeWarning = nil
        } else {
            presentModeValue = VK_PRESENT_MODE_FIFO_KHR
            self.presentMode = "fifo"
            presentModeWarning = "present mode \(presentMode) is not supported by \(info.name) on this display; using fifo"
        }

        self.objects = objects
        self.gpu = gpu
        harvested.reserveCapacity(Self.framesInFlight)
        let size = window.framebufferSize
        if size.width > 0, size.height > 0 {
            try objects.createSwapchain(
                width: UInt32(size.width), height: UInt32(size.height), presentMode: presentModeValue)
            updateDrawnRect()
        }
    }

    // Destruction: the overlay (device idle; it hands GLFW's callbacks back), then WindowObjects.deinit (swapchain
    // objects, surface), then VulkanObjects.deinit.
    deinit {
        waitIdle()
        overlay?.destroy()
    }

    /// Call after the window changed size; the swapchain is rebuilt before the next frame.
    public func windowResized() { needsRecreate = true }

    /// Draws one frame into the window and presents it: `frame` (exactly content.byteCount bytes, copied: copy
    /// upload, whatever `uploadMode` is) when a new kernel frame arrived, otherwise the last one again (black until
    /// the first). `tag`: with a new `frame`, time it (GPU timestamps, submit, present) and hand the result to a later
    /// collectTimings under this tag. `hud`: the overlay drawn on top (nil: none). Returns false when
    /// nothing was presented: the window is minimised (size 0) or the swapchain had to be rebuilt; in the latter case a
    /// given `frame` is still kept as the last frame.
    @discardableResult
    public func drawFrame(
        _ frame: UnsafeRawBufferPointer?, tag: UInt64? = nil, hud: HudOverlay?
    ) throws(RenderError) -> Bool {
        if let frame, frame.count != frameBytes || frame.baseAddress == nil {
            throw .badRequest(
                "drawFrame got \(frame.count) bytes but \(content.frameDescription(width: width, height: height)) "
                    + "is \(frameBytes): pass exactly \(content.sizeRule)")
        }
        return try draw(frame.map { NewFrame.bytes($0) } ?? .none, tag: tag, hud: hud)
    }

    /// Draws a new kernel frame from `source` (FrameSink): the caller's bytes (drawFrame(_:)) or a zero-copy ring slot
    /// (drawFrame(ringSlot:)).
    @discardableResult
    public func drawFrame(from source: FrameSource, tag: UInt64, hud: HudOverlay?) throws(RenderError) -> Bool {
        switch source {
        case .bytes(let bytes): try drawFrame(bytes, tag: tag, hud: hud)
        case .ringSlot(let slot): try drawFrame(ringSlot: slot, tag: tag, hud: hud)
        }
    }

    /// Zero-copy: draws the new kernel frame that lies in slot `ringSlot` of the ring from makeRingPayload — the GPU
    /// reads it there, in place — and presents like drawFrame(_:tag:hud:). `tag` (the frame's generation) times the
    /// frame and names it in collectFinishedRingReads, which hands it back once nothing on the GPU reads the slot any
    /// more (or at once when nothing was drawn: minimised window). The caller must hold the ring slot (a validated read
    /// lease) until then. After a throw, call waitIdle before giving the slot back.
    @discardableResult
    public func drawFrame(ringSlot: Int, tag: UInt64, hud: HudOverlay?) throws(RenderError) -> Bool {
        try gpu.checkRingSlot(ringSlot, of: ringMemory, caller: "drawFrame")
        return try draw(.ringSlot(ringSlot), tag: tag, hud: hud)
    }

    /// Zero-copy only: allocates the slot ring's payload in host-visible, host-coherent Vulkan memory the GPU reads in
    /// place (once per renderer), as HeadlessRenderer.makeRingPayload does. `slotByteCount` must be one frame of
    /// `content`; `slotCount` the ring's (at least framesInFlight + 2, so the writer always finds a free slot).
    public func makeRingPayload(slotCount: Int, slotByteCount: Int) throws(RenderError) -> ZeroCopyRingMemory {
        let memory = try gpu.makeRingPayload(slotCount: slotCount, slotByteCount: slotByteCount)
        ringMemory = memory
        return memory
    }

    /// The zero-copy ring payload, once makeRingPayload made it.
    public var zeroCopyRing: ZeroCopyRingMemory? { ringMemory }

    /// Waits, if need be, until the next draw can start without waiting for the GPU (the next frame slot's previous
    /// frame has completed); a ring frame it read is then returned by the next collectFinishedRingReads. A zero-copy
    /// reader calls it before acquiring, so it never holds more than framesInFlight ring slots while it waits.
    public func waitForFreeFrameSlot() throws(RenderError) {
        let i = frameSlot
        try gpu.waitForFrameSlot(i)
        try harvest(slot: i, fenceSeenNanos: monotonicNanos())
        ringReads.frameSlotDone(i)
    }

    /// Hands `body` the tag of every ring frame (drawFrame(ringSlot:)) whose GPU reads are over since the last call:
    /// its frame slot's fence was seen signalled (checked here without waiting, or waited on earlier), or it was never
    /// submitted. Its ring slot may be given back now. After waitIdle, every ring frame drawn comes back. No allocation.
    public func collectFinishedRingReads(_ body: (UInt64) -> Void) throws(RenderError) {
        for s in 0..<Self.framesInFlight where ringReads.isReading(frameSlot: s) {
            guard try gpu.frameSlotIsDone(s) else { continue }
            // Its timing first: its fence-seen time then precedes the slot's release, as everywhere else.
            try harvest(slot: s, fenceSeenNanos: monotonicNanos())
            ringReads.frameSlotDone(s)
        }
        ringReads.take(body)
    }

    /// A new frame for `draw`: none (redraw the last target), the caller's bytes (copied) or a ring slot (in place).
    private enum NewFrame {
        case none
        case bytes(UnsafeRawBufferPointer)
        case ringSlot(Int)
    }

    private func draw(_ newFrame: NewFrame, tag: UInt64?, hud: HudOverlay?) throws(RenderError) -> Bool {
        var ringTag: UInt64?
        if case .ringSlot = newFrame { ringTag = tag }
        let size = window.framebufferSize
        if size.width == 0 || size.height == 0 {
            // Minimised: nothing to draw into. A ring frame was not submitted, so its slot may go back at once.
            if let ringTag { ringReads.notSubmitted(ringTag) }
            return false
        }
        if needsRecreate || objects.swapchain == nil || objects.extent.width != UInt32(size.width)
            || objects.extent.height != UInt32(size.height)
        {
            try recreateSwapchain(width: size.width, height: size.height)
        }

        let i = frameSlot
        let slot = vk.slots[i]
        guard let commandBuffer = slot.commandBuffer, let fence = slot.fence, let staging = slot.stagingMapped else {
            throw RenderError.vulkan("drawFrame (slot \(i) incomplete)", VK_ERROR_INITIALIZATION_FAILED)
        }
        try gpu.waitForFrameSlot(i)
        // Slot i is idle now: its staging buffer, target and queries (and the overlay buffers of the frame framesInFlight draws ago) may be written — after its timed
        // frame, if any, has been read out of the queries; the ring slot its last frame read may go back.
        try harvest(slot: i, fenceSeenNanos: monotonicNanos())
        ringReads.frameSlotDone(i)
        let source: KernelFrameSource?
        switch newFrame {
        case .none:
            source = nil
        case .bytes(let frame):
            if let bytes = frame.baseAddress { staging.copyMemory(from: bytes, byteCount: frameBytes) }
            source = .staging(of: slot)
        case .ringSlot(let ringSlot):
            source = vk.ringSource(ringSlot: ringSlot, frameSlot: i)
        }

        var imageIndex: UInt32 = 0
        let acquired = vkAcquireNextImageKHR(
            vk.device, objects.swapchain, UInt64.max, objects.imageAvailable[i], nil, &imageIndex)
        if acquired == VK_ERROR_OUT_OF_DATE_KHR {
            needsRecreate = true
            if let source {
                try renderKernelFrameOnly(slot: i, from: source)
                ringReads.submitted(ringTag, frameSlot: i)
            } else if let ringTag {
                ringReads.notSubmitted(ringTag)
            }
            return false
        }
        if acquired != VK_SUBOPTIMAL_KHR { try vkCheck(acquired, "vkAcquireNextImageKHR") }
        let k = Int(imageIndex)

        // Slot i's fence was waited on above: the overlay buffers of the frame framesInFlight draws ago are free.
        let overlayStart = monotonicNanos()
        let drawsOverlay = hud.map { prepareOverlay($0) } ?? false
        var overlayNanos = drawsOverlay ? monotonicNanos() &- overlayStart : 0
        let timedTag = source != nil && gpu.queryPool(i) != nil ? tag : nil
        try record(
            commandBuffer, slot: i, source: source, image: k, overlay: drawsOverlay, timed: timedTag != nil,
            overlayNanos: &overlayNanos)
        if drawsOverlay { noteOverlayCPU(overlayNanos) }
        if source != nil { lastTargetSlot = i }

        try gpu.resetFence(i)
        var commandRef: VkCommandBuffer? = commandBuffer
        var waitSemaphore: VkSemaphore? = objects.imageAvailable[i]
        var signalSemaphore: VkSemaphore? = objects.renderFinished[k]
        var waitStage = VK_PIPELINE_STAGE_TRANSFER_BIT.rawValue
        var submitNanos: UInt64 = 0
        var submit = VkSubmitInfo()
        submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO
        let r = withUnsafePointer(to: &commandRef) { cb in
            withUnsafePointer(to: &waitSemaphore) { wait in
                withUnsafePointer(to: &signalSemaphore) { signal in
                    withUnsafePointer(to: &waitStage) { stage in
                        submit.waitSemaphoreCount = 1
                        submit.pWaitSemaphores = wait
                        submit.pWaitDstStageMask = stage
                        submit.commandBufferCount = 1
                        submit.pCommandBuffers = cb
                        submit.signalSemaphoreCount = 1
                        submit.pSignalSemaphores = signal
                        submitNanos = monotonicNanos()
                        return vkQueueSubmit(vk.queue, 1, &submit, fence)
                    }
                }
            }
        }
        if r != VK_SUCCESS, let ringTag { ringReads.notSubmitted(ringTag) }
        try vkCheck(r, "vkQueueSubmit")
        // From here until slot i's fence is seen signalled, the GPU may read the ring slot.
        ringReads.submitted(ringTag, frameSlot: i)
        frameSlot = (i + 1) % Self.framesInFlight
        if let timedTag { timed[i] = TimedFrame(tag: timedTag, submitNanos: submitNanos) }
        gpu.timestamps.submitted(at: submitNanos, device: vk.device)

        var swapchainRef: VkSwapchainKHR? = objects.swapchain
        var index = imageIndex
        let presented = withUnsafePointer(to: &signalSemaphore) { wait in
            withUnsafePointer(to: &swapchainRef) { swapchains in
                withUnsafePointer(to: &index) { indices in
                    var present = VkPresentInfoKHR()
                    present.sType = VK_STRUCTURE_TYPE_PRESENT_INFO_KHR
                    present.waitSemaphoreCount = 1
                    present.pWaitSemaphores = wait
                    present.swapchainCount = 1
                    present.pSwapchains = swapchains
                    present.pImageIndices = indices
                    return vkQueuePresentKHR(vk.queue, &present)
                }
            }
        }
        if timedTag != nil, presented == VK_SUCCESS || presented == VK_SUBOPTIMAL_KHR {
            timed[i]?.presentNanos = monotonicNanos()
        }
        if presented == VK_ERROR_OUT_OF_DATE_KHR || presented == VK_SUBOPTIMAL_KHR
            || acquired == VK_SUBOPTIMAL_KHR
        {
            needsRecreate = true
            return presented != VK_ERROR_OUT_OF_DATE_KHR
        }
        try vkCheck(presented, "vkQueuePresentKHR")
        return true
    }

    /// The last kernel frame as drawn (kernel size, RGBA8, top row first), or nil before the first frame. Waits for
    /// the device to go idle first.
    public func readBackLastFrame() throws(RenderError) -> [UInt8]? {
        guard let last = lastTargetSlot else { return nil }
        try vkCheck(vkDeviceWaitIdle(vk.device), "vkDeviceWaitIdle")
        return try vk.readBackTarget(slot: last, width: UInt32(width), height: UInt32(height))
    }

    /// Waits until the GPU is done with everything submitted (before shutdown).
    public func waitIdle() { gpu.waitIdle() }

    /// Hands `body` the timing of every tagged frame whose fence has signalled since the last call, in submission
    /// order (a frame comes back one or two draws after it was drawn; after waitIdle, all of them). Checks the
    /// frame-slot fences without waiting. No allocation.
    public func collectTimings(_ body: (WindowFrameTiming) -> Void) throws(RenderError) {
        for s in timed.indices where timed[s] != nil {
            if try gpu.frameSlotIsDone(s) { try harvest(slot: s, fenceSeenNanos: monotonicNanos()) }
        }
        if harvested.count > 1 { harvested.sort { $0.submitNanos < $1.submitNanos } }
        for timing in harvested { body(timing) }
        harvested.removeAll(keepingCapacity: true)
    }

    // MARK: - Internals

    /// Reads the timed frame of slot `s` (its fence is known signalled) out of its queries into `harvested`. Must run
    /// before the slot's command buffer is recorded again, which resets the queries.
    private func harvest(slot s: Int, fenceSeenNanos: UInt64) throws(RenderError) {
        guard let frame = timed[s] else { return }
        timed[s] = nil
        let times = try gpu.timestamps.read(pool: gpu.queryPool(s), device: vk.device, fenceSeenNanos: fenceSeenNanos)
        harvested.append(
            WindowFrameTiming(
                tag: frame.tag, submitNanos: frame.submitNanos, gpuStartNanos: times?.startNanos,
                gpuKernelEndNanos: times?.kernelEndNanos, gpuEndNanos: times?.endNanos,
                presentNanos: frame.presentNanos, fenceSeenNanos: fenceSeenNanos, calibrated: times?.calibrated ?? false))
    }

    private func recreateSwapchain(width w: Int, height h: Int) throws(RenderError) {
        try objects.createSwapchain(width: UInt32(w), height: UInt32(h), presentMode: presentModeValue)
        needsRecreate = false
        updateDrawnRect()
    }

    /// Fits the kernel frame into the swapchain extent, keeping its aspect ratio, centred.
    private func updateDrawnRect() {
        let W = Double(objects.extent.width)
        let H = Double(objects.extent.height)
        guard W > 0, H > 0 else { return }
        let scale = min(W / Double(width), H / Double(height))
        let dw = max(1, min(Int(W), Int((Double(width) * scale).rounded())))
        let dh = max(1, min(Int(H), Int((Double(height) * scale).rounded())))
        drawnRect = ((Int(W) - dw) / 2, (Int(H) - dh) / 2, dw, dh)
    }

    /// When the swapchain could not be acquired, a new frame is still rendered into its target so it becomes the
    /// last frame (shown once the swapchain is back).
    private func renderKernelFrameOnly(slot i: Int, from source: KernelFrameSource) throws(RenderError) {
        let slot = vk.slots[i]
        guard let cb = slot.commandBuffer, let fence = slot.fence else {
            throw RenderError.vulkan("drawFrame (slot \(i) incomplete)", VK_ERROR_INITIALIZATION_FAILED)
        }
        try vk.beginOneTimeCommands(cb)
        recordKernelFrame(slot, from: source, into: cb)
        try vkCheck(vkEndCommandBuffer(cb), "vkEndCommandBuffer")
        try gpu.resetFence(i)
        try vkCheck(vk.submit(cb, fence: fence), "vkQueueSubmit")
        lastTargetSlot = i
        frameSlot = (i + 1) % Self.framesInFlight
    }

    private func noteOverlayCPU(_ nanos: UInt64) {
        if overlayCPUNanos.count < Self.hudBarCount {
            if overlayCPUNanos.isEmpty { overlayCPUNanos.reserveCapacity(Self.hudBarCount) }
            overlayCPUNanos.append(nanos)
        } else {
            overlayCPUNanos[overlayCPUNext] = nanos
            overlayCPUNext = (overlayCPUNext + 1) % Self.hudBarCount
        }
    }

    /// Makes the overlay if there is none yet (or the swapchain's render pass changed), and builds this frame's draw
    /// lists from `hud`. False when there is no overlay to draw (it could not be made: `overlayProblem`).
    private func prepareOverlay(_ hud: HudOverlay) -> Bool {
        guard overlayProblem == nil, let renderPass = objects.overlayRenderPass else { return false }
        if let existing = overlay, existing.renderPass != renderPass {
            waitIdle()
            existing.destroy()
            overlay = nil
        }
        if overlay == nil {
            guard let instance = vk.instance, let physical = vk.physicalDevice, let device = vk.device,
                let queue = vk.queue
            else { return false }
            do {
                overlay = try FrameOverlay(
                    instance: instance, physical: physical, device: device, queueFamily: vk.queueFamily, queue: queue,
                    renderPass: renderPass, framesInFlight: Self.framesInFlight, window: window)
            } catch {
                overlayProblem = error.message
                return false
            }
        }
        guard let overlay else { return false }
        var hud = hud
        overlay.build(&hud)
        overlayParameters = hud.panel.parameters
        return true
    }

    private func record(
        _ cb: VkCommandBuffer, slot i: Int, source: KernelFrameSource?, image k: Int, overlay drawsOverlay: Bool, timed: Bool,
        overlayNanos: inout UInt64
    ) throws(RenderError) {
        try vk.beginOneTimeCommands(cb)
        let queries = timed ? gpu.queryPool(i) : nil
        gpu.timestamps.begin(cb, pool: queries)
        if let source { recordKernelFrame(vk.slots[i], from: source, into: cb) }
        let newFrame = source != nil
        gpu.timestamps.mark(cb, pool: queries, query: 1)

        let image = objects.swapchainImages[k]
        // The acquire semaphore is waited on at the TRANSFER stage; this barrier's source stage chains to it, so the
        // transition (old contents discarded) happens after the presentation engine let go of the image.
        cmdImageBarrier(
            cb, image, from: VK_IMAGE_LAYOUT_UNDEFINED, to: VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
            srcAccess: 0, dstAccess: VK_ACCESS_TRANSFER_WRITE_BIT.rawValue,
            srcStage: VK_PIPELINE_STAGE_TRANSFER_BIT, dstStage: VK_PIPELINE_STAGE_TRANSFER_BIT)
        var black = VkClearColorValue()
        black.float32 = (0, 0, 0, 1)
        var range = VulkanObjects.colorRange
        vkCmdClearColorImage(cb, image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, &black, 1, &range)

        if let source = lastTargetSlot ?? (newFrame ? i : nil) {
            // The clear and the blit both write the image: order them (write after write).
            cmdImageBarrier(
                cb, image, from: VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, to: VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                srcAccess: VK_ACCESS_TRANSFER_WRITE_BIT.rawValue, dstAccess: VK_ACCESS_TRANSFER_WRITE_BIT.rawValue,
                srcStage: VK_PIPELINE_STAGE_TRANSFER_BIT, dstStage: VK_PIPELINE_STAGE_TRANSFER_BIT)
            let src = newFrame ? i : source
            let rect = drawnRect
            var blit = VkImageBlit()
            blit.srcSubresource = VkImageSubresourceLayers(
                aspectMask: VK_IMAGE_ASPECT_COLOR_BIT.rawValue, mipLevel: 0, baseArrayLayer: 0, layerCount: 1)
            blit.srcOffsets = (
                VkOffset3D(x: 0, y: 0, z: 0), VkOffset3D(x: Int32(width), y: Int32(height), z: 1)
            )
            blit.dstSubresource = blit.srcSubresource
            blit.dstOffsets = (
                VkOffset3D(x: Int32(rect.x), y: Int32(rect.y), z: 0),
                VkOffset3D(x: Int32(rect.x + rect.width), y: Int32(rect.y + rect.height), z: 1)
            )
            // Magnified: NEAREST keeps the kernel's pixels crisp. Minified: LINEAR where supported, less aliasing.
            let filter = rect.width < width && objects.linearBlit ? VK_FILTER_LINEAR : VK_FILTER_NEAREST
            vkCmdBlitImage(
                cb, vk.slots[src].target, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, image,
                VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &blit, filter)
        }

        // Overlay pass: loads the image (TRANSFER_DST → COLOR_ATTACHMENT by its incoming dependency), draws the overlay
        // when shown, and leaves the image in PRESENT_SRC_KHR. It runs without overlay too, for that final transition.
        var pass = VkRenderPassBeginInfo()
        pass.sType = VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO
        pass.renderPass = objects.overlayRenderPass
        pass.framebuffer = objects.framebuffers[k]
        pass.renderArea = VkRect2D(offset: VkOffset2D(x: 0, y: 0), extent: objects.extent)
        vkCmdBeginRenderPass(cb, &pass, VK_SUBPASS_CONTENTS_INLINE)
        if drawsOverlay {
            let start = monotonicNanos()
            overlay?.record(cb)
            overlayNanos &+= monotonicNanos() &- start
        }
        vkCmdEndRenderPass(cb)
        gpu.timestamps.mark(cb, pool: queries, query: 2)
        try vkCheck(vkEndCommandBuffer(cb), "vkEndCommandBuffer")
    }

    // MARK: - Kernel frame (the very commands HeadlessRenderer records: KernelFrameRecorder.swift)

    /// `source`: the slot's staging buffer (copy) or a ring slot's region (zero-copy).
    private func recordKernelFrame(_ slot: VulkanObjects.Slot, from source: KernelFrameSource, into cb: VkCommandBuffer) {
        vk.recordKernelFrame(
            slot, from: source, content: content, width: UInt32(width), height: UInt32(height), into: cb)
    }
}
