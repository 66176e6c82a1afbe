// HeadlessRenderer: draws each submitted frame into an offscreen RGBA8 target and reads completion, GPU time and (on
// request) pixels back. What a frame holds is fixed per renderer (FrameContent):
// - RGBA8: copied to a texture, drawn with a full-screen triangle (NEAREST, same size: bit-exact).
// - f32 field: a compute shader colour-maps it, reading the staging buffer in place, into the texture; then drawn
//   like RGBA8.
// - points: instanced squares read from the staging buffer in place, alpha-blended over opaque black.
//
// Unsafe pointer invariants (the only raw memory here is the persistently mapped, HOST_COHERENT memory owned by
// VulkanObjects):
// - slot.stagingMapped (content.byteCount bytes): the host writes it only in submitFrame, and only after the slot's
//   previous frame is known complete (its fence was waited on / observed signalled and `slotBusy` cleared). Between
//   vkQueueSubmit and that fence signal only the GPU reads it (the copy to the texture, the compute shader or the
//   vertex shader). The fence therefore makes the reuse race-free; vkQueueSubmit itself makes the host write visible
//   to the device (for transfer and shader reads alike), and coherence means no flush.
// - readbackMapped (width*height*4 bytes, whatever the content): written only by the GPU inside the read-back
//   submission of VulkanObjects.readBackTarget (KernelFrameRecorder.swift), which ends with a TRANSFER→HOST barrier;
//   the host copies it out there only after waiting on readbackFence, and nothing else submits a write to it, so the
//   bytes are stable while copied. readBackLastFrame first waits for every submitted frame.
// - The caller's `pixels` buffer (exactly content.byteCount bytes, checked first) is read only during submitFrame
//   (memcpy into staging), never retained.
// - GPU timestamps are put on CLOCK_MONOTONIC by GPUClock (TimestampCalibration.swift, which states its own pointer
//   invariants for the calibrated-timestamps entry points).
// This class is not thread-safe and not Sendable: a single render thread owns it, so none of the above needs locks.

import CVulkan

public struct SubmittedFrame: Sendable {
    public let tag: UInt64
    /// CLOCK_MONOTONIC ns just before vkQueueSubmit.
    public let submitNanos: UInt64
}

public struct CompletedFrame: Sendable {
    public let tag: UInt64
    public let submitNanos: UInt64
    /// CLOCK_MONOTONIC ns when the host saw the fence signalled.
    public let completeNanos: UInt64
    /// (end - start timestamp) * timestampPeriod; nil if the queue has no timestamps.
    public let gpuNanos: Double?
    /// The frame's first and last GPU timestamps in CLOCK_MONOTONIC ns (the clock of submitNanos/completeNanos), as
    /// HeadlessRenderer.timestampCalibration describes; nil if the queue has no timestamps.
    public let gpuStartNanos: UInt64?
    public let gpuEndNanos: UInt64?
}

public final class HeadlessRenderer {
    public let device: VulkanDeviceInfo
    public let width: Int
    public let height: Int
    /// What every submitted frame holds; submitFrame takes content.byteCount(width:height:) bytes.
    public let content: FrameContent

    private let vk: VulkanObjects
    /// Bytes of one submitted frame (content.byteCount).
    private let frameBytes: Int
    /// Bytes of the RGBA8 target, what readBackLastFrame returns.
    private let targetBytes: Int
    private let timestampPeriod: Double
    /// Mask for timestampValidBits < 64: the counter wraps at that width, so differences are taken modulo it.
    private let timestampMask: UInt64
    /// Maps GPU timestamps to CLOCK_MONOTONIC (calibrated, fence-anchored or unavailable).
    private var clock: GPUClock

    /// How GPU timestamps are put on CLOCK_MONOTONIC: "VK_EXT_calibrated_timestamps (max deviation N ns)" (of the
    /// latest calibration; recalibrated about once a second of frames), a fence-anchored estimate biased late by up
    /// to the fence-polling delay, or none when the queue writes no timestamps.
    public var timestampCalibration: String { clock.description }

    /// A submitted frame not yet returned to the caller, in submission order.
    private struct Pending {
        let tag: UInt64
        let submitNanos: UInt64
        let slot: Int
        var completeNanos: UInt64?  // set once the fence was seen signalled (and the timestamps were read)
        var gpuNanos: Double?
        var gpuStartNanos: UInt64?
        var gpuEndNanos: UInt64?
    }
    private var pending: [Pending] = []
    /// slotBusy[s]: slot s holds a submitted frame whose fence has not yet been observed signalled.
    private var slotBusy: [Bool]
    private var nextSlot = 0
    private var lastSubmittedSlot: Int?

    /// - content: what each frame holds (default RGBA8). `.points(count:)` fixes the point count for the
    ///   renderer's lifetime: 1...FrameContent.maxPointCount.
    public convenience init(
        width: Int, height: Int, content: FrameContent = .rgba8, framesInFlight: Int = 2, deviceIndex: Int? = nil
    ) throws(RenderError) {
        try self.init(
            width: width, height: height, content: content, framesInFlight: framesInFlight, deviceIndex: deviceIndex,
            calibratedTimestamps: true)
    }

    /// - calibratedTimestamps: false forces the fence-anchored fallback (tests), even where the extension exists.
    init(
        width: Int, height: Int, content: FrameContent, framesInFlight: Int, deviceIndex: Int?,
        calibratedTimestamps: Bool
    ) throws(RenderError) {
        guard width > 0, height > 0, width <= Int(Int32.max), height <= Int(Int32.max) else {
            throw .badRequest("frame size \(width)x\(height) is invalid: width and height must be at least 1")
        }
        guard (1...16).contains(framesInFlight) else {
            throw .badRequest("framesInFlight \(framesInFlight) is invalid: use 1 to 16 (2 or 3 is typical)")
        }
        if case .points(let count) = content, !(1...FrameContent.maxPointCount).contains(count) {
            throw .badRequest(
                "point count \(count) is invalid: a points kernel must declare 1 to \(FrameContent.maxPointCount) "
                    + "points (fp_points)")
        }

        let vk = VulkanObjects()
        let instance = try VulkanSystem.createInstance()
        vk.instance = instance
        let physicals = try VulkanSystem.physicalDevices(instance)
        if physicals.isEmpty {
            throw RenderError(kind: .noDevice, message: "no Vulkan device found: \(RenderError.installHint)")
        }
        let infos = physicals.enumerated().map { VulkanSystem.describe($0.element, index: $0.offset) }

        let (chosen, family) = try VulkanSystem.chooseDevice(
            infos, requested: deviceIndex, unusable: "has no graphics queue", noneUsable: "no Vulkan device with a graphics queue",
            usableFamily: { VulkanSystem.graphicsQueueFamily(physicals[$0]) })
        let physical = physicals[chosen]
        let info = infos[chosen]
        let limits = try VulkanSystem.limits(of: physical, named: info.name, fitting: width, height)
        var formatProps = VkFormatProperties()
        vkGetPhysicalDeviceFormatProperties(physical, VulkanObjects.colorFormat, &formatProps)
        let (neededFeatures, neededUse): (VkFormatFeatureFlags, String)
        switch content {
        case .rgba8:
            neededFeatures =
                VK_FORMAT_FEATURE_SAMPLED_IMAGE_BIT.rawValue | VK_FORMAT_FEATURE_COLOR_ATTACHMENT_BIT.rawValue
            neededUse = "sample and render"
        case .scalarField:
            neededFeatures =
                VK_FORMAT_FEATURE_SAMPLED_IMAGE_BIT.rawValue | VK_FORMAT_FEATURE_COLOR_ATTACHMENT_BIT.rawValue
                | VK_FORMAT_FEATURE_STORAGE_IMAGE_BIT.rawValue
            neededUse = "sample, render and store to"
        case .points:
            neededFeatures =
                VK_FORMAT_FEATURE_COLOR_ATTACHMENT_BIT.rawValue | VK_FORMAT_FEATURE_COLOR_ATTACHMENT_BLEND_BIT.rawValue
            neededUse = "render and blend"
        }
        guard formatProps.optimalTilingFeatures & neededFeatures == neededFeatures else {
            throw RenderError(
                kind: .noDevice,
                message: "Vulkan device \(chosen) (\(info.name)) cannot \(neededUse) R8G8B8A8_UNORM: "
                    + "pick another with `framepipe devices`")
        }
        // f32 fields and points are read by shaders as one storage buffer per frame.
        let frameBytes = content.byteCount(width: width, height: height)
        if content != .rgba8, frameBytes > Int(limits.maxStorageBufferRange) {
            let remedy: String
            if case .points = content { remedy = "use fewer points" } else { remedy = "use a smaller size" }
            throw .badRequest(
                "\(content.frameDescription(width: width, height: height)) is \(frameBytes) bytes, more than "
                    + "\(info.name)'s storage buffer limit of \(limits.maxStorageBufferRange): \(remedy)")
        }
        if case .scalarField = content {
            let groupSide = Int(VulkanObjects.colormapGroupSide)
            let groups = ((width + groupSide - 1) / groupSide, (height + groupSide - 1) / groupSide)
            let maxGroups = limits.maxComputeWorkGroupCount
            guard groups.0 <= Int(maxGroups.0), groups.1 <= Int(maxGroups.1) else {
                throw .badRequest(
                    "frame size \(width)x\(height) needs more compute workgroups than \(info.name) allows: "
                        + "use a smaller size")
            }
        }

        let timestamps = family.timestampValidBits > 0
        let calibrate = timestamps && calibratedTimestamps && GPUClock.isSupported(instance: instance, physical: physical)
        try vk.createDevice(
            physical: physical, queueFamily: family.index, extensions: calibrate ? [GPUClock.extensionName] : [])
        try vk.createPipeline(width: UInt32(width), height: UInt32(height), content: content)
        if case .scalarField(let colormap) = content {
            try vk.createComputePipeline()
            try vk.createColormapTable(colormap.packedTable)
        }
        try vk.createSlots(
            count: framesInFlight, width: UInt32(width), height: UInt32(height), content: content,
            timestamps: timestamps)
        try vk.createReadback(width: UInt32(width), height: UInt32(height))

        self.vk = vk
        self.device = info
        self.width = width
        self.height = height
        self.content = content
        self.frameBytes = frameBytes
        self.targetBytes = width * height * 4
        self.timestampPeriod = Double(limits.timestampPeriod)
        self.timestampMask =
            family.timestampValidBits >= 64 ? UInt64.max : (UInt64(1) << UInt64(family.timestampValidBits)) &- 1
        self.slotBusy = Array(repeating: false, count: framesInFlight)
        let mode: GPUClock.Mode
        if !timestamps {
            mode = .unavailable
        } else if calibrate, let device = vk.device, let getTimestamps = GPUClock.loadCalibrate(device: device) {
            mode = .calibrated(getTimestamps)
        } else {
            mode = .fenceAnchored
        }
        self.clock = GPUClock(mode: mode, timestampPeriod: timestampPeriod, timestampMask: timestampMask)
        if let device = vk.device { clock.calibrate(device: device) }
    }

    // Destruction lives in VulkanObjects.deinit (vkDeviceWaitIdle first, then reverse creation order).

    // MARK: - Frames

    /// Submits one frame of `content`: exactly content.byteCount(width:height:) bytes (RGBA8 pixels, f32 field
    /// values or points, little-endian, as the kernel ABI lays them out). The bytes are copied before returning.
    public func submitFrame(pixels: UnsafeRawBufferPointer, tag: UInt64) throws(RenderError) -> SubmittedFrame {
        guard pixels.count == frameBytes, let source = pixels.baseAddress else {
            throw .badRequest(
                "submitFrame got \(pixels.count) bytes but \(content.frameDescription(width: width, height: height)) "
                    + "is \(frameBytes): pass exactly \(content.sizeRule)")
        }
        let s = nextSlot
        if slotBusy[s] {
            // The slot's staging buffer, texture, target, command buffer and queries are all still the GPU's.
            try waitForSlot(s)
        }
        let slot = vk.slots[s]
        guard let staging = slot.stagingMapped, let commandBuffer = slot.commandBuffer, let fence = slot.fence
        else { throw RenderError.vulkan("submitFrame (slot \(s) incomplete)", VK_ERROR_INITIALIZATION_FAILED) }

        staging.copyMemory(from: source, byteCount: frameBytes)
        try record(slot, into: commandBuffer)

        // Reset only now: had recording failed, the fence would still be signalled and the slot reusable.
        var fenceRef: VkFence? = fence
        try vkCheck(vkResetFences(vk.device, 1, &fenceRef), "vkResetFences")
        let submitNanos = monotonicNanos()
        let r = vk.submit(commandBuffer, fence: fence)
        // On failure the fence stays unsignalled but slotBusy stays false, so nothing will ever wait on it; the
        // next use of the slot resets it again.
        try vkCheck(r, "vkQueueSubmit")
        // About once a second of frames, after the submit so the frame is not delayed by it; clocks drift.
        if clock.calibrationDue(at: submitNanos), let device = vk.device { clock.calibrate(device: device) }

        pending.append(Pending(tag: tag, submitNanos: submitNanos, slot: s))
        slotBusy[s] = true
        lastSubmittedSlot = s
        nextSlot = (s + 1) % vk.slots.count
        return SubmittedFrame(tag: tag, submitNanos: submitNanos)
    }

    public func collectCompleted() throws(RenderError) -> [CompletedFrame] {
        var done = 0
        // Stop at the first frame still running so results come back in submission order.
        while done < pending.count {
            if pending[done].completeNanos == nil {
                let r = vkGetFenceStatus(vk.device, vk.slots[pending[done].slot].fence)
                if r == VK_NOT_READY { break }
                try vkCheck(r, "vkGetFenceStatus")
                try harvest(slot: pending[done].slot)
            }
            done += 1
        }
        return takePending(done)
    }

    public func finish() throws(RenderError) -> [CompletedFrame] {
        try waitForAll()
        return takePending(pending.count)
    }

    /// The last submitted frame as drawn: width*height RGBA8 pixels, top row first, whatever the content.
    /// Unlike `finish()`, completed frames stay queued, so a later collectCompleted/finish still reports them.
    public func readBackLastFrame() throws(RenderError) -> [UInt8] {
        guard let last = lastSubmittedSlot else {
            throw .badRequest("readBackLastFrame: no frame has been submitted yet: call submitFrame first")
        }
        try waitForAll()
        return try vk.readBackTarget(slot: last, width: UInt32(width), height: UInt32(height))
    }

    // MARK: - Internals

    private func record(_ slot: VulkanObjects.Slot, into cb: VkCommandBuffer) throws(RenderError) {
        try vk.beginOneTimeCommands(cb)

        if let queries = slot.queryPool {
            // Queries must be reset before each reuse; doing it in the command buffer needs no host round trip.
            vkCmdResetQueryPool(cb, queries, 0, 2)
            vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, queries, 0)
        }

        // The kernel frame's commands are shared with WindowRenderer (KernelFrameRecorder.swift).
        vk.recordKernelFrame(slot, content: content, width: UInt32(width), height: UInt32(height), into: cb)

        if let queries = slot.queryPool {
            vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queries, 1)
        }
        try vkCheck(vkEndCommandBuffer(cb), "vkEndCommandBuffer")
    }

    /// Blocks until slot `s`'s frame is done, then records its completion.
    private func waitForSlot(_ s: Int) throws(RenderError) {
        var fence: VkFence? = vk.slots[s].fence
        try vkCheck(vkWaitForFences(vk.device, 1, &fence, 1, UInt64.max), "vkWaitForFences")
        try harvest(slot: s)
    }

    private func waitForAll() throws(RenderError) {
        for s in slotBusy.indices where slotBusy[s] { try waitForSlot(s) }
    }

    /// Records completion of the pending frame of slot `s`, whose fence is known signalled. Must run before the slot
    /// is reused, because the next submission resets the query pool that holds this frame's timestamps.
    private func harvest(slot s: Int) throws(RenderError) {
        let now = monotonicNanos()
        slotBusy[s] = false
        guard let i = pending.lastIndex(where: { $0.slot == s && $0.completeNanos == nil }) else { return }
        pending[i].completeNanos = now
        guard let (start, end) = try timestamps(slot: s) else { return }
        pending[i].gpuNanos = Double((end &- start) & timestampMask) * timestampPeriod
        clock.observe(gpuEndTicks: end, fenceSeenNanos: now)
        pending[i].gpuStartNanos = clock.hostNanos(ticks: start)
        pending[i].gpuEndNanos = clock.hostNanos(ticks: end)
    }

    /// The frame's (start, end) timestamp ticks; nil if the queue has none or they are not available.
    private func timestamps(slot s: Int) throws(RenderError) -> (UInt64, UInt64)? {
        guard let queries = vk.slots[s].queryPool else { return nil }
        var stamps: (UInt64, UInt64) = (0, 0)
        let size = MemoryLayout<(UInt64, UInt64)>.size
        // No WAIT flag: the fence has signalled, so the results are available; NOT_READY would mean they are not.
        let r = withUnsafeMutableBytes(of: &stamps) { raw in
            vkGetQueryPoolResults(
                vk.device, queries, 0, 2, size, raw.baseAddress, VkDeviceSize(MemoryLayout<UInt64>.size),
                VK_QUERY_RESULT_64_BIT.rawValue)
        }
        if r == VK_NOT_READY { return nil }
        try vkCheck(r, "vkGetQueryPoolResults")
        return stamps
    }

    private func takePending(_ n: Int) -> [CompletedFrame] {
        let frames = pending.prefix(n).map {
            CompletedFrame(
                tag: $0.tag, submitNanos: $0.submitNanos, completeNanos: $0.completeNanos ?? $0.submitNanos,
                gpuNanos: $0.gpuNanos, gpuStartNanos: $0.gpuStartNanos, gpuEndNanos: $0.gpuEndNanos)
        }
        pending.removeFirst(n)
        return frames
    }
}
