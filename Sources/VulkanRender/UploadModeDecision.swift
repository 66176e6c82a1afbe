// The upload-mode decision (`--upload copy|zero-copy|auto`) and the zero-copy slot-ring allocation, shared by
// HeadlessRenderer and WindowRenderer so that `bench` and `view` resolve `auto` by the same rule, refuse a zero-copy
// request with the same words, and lend the slot ring the same memory layout.
//
// Unsafe pointer invariants:
// - makeZeroCopyRing wraps VulkanObjects.ringPayload.mapped (a persistent mapping of HOST_VISIBLE|HOST_COHERENT
//   memory, created and zeroed once by createRingPayload before anything reads it) in a ZeroCopyRingMemory: a base
//   page-aligned `firstSlotOffset` bytes into the mapping and slotCount * slotStride bytes long, which lies inside the
//   allocation (createRingPayload allocates slotCount * slotStride plus one spare page for that offset). This file
//   never reads or writes that memory; who may when is stated by the renderer that lends it (HeadlessRenderer,
//   WindowRenderer). ZeroCopyRingMemory keeps the VulkanObjects, and so the mapping, alive as long as it lives.

import CVulkan

/// `requested` resolved to .copy or .zeroCopy, with the reason in a few words. `memory`: the
/// HOST_VISIBLE|HOST_COHERENT type a zero-copy ring would use (VulkanObjects.zeroCopyMemoryType), nil when there is none.
func resolveUploadMode(
    _ requested: UploadMode, memory: (index: UInt32, deviceLocal: Bool)?, deviceType: String, deviceName: String
) throws(RenderError) -> (UploadMode, String) {
    switch requested {
    case .copy:
        return (.copy, "copy requested")
    case .zeroCopy:
        guard memory != nil else {
            throw .badRequest(
                "\(deviceName) has no host-visible, host-coherent memory the GPU can read frames from: "
                    + "use --upload copy")
        }
        return (.zeroCopy, "zero-copy requested")
    case .auto:
        guard let memory else { return (.copy, "auto: no host-visible coherent memory for the ring") }
        if deviceType == "cpu" || deviceType == "integrated" {
            return (.zeroCopy, "auto: \(deviceType) device, host memory is its memory")
        }
        if memory.deviceLocal { return (.zeroCopy, "auto: host-visible memory is also device-local") }
        // Every sample / vertex fetch would cross the bus; one DMA copy per frame into device memory is cheaper.
        return (.copy, "auto: \(deviceType) device, host memory is across the bus")
    }
}

extension VulkanObjects {
    /// The zero-copy slot ring for a renderer in `uploadMode` (checked: must be .zeroCopy, once per renderer): its
    /// payload buffer and descriptor sets (after createSlots), wrapped for SlotRing. `slotByteCount` must be one
    /// frame (`frameBytes`); `slotCount` 1...64. `frameDescription` / `uploadReason` only word the errors.
    func makeZeroCopyRing(
        slotCount: Int, slotByteCount: Int, frameBytes: Int, content: FrameContent, frameDescription: String,
        uploadMode: UploadMode, uploadReason: String
    ) throws(RenderError) -> ZeroCopyRingMemory {
        guard uploadMode == .zeroCopy else {
            throw .badRequest(
                "the renderer uploads by copy (\(uploadReason)): a zero-copy ring needs --upload zero-copy")
        }
        guard ringPayload.buffer == nil else {
            throw .badRequest("makeRingPayload: this renderer already lent its slot ring")
        }
        guard slotByteCount == frameBytes else {
            throw .badRequest(
                "ring slots of \(slotByteCount) bytes do not fit \(frameDescription) of \(frameBytes) bytes: "
                    + "size the slots to one frame")
        }
        guard (1...64).contains(slotCount) else {
            throw .badRequest("ring slot count \(slotCount) is invalid: use 1 to 64")
        }
        let page = HeadlessRenderer.pageSize
        let stride = (slotByteCount + page - 1) / page * page
        let (ringBytes, overflow) = stride.multipliedReportingOverflow(by: slotCount)
        guard !overflow, ringBytes < Int.max - page else {
            throw .badRequest("a ring of \(slotCount) slots of \(slotByteCount) bytes is too large")
        }
        try createRingPayload(
            slotCount: slotCount, slotStride: stride, frameBytes: frameBytes, pageSize: page, content: content)
        guard let mapped = ringPayload.mapped else {
            throw RenderError.vulkan("makeRingPayload (mapping missing)", VK_ERROR_MEMORY_MAP_FAILED)
        }
        return ZeroCopyRingMemory(
            base: mapped + ringPayload.firstSlotOffset, slotCount: slotCount, slotByteCount: slotByteCount,
            slotStride: stride, objects: self)
    }
}
