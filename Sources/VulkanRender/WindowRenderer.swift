// WindowRenderer: draws kernel frames into a GLFW window through a Vulkan swapchain (`framepipe view`).
//
// Design: each new kernel frame is rendered exactly as HeadlessRenderer renders it — same pipelines, same slots, built
// by VulkanObjects' own functions — into the frame-in-flight slot's offscreen RGBA8 target at the kernel's size. The
// swapchain image is then cleared to black and the most recent target is blitted into it, scaled to keep the kernel
// frame's aspect ratio (letterbox / pillarbox). The HUD render pass draws on top and leaves the image ready to
// present. Keeping the kernel frame offscreen means every format is drawn by the very code the bench measures and
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
// Unsafe pointer invariants:
// - slot.stagingMapped (content.byteCount bytes, HOST_COHERENT): written only in drawFrame, after slot i's fence
//   signalled, i.e. once the GPU finished reading it; vkQueueSubmit makes the write visible to the device.
// - hudMapped[i] (HUD vertex buffer of slot i, HOST_COHERENT): written only in drawFrame after slot i's fence
//   signalled, never past hudVertexCapacity vertices (checked).
// - readbackMapped: written only by the read-back submission of VulkanObjects.readBackTarget (KernelFrameRecorder.swift,
//   ending with a TRANSFER→HOST barrier) and copied out there after its fence is waited on.
// - The caller's frame bytes are read only during drawFrame (memcpy into staging), never retained.
// - Submit and present info structs point at Swift locals lent with withUnsafePointer for the vkQueueSubmit /
//   vkQueuePresentKHR call only; Vulkan keeps no pointer past the call.
// Not thread-safe, not Sendable: the main thread owns it (it shares the GLFW window, which is main-thread only).

import CGLFW
import CVulkan

public final class WindowRenderer {
    public let device: VulkanDeviceInfo
    /// The kernel frame's size.
    public let width: Int
    public let height: Int
    public let content: FrameContent
    /// The present mode in use: "fifo", "mailbox" or "immediate".
    public private(set) var presentMode: String
    /// Set when the requested present mode is unsupported and fifo is used instead (say it once).
    public let presentModeWarning: String?
    /// Where the kernel frame lies in the window, in framebuffer pixels (for pointer input).
    public private(set) var drawnRect: (x: Int, y: Int, width: Int, height: Int) = (0, 0, 0, 0)
    /// Whether any kernel frame has been drawn yet.
    public var hasFrame: Bool { lastTargetSlot != nil }

    static let framesInFlight = 2
    /// HUD: background, 240 bars, target line; 6 vertices each.
    public static let hudBarCount = 240
    static let hudVertexCapacity = (hudBarCount + 2) * 6
    static let hudVertexBytes = 6 * MemoryLayout<Float>.size  // vec2 position + vec4 colour

    private let objects: WindowObjects
    private var vk: VulkanObjects { objects.vk }
    private let window: ViewerWindow
    private let frameBytes: Int
    private let presentModeValue: VkPresentModeKHR
    private var frameSlot = 0
    private var lastTargetSlot: Int?
    private var needsRecreate = false

    /// - presentMode: "fifo", "mailbox" or "immediate" (checked by the caller); fifo when unsupported.
    public init(
        window: ViewerWindow, width: Int, height: Int, content: FrameContent, presentMode: String,
        deviceIndex: Int? = nil
    ) throws(RenderError) {
        guard width > 0, height > 0, width <= Int(Int32.max), height <= Int(Int32.max) else {
            throw .badRequest("frame size \(width)x\(height) is invalid: width and height must be at least 1")
        }
        if case .points(let count) = content, !(1...FrameContent.maxPointCount).contains(count) {
            throw .badRequest(
                "point count \(count) is invalid: a points kernel must declare 1 to \(FrameContent.maxPointCount) "
                    + "points (fp_points)")
        }
        self.window = window
        let objects = WindowObjects()
        let instance = try VulkanSystem.createInstance(extensions: ViewerWindow.requiredInstanceExtensions())
        objects.vk.instance = instance
        objects.surface = try window.createSurface(instance)
        let vk = objects.vk

        let physicals = try VulkanSystem.physicalDevices(instance)
        if physicals.isEmpty {
            throw RenderError(kind: .noDevice, message: "no Vulkan device found: \(RenderError.installHint)")
        }
        let infos = physicals.enumerated().map { VulkanSystem.describe($0.element, index: $0.offset) }
        func presentFamily(_ index: Int) -> UInt32? {
            guard WindowObjects.hasSwapchainExtension(physicals[index]) else { return nil }
            var count: UInt32 = 0
            vkGetPhysicalDeviceQueueFamilyProperties(physicals[index], &count, nil)
            var families = [VkQueueFamilyProperties](repeating: VkQueueFamilyProperties(), count: Int(count))
            vkGetPhysicalDeviceQueueFamilyProperties(physicals[index], &count, &families)
            for (i, f) in families.prefix(Int(count)).enumerated()
            where f.queueCount > 0 && f.queueFlags & VK_QUEUE_GRAPHICS_BIT.rawValue != 0 {
                var supported: VkBool32 = 0
                let r = vkGetPhysicalDeviceSurfaceSupportKHR(physicals[index], UInt32(i), objects.surface, &supported)
                if r == VK_SUCCESS, supported != 0 { return UInt32(i) }
            }
            return nil
        }
        let (chosen, family) = try VulkanSystem.chooseDevice(
            infos, requested: deviceIndex, unusable: "cannot draw to this window",
            noneUsable: "no Vulkan device can draw to this window", usableFamily: presentFamily)
        let physical = physicals[chosen]
        let info = infos[chosen]
        let limits = try VulkanSystem.limits(of: physical, named: info.name, fitting: width, height)
        let frameBytes = content.byteCount(width: width, height: height)
        if content != .rgba8, frameBytes > Int(limits.maxStorageBufferRange) {
            throw .badRequest(
                "\(content.frameDescription(width: width, height: height)) is \(frameBytes) bytes, more than "
                    + "\(info.name)'s storage buffer limit of \(limits.maxStorageBufferRange): use a smaller size")
        }
        var formatProps = VkFormatProperties()
        vkGetPhysicalDeviceFormatProperties(physical, VulkanObjects.colorFormat, &formatProps)
        var needed = VK_FORMAT_FEATURE_COLOR_ATTACHMENT_BIT.rawValue | VK_FORMAT_FEATURE_BLIT_SRC_BIT.rawValue
        switch content {
        case .rgba8: needed |= VK_FORMAT_FEATURE_SAMPLED_IMAGE_BIT.rawValue
        case .scalarField:
            needed |= VK_FORMAT_FEATURE_SAMPLED_IMAGE_BIT.rawValue | VK_FORMAT_FEATURE_STORAGE_IMAGE_BIT.rawValue
        case .points: needed |= VK_FORMAT_FEATURE_COLOR_ATTACHMENT_BLEND_BIT.rawValue
        }
        guard formatProps.optimalTilingFeatures & needed == needed else {
            throw RenderError(
                kind: .noDevice,
                message: "Vulkan device \(chosen) (\(info.name)) cannot render and blit R8G8B8A8_UNORM frames: "
                    + "pick another with `framepipe devices`")
        }
        objects.linearBlit =
            formatProps.optimalTilingFeatures & VK_FORMAT_FEATURE_SAMPLED_IMAGE_FILTER_LINEAR_BIT.rawValue != 0

        try vk.createDevice(physical: physical, queueFamily: family, extensions: ["VK_KHR_swapchain"])
        try vk.createPipeline(width: UInt32(width), height: UInt32(height), content: content)
        if case .scalarField(let colormap) = content {
            try vk.createComputePipeline()
            try vk.createColormapTable(colormap.packedTable)
        }
        try vk.createSlots(
            count: Self.framesInFlight, width: UInt32(width), height: UInt32(height), content: content,
            timestamps: false)
        try vk.createReadback(width: UInt32(width), height: UInt32(height))
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
        self.device = info
        self.width = width
        self.height = height
        self.content = content
        self.frameBytes = frameBytes
        let size = window.framebufferSize
        if size.width > 0, size.height > 0 {
            try objects.createSwapchain(
                width: UInt32(size.width), height: UInt32(size.height), presentMode: presentModeValue)
            updateDrawnRect()
        }
    }

    // Destruction: WindowObjects.deinit (device idle, swapchain objects, surface), then VulkanObjects.deinit.

    /// Call after the window changed size; the swapchain is rebuilt before the next frame.
    public func windowResized() { needsRecreate = true }

    /// Draws one frame into the window and presents it: `frame` (exactly content.byteCount bytes) when a new kernel
    /// frame arrived, otherwise the last one again (black until the first). `hudIntervals`: frame intervals in ms,
    /// oldest first, drawn as the HUD graph (nil: no HUD). Returns false when nothing was presented: the window is
    /// minimised (size 0) or the swapchain had to be rebuilt; a given `frame` is still kept as the last frame.
    @discardableResult
    public func drawFrame(_ frame: UnsafeRawBufferPointer?, hudIntervals: [Double]?) throws(RenderError) -> Bool {
        if let frame, frame.count != frameBytes || frame.baseAddress == nil {
            throw .badRequest(
                "drawFrame got \(frame.count) bytes but \(content.frameDescription(width: width, height: height)) "
                    + "is \(frameBytes): pass exactly \(content.sizeRule)")
        }
        let size = window.framebufferSize
        if size.width == 0 || size.height == 0 { return false }  // minimised: nothing to draw into
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
        var fenceRef: VkFence? = fence
        try vkCheck(vkWaitForFences(vk.device, 1, &fenceRef, 1, UInt64.max), "vkWaitForFences")
        // Slot i is idle now: its staging buffer, target and HUD buffer may be written.
        if let frame, let source = frame.baseAddress {
            staging.copyMemory(from: source, byteCount: frameBytes)
        }

        var imageIndex: UInt32 = 0
        let acquired = vkAcquireNextImageKHR(
            vk.device, objects.swapchain, UInt64.max, objects.imageAvailable[i], nil, &imageIndex)
        if acquired == VK_ERROR_OUT_OF_DATE_KHR {
            needsRecreate = true
            if frame != nil { try renderKernelFrameOnly(slot: i) }
            return false
        }
        if acquired != VK_SUBOPTIMAL_KHR { try vkCheck(acquired, "vkAcquireNextImageKHR") }
        let k = Int(imageIndex)

        let hudVertices = hudIntervals.map { writeHud($0, slot: i) } ?? 0
        try record(
            commandBuffer, slot: i, newFrame: frame != nil, image: k, hudVertices: hudVertices)
        if frame != nil { lastTargetSlot = i }

        try vkCheck(vkResetFences(vk.device, 1, &fenceRef), "vkResetFences")
        var commandRef: VkCommandBuffer? = commandBuffer
        var waitSemaphore: VkSemaphore? = objects.imageAvailable[i]
        var signalSemaphore: VkSemaphore? = objects.renderFinished[k]
        var waitStage = VK_PIPELINE_STAGE_TRANSFER_BIT.rawValue
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
                        return vkQueueSubmit(vk.queue, 1, &submit, fence)
                    }
                }
            }
        }
        try vkCheck(r, "vkQueueSubmit")
        frameSlot = (i + 1) % Self.framesInFlight

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
    public func waitIdle() {
        if let device = vk.device { _ = vkDeviceWaitIdle(device) }
    }

    // MARK: - Internals

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
    private func renderKernelFrameOnly(slot i: Int) throws(RenderError) {
        let slot = vk.slots[i]
        guard let cb = slot.commandBuffer, let fence = slot.fence else { return }
        try vk.beginOneTimeCommands(cb)
        recordKernelFrame(slot, into: cb)
        try vkCheck(vkEndCommandBuffer(cb), "vkEndCommandBuffer")
        var fenceRef: VkFence? = fence
        try vkCheck(vkResetFences(vk.device, 1, &fenceRef), "vkResetFences")
        try vkCheck(vk.submit(cb, fence: fence), "vkQueueSubmit")
        lastTargetSlot = i
        frameSlot = (i + 1) % Self.framesInFlight
    }

    /// Writes the HUD quads for `intervals` (ms, oldest first) into slot i's vertex buffer; returns the vertex count.
    private func writeHud(_ intervals: [Double], slot i: Int) -> Int {
        guard let mapped = objects.hudMapped[i] else { return 0 }
        let W = Float(objects.extent.width)
        let H = Float(objects.extent.height)
        let bars = intervals.suffix(Self.hudBarCount)
        let barWidth: Float = 1
        let graphHeight: Float = 80
        let scaleMs: Float = 50  // top of the graph
        let margin: Float = 8
        let pad: Float = 4
        let panelWidth = Float(Self.hudBarCount) * barWidth + 2 * pad
        let panelHeight = graphHeight + 2 * pad
        let floats = mapped.bindMemory(to: Float.self, capacity: Self.hudVertexCapacity * 6)
        var n = 0
        func quad(_ x0: Float, _ y0: Float, _ x1: Float, _ y1: Float, _ c: (Float, Float, Float, Float)) {
            guard n + 6 <= Self.hudVertexCapacity else { return }
            // pixels → clip space (y down, like Vulkan's clip y)
            let ax = x0 / W * 2 - 1
            let ay = y0 / H * 2 - 1
            let bx = x1 / W * 2 - 1
            let by = y1 / H * 2 - 1
            for (x, y) in [(ax, ay), (bx, ay), (bx, by), (ax, ay), (bx, by), (ax, by)] {
                let p = floats + n * 6
                p[0] = x
                p[1] = y
                p[2] = c.0
                p[3] = c.1
                p[4] = c.2
                p[5] = c.3
                n += 1
            }
        }
        let left = margin
        let top = margin
        quad(left, top, left + panelWidth, top + panelHeight, (0, 0, 0, 0.6))
        let baseY = top + pad + graphHeight
        for (j, ms) in bars.enumerated() {
            let value = Float(min(max(ms, 0), Double(scaleMs)))
            let h = max(1, value / scaleMs * graphHeight)
            let x = left + pad + Float(j) * barWidth
            let colour: (Float, Float, Float, Float) =
                ms <= 17.0 ? (0.2, 0.85, 0.3, 0.9) : ms <= 34.0 ? (0.95, 0.8, 0.2, 0.9) : (0.95, 0.25, 0.2, 0.9)
            quad(x, baseY - h, x + barWidth, baseY, colour)
        }
        let targetY = baseY - Float(1000.0 / 60.0) / scaleMs * graphHeight
        quad(left + pad, targetY - 0.5, left + pad + Float(Self.hudBarCount) * barWidth, targetY + 0.5, (1, 1, 1, 0.8))
        return n
    }

    private func record(
        _ cb: VkCommandBuffer, slot i: Int, newFrame: Bool, image k: Int, hudVertices: Int
    ) throws(RenderError) {
        try vk.beginOneTimeCommands(cb)
        if newFrame { recordKernelFrame(vk.slots[i], into: cb) }

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

        // HUD pass: loads the image (TRANSFER_DST → COLOR_ATTACHMENT by its incoming dependency), draws the graph,
        // and leaves it in PRESENT_SRC_KHR. It runs even without HUD, for that final transition.
        var pass = VkRenderPassBeginInfo()
        pass.sType = VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO
        pass.renderPass = objects.hudRenderPass
        pass.framebuffer = objects.framebuffers[k]
        pass.renderArea = VkRect2D(offset: VkOffset2D(x: 0, y: 0), extent: objects.extent)
        vkCmdBeginRenderPass(cb, &pass, VK_SUBPASS_CONTENTS_INLINE)
        if hudVertices > 0 {
            vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_GRAPHICS, objects.hudPipeline)
            var viewport = VkViewport(
                x: 0, y: 0, width: Float(objects.extent.width), height: Float(objects.extent.height), minDepth: 0,
                maxDepth: 1)
            vkCmdSetViewport(cb, 0, 1, &viewport)
            var scissor = VkRect2D(offset: VkOffset2D(x: 0, y: 0), extent: objects.extent)
            vkCmdSetScissor(cb, 0, 1, &scissor)
            var buffer: VkBuffer? = objects.hudBuffers[i]
            var offset: VkDeviceSize = 0
            vkCmdBindVertexBuffers(cb, 0, 1, &buffer, &offset)
            vkCmdDraw(cb, UInt32(hudVertices), 1, 0, 0)
        }
        vkCmdEndRenderPass(cb)
        try vkCheck(vkEndCommandBuffer(cb), "vkEndCommandBuffer")
    }

    // MARK: - Kernel frame (the very commands HeadlessRenderer records: KernelFrameRecorder.swift)

    private func recordKernelFrame(_ slot: VulkanObjects.Slot, into cb: VkCommandBuffer) {
        vk.recordKernelFrame(slot, content: content, width: UInt32(width), height: UInt32(height), into: cb)
    }
}
