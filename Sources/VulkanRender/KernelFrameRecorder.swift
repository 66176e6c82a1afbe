// KernelFrameRecorder: the commands that draw one kernel frame into a slot's offscreen RGBA8 target, for every
// format, plus the small command helpers both renderers use (one-time begin, plain submit, image barrier, read-back).
// HeadlessRenderer and WindowRenderer both record kernel frames through `recordKernelFrame`, so the window shows
// exactly what the bench measures and the goldens check.
// - RGBA8: source buffer → copy → texture → full-screen triangle (NEAREST, same size: bit-exact).
// - f32 field: colormap.comp reads the source buffer in place and writes the texture; then the same full-screen draw.
// - points: the render pass clears the target to opaque black; instanced squares read the source buffer in place.
// The source is the slot's staging buffer, or (headless zero-copy) a region of the slot ring's payload buffer.
//
// Unsafe pointer invariants:
// - Push-constant values, clear values, barrier structs, copy regions and the submitted command-buffer handle are
//   Swift locals lent to the vkCmd*/vkQueueSubmit call (withUnsafeBytes / withUnsafePointer / inout) only for that
//   call; Vulkan copies them before returning and keeps no pointer.
// - readBackTarget reads `readbackMapped` (persistently mapped HOST_COHERENT memory owned by VulkanObjects) only after
//   its own submission, which ends with a TRANSFER→HOST barrier, has been waited on through readbackFence; nothing
//   else submits a write to the read-back buffer, so the bytes are stable while copied. This file never touches
//   `stagingMapped`, the slots' read-back mappings or the zero-copy ring payload: it only records GPU commands that
//   read the frame's source buffer (staging or a ring slot region, KernelFrameSource) and write a slot's read-back
//   buffer (recordTargetReadback).

import CVulkan

/// Where a kernel frame's bytes are read from: the frame slot's own staging buffer (copy upload) or a region of the
/// zero-copy ring payload, with the descriptor sets that name that region (f32 field: compute set; points: graphics
/// set; RGBA8: the copy names `buffer` + `offset` itself and the graphics set samples the slot's texture).
struct KernelFrameSource {
    var buffer: VkBuffer?
    var offset: VkDeviceSize
    var graphicsSet: VkDescriptorSet?
    var computeSet: VkDescriptorSet?

    static func staging(of slot: VulkanObjects.Slot) -> KernelFrameSource {
        KernelFrameSource(
            buffer: slot.staging, offset: 0, graphicsSet: slot.descriptorSet, computeSet: slot.computeDescriptorSet)
    }
}

/// A VkImageMemoryBarrier for the whole colour image (one mip, one layer), no queue-family transfer.
func imageBarrier(
    _ image: VkImage?, from: VkImageLayout, to: VkImageLayout, srcAccess: VkAccessFlags, dstAccess: VkAccessFlags
) -> VkImageMemoryBarrier {
    var b = VkImageMemoryBarrier()
    b.sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER
    b.srcAccessMask = srcAccess
    b.dstAccessMask = dstAccess
    b.oldLayout = from
    b.newLayout = to
    b.srcQueueFamilyIndex = VulkanObjects.queueFamilyIgnored
    b.dstQueueFamilyIndex = VulkanObjects.queueFamilyIgnored
    b.image = image
    b.subresourceRange = VulkanObjects.colorRange
    return b
}

/// Records one `imageBarrier` between `srcStage` and `dstStage`.
func cmdImageBarrier(
    _ cb: VkCommandBuffer, _ image: VkImage?, from: VkImageLayout, to: VkImageLayout,
    srcAccess: VkAccessFlags, dstAccess: VkAccessFlags,
    srcStage: VkPipelineStageFlagBits, dstStage: VkPipelineStageFlagBits
) {
    var barrier = imageBarrier(image, from: from, to: to, srcAccess: srcAccess, dstAccess: dstAccess)
    vkCmdPipelineBarrier(cb, srcStage.rawValue, dstStage.rawValue, 0, 0, nil, 0, nil, 1, &barrier)
}

extension VulkanObjects {
    // MARK: - Command buffer helpers

    /// Resets `cb`'s pool (its own: makeCommandBuffer), then vkBeginCommandBuffer with ONE_TIME_SUBMIT (every command
    /// buffer here is re-recorded before each submit, once its fence has signalled).
    func beginOneTimeCommands(_ cb: VkCommandBuffer) throws(RenderError) {
        guard let pool = commandPools.first(where: { $0.buffer == cb })?.pool else {
            throw RenderError.vulkan("vkResetCommandPool (command buffer without a pool)", VK_ERROR_INITIALIZATION_FAILED)
        }
        try vkCheck(vkResetCommandPool(device, pool, 0), "vkResetCommandPool")
        var begin = VkCommandBufferBeginInfo()
        begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO
        begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT.rawValue
        try vkCheck(vkBeginCommandBuffer(cb, &begin), "vkBeginCommandBuffer")
    }

    /// Submits `cb` alone (no semaphores), signalling `fence`. The raw result, for callers that check it themselves.
    func submit(_ cb: VkCommandBuffer, fence: VkFence) -> VkResult {
        var commandRef: VkCommandBuffer? = cb
        return withUnsafePointer(to: &commandRef) { cbs in
            var submit = VkSubmitInfo()
            submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO
            submit.commandBufferCount = 1
            submit.pCommandBuffers = cbs
            return vkQueueSubmit(queue, 1, &submit, fence)
        }
    }

    /// The whole width×height colour image as tightly packed rows (buffer ↔ image copies).
    static func fullImageCopy(width: UInt32, height: UInt32) -> VkBufferImageCopy {
        var region = VkBufferImageCopy()
        region.bufferOffset = 0
        region.bufferRowLength = 0  // 0 = tightly packed rows of `width` texels, i.e. exactly the caller's layout
        region.bufferImageHeight = 0
        region.imageSubresource = VkImageSubresourceLayers(
            aspectMask: VK_IMAGE_ASPECT_COLOR_BIT.rawValue, mipLevel: 0, baseArrayLayer: 0, layerCount: 1)
        region.imageOffset = VkOffset3D(x: 0, y: 0, z: 0)
        region.imageExtent = VkExtent3D(width: width, height: height, depth: 1)
        return region
    }

    // MARK: - Kernel frame

    /// Records slot `slot`'s kernel frame (its staging bytes, of `content`) into the slot's target, width×height.
    /// Afterwards the target is in TRANSFER_SRC_OPTIMAL (the render pass's final layout), ready to be read back or
    /// blitted; the render pass's outgoing dependency orders its colour writes before later transfer reads.
    func recordKernelFrame(
        _ slot: Slot, content: FrameContent, width: UInt32, height: UInt32, into cb: VkCommandBuffer
    ) {
        recordKernelFrame(slot, from: .staging(of: slot), content: content, width: width, height: height, into: cb)
    }

    /// Like `recordKernelFrame(_:content:width:height:into:)`, reading the frame's bytes from `source` (the slot's
    /// staging buffer, or a zero-copy ring slot's region).
    func recordKernelFrame(
        _ slot: Slot, from source: KernelFrameSource, content: FrameContent, width: UInt32, height: UInt32,
        into cb: VkCommandBuffer
    ) {
        switch content {
        case .rgba8:
            recordUpload(slot, from: source, width: width, height: height, into: cb)
            recordFullScreenDraw(slot, graphicsSet: source.graphicsSet, width: width, height: height, into: cb)
        case .scalarField:
            recordColourMapping(slot, computeSet: source.computeSet, width: width, height: height, into: cb)
            recordFullScreenDraw(slot, graphicsSet: source.graphicsSet, width: width, height: height, into: cb)
        case .points(let count):
            recordPoints(slot, graphicsSet: source.graphicsSet, count: count, width: width, height: height, into: cb)
        }
    }

    /// RGBA8: staging buffer → texture, left ready for sampling.
    private func recordUpload(
        _ slot: Slot, from source: KernelFrameSource, width: UInt32, height: UInt32, into cb: VkCommandBuffer
    ) {
        // UNDEFINED as old layout: the previous contents are about to be overwritten entirely. The source stage
        // covers the previous frame's sampling of this texture (write-after-read needs only execution order).
        cmdImageBarrier(
            cb, slot.texture, from: VK_IMAGE_LAYOUT_UNDEFINED, to: VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
            srcAccess: 0, dstAccess: VK_ACCESS_TRANSFER_WRITE_BIT.rawValue,
            srcStage: VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT, dstStage: VK_PIPELINE_STAGE_TRANSFER_BIT)
        var region = Self.fullImageCopy(width: width, height: height)
        region.bufferOffset = source.offset
        vkCmdCopyBufferToImage(cb, source.buffer, slot.texture, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &region)
        cmdImageBarrier(
            cb, slot.texture, from: VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, to: VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL,
            srcAccess: VK_ACCESS_TRANSFER_WRITE_BIT.rawValue, dstAccess: VK_ACCESS_SHADER_READ_BIT.rawValue,
            srcStage: VK_PIPELINE_STAGE_TRANSFER_BIT, dstStage: VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT)
    }

    /// f32 field: the compute shader reads the staging buffer (host writes are visible through vkQueueSubmit) and
    /// writes the mapped colours into the texture, left ready for sampling.
    private func recordColourMapping(
        _ slot: Slot, computeSet: VkDescriptorSet?, width: UInt32, height: UInt32, into cb: VkCommandBuffer
    ) {
        // UNDEFINED → GENERAL (storage images are written in GENERAL): every pixel is about to be written. The source
        // stage covers the previous frame's sampling of this texture (write-after-read: execution order suffices).
        cmdImageBarrier(
            cb, slot.texture, from: VK_IMAGE_LAYOUT_UNDEFINED, to: VK_IMAGE_LAYOUT_GENERAL,
            srcAccess: 0, dstAccess: VK_ACCESS_SHADER_WRITE_BIT.rawValue,
            srcStage: VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT, dstStage: VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT)

        vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, computePipeline)
        var set: VkDescriptorSet? = computeSet
        vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, computePipelineLayout, 0, 1, &set, 0, nil)
        var frameSize: (UInt32, UInt32) = (width, height)
        withUnsafeBytes(of: &frameSize) { bytes in
            vkCmdPushConstants(
                cb, computePipelineLayout, VK_SHADER_STAGE_COMPUTE_BIT.rawValue, 0, UInt32(bytes.count),
                bytes.baseAddress)
        }
        let side = Self.colormapGroupSide
        vkCmdDispatch(cb, (width + side - 1) / side, (height + side - 1) / side, 1)

        // Compute writes must be visible to the fragment shader's sampling, in the layout the descriptor names.
        cmdImageBarrier(
            cb, slot.texture, from: VK_IMAGE_LAYOUT_GENERAL, to: VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL,
            srcAccess: VK_ACCESS_SHADER_WRITE_BIT.rawValue, dstAccess: VK_ACCESS_SHADER_READ_BIT.rawValue,
            srcStage: VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, dstStage: VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT)
    }

    /// RGBA8 and f32 field: the texture, sampled NEAREST by a full-screen triangle, into the target. The render
    /// pass's subpass dependencies handle the target's layout transitions and hazards.
    private func recordFullScreenDraw(
        _ slot: Slot, graphicsSet: VkDescriptorSet?, width: UInt32, height: UInt32, into cb: VkCommandBuffer
    ) {
        var pass = renderPassBegin(slot, width: width, height: height)
        pass.clearValueCount = 0  // loadOp DONT_CARE: the triangle writes every pixel
        vkCmdBeginRenderPass(cb, &pass, VK_SUBPASS_CONTENTS_INLINE)
        bindGraphics(graphicsSet, into: cb)
        vkCmdDraw(cb, 3, 1, 0, 0)
        vkCmdEndRenderPass(cb)
    }

    /// Points: the target is cleared to opaque black by the render pass, then one instance (6 vertices, two
    /// triangles) per point, in array order, blended over it. The vertex shader reads the staging buffer in place
    /// (host writes are visible through vkQueueSubmit).
    private func recordPoints(
        _ slot: Slot, graphicsSet: VkDescriptorSet?, count: Int, width: UInt32, height: UInt32,
        into cb: VkCommandBuffer
    ) {
        var pass = renderPassBegin(slot, width: width, height: height)
        var black = VkClearValue()
        black.color.float32 = (0, 0, 0, 1)
        withUnsafePointer(to: &black) { clear in
            pass.clearValueCount = 1
            pass.pClearValues = clear
            vkCmdBeginRenderPass(cb, &pass, VK_SUBPASS_CONTENTS_INLINE)
        }
        bindGraphics(graphicsSet, into: cb)
        var targetSize: (Float, Float) = (Float(width), Float(height))
        withUnsafeBytes(of: &targetSize) { bytes in
            vkCmdPushConstants(
                cb, pipelineLayout, VK_SHADER_STAGE_VERTEX_BIT.rawValue, 0, UInt32(bytes.count), bytes.baseAddress)
        }
        vkCmdDraw(cb, 6, UInt32(count), 0, 0)
        vkCmdEndRenderPass(cb)
    }

    private func bindGraphics(_ graphicsSet: VkDescriptorSet?, into cb: VkCommandBuffer) {
        vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_GRAPHICS, pipeline)
        var set: VkDescriptorSet? = graphicsSet
        vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_GRAPHICS, pipelineLayout, 0, 1, &set, 0, nil)
    }

    private func renderPassBegin(_ slot: Slot, width: UInt32, height: UInt32) -> VkRenderPassBeginInfo {
        var pass = VkRenderPassBeginInfo()
        pass.sType = VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO
        pass.renderPass = renderPass
        pass.framebuffer = slot.framebuffer
        pass.renderArea = VkRect2D(offset: VkOffset2D(x: 0, y: 0), extent: VkExtent2D(width: width, height: height))
        return pass
    }

    // MARK: - Read-back

    /// Pipelined read-back: records, in the frame's own command buffer after `recordKernelFrame`, the copy of the
    /// slot's target into the slot's read-back buffer and the TRANSFER→HOST barrier that makes it readable once the
    /// frame's fence has signalled. The render pass's outgoing dependency already orders the colour writes (and the
    /// transition to TRANSFER_SRC_OPTIMAL) before this transfer read. Needs createSlotReadbacks first.
    func recordTargetReadback(_ slot: Slot, width: UInt32, height: UInt32, into cb: VkCommandBuffer) {
        recordCopyToHost(slot.target, into: slot.readback, width: width, height: height, cb)
    }

    /// Copies `target` (in TRANSFER_SRC_OPTIMAL, as the render pass leaves it) into `buffer`, then the
    /// TRANSFER→HOST barrier: device writes reach the host domain only through a barrier with HOST_READ; the
    /// fence alone is not enough.
    private func recordCopyToHost(
        _ target: VkImage?, into buffer: VkBuffer?, width: UInt32, height: UInt32, _ cb: VkCommandBuffer
    ) {
        var region = Self.fullImageCopy(width: width, height: height)
        vkCmdCopyImageToBuffer(cb, target, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, buffer, 1, &region)
        var toHost = VkBufferMemoryBarrier()
        toHost.sType = VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER
        toHost.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT.rawValue
        toHost.dstAccessMask = VK_ACCESS_HOST_READ_BIT.rawValue
        toHost.srcQueueFamilyIndex = Self.queueFamilyIgnored
        toHost.dstQueueFamilyIndex = Self.queueFamilyIgnored
        toHost.buffer = buffer
        toHost.offset = 0
        toHost.size = VkDeviceSize(width) * VkDeviceSize(height) * 4
        vkCmdPipelineBarrier(
            cb, VK_PIPELINE_STAGE_TRANSFER_BIT.rawValue, VK_PIPELINE_STAGE_HOST_BIT.rawValue, 0, 0, nil, 1, &toHost, 0,
            nil)
    }

    /// Copies slot `slot`'s target (width×height RGBA8, top row first) to the host through the read-back buffer, in
    /// a submission of its own, and waits for it. The caller makes sure the frame that drew the target was
    /// submitted; queue order then puts this copy after it.
    func readBackTarget(slot: Int, width: UInt32, height: UInt32) throws(RenderError) -> [UInt8] {
        guard let commandBuffer = readbackCommandBuffer, let fence = readbackFence, let mapped = readbackMapped
        else { throw RenderError.vulkan("readBackLastFrame (read-back objects missing)", VK_ERROR_INITIALIZATION_FAILED) }
        let targetBytes = Int(width) * Int(height) * 4

        try beginOneTimeCommands(commandBuffer)
        // The render pass left the target in TRANSFER_SRC_OPTIMAL and its outgoing dependency already orders the
        // colour writes before transfer reads in later submissions, so no image barrier is needed here.
        recordCopyToHost(slots[slot].target, into: readbackBuffer, width: width, height: height, commandBuffer)
        try vkCheck(vkEndCommandBuffer(commandBuffer), "vkEndCommandBuffer")

        var fenceRef: VkFence? = fence
        try vkCheck(vkResetFences(device, 1, &fenceRef), "vkResetFences")
        try vkCheck(submit(commandBuffer, fence: fence), "vkQueueSubmit")
        try vkCheck(vkWaitForFences(device, 1, &fenceRef, 1, UInt64.max), "vkWaitForFences")

        return Array(UnsafeRawBufferPointer(start: UnsafeRawPointer(mapped), count: targetBytes))
    }
}
