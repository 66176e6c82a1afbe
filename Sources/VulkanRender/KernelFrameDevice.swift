// KernelFrameDevice: the device and pipeline setup HeadlessRenderer (`bench`, `capture`) and WindowRenderer (`view`)
// share, so both choose the device, check its limits, build the kernel-frame pipelines and frame slots, wait on frame
// fences and read GPU timestamps by one set of rules. What differs stays with the renderer: the instance extensions
// and surface (the window's), which queue families can be used (graphics; graphics that can present to the surface),
// and the colour-format features beyond the content's own (the window blits its target).
//
// Timestamps (FrameTimestamps): each frame slot has a query pool of `perFrame` timestamps, reset at the start of the
// slot's own command buffer. The first is written at TOP_OF_PIPE before anything the frame draws, the others at
// BOTTOM_OF_PIPE after the renderer's stages (headless: the kernel frame and its read-back; window: the kernel frame,
// then the overlay). They are read only once the slot's fence was seen signalled — before the slot's command buffer is
// recorded again, which resets them — and put on CLOCK_MONOTONIC by GPUClock (TimestampCalibration.swift).
//
// Unsafe pointer invariants:
// - vkGetQueryPoolResults writes `perFrame` (at most 3) UInt64 (64-bit results, stride 8) into a Swift tuple local of
//   three lent with withUnsafeMutableBytes for the call only; it is called only after the slot's fence was seen
//   signalled, so the results are available.
// - Fence handles are passed as a local `VkFence?` lent for the vkWaitForFences / vkResetFences call only.
// Everything else lives in VulkanObjects (which states its own invariants). Not thread-safe: one render thread owns
// the renderer that owns this.

import CVulkan

/// What a renderer asks the shared setup for.
struct KernelFrameRequest {
    var width: Int
    var height: Int
    var content: FrameContent
    var framesInFlight: Int
    var deviceIndex: Int?
    var upload: UploadMode
    /// False forces the fence-anchored GPU clock even where VK_EXT_calibrated_timestamps exists (tests).
    var calibratedTimestamps: Bool
    /// GPU timestamps per frame: 2 (start, end) or 3 (start, kernel frame end, end).
    var timestampsPerFrame: UInt32
    /// Colour-format features needed beyond the content's own.
    var extraFormatNeeds: [FormatNeed] = []
    var deviceExtensions: [StaticString] = []

    /// The checks that need no device: frame size, frames in flight, point count.
    func validate() throws(RenderError) {
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
    }
}

/// A feature of the R8G8B8A8_UNORM optimal-tiling format, with the words an error uses for it.
struct FormatNeed: Equatable {
    let flag: VkFormatFeatureFlags
    let verb: String

    static let sample = FormatNeed(flag: VK_FORMAT_FEATURE_SAMPLED_IMAGE_BIT.rawValue, verb: "sample")
    static let render = FormatNeed(flag: VK_FORMAT_FEATURE_COLOR_ATTACHMENT_BIT.rawValue, verb: "render to")
    static let store = FormatNeed(flag: VK_FORMAT_FEATURE_STORAGE_IMAGE_BIT.rawValue, verb: "store to")
    static let blend = FormatNeed(flag: VK_FORMAT_FEATURE_COLOR_ATTACHMENT_BLEND_BIT.rawValue, verb: "blend into")
    static let blitFrom = FormatNeed(flag: VK_FORMAT_FEATURE_BLIT_SRC_BIT.rawValue, verb: "blit from")

    /// What drawing `content` needs: every content renders into the target; RGBA8 samples its uploaded texture; the
    /// f32 field also stores the colour-mapped texture; points blend their squares.
    static func needs(of content: FrameContent) -> [FormatNeed] {
        switch content {
        case .rgba8: [.sample, .render]
        case .scalarField: [.sample, .render, .store]
        case .points: [.render, .blend]
        }
    }
}

/// The device limits a kernel frame must fit, checked the same way for every renderer (no device needed: tests give
/// their own limits).
enum KernelFrameLimits {
    static func check(
        _ request: KernelFrameRequest, limits: VkPhysicalDeviceLimits, formatFeatures: VkFormatFeatureFlags,
        device: VulkanDeviceInfo
    ) throws(RenderError) {
        let (width, height, content) = (request.width, request.height, request.content)
        let maxSide = Int(min(limits.maxImageDimension2D, limits.maxFramebufferWidth, limits.maxFramebufferHeight))
        guard width <= maxSide, height <= maxSide else {
            throw .badRequest(
                "frame size \(width)x\(height) exceeds \(device.name)'s limit of \(maxSide) pixels per side: "
                    + "use a smaller size")
        }
        let missing = (FormatNeed.needs(of: content) + request.extraFormatNeeds).filter {
            formatFeatures & $0.flag != $0.flag
        }
        if !missing.isEmpty {
            var verbs = missing.map(\.verb)
            let last = verbs.removeLast()
            let words = verbs.isEmpty ? last : verbs.joined(separator: ", ") + " or " + last
            throw RenderError(
                kind: .noDevice,
                message: "Vulkan device \(device.index) (\(device.name)) cannot \(words) R8G8B8A8_UNORM images: "
                    + "pick another with `framepipe devices`")
        }
        // f32 fields and points are read by shaders as one storage buffer per frame.
        let frameBytes = content.byteCount(width: width, height: height)
        if content != .rgba8, frameBytes > Int(limits.maxStorageBufferRange) {
            let remedy: String
            if case .points = content { remedy = "use fewer points" } else { remedy = "use a smaller size" }
            throw .badRequest(
                "\(content.frameDescription(width: width, height: height)) is \(frameBytes) bytes, more than "
                    + "\(device.name)'s storage buffer limit of \(limits.maxStorageBufferRange): \(remedy)")
        }
        if case .scalarField = content {
            let groupSide = Int(VulkanObjects.colormapGroupSide)
            let groups = ((width + groupSide - 1) / groupSide, (height + groupSide - 1) / groupSide)
            let maxGroups = limits.maxComputeWorkGroupCount
            guard groups.0 <= Int(maxGroups.0), groups.1 <= Int(maxGroups.1) else {
                throw .badRequest(
                    "frame size \(width)x\(height) needs more compute workgroups than \(device.name) allows: "
                        + "use a smaller size")
            }
        }
    }
}

/// A frame's GPU timestamps on CLOCK_MONOTONIC ns.
struct GPUFrameTimes {
    let startNanos: UInt64?
    /// Three timestamps per frame only: after the kernel frame's commands.
    let kernelEndNanos: UInt64?
    let endNanos: UInt64?
    /// (end - start) ticks * timestampPeriod: exact even where the clock mapping is not.
    let elapsedNanos: Double
    /// Mapped through a VK_EXT_calibrated_timestamps anchor.
    let calibrated: Bool
}

/// Per-frame-slot GPU timestamp queries and the clock that maps them (see the header).
struct FrameTimestamps {
    /// Timestamps per frame; 0 when the queue family writes none.
    let perFrame: UInt32
    private(set) var clock: GPUClock
    private let mask: UInt64
    private let period: Double

    init(perFrame: UInt32, clock: GPUClock, validBits: UInt32, timestampPeriod: Double) {
        precondition(perFrame <= 3, "FrameTimestamps reads at most 3 timestamps per frame")
        self.perFrame = perFrame
        self.clock = clock
        self.mask = GPUClock.mask(validBits: validBits)
        self.period = timestampPeriod
    }

    /// Resets the slot's queries and writes the first timestamp: the first commands of a timed frame.
    func begin(_ cb: VkCommandBuffer, pool: VkQueryPool?) {
        guard let pool else { return }
        // Queries must be reset before each reuse; doing it in the command buffer needs no host round trip.
        vkCmdResetQueryPool(cb, pool, 0, perFrame)
        vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, pool, 0)
    }

    /// Writes timestamp `query` (1..<perFrame) once everything recorded before it has finished.
    func mark(_ cb: VkCommandBuffer, pool: VkQueryPool?, query: UInt32) {
        guard let pool else { return }
        assert(query > 0 && query < perFrame)
        vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, pool, query)
    }

    /// The slot's timestamps, its fence seen signalled at `fenceSeenNanos`; nil when the queue writes none or the
    /// results are not available.
    mutating func read(pool: VkQueryPool?, device: VkDevice?, fenceSeenNanos: UInt64) throws(RenderError) -> GPUFrameTimes? {
        guard let pool, perFrame >= 2 else { return nil }
        var stamps: (UInt64, UInt64, UInt64) = (0, 0, 0)
        let size = Int(perFrame) * MemoryLayout<UInt64>.size
        // No WAIT flag: the fence has signalled, so the results are available; NOT_READY would mean they are not.
        let r = withUnsafeMutableBytes(of: &stamps) { raw in
            vkGetQueryPoolResults(
                device, pool, 0, perFrame, size, raw.baseAddress, VkDeviceSize(MemoryLayout<UInt64>.size),
                VK_QUERY_RESULT_64_BIT.rawValue)
        }
        if r == VK_NOT_READY { return nil }
        try vkCheck(r, "vkGetQueryPoolResults")
        let (start, end) = (stamps.0, perFrame == 3 ? stamps.2 : stamps.1)
        clock.observe(gpuEndTicks: end, fenceSeenNanos: fenceSeenNanos)
        let endNanos = clock.hostNanos(ticks: end)
        return GPUFrameTimes(
            startNanos: clock.hostNanos(ticks: start),
            kernelEndNanos: perFrame == 3 ? clock.hostNanos(ticks: stamps.1) : nil, endNanos: endNanos,
            elapsedNanos: Double((end &- start) & mask) * period, calibrated: endNanos != nil && clock.isCalibrated)
    }

    /// After a submit at `nanos`: recalibrates about once a second (after the submit, so the frame is not delayed by
    /// it; clocks drift).
    mutating func submitted(at nanos: UInt64, device: VkDevice?) {
        if clock.calibrationDue(at: nanos), let device { clock.calibrate(device: device) }
    }
}

/// The Vulkan device, kernel-frame pipelines, frame slots (each with its fence and timestamp queries), read-back
/// target and upload mode of one renderer, built by the one rule both renderers use (see the header).
final class KernelFrameDevice {
    let vk: VulkanObjects
    let info: VulkanDeviceInfo
    let width: Int
    let height: Int
    let content: FrameContent
    /// Bytes of one kernel frame (content.byteCount).
    let frameBytes: Int
    let framesInFlight: Int
    let uploadMode: UploadMode
    let uploadReason: String
    /// R8G8B8A8_UNORM optimal-tiling features (the window asks about linear blits).
    let formatFeatures: VkFormatFeatureFlags
    var timestamps: FrameTimestamps

    /// - vk: holds the instance (made by the renderer, with its extensions) and nothing else yet.
    /// - usableFamily: the queue family the renderer can use on a physical device (index, timestampValidBits), nil
    ///   when it can use none; `unusable` words why a requested device was refused, `noneUsable` the error when no
    ///   device is usable.
    init(
        vk: VulkanObjects, request: KernelFrameRequest, unusable: String, noneUsable: String,
        usableFamily: (VkPhysicalDevice) -> (index: UInt32, timestampValidBits: UInt32)?
    ) throws(RenderError) {
        try request.validate()
        guard let instance = vk.instance else {
            throw RenderError.vulkan("KernelFrameDevice (no instance)", VK_ERROR_INITIALIZATION_FAILED)
        }
        let physicals = try VulkanSystem.physicalDevices(instance)
        if physicals.isEmpty {
            throw RenderError(kind: .noDevice, message: "no Vulkan device found: \(RenderError.installHint)")
        }
        let infos = physicals.enumerated().map { VulkanSystem.describe($0.element, index: $0.offset) }
        let (chosen, family) = try VulkanSystem.chooseDevice(
            infos, requested: request.deviceIndex, unusable: unusable, noneUsable: noneUsable,
            usableFamily: { usableFamily(physicals[$0]) })
        let physical = physicals[chosen]
        let info = infos[chosen]
        var props = VkPhysicalDeviceProperties()
        vkGetPhysicalDeviceProperties(physical, &props)
        var formatProps = VkFormatProperties()
        vkGetPhysicalDeviceFormatProperties(physical, VulkanObjects.colorFormat, &formatProps)
        try KernelFrameLimits.check(
            request, limits: props.limits, formatFeatures: formatProps.optimalTilingFeatures, device: info)

        let (width, height, content) = (request.width, request.height, request.content)
        let timestamped = family.timestampValidBits > 0
        let calibrate =
            timestamped && request.calibratedTimestamps && GPUClock.isSupported(instance: instance, physical: physical)
        try vk.createDevice(
            physical: physical, queueFamily: family.index,
            extensions: request.deviceExtensions + (calibrate ? [GPUClock.extensionName] : []))
        try vk.createPipeline(width: UInt32(width), height: UInt32(height), content: content)
        if case .scalarField(let colormap) = content {
            try vk.createComputePipeline()
            try vk.createColormapTable(colormap.packedTable)
        }
        try vk.createSlots(count: request.framesInFlight, width: UInt32(width), height: UInt32(height), content: content)
        let perFrame = timestamped ? request.timestampsPerFrame : 0
        if perFrame > 0 { try vk.createTimestampQueries(perFrame: perFrame) }
        try vk.createReadback(width: UInt32(width), height: UInt32(height))
        let (uploadMode, uploadReason) = try resolveUploadMode(
            request.upload, memory: try vk.zeroCopyMemoryType(), deviceType: info.type, deviceName: info.name)

        self.vk = vk
        self.info = info
        self.width = width
        self.height = height
        self.content = content
        self.frameBytes = content.byteCount(width: width, height: height)
        self.framesInFlight = request.framesInFlight
        self.uploadMode = uploadMode
        self.uploadReason = uploadReason
        self.formatFeatures = formatProps.optimalTilingFeatures
        let period = Double(props.limits.timestampPeriod)
        var clock = GPUClock.forQueue(
            timestamps: timestamped, calibrate: calibrate, device: vk.device, timestampPeriod: period,
            validBits: family.timestampValidBits)
        if let device = vk.device { clock.calibrate(device: device) }
        self.timestamps = FrameTimestamps(
            perFrame: perFrame, clock: clock, validBits: family.timestampValidBits, timestampPeriod: period)
    }

    /// Frame slot `s`'s timestamp queries (nil when the queue writes no timestamps).
    func queryPool(_ s: Int) -> VkQueryPool? { vk.queryPools.isEmpty ? nil : vk.queryPools[s] }

    /// Blocks until frame slot `s`'s last submission has finished (at once if it has, or if it never had one: fences
    /// are created signalled).
    func waitForFrameSlot(_ s: Int) throws(RenderError) {
        var fence: VkFence? = vk.slots[s].fence
        try vkCheck(vkWaitForFences(vk.device, 1, &fence, 1, UInt64.max), "vkWaitForFences")
    }

    /// Blocks until frame slot `s`'s last submission has finished or the monotonic clock reaches `deadline`; returns
    /// whether it finished.
    func waitForFrameSlot(_ s: Int, untilNanos deadline: UInt64) throws(RenderError) -> Bool {
        var fence: VkFence? = vk.slots[s].fence
        let now = monotonicNanos()
        let r = vkWaitForFences(vk.device, 1, &fence, 1, deadline > now ? deadline - now : 0)
        if r == VK_TIMEOUT { return false }
        try vkCheck(r, "vkWaitForFences")
        return true
    }

    /// Whether frame slot `s`'s last submission has finished (never waits).
    func frameSlotIsDone(_ s: Int) throws(RenderError) -> Bool {
        let r = vkGetFenceStatus(vk.device, vk.slots[s].fence)
        if r == VK_NOT_READY { return false }
        try vkCheck(r, "vkGetFenceStatus")
        return true
    }

    /// Unsignals frame slot `s`'s fence: only right before the submit that signals it again (had recording failed,
    /// the fence would still be signalled and the slot reusable).
    func resetFence(_ s: Int) throws(RenderError) {
        var fence: VkFence? = vk.slots[s].fence
        try vkCheck(vkResetFences(vk.device, 1, &fence), "vkResetFences")
    }

    /// Allocates the zero-copy slot ring's payload (UploadModeDecision.swift: the checks, the layout, the memory).
    func makeRingPayload(slotCount: Int, slotByteCount: Int) throws(RenderError) -> ZeroCopyRingMemory {
        try vk.makeZeroCopyRing(
            slotCount: slotCount, slotByteCount: slotByteCount, frameBytes: frameBytes, content: content,
            frameDescription: content.frameDescription(width: width, height: height), uploadMode: uploadMode,
            uploadReason: uploadReason)
    }

    /// Checks that `ringSlot` is a slot of the lent zero-copy ring, once there is one.
    func checkRingSlot(_ ringSlot: Int, of ring: ZeroCopyRingMemory?, caller: String) throws(RenderError) {
        guard let ring else {
            throw .badRequest("\(caller)(ringSlot:) needs the zero-copy slot ring: call makeRingPayload first")
        }
        guard (0..<ring.slotCount).contains(ringSlot) else {
            throw .badRequest("ring slot \(ringSlot) is invalid: the zero-copy ring has slots 0..<\(ring.slotCount)")
        }
    }

    /// Waits until the GPU is done with everything submitted.
    func waitIdle() {
        if let device = vk.device { _ = vkDeviceWaitIdle(device) }
    }
}

/// Which ring frames the GPU may still read, per frame slot, and which it no longer does (not yet handed out): the
/// zero-copy read leases' release rule, the same for both renderers. A frame's read is over once its frame slot's fence
/// was seen signalled, or at once when it was never submitted. No allocation after init.
struct RingReads {
    private var reading: [UInt64?]
    private var finished: [UInt64] = []

    init(frameSlots: Int) {
        reading = Array(repeating: nil, count: frameSlots)
        finished.reserveCapacity(frameSlots + 1)
    }

    /// Frame slot `s`'s submitted commands read ring frame `tag` (nil: no ring frame).
    mutating func submitted(_ tag: UInt64?, frameSlot s: Int) {
        assert(reading[s] == nil, "frame slot reused before its ring read was retired")
        reading[s] = tag
    }

    /// Ring frame `tag` was not submitted: nothing on the GPU reads it.
    mutating func notSubmitted(_ tag: UInt64) { finished.append(tag) }

    /// Frame slot `s`'s fence is known signalled.
    mutating func frameSlotDone(_ s: Int) {
        guard let tag = reading[s] else { return }
        reading[s] = nil
        finished.append(tag)
    }

    /// Whether frame slot `s` may still be reading a ring frame.
    func isReading(frameSlot s: Int) -> Bool { reading[s] != nil }

    /// Hands out the finished ring frames, in the order they were seen finished.
    mutating func take(_ body: (UInt64) -> Void) {
        for tag in finished { body(tag) }
        finished.removeAll(keepingCapacity: true)
    }
}
