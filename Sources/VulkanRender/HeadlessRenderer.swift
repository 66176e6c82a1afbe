// HeadlessRenderer: draws each submitted frame into an offscreen RGBA8 target and reads completion, GPU time and (on
// request) pixels back. What a frame holds is fixed per renderer (FrameContent):
// - RGBA8: copied to a texture, drawn with a full-screen triangle (NEAREST, same size: bit-exact).
// - f32 field: a compute shader colour-maps it, reading the frame's buffer in place, into the texture; then drawn
//   like RGBA8.
// - points: instanced squares read from the frame's buffer in place, alpha-blended over opaque black.
// Where the frame's bytes are read from is the upload mode (UploadMode): the frame slot's staging buffer (copy: the
// host memcpys the frame there) or the slot ring's own slot (zero-copy: the ring lives in memory this renderer lends,
// makeRingPayload, and the GPU reads it in place).
//
// Unsafe pointer invariants (the only raw memory here is persistently mapped, HOST_COHERENT memory owned by
// VulkanObjects):
// - slot.stagingMapped (content.byteCount bytes): the host writes it only in submitFrame(pixels:), and only after the
//   slot's previous frame is known complete (its fence was waited on / observed signalled and `slotBusy` cleared).
//   Between vkQueueSubmit and that fence signal only the GPU reads it (the copy to the texture, the compute shader or
//   the vertex shader). The fence therefore makes the reuse race-free; vkQueueSubmit itself makes the host write
//   visible to the device (for transfer and shader reads alike), and coherence means no flush.
// - The zero-copy ring payload (ZeroCopyRingMemory: slotCount slots, slotStride apart, from a page-aligned base inside
//   the mapping): this class never writes it. The slot ring's writers write a slot only while they own it; the
//   caller (RenderFeed) passes submitFrame(ringSlot:) only a slot it holds under a validated read lease, and keeps that
//   lease until the frame's CompletedFrame came back, i.e. until the host saw the frame's fence signalled. So no host
//   write to a slot overlaps a GPU read of it. Host writes before vkQueueSubmit are visible to the device without a
//   flush (coherent memory; the submit is a host→device memory dependency). ZeroCopyRingMemory keeps VulkanObjects,
//   and so the mapping, alive while anyone holds it; the pipeline lends the ring only its address (LentPayload
//   without owner) and keeps the renderer until the workers writing into the ring have stopped, so the device is
//   never torn down on a worker thread.
// - slot.readbackMapped (width*height*4 bytes): written only by the GPU, by the copy that submitFrame(readBack: true)
//   records at the end of the slot's frame, followed by a TRANSFER→HOST barrier; the host copies it out in `harvest`,
//   after that frame's fence signalled and before the slot can be submitted again (slotBusy), so the bytes are stable.
// - readbackMapped (width*height*4 bytes, whatever the content): written only by the GPU inside the read-back
//   submission of VulkanObjects.readBackTarget (KernelFrameRecorder.swift), which ends with a TRANSFER→HOST barrier;
//   the host copies it out there only after waiting on readbackFence, and nothing else submits a write to it, so the
//   bytes are stable while copied. readBackLastFrame first waits for every submitted frame.
// - The caller's `pixels` buffer (exactly content.byteCount bytes, checked first) is read only during submitFrame
//   (memcpy into staging), never retained.
// - GPU timestamps are put on CLOCK_MONOTONIC by GPUClock (TimestampCalibration.swift, which states its own pointer
//   invariants for the calibrated-timestamps entry points).
// - Device and pipeline setup, frame fences and GPU timestamps: KernelFrameDevice.swift (shared with WindowRenderer),
//   which states its own invariants.
// This class is not thread-safe and not Sendable: a single render thread owns it, so none of the above needs locks.

import CVulkan
import Glibc

public struct SubmittedFrame: Sendable {
    public let tag: UInt64
    /// CLOCK_MONOTONIC ns just before vkQueueSubmit.
    public let submitNanos: UInt64
}

/// How a frame's bytes reach the GPU (`--upload`).
/// - copy: the host copies the frame into the frame slot's staging buffer, then the frame's commands copy it to the
///   GPU (RGBA8) or shaders read the staging buffer (f32 field, points).
/// - zeroCopy: the slot ring itself lives in HOST_VISIBLE|HOST_COHERENT Vulkan memory the renderer lends
///   (`makeRingPayload`), and the GPU reads the ring slot in place: no host copy at all.
/// - auto: zeroCopy where host-visible memory is as good as device memory (integrated or CPU devices, or host-visible
///   memory that is also DEVICE_LOCAL), copy otherwise: a discrete GPU that reads host memory over PCIe for every
///   sample or vertex is slower than one DMA copy of the frame into its own memory.
public enum UploadMode: String, Sendable, CaseIterable {
    case copy
    case zeroCopy = "zero-copy"
    case auto
}

/// The zero-copy slot-ring payload (`HeadlessRenderer.makeRingPayload`, `WindowRenderer.makeRingPayload`): `slotCount`
/// slots of `slotByteCount` bytes, slot i at `base + i * slotStride`, `base` page-aligned, all of it
/// HOST_VISIBLE|HOST_COHERENT Vulkan memory the GPU reads in place. Alive as long as this object is (it keeps the
/// renderer's Vulkan objects alive), so a slot ring may hold it as the owner of its lent payload.
public final class ZeroCopyRingMemory: @unchecked Sendable {
    // @unchecked: `objects` is held only to keep the mapping alive and is never touched through this reference; the
    // memory behind `base` is guarded by whoever lends it out (the slot ring's state machine).
    public let base: UnsafeMutableRawPointer
    /// slotCount * slotStride.
    public let byteCount: Int
    public let slotCount: Int
    public let slotByteCount: Int
    /// slotByteCount rounded up to a page: the SlotRing layout.
    public let slotStride: Int
    private let objects: VulkanObjects

    /// Made only by VulkanObjects.makeZeroCopyRing (UploadModeDecision.swift), for either renderer.
    init(
        base: UnsafeMutableRawPointer, slotCount: Int, slotByteCount: Int, slotStride: Int, objects: VulkanObjects
    ) {
        self.base = base
        self.byteCount = slotCount * slotStride
        self.slotCount = slotCount
        self.slotByteCount = slotByteCount
        self.slotStride = slotStride
        self.objects = objects
    }
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
    /// The frame as drawn (width*height RGBA8, top row first) when it was submitted with `readBack: true`, copied
    /// back by the frame's own commands (pipelined: no stall of the frame loop); nil otherwise.
    public let pixels: [UInt8]?
}

public final class HeadlessRenderer {
    public var device: VulkanDeviceInfo { gpu.info }
    public var width: Int { gpu.width }
    public var height: Int { gpu.height }
    /// What every submitted frame holds; submitFrame takes content.byteCount(width:height:) bytes.
    public var content: FrameContent { gpu.content }
    /// The upload mode in use: `.copy` or `.zeroCopy` (`.auto` resolved at init).
    public var uploadMode: UploadMode { gpu.uploadMode }
    /// Why that mode, in a few words (for reports): e.g. "auto: cpu device, host memory is its memory".
    public var uploadReason: String { gpu.uploadReason }
    /// Frames that may be in flight at once (the frame slots).
    public var framesInFlight: Int { gpu.framesInFlight }
    /// The lent zero-copy ring, once makeRingPayload made it.
    private var ringMemory: ZeroCopyRingMemory?

    /// Device, pipelines, frame slots and timestamps, set up as WindowRenderer sets up its own (KernelFrameDevice.swift).
    private let gpu: KernelFrameDevice
    private var vk: VulkanObjects { gpu.vk }
    /// Bytes of one submitted frame (content.byteCount).
    private var frameBytes: Int { gpu.frameBytes }
    /// Bytes of the RGBA8 target, what readBackLastFrame returns.
    private let targetBytes: Int

    /// How GPU timestamps are put on CLOCK_MONOTONIC: "VK_EXT_calibrated_timestamps (max deviation N ns)" (of the
    /// latest calibration; recalibrated about once a second of frames), a fence-anchored estimate biased late by up
    /// to the fence-polling delay, or none when the queue writes no timestamps.
    public var timestampCalibration: String { gpu.timestamps.clock.description }

    /// A submitted frame not yet returned to the caller, in submission order.
    private struct Pending {
        let tag: UInt64
        let submitNanos: UInt64
        let slot: Int
        let readBack: Bool
        var pixels: [UInt8]?
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
    /// Zero-copy: the ring frames the GPU may still read (collectFinishedRingReads hands them back).
    private var ringReads: RingReads

    /// - content: what each frame holds (default RGBA8). `.points(count:)` fixes the point count for the
    ///   renderer's lifetime: 1...FrameContent.maxPointCount.
    /// - upload: how frames reach the GPU (see UploadMode); `.zeroCopy` on a device without host-visible coherent
    ///   memory for it is a bad request naming `--upload copy`.
    public convenience init(
        width: Int, height: Int, content: FrameContent = .rgba8, framesInFlight: Int = 2, deviceIndex: Int? = nil,
        upload: UploadMode = .copy
    ) throws(RenderError) {
        try self.init(
            width: width, height: height, content: content, framesInFlight: framesInFlight, deviceIndex: deviceIndex,
            upload: upload, calibratedTimestamps: true)
    }

    /// - calibratedTimestamps: false forces the fence-anchored fallback (tests), even where the extension exists.
    init(
        width: Int, height: Int, content: FrameContent, framesInFlight: Int, deviceIndex: Int?,
        upload: UploadMode = .copy, calibratedTimestamps: Bool
    ) throws(RenderError) {
        let request = KernelFrameRequest(
            width: width, height: height, content: content, framesInFlight: framesInFlight, deviceIndex: deviceIndex,
            upload: upload, calibratedTimestamps: calibratedTimestamps, timestampsPerFrame: 2)
        try request.validate()
        let vk = VulkanObjects()
        (vk.instance, vk.debugMessenger) = try VulkanSystem.createInstance()
        gpu = try KernelFrameDevice(
            vk: vk, request: request, unusable: "has no graphics queue",
            noneUsable: "no Vulkan device with a graphics queue",
            usableFamily: { VulkanSystem.graphicsQueueFamily($0) })
        targetBytes = width * height * 4
        slotBusy = Array(repeating: false, count: framesInFlight)
        ringReads = RingReads(frameSlots: framesInFlight)
    }

    // Destruction lives in VulkanObjects.deinit (vkDeviceWaitIdle first, then reverse creation order).

    // MARK: - Frames

    /// Submits one frame of `content`: exactly content.byteCount(width:height:) bytes (RGBA8 pixels, f32 field
    /// values or points, little-endian, as the kernel ABI lays them out). The bytes are copied before returning
    /// (copy upload, whatever `uploadMode` is). `readBack`: the frame's own commands also copy the drawn target back,
    /// and its CompletedFrame carries the pixels.
    public func submitFrame(
        pixels: UnsafeRawBufferPointer, tag: UInt64, readBack: Bool = false
    ) throws(RenderError) -> SubmittedFrame {
        guard pixels.count == frameBytes, let source = pixels.baseAddress else {
            throw .badRequest(
                "submitFrame got \(pixels.count) bytes but \(content.frameDescription(width: width, height: height)) "
                    + "is \(frameBytes): pass exactly \(content.sizeRule)")
        }
        let s = try takeFrameSlot(readBack: readBack)
        guard let staging = vk.slots[s].stagingMapped else {
            throw RenderError.vulkan("submitFrame (slot \(s) incomplete)", VK_ERROR_INITIALIZATION_FAILED)
        }
        staging.copyMemory(from: source, byteCount: frameBytes)
        return try submit(frameSlot: s, from: .staging(of: vk.slots[s]), tag: tag, readBack: readBack)
    }

    /// Submits a frame from `source` (FrameSink): the caller's bytes (submitFrame(pixels:)) or a zero-copy ring slot
    /// (submitFrame(ringSlot:)).
    public func submitFrame(from source: FrameSource, tag: UInt64, readBack: Bool = false) throws(RenderError) -> SubmittedFrame {
        switch source {
        case .bytes(let bytes): try submitFrame(pixels: bytes, tag: tag, readBack: readBack)
        case .ringSlot(let slot): try submitFrame(ringSlot: slot, tag: tag, readBack: readBack)
        }
    }

    /// Zero-copy: submits the frame that lies in slot `ringSlot` of the ring payload from `makeRingPayload`; the GPU
    /// reads it there, in place. The caller must hold that ring slot (a validated read lease) until this frame's
    /// CompletedFrame comes back from collectCompleted/finish: until then the GPU may still read it.
    public func submitFrame(ringSlot: Int, tag: UInt64, readBack: Bool = false) throws(RenderError) -> SubmittedFrame {
        try gpu.checkRingSlot(ringSlot, of: ringMemory, caller: "submitFrame")
        let s = try takeFrameSlot(readBack: readBack)
        let source = vk.ringSource(ringSlot: ringSlot, frameSlot: s)
        return try submit(frameSlot: s, from: source, tag: tag, readBack: readBack, ringFrame: true)
    }

    /// Zero-copy only: allocates the slot ring's payload in host-visible, host-coherent Vulkan memory the GPU reads in
    /// place (once per renderer). `slotByteCount` must be one frame of `content`; `slotCount` the ring's.
    public func makeRingPayload(slotCount: Int, slotByteCount: Int) throws(RenderError) -> ZeroCopyRingMemory {
        let memory = try gpu.makeRingPayload(slotCount: slotCount, slotByteCount: slotByteCount)
        ringMemory = memory
        return memory
    }

    /// The zero-copy ring payload, once makeRingPayload made it.
    public var zeroCopyRing: ZeroCopyRingMemory? { ringMemory }

    /// The host page size, the unit SlotRing aligns slots to.
    public static var pageSize: Int { max(Int(sysconf(Int32(_SC_PAGESIZE))), 4096) }

    /// Waits, if need be, until the next submit can start without waiting for the GPU (the next frame slot's
    /// previous frame has completed). Its CompletedFrame is then returned by the next collectCompleted. Lets a caller
    /// that holds ring slots per frame in flight (zero-copy) return finished ones before acquiring the next frame.
    public func waitForFreeFrameSlot() throws(RenderError) {
        if slotBusy[nextSlot] { try waitForSlot(nextSlot) }
    }

    /// Frames submitted whose CompletedFrame has not been returned yet.
    public var uncollectedFrameCount: Int { pending.count }

    /// The next frame slot, free: its previous frame waited for (and harvested) if still running, and its read-back
    /// buffer created if this frame asks for one.
    private func takeFrameSlot(readBack: Bool) throws(RenderError) -> Int {
        let s = nextSlot
        if slotBusy[s] {
            // The slot's staging buffer, texture, target, command buffer and queries are all still the GPU's.
            try waitForSlot(s)
        }
        if readBack, vk.slots[s].readback == nil {
            try vk.createSlotReadbacks(width: UInt32(width), height: UInt32(height))
        }
        return s
    }

    private func submit(
        frameSlot s: Int, from source: KernelFrameSource, tag: UInt64, readBack: Bool, ringFrame: Bool = false
    ) throws(RenderError) -> SubmittedFrame {
        let slot = vk.slots[s]
        guard let commandBuffer = slot.commandBuffer, let fence = slot.fence else {
            throw RenderError.vulkan("submitFrame (slot \(s) incomplete)", VK_ERROR_INITIALIZATION_FAILED)
        }
        try record(slot, queries: gpu.queryPool(s), from: source, readBack: readBack, into: commandBuffer)

        try gpu.resetFence(s)
        let submitNanos = monotonicNanos()
        let r = vk.submit(commandBuffer, fence: fence)
        // On failure the fence stays unsignalled but slotBusy stays false, so nothing will ever wait on it; the
        // next use of the slot resets it again.
        if r != VK_SUCCESS, ringFrame { ringReads.notSubmitted(tag) }
        try vkCheck(r, "vkQueueSubmit")
        if ringFrame { ringReads.submitted(tag, frameSlot: s) }
        gpu.timestamps.submitted(at: submitNanos, device: vk.device)

        pending.append(Pending(tag: tag, submitNanos: submitNanos, slot: s, readBack: readBack))
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
                guard try gpu.frameSlotIsDone(pending[done].slot) else { break }
                try harvest(slot: pending[done].slot)
            }
            done += 1
        }
        return takePending(done)
    }

    /// Blocks until the oldest submitted frame not yet seen complete completes, or the monotonic clock reaches
    /// `deadline`: waits on its fence, so the completion is stamped as it signals (no polling slice). Returns whether a
    /// frame completed (its CompletedFrame comes from the next collectCompleted); false at once when none is running.
    public func waitForNextCompletion(untilNanos deadline: UInt64) throws(RenderError) -> Bool {
        guard let oldest = pending.first(where: { $0.completeNanos == nil }) else { return false }
        guard try gpu.waitForFrameSlot(oldest.slot, untilNanos: deadline) else { return false }
        try harvest(slot: oldest.slot)
        return true
    }

    /// Zero-copy: hands `body` the tag of every ring frame (submitFrame(ringSlot:)) whose GPU reads are over since the
    /// last call: its frame's fence was seen signalled (here, without waiting, or earlier), or it was never submitted.
    /// Its ring slot may be given back now; its CompletedFrame still comes from collectCompleted/finish. No allocation.
    public func collectFinishedRingReads(_ body: (UInt64) -> Void) throws(RenderError) {
        for s in 0..<framesInFlight where ringReads.isReading(frameSlot: s) && slotBusy[s] {
            if try gpu.frameSlotIsDone(s) { try harvest(slot: s) }
        }
        ringReads.take(body)
    }

    /// Waits until the GPU is done with every submitted frame (their CompletedFrames stay queued).
    public func waitIdle() throws(RenderError) { try waitForAll() }

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

    /// Submits one frame held in an array, optionally read back (see `submitFrame(pixels:tag:readBack:)`).
    @discardableResult
    public func submitFrame(bytes: [UInt8], tag: UInt64, readBack: Bool) throws(RenderError) -> SubmittedFrame {
        let result: Result<SubmittedFrame, RenderError> = bytes.withUnsafeBytes { pixels in
            do throws(RenderError) {
                return .success(try submitFrame(pixels: pixels, tag: tag, readBack: readBack))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// `requested` resolved to .copy or .zeroCopy, with the reason. `memory`: the HOST_VISIBLE|HOST_COHERENT type a
    /// zero-copy ring would use (VulkanObjects.zeroCopyMemoryType), nil when there is none.
    static func resolveUpload(
        _ requested: UploadMode, memory: (index: UInt32, deviceLocal: Bool)?, deviceType: String, deviceName: String
    ) throws(RenderError) -> (UploadMode, String) {
        // The rule is shared with WindowRenderer (UploadModeDecision.swift).
        try resolveUploadMode(requested, memory: memory, deviceType: deviceType, deviceName: deviceName)
    }

    // MARK: - Internals

    private func record(
        _ slot: VulkanObjects.Slot, queries: VkQueryPool?, from source: KernelFrameSource, readBack: Bool,
        into cb: VkCommandBuffer
    ) throws(RenderError) {
        try vk.beginOneTimeCommands(cb)
        gpu.timestamps.begin(cb, pool: queries)

        // The kernel frame's commands are shared with WindowRenderer (KernelFrameRecorder.swift).
        vk.recordKernelFrame(
            slot, from: source, content: content, width: UInt32(width), height: UInt32(height), into: cb)
        // Part of the frame (and of its GPU time): the copy runs while the host is already on later frames.
        if readBack { vk.recordTargetReadback(slot, width: UInt32(width), height: UInt32(height), into: cb) }

        gpu.timestamps.mark(cb, pool: queries, query: 1)
        try vkCheck(vkEndCommandBuffer(cb), "vkEndCommandBuffer")
    }

    /// Blocks until slot `s`'s frame is done, then records its completion.
    private func waitForSlot(_ s: Int) throws(RenderError) {
        try gpu.waitForFrameSlot(s)
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
        ringReads.frameSlotDone(s)
        guard let i = pending.lastIndex(where: { $0.slot == s && $0.completeNanos == nil }) else { return }
        pending[i].completeNanos = now
        if pending[i].readBack, let mapped = vk.slots[s].readbackMapped {
            // The fence has signalled and the frame's TRANSFER→HOST barrier made the copy visible; the next write
            // to this buffer is the slot's next frame, which cannot be submitted before this returns.
            pending[i].pixels = Array(UnsafeRawBufferPointer(start: UnsafeRawPointer(mapped), count: targetBytes))
        }
        guard let times = try gpu.timestamps.read(pool: gpu.queryPool(s), device: vk.device, fenceSeenNanos: now)
        else { return }
        pending[i].gpuNanos = times.elapsedNanos
        pending[i].gpuStartNanos = times.startNanos
        pending[i].gpuEndNanos = times.endNanos
    }

    private func takePending(_ n: Int) -> [CompletedFrame] {
        let frames = pending.prefix(n).map {
            CompletedFrame(
                tag: $0.tag, submitNanos: $0.submitNanos, completeNanos: $0.completeNanos ?? $0.submitNanos,
                gpuNanos: $0.gpuNanos, gpuStartNanos: $0.gpuStartNanos, gpuEndNanos: $0.gpuEndNanos,
                pixels: $0.pixels)
        }
        pending.removeFirst(n)
        return frames
    }
}
