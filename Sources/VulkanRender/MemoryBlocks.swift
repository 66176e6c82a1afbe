// MemoryBlocks: the device memory behind the renderer's buffers and images, sub-allocated from a few large blocks.
//
// Why: a frame slot needs a staging buffer, a texture, a target and maybe a read-back buffer, each a few KiB at small
// sizes; one vkAllocateMemory each is what drivers handle worst (allocation counts are limited, each allocation has a
// fixed cost), and the best-practices layer flags it (allocations under 256 KiB, resources alone in a block under
// 1 MiB). So resources under `dedicatedThreshold` share blocks of `blockSize` bytes, one list per memory type and per
// kind (buffers and optimal-tiling images in separate blocks, so bufferImageGranularity never matters); larger ones get
// a block of their own. Nothing is freed before the end: every block is freed at once by `free`, which
// VulkanObjects.deinit calls after vkDeviceWaitIdle and after destroying every buffer and image bound to the blocks.
//
// Unsafe pointer invariants: `Block.mapped` is a persistent vkMapMemory mapping of a whole HOST_VISIBLE block, made
// when a sub-allocation of that block first asks for a pointer, valid until `free`. An allocation's `mapped` is the
// block's mapping plus the allocation's offset, so it addresses exactly the allocation's `req.size` bytes inside the
// block; who reads or writes those bytes when is the owner's business (VulkanObjects' header).

import CVulkan

struct MemoryBlocks {
    /// Resources smaller than this share blocks; larger ones (a full-HD frame's staging buffer, say) get their own.
    static let dedicatedThreshold: VkDeviceSize = 1 << 20
    /// Size of a shared block: over both best-practices thresholds, and room for several small-frame slots.
    static let blockSize: VkDeviceSize = 4 << 20

    /// What a resource is bound to: its block and the offset in it; `mapped` when asked for (host-visible memory).
    struct Allocation {
        let memory: VkDeviceMemory?
        let offset: VkDeviceSize
        let mapped: UnsafeMutableRawPointer?
    }

    private struct Block {
        var memory: VkDeviceMemory?
        let typeIndex: UInt32
        /// Buffers (linear) and optimal-tiling images never share a block.
        let linear: Bool
        /// false: a dedicated block, never handed out again.
        let shared: Bool
        let size: VkDeviceSize
        var used: VkDeviceSize
        var mapped: UnsafeMutableRawPointer?
    }

    private var blocks: [Block] = []

    /// Number of vkAllocateMemory calls made so far (tests).
    var blockCount: Int { blocks.count }

    private static func roundUp(_ value: VkDeviceSize, _ alignment: VkDeviceSize) -> VkDeviceSize {
        let a = max(alignment, 1)
        return (value + a - 1) / a * a
    }

    /// Memory of type `typeIndex` for a resource with requirements `req`; `map`: also a host pointer to it (the type
    /// must be HOST_VISIBLE).
    mutating func allocate(
        device: VkDevice?, _ req: VkMemoryRequirements, typeIndex: UInt32, linear: Bool, map: Bool
    ) throws(RenderError) -> Allocation {
        let shared = req.size < Self.dedicatedThreshold
        var index = blocks.firstIndex { b in
            shared && b.shared && b.typeIndex == typeIndex && b.linear == linear
                && Self.roundUp(b.used, req.alignment) + req.size <= b.size
        }
        if index == nil {
            var info = VkMemoryAllocateInfo()
            info.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO
            info.allocationSize = shared ? Self.blockSize : req.size
            info.memoryTypeIndex = typeIndex
            var memory: VkDeviceMemory?
            try vkCheck(vkAllocateMemory(device, &info, nil, &memory), "vkAllocateMemory")
            blocks.append(
                Block(
                    memory: memory, typeIndex: typeIndex, linear: linear, shared: shared, size: info.allocationSize,
                    used: 0, mapped: nil))
            index = blocks.count - 1
        }
        guard let i = index else { throw RenderError.vulkan("vkAllocateMemory (no block)", VK_ERROR_OUT_OF_DEVICE_MEMORY) }
        let offset = Self.roundUp(blocks[i].used, req.alignment)
        blocks[i].used = offset + req.size
        guard map else { return Allocation(memory: blocks[i].memory, offset: offset, mapped: nil) }
        if blocks[i].mapped == nil {
            var mapped: UnsafeMutableRawPointer?
            try vkCheck(
                vkMapMemory(device, blocks[i].memory, 0, VkDeviceSize.max /* VK_WHOLE_SIZE */, 0, &mapped),
                "vkMapMemory")
            guard let mapped else { throw RenderError.vulkan("vkMapMemory", VK_ERROR_MEMORY_MAP_FAILED) }
            blocks[i].mapped = mapped
        }
        return Allocation(memory: blocks[i].memory, offset: offset, mapped: blocks[i].mapped.map { $0 + Int(offset) })
    }

    /// Unmaps and frees every block. Only once nothing bound to them is in use or alive any more.
    mutating func free(device: VkDevice?) {
        for b in blocks.reversed() {
            if b.mapped != nil { vkUnmapMemory(device, b.memory) }
            vkFreeMemory(device, b.memory, nil)
        }
        blocks = []
    }
}
