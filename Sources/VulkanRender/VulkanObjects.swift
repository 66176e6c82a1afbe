// Owner of every Vulkan object the renderer creates, and the code that creates them.
//
// Why a separate class: KernelFrameDevice (for either renderer) builds these objects one by one and any step can throw. Every handle is
// stored here the moment it exists, so when init throws, releasing this object runs `deinit`, which destroys exactly
// what was created (in reverse order, after vkDeviceWaitIdle). No partially built renderer can leak or double-free.
//
// Unsafe pointer invariants:
// - `Slot.stagingMapped` / `Slot.readbackMapped` / `readbackMapped` / `ringPayload.mapped` point into persistent
//   vkMapMemory mappings of HOST_VISIBLE|HOST_COHERENT memory blocks (MemoryBlocks.swift: each the buffer's own bytes
//   inside a shared or dedicated block), valid from creation until `memory.free` in deinit (which runs after
//   vkDeviceWaitIdle, so the GPU is done with them). Who may touch them when is decided by HeadlessRenderer and
//   WindowRenderer (see their headers) and read-back by KernelFrameRecorder.swift; this file never reads or writes them,
//   except that createRingPayload zeroes the ring's slots once, before the memory is handed out or any command buffer
//   reads it. The zero-copy ring payload outlives the
//   renderer when the slot ring still holds it: ZeroCopyRingMemory keeps this object (and so the mapping) alive.
// - The colormap table buffer (f32 field content only) is filled with exactly its 1 KiB through its mapping in
//   createColormapTable, and never touched by the host again. That happens during init, before any command buffer is
//   submitted, so no GPU access can overlap the write; vkQueueSubmit makes the (coherent) write visible to the GPU.
// - Create-info structs point into a ScratchArena released after the vkCreate* call returns (the shared render-pass and
//   graphics-pipeline builders take the caller's arena, which the caller releases only after they return); device
//   extension names are static C strings (cString).
// - Shader words are passed with withUnsafeBufferPointer for the duration of vkCreateShaderModule only.

import CVulkan

final class VulkanObjects {
    /// One frame-in-flight slot: everything a submitted frame uses until its fence signals.
    struct Slot {
        /// The frame's bytes as submitted. RGBA8: copied into `texture`. f32 field: read in place by the compute
        /// shader. Points: read in place by the vertex shader. Hence TRANSFER_SRC or STORAGE_BUFFER usage.
        var staging: VkBuffer?
        var stagingMapped: UnsafeMutableRawPointer?
        /// The RGBA8 image the full-screen pass samples: uploaded (RGBA8) or written by the compute shader (f32
        /// field). nil for points, which are drawn straight into the target.
        var texture: VkImage?
        var textureView: VkImageView?
        var descriptorSet: VkDescriptorSet?  // graphics pipeline's set; freed with descriptorPool
        var computeDescriptorSet: VkDescriptorSet?  // f32 field only: field, table, texture; freed with descriptorPool
        var target: VkImage?
        var targetView: VkImageView?
        var framebuffer: VkFramebuffer?
        var commandBuffer: VkCommandBuffer?  // freed with its pool (commandPools)
        var fence: VkFence?
        /// Pipelined read-back (headless): the frame's own commands copy its target here when the caller asked for
        /// the pixels; HOST_VISIBLE|HOST_COHERENT, persistently mapped. Created on first request (createSlotReadbacks).
        var readback: VkBuffer?
        var readbackMapped: UnsafeMutableRawPointer?
    }

    /// Zero-copy upload (headless): one buffer in HOST_VISIBLE|HOST_COHERENT memory holding the whole slot ring's
    /// payload, persistently mapped. The ring's slot i starts `firstSlotOffset + i * slotStride` bytes into the
    /// buffer (and the mapping); that host address is page-aligned, as SlotRing requires.
    struct RingPayload {
        var buffer: VkBuffer?
        /// The mapping of the whole buffer (buffer offset 0).
        var mapped: UnsafeMutableRawPointer?
        var firstSlotOffset = 0
        var slotStride = 0
        var slotCount = 0
        var descriptorPool: VkDescriptorPool?
        /// Points: the graphics set of ring slot r (binding 0 = the slot's region). Empty otherwise.
        var graphicsSets: [VkDescriptorSet?] = []
        /// f32 field: the compute set for ring slot r drawn by frame slot f at [r * frameSlots + f] (field = the ring
        /// slot's region, table, frame slot f's texture). Empty otherwise. Written once: no per-frame descriptor
        /// update.
        var computeSets: [VkDescriptorSet?] = []
        var frameSlots = 0
    }

    static let colorFormat = VK_FORMAT_R8G8B8A8_UNORM
    /// colormap.comp's workgroup is 8×8 pixels.
    static let colormapGroupSide: UInt32 = 8
    /// colormap.comp: uvec2 frame size. points.vert: vec2 target size.
    static let colormapPushConstantBytes: UInt32 = 8
    static let pointsPushConstantBytes: UInt32 = 8
    /// 256 packed RGBA8 entries (Colormap.packedTable).
    static let colormapTableBytes = VkDeviceSize(256 * MemoryLayout<UInt32>.size)
    static let subpassExternal = UInt32.max  // VK_SUBPASS_EXTERNAL (~0U) does not import into Swift
    static let queueFamilyIgnored = UInt32.max  // VK_QUEUE_FAMILY_IGNORED

    var instance: VkInstance?
    /// FRAMEPIPE_VULKAN_MESSAGES only (ValidationMessages); destroyed just before the instance.
    var debugMessenger: VkDebugUtilsMessengerEXT?
    var physicalDevice: VkPhysicalDevice?
    var memoryProperties = VkPhysicalDeviceMemoryProperties()
    var queueFamily: UInt32 = 0
    var device: VkDevice?
    var queue: VkQueue?
    /// One pool per command buffer, reset as a whole before the buffer is re-recorded (beginOneTimeCommands): cheaper
    /// than resetting buffers one by one, which needs RESET_COMMAND_BUFFER pools.
    var commandPools: [(buffer: VkCommandBuffer?, pool: VkCommandPool?)] = []
    var sampler: VkSampler?
    var descriptorSetLayout: VkDescriptorSetLayout?
    var pipelineLayout: VkPipelineLayout?
    var renderPass: VkRenderPass?
    var pipeline: VkPipeline?
    // f32 field only: the colour-mapping compute pipeline and its 256-entry table (shared by all slots, read-only).
    var computeSetLayout: VkDescriptorSetLayout?
    var computePipelineLayout: VkPipelineLayout?
    var computePipeline: VkPipeline?
    var colormapBuffer: VkBuffer?
    var descriptorPool: VkDescriptorPool?
    var slots: [Slot] = []
    /// One per frame slot, FrameTimestamps.perFrame timestamp queries each (KernelFrameDevice.swift); empty when the
    /// queue family writes no timestamps.
    var queryPools: [VkQueryPool?] = []
    var readbackBuffer: VkBuffer?
    var readbackMapped: UnsafeMutableRawPointer?
    var readbackCommandBuffer: VkCommandBuffer?  // freed with its pool (commandPools)
    var readbackFence: VkFence?
    var ringPayload = RingPayload()
    /// The memory every buffer and image here is bound to; freed last.
    var memory = MemoryBlocks()

    deinit {
        if let device {
            // Destroying anything the GPU may still use is invalid. If the device was lost this fails, and then
            // nothing is executing any more, so destroying is allowed anyway.
            _ = vkDeviceWaitIdle(device)
            if let readbackFence { vkDestroyFence(device, readbackFence, nil) }
            if let readbackBuffer { vkDestroyBuffer(device, readbackBuffer, nil) }
            if let pool = ringPayload.descriptorPool { vkDestroyDescriptorPool(device, pool, nil) }
            if let b = ringPayload.buffer { vkDestroyBuffer(device, b, nil) }
            for q in queryPools { if let q { vkDestroyQueryPool(device, q, nil) } }
            for s in slots.reversed() {
                if let b = s.readback { vkDestroyBuffer(device, b, nil) }
                if let f = s.fence { vkDestroyFence(device, f, nil) }
                if let fb = s.framebuffer { vkDestroyFramebuffer(device, fb, nil) }
                if let v = s.targetView { vkDestroyImageView(device, v, nil) }
                if let i = s.target { vkDestroyImage(device, i, nil) }
                if let v = s.textureView { vkDestroyImageView(device, v, nil) }
                if let i = s.texture { vkDestroyImage(device, i, nil) }
                if let b = s.staging { vkDestroyBuffer(device, b, nil) }
            }
            if let descriptorPool { vkDestroyDescriptorPool(device, descriptorPool, nil) }
            if let colormapBuffer { vkDestroyBuffer(device, colormapBuffer, nil) }
            if let computePipeline { vkDestroyPipeline(device, computePipeline, nil) }
            if let computePipelineLayout { vkDestroyPipelineLayout(device, computePipelineLayout, nil) }
            if let computeSetLayout { vkDestroyDescriptorSetLayout(device, computeSetLayout, nil) }
            if let pipeline { vkDestroyPipeline(device, pipeline, nil) }
            if let renderPass { vkDestroyRenderPass(device, renderPass, nil) }
            if let pipelineLayout { vkDestroyPipelineLayout(device, pipelineLayout, nil) }
            if let descriptorSetLayout { vkDestroyDescriptorSetLayout(device, descriptorSetLayout, nil) }
            if let sampler { vkDestroySampler(device, sampler, nil) }
            for entry in commandPools.reversed() { if let pool = entry.pool { vkDestroyCommandPool(device, pool, nil) } }
            // WindowObjects destroyed its HUD buffers before releasing this object: nothing is bound any more.
            memory.free(device: device)
            vkDestroyDevice(device, nil)
        }
        if let instance {
            ValidationMessages.destroyMessenger(debugMessenger, of: instance)
            vkDestroyInstance(instance, nil)
        }
    }

    // MARK: - Device

    /// The logical device with one queue of `queueFamily`, and the command pool. `extensions`: device extensions to
    /// enable (VK_KHR_swapchain for the viewer; none headless).
    func createDevice(
        physical: VkPhysicalDevice, queueFamily: UInt32, extensions: [StaticString] = []
    ) throws(RenderError) {
        physicalDevice = physical
        self.queueFamily = queueFamily
        vkGetPhysicalDeviceMemoryProperties(physical, &memoryProperties)

        let arena = ScratchArena()
        defer { arena.release() }
        var queueInfo = VkDeviceQueueCreateInfo()
        queueInfo.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO
        queueInfo.queueFamilyIndex = queueFamily
        queueInfo.queueCount = 1
        queueInfo.pQueuePriorities = arena.pointer(Float(1))
        var info = VkDeviceCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO
        info.queueCreateInfoCount = 1
        info.pQueueCreateInfos = arena.pointer(queueInfo)
        let names: [UnsafePointer<CChar>?] = extensions.map { cString($0) }
        info.enabledExtensionCount = UInt32(names.count)
        info.ppEnabledExtensionNames = arena.pointer(names)
        try vkCheck(vkCreateDevice(physical, &info, nil, &device), "vkCreateDevice")
        vkGetDeviceQueue(device, queueFamily, 0, &queue)
    }

    /// A primary command buffer in a pool of its own (commandPools).
    func makeCommandBuffer() throws(RenderError) -> VkCommandBuffer? {
        var poolInfo = VkCommandPoolCreateInfo()
        poolInfo.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO
        poolInfo.queueFamilyIndex = queueFamily
        var pool: VkCommandPool?
        try vkCheck(vkCreateCommandPool(device, &poolInfo, nil, &pool), "vkCreateCommandPool")
        commandPools.append((nil, pool))
        var cbInfo = VkCommandBufferAllocateInfo()
        cbInfo.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO
        cbInfo.commandPool = pool
        cbInfo.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY
        cbInfo.commandBufferCount = 1
        var buffer: VkCommandBuffer?
        try vkCheck(vkAllocateCommandBuffers(device, &cbInfo, &buffer), "vkAllocateCommandBuffers")
        commandPools[commandPools.count - 1].buffer = buffer
        return buffer
    }

    // MARK: - Pipeline (shared by all slots)

    /// The graphics pipeline for `content`: the full-screen textured triangle (RGBA8, f32 field) or instanced point
    /// squares with alpha blending (points).
    func createPipeline(width: UInt32, height: UInt32, content: FrameContent) throws(RenderError) {
        let arena = ScratchArena()
        defer { arena.release() }
        let drawsPoints: Bool
        if case .points = content { drawsPoints = true } else { drawsPoints = false }

        var samplerInfo = VkSamplerCreateInfo()
        samplerInfo.sType = VK_STRUCTURE_TYPE_SAMPLER_CREATE_INFO
        // NEAREST + same-size texture and target: each pixel centre maps to one texel, so output == input exactly.
        samplerInfo.magFilter = VK_FILTER_NEAREST
        samplerInfo.minFilter = VK_FILTER_NEAREST
        samplerInfo.mipmapMode = VK_SAMPLER_MIPMAP_MODE_NEAREST
        samplerInfo.addressModeU = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE
        samplerInfo.addressModeV = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE
        samplerInfo.addressModeW = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE
        samplerInfo.maxLod = 0
        samplerInfo.borderColor = VK_BORDER_COLOR_FLOAT_TRANSPARENT_BLACK
        try vkCheck(vkCreateSampler(device, &samplerInfo, nil, &sampler), "vkCreateSampler")

        var binding = VkDescriptorSetLayoutBinding()
        binding.binding = 0
        binding.descriptorCount = 1
        if drawsPoints {
            binding.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER  // the points, read by the vertex shader
            binding.stageFlags = VK_SHADER_STAGE_VERTEX_BIT.rawValue
        } else {
            binding.descriptorType = VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER
            binding.stageFlags = VK_SHADER_STAGE_FRAGMENT_BIT.rawValue
        }
        var setLayoutInfo = VkDescriptorSetLayoutCreateInfo()
        setLayoutInfo.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO
        setLayoutInfo.bindingCount = 1
        setLayoutInfo.pBindings = arena.pointer(binding)
        try vkCheck(
            vkCreateDescriptorSetLayout(device, &setLayoutInfo, nil, &descriptorSetLayout),
            "vkCreateDescriptorSetLayout")

        var layoutInfo = VkPipelineLayoutCreateInfo()
        layoutInfo.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO
        layoutInfo.setLayoutCount = 1
        layoutInfo.pSetLayouts = arena.pointer(descriptorSetLayout)
        if drawsPoints {
            // points.vert: the target size in pixels (vec2), to turn a size in pixels into clip units.
            layoutInfo.pushConstantRangeCount = 1
            layoutInfo.pPushConstantRanges = arena.pointer(
                VkPushConstantRange(
                    stageFlags: VK_SHADER_STAGE_VERTEX_BIT.rawValue, offset: 0, size: Self.pointsPushConstantBytes))
        }
        try vkCheck(vkCreatePipelineLayout(device, &layoutInfo, nil, &pipelineLayout), "vkCreatePipelineLayout")

        try createRenderPass(arena, clearToBlack: drawsPoints)

        // No vertex buffers: the triangle / the point squares come from gl_VertexIndex and gl_InstanceIndex.
        var vertexInput = VkPipelineVertexInputStateCreateInfo()
        vertexInput.sType = VK_STRUCTURE_TYPE_PIPELINE_VERTEX_INPUT_STATE_CREATE_INFO
        var viewportState = VkPipelineViewportStateCreateInfo()
        viewportState.sType = VK_STRUCTURE_TYPE_PIPELINE_VIEWPORT_STATE_CREATE_INFO
        viewportState.viewportCount = 1
        viewportState.pViewports = arena.pointer(
            VkViewport(x: 0, y: 0, width: Float(width), height: Float(height), minDepth: 0, maxDepth: 1))
        viewportState.scissorCount = 1
        viewportState.pScissors = arena.pointer(
            VkRect2D(offset: VkOffset2D(x: 0, y: 0), extent: VkExtent2D(width: width, height: height)))

        // Points blend "over"; the full-screen copy must not blend (blending would round; the copy must be exact).
        try createGraphicsPipeline(
            vertexShader: drawsPoints ? GeneratedShaders.pointsVert : GeneratedShaders.fullscreenVert,
            fragmentShader: drawsPoints ? GeneratedShaders.pointsFrag : GeneratedShaders.textureFrag,
            vertexInput: vertexInput, viewportState: viewportState, blendOver: drawsPoints,
            layout: pipelineLayout, renderPass: renderPass, arena: arena, into: &pipeline)
    }

    /// A graphics pipeline with what the kernel-frame and HUD pipelines share: vertex + fragment stage ("main"),
    /// triangle list, filled, no culling, one sample, all colour channels written. `blendOver`: standard "over"
    /// blending, colour = src * srcAlpha + dst * (1 - srcAlpha), alpha with ONE for the source (premultiplied form of
    /// the same operator, so over an opaque background alpha stays exactly 1); otherwise no blending.
    /// `vertexInput`, `viewportState` and the dynamic states may point into `arena`, which outlives the call.
    func createGraphicsPipeline(
        vertexShader: [UInt32], fragmentShader: [UInt32], vertexInput: VkPipelineVertexInputStateCreateInfo,
        viewportState: VkPipelineViewportStateCreateInfo, dynamicStates: [VkDynamicState] = [], blendOver: Bool,
        layout: VkPipelineLayout?, renderPass: VkRenderPass?, arena: ScratchArena, into pipeline: inout VkPipeline?
    ) throws(RenderError) {
        let vert = try createShaderModule(vertexShader)
        defer { vkDestroyShaderModule(device, vert, nil) }
        let frag = try createShaderModule(fragmentShader)
        defer { vkDestroyShaderModule(device, frag, nil) }
        var stages = [VkPipelineShaderStageCreateInfo](repeating: VkPipelineShaderStageCreateInfo(), count: 2)
        for (i, (stage, module)) in [(VK_SHADER_STAGE_VERTEX_BIT, vert), (VK_SHADER_STAGE_FRAGMENT_BIT, frag)]
            .enumerated()
        {
            stages[i].sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO
            stages[i].stage = stage
            stages[i].module = module
            stages[i].pName = cString("main")
        }

        var inputAssembly = VkPipelineInputAssemblyStateCreateInfo()
        inputAssembly.sType = VK_STRUCTURE_TYPE_PIPELINE_INPUT_ASSEMBLY_STATE_CREATE_INFO
        inputAssembly.topology = VK_PRIMITIVE_TOPOLOGY_TRIANGLE_LIST

        var raster = VkPipelineRasterizationStateCreateInfo()
        raster.sType = VK_STRUCTURE_TYPE_PIPELINE_RASTERIZATION_STATE_CREATE_INFO
        raster.polygonMode = VK_POLYGON_MODE_FILL
        raster.cullMode = VK_CULL_MODE_NONE.rawValue
        raster.frontFace = VK_FRONT_FACE_COUNTER_CLOCKWISE
        raster.lineWidth = 1

        var multisample = VkPipelineMultisampleStateCreateInfo()
        multisample.sType = VK_STRUCTURE_TYPE_PIPELINE_MULTISAMPLE_STATE_CREATE_INFO
        multisample.rasterizationSamples = VK_SAMPLE_COUNT_1_BIT

        var blendAttachment = VkPipelineColorBlendAttachmentState()
        if blendOver {
            blendAttachment.blendEnable = 1
            blendAttachment.srcColorBlendFactor = VK_BLEND_FACTOR_SRC_ALPHA
            blendAttachment.dstColorBlendFactor = VK_BLEND_FACTOR_ONE_MINUS_SRC_ALPHA
            blendAttachment.colorBlendOp = VK_BLEND_OP_ADD
            blendAttachment.srcAlphaBlendFactor = VK_BLEND_FACTOR_ONE
            blendAttachment.dstAlphaBlendFactor = VK_BLEND_FACTOR_ONE_MINUS_SRC_ALPHA
            blendAttachment.alphaBlendOp = VK_BLEND_OP_ADD
        } else {
            blendAttachment.blendEnable = 0
        }
        blendAttachment.colorWriteMask =
            VK_COLOR_COMPONENT_R_BIT.rawValue | VK_COLOR_COMPONENT_G_BIT.rawValue
            | VK_COLOR_COMPONENT_B_BIT.rawValue | VK_COLOR_COMPONENT_A_BIT.rawValue
        var blend = VkPipelineColorBlendStateCreateInfo()
        blend.sType = VK_STRUCTURE_TYPE_PIPELINE_COLOR_BLEND_STATE_CREATE_INFO
        blend.attachmentCount = 1
        blend.pAttachments = arena.pointer(blendAttachment)

        var info = VkGraphicsPipelineCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_GRAPHICS_PIPELINE_CREATE_INFO
        info.stageCount = 2
        info.pStages = arena.pointer(stages)
        info.pVertexInputState = arena.pointer(vertexInput)
        info.pInputAssemblyState = arena.pointer(inputAssembly)
        info.pViewportState = arena.pointer(viewportState)
        info.pRasterizationState = arena.pointer(raster)
        info.pMultisampleState = arena.pointer(multisample)
        info.pColorBlendState = arena.pointer(blend)
        if !dynamicStates.isEmpty {
            var dynamic = VkPipelineDynamicStateCreateInfo()
            dynamic.sType = VK_STRUCTURE_TYPE_PIPELINE_DYNAMIC_STATE_CREATE_INFO
            dynamic.dynamicStateCount = UInt32(dynamicStates.count)
            dynamic.pDynamicStates = arena.pointer(dynamicStates)
            info.pDynamicState = arena.pointer(dynamic)
        }
        info.layout = layout
        info.renderPass = renderPass
        info.subpass = 0
        try vkCheck(vkCreateGraphicsPipelines(device, nil, 1, &info, nil, &pipeline), "vkCreateGraphicsPipelines")
    }

    /// `clearToBlack`: points cover only part of the target, so it starts as opaque black (the clear value given
    /// at vkCmdBeginRenderPass). The full-screen triangle writes every pixel, so it needs neither a clear nor the
    /// old contents. loadOp does not affect render-pass compatibility, so the pipeline is the same either way.
    private func createRenderPass(_ arena: ScratchArena, clearToBlack: Bool) throws(RenderError) {
        let colorOutput = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT.rawValue
        let transfer = VK_PIPELINE_STAGE_TRANSFER_BIT.rawValue
        let colorWrite = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT.rawValue
        var dependencies = [VkSubpassDependency](repeating: VkSubpassDependency(), count: 2)
        // In: the target image was last written by this slot's previous render pass (WAW) and maybe read by a
        // read-back copy (WAR). Both must finish before the layout transition and the new colour writes (the
        // load-op clear, when there is one, is a colour write in the same stage).
        dependencies[0].srcSubpass = Self.subpassExternal
        dependencies[0].dstSubpass = 0
        dependencies[0].srcStageMask = colorOutput | transfer
        dependencies[0].srcAccessMask = colorWrite
        dependencies[0].dstStageMask = colorOutput
        dependencies[0].dstAccessMask = colorWrite
        // Out: the colour writes (and the transition to TRANSFER_SRC_OPTIMAL) must be visible to the read-back copy,
        // which is recorded in a later submission on the same queue.
        dependencies[1].srcSubpass = 0
        dependencies[1].dstSubpass = Self.subpassExternal
        dependencies[1].srcStageMask = colorOutput
        dependencies[1].srcAccessMask = colorWrite
        dependencies[1].dstStageMask = transfer
        dependencies[1].dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT.rawValue

        // finalLayout TRANSFER_SRC_OPTIMAL: ready for vkCmdCopyImageToBuffer (read-back) without another barrier.
        try createColorRenderPass(
            format: Self.colorFormat,
            loadOp: clearToBlack ? VK_ATTACHMENT_LOAD_OP_CLEAR : VK_ATTACHMENT_LOAD_OP_DONT_CARE,
            initialLayout: VK_IMAGE_LAYOUT_UNDEFINED, finalLayout: VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
            dependencies: dependencies, arena: arena, into: &renderPass)
    }

    /// A render pass with one colour attachment of `format` (stored, no stencil) used by one graphics subpass in
    /// COLOR_ATTACHMENT_OPTIMAL, with the given external dependencies.
    func createColorRenderPass(
        format: VkFormat, loadOp: VkAttachmentLoadOp, initialLayout: VkImageLayout, finalLayout: VkImageLayout,
        dependencies: [VkSubpassDependency], arena: ScratchArena, into renderPass: inout VkRenderPass?
    ) throws(RenderError) {
        var attachment = VkAttachmentDescription()
        attachment.format = format
        attachment.samples = VK_SAMPLE_COUNT_1_BIT
        attachment.loadOp = loadOp
        attachment.storeOp = VK_ATTACHMENT_STORE_OP_STORE
        attachment.stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE
        attachment.stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE
        attachment.initialLayout = initialLayout
        attachment.finalLayout = finalLayout

        let colorRef = VkAttachmentReference(attachment: 0, layout: VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL)
        var subpass = VkSubpassDescription()
        subpass.pipelineBindPoint = VK_PIPELINE_BIND_POINT_GRAPHICS
        subpass.colorAttachmentCount = 1
        subpass.pColorAttachments = arena.pointer(colorRef)

        var info = VkRenderPassCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_RENDER_PASS_CREATE_INFO
        info.attachmentCount = 1
        info.pAttachments = arena.pointer(attachment)
        info.subpassCount = 1
        info.pSubpasses = arena.pointer(subpass)
        info.dependencyCount = UInt32(dependencies.count)
        info.pDependencies = arena.pointer(dependencies)
        try vkCheck(vkCreateRenderPass(device, &info, nil, &renderPass), "vkCreateRenderPass")
    }

    func createShaderModule(_ words: [UInt32]) throws(RenderError) -> VkShaderModule {
        var module: VkShaderModule?
        let r = words.withUnsafeBufferPointer { code in
            var info = VkShaderModuleCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO
            info.codeSize = code.count * MemoryLayout<UInt32>.size
            info.pCode = code.baseAddress
            return vkCreateShaderModule(device, &info, nil, &module)
        }
        try vkCheck(r, "vkCreateShaderModule")
        guard let module else { throw RenderError.vulkan("vkCreateShaderModule", VK_ERROR_UNKNOWN) }
        return module
    }

    // MARK: - Colour mapping (f32 field content only)

    /// The compute pipeline of shaders/colormap.comp: binding 0 the field (storage buffer), 1 the table (storage
    /// buffer), 2 the RGBA8 image it writes (storage image); push constant: the frame size.
    func createComputePipeline() throws(RenderError) {
        let arena = ScratchArena()
        defer { arena.release() }

        var bindings = [VkDescriptorSetLayoutBinding](repeating: VkDescriptorSetLayoutBinding(), count: 3)
        for i in bindings.indices {
            bindings[i].binding = UInt32(i)
            bindings[i].descriptorCount = 1
            bindings[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT.rawValue
            bindings[i].descriptorType = i == 2 ? VK_DESCRIPTOR_TYPE_STORAGE_IMAGE : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
        }
        var setLayoutInfo = VkDescriptorSetLayoutCreateInfo()
        setLayoutInfo.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO
        setLayoutInfo.bindingCount = UInt32(bindings.count)
        setLayoutInfo.pBindings = arena.pointer(bindings)
        try vkCheck(
            vkCreateDescriptorSetLayout(device, &setLayoutInfo, nil, &computeSetLayout), "vkCreateDescriptorSetLayout")

        var layoutInfo = VkPipelineLayoutCreateInfo()
        layoutInfo.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO
        layoutInfo.setLayoutCount = 1
        layoutInfo.pSetLayouts = arena.pointer(computeSetLayout)
        layoutInfo.pushConstantRangeCount = 1
        layoutInfo.pPushConstantRanges = arena.pointer(
            VkPushConstantRange(
                stageFlags: VK_SHADER_STAGE_COMPUTE_BIT.rawValue, offset: 0, size: Self.colormapPushConstantBytes))
        try vkCheck(
            vkCreatePipelineLayout(device, &layoutInfo, nil, &computePipelineLayout), "vkCreatePipelineLayout")

        let module = try createShaderModule(GeneratedShaders.colormapComp)
        defer { vkDestroyShaderModule(device, module, nil) }
        var stage = VkPipelineShaderStageCreateInfo()
        stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO
        stage.stage = VK_SHADER_STAGE_COMPUTE_BIT
        stage.module = module
        stage.pName = cString("main")
        var info = VkComputePipelineCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO
        info.stage = stage
        info.layout = computePipelineLayout
        try vkCheck(vkCreateComputePipelines(device, nil, 1, &info, nil, &computePipeline), "vkCreateComputePipelines")
    }

    /// Uploads the 256-entry table once, into host-visible memory the shader reads in place. Device-local is
    /// preferred (the small host-visible window discrete GPUs offer) so the per-pixel lookups stay on the device;
    /// 1 KiB read-only, so no staging copy is worth it.
    func createColormapTable(_ packed: [UInt32]) throws(RenderError) {
        guard packed.count * MemoryLayout<UInt32>.size == Int(Self.colormapTableBytes) else {
            throw RenderError.vulkan("createColormapTable (table is not 256 entries)", VK_ERROR_INITIALIZATION_FAILED)
        }
        let mapped = try createMappedBuffer(
            size: Self.colormapTableBytes, usage: VK_BUFFER_USAGE_STORAGE_BUFFER_BIT.rawValue,
            preferred: VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT.rawValue, buffer: &colormapBuffer, what: "colormap table")
        packed.withUnsafeBytes { table in
            if let source = table.baseAddress { mapped.copyMemory(from: source, byteCount: table.count) }
        }
    }

    // MARK: - Slots

    func createSlots(count: Int, width: UInt32, height: UInt32, content: FrameContent) throws(RenderError) {
        let arena = ScratchArena()
        defer { arena.release() }
        let frameBytes = VkDeviceSize(content.byteCount(width: Int(width), height: Int(height)))
        let n = UInt32(count)

        // What each content needs per slot: its graphics set (+ the compute set for the f32 field) and an image the
        // full-screen pass samples (uploaded for RGBA8, written by the compute shader for the f32 field).
        let stagingUsage: VkBufferUsageFlags
        let textureUsage: VkImageUsageFlags?
        let poolSizes: [VkDescriptorPoolSize]
        let setLayouts: [VkDescriptorSetLayout?]
        switch content {
        case .rgba8:
            stagingUsage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT.rawValue
            textureUsage = VK_IMAGE_USAGE_TRANSFER_DST_BIT.rawValue | VK_IMAGE_USAGE_SAMPLED_BIT.rawValue
            poolSizes = [VkDescriptorPoolSize(type: VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, descriptorCount: n)]
            setLayouts = [descriptorSetLayout]
        case .scalarField:
            stagingUsage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT.rawValue
            textureUsage = VK_IMAGE_USAGE_STORAGE_BIT.rawValue | VK_IMAGE_USAGE_SAMPLED_BIT.rawValue
            poolSizes = [
                VkDescriptorPoolSize(type: VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, descriptorCount: n),
                VkDescriptorPoolSize(type: VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, descriptorCount: 2 * n),
                VkDescriptorPoolSize(type: VK_DESCRIPTOR_TYPE_STORAGE_IMAGE, descriptorCount: n),
            ]
            setLayouts = [descriptorSetLayout, computeSetLayout]
        case .points:
            stagingUsage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT.rawValue
            textureUsage = nil
            poolSizes = [VkDescriptorPoolSize(type: VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, descriptorCount: n)]
            setLayouts = [descriptorSetLayout]
        }
        let setsPerSlot = setLayouts.count

        var poolInfo = VkDescriptorPoolCreateInfo()
        poolInfo.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO
        poolInfo.maxSets = n * UInt32(setsPerSlot)
        poolInfo.poolSizeCount = UInt32(poolSizes.count)
        poolInfo.pPoolSizes = arena.pointer(poolSizes)
        try vkCheck(vkCreateDescriptorPool(device, &poolInfo, nil, &descriptorPool), "vkCreateDescriptorPool")

        // Slot i's sets are sets[i * setsPerSlot + k], k in the order of `setLayouts`.
        var setInfo = VkDescriptorSetAllocateInfo()
        setInfo.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO
        setInfo.descriptorPool = descriptorPool
        setInfo.descriptorSetCount = n * UInt32(setsPerSlot)
        setInfo.pSetLayouts = arena.pointer((0..<count).flatMap { _ in setLayouts })
        var sets = [VkDescriptorSet?](repeating: nil, count: count * setsPerSlot)
        try vkCheck(vkAllocateDescriptorSets(device, &setInfo, &sets), "vkAllocateDescriptorSets")

        for i in 0..<count {
            var slot = Slot()
            // Runs on the error path too, so deinit destroys whatever part of this slot already exists.
            defer { slots.append(slot) }
            slot.descriptorSet = sets[i * setsPerSlot]
            if setsPerSlot > 1 { slot.computeDescriptorSet = sets[i * setsPerSlot + 1] }
            slot.commandBuffer = try makeCommandBuffer()

            // Staging: the CPU writes here, the GPU copies or reads it. Coherent so no flush is needed before submit.
            slot.stagingMapped = try createMappedBuffer(
                size: frameBytes, usage: stagingUsage, buffer: &slot.staging, what: "staging buffer")

            if let textureUsage {
                try createImage(width: width, height: height, usage: textureUsage, image: &slot.texture)
                slot.textureView = try createView(slot.texture)
            }

            try createImage(
                width: width, height: height,
                usage: VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT.rawValue | VK_IMAGE_USAGE_TRANSFER_SRC_BIT.rawValue,
                image: &slot.target)
            slot.targetView = try createView(slot.target)

            var fbInfo = VkFramebufferCreateInfo()
            fbInfo.sType = VK_STRUCTURE_TYPE_FRAMEBUFFER_CREATE_INFO
            fbInfo.renderPass = renderPass
            fbInfo.attachmentCount = 1
            fbInfo.pAttachments = arena.pointer(slot.targetView)
            fbInfo.width = width
            fbInfo.height = height
            fbInfo.layers = 1
            try vkCheck(vkCreateFramebuffer(device, &fbInfo, nil, &slot.framebuffer), "vkCreateFramebuffer")

            // Created signalled so the first use of a slot does not wait on a fence that nobody will signal.
            var fenceInfo = VkFenceCreateInfo()
            fenceInfo.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO
            fenceInfo.flags = VK_FENCE_CREATE_SIGNALED_BIT.rawValue
            try vkCheck(vkCreateFence(device, &fenceInfo, nil, &slot.fence), "vkCreateFence")

            // Buffers and views never change, so each descriptor is written once. Image descriptors name the layout
            // the image will be in whenever it is accessed (each frame's commands transition it there first).
            var writes = DescriptorWrites(arena: arena)
            let stagingRange = VkDescriptorBufferInfo(buffer: slot.staging, offset: 0, range: frameBytes)
            switch content {
            case .rgba8, .scalarField:
                writes.add(
                    slot.descriptorSet, binding: 0, VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER,
                    image: VkDescriptorImageInfo(
                        sampler: sampler, imageView: slot.textureView,
                        imageLayout: VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL))
            case .points:
                writes.add(slot.descriptorSet, binding: 0, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, buffer: stagingRange)
            }
            if case .scalarField = content {
                addColormapWrites(&writes, set: slot.computeDescriptorSet, field: stagingRange, texture: slot.textureView)
            }
            writes.apply(device)
        }
    }

    /// A timestamp query pool of `perFrame` queries for each frame slot (after createSlots).
    func createTimestampQueries(perFrame: UInt32) throws(RenderError) {
        for _ in slots {
            queryPools.append(nil)
            var info = VkQueryPoolCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO
            info.queryType = VK_QUERY_TYPE_TIMESTAMP
            info.queryCount = perFrame
            try vkCheck(vkCreateQueryPool(device, &info, nil, &queryPools[queryPools.count - 1]), "vkCreateQueryPool")
        }
    }

    func createReadback(width: UInt32, height: UInt32) throws(RenderError) {
        // The CPU reads this buffer; cached memory makes that read fast where the device offers it.
        readbackMapped = try createMappedBuffer(
            size: VkDeviceSize(width) * VkDeviceSize(height) * 4, usage: VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue,
            preferred: VK_MEMORY_PROPERTY_HOST_CACHED_BIT.rawValue, buffer: &readbackBuffer, what: "read-back buffer")

        readbackCommandBuffer = try makeCommandBuffer()

        var fenceInfo = VkFenceCreateInfo()
        fenceInfo.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO
        try vkCheck(vkCreateFence(device, &fenceInfo, nil, &readbackFence), "vkCreateFence")
    }

    // MARK: - Pipelined read-back

    /// Per-slot read-back buffers for `HeadlessRenderer.submitFrame(..., readBack: true)`: once, on first request
    /// (most runs never ask, and each costs width*height*4 bytes per frame in flight).
    func createSlotReadbacks(width: UInt32, height: UInt32) throws(RenderError) {
        for i in slots.indices where slots[i].readback == nil {
            var slot = slots[i]
            // Stored back on the error path too, so deinit frees whatever part already exists.
            defer { slots[i] = slot }
            slot.readbackMapped = try createMappedBuffer(
                size: VkDeviceSize(width) * VkDeviceSize(height) * 4, usage: VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue,
                preferred: VK_MEMORY_PROPERTY_HOST_CACHED_BIT.rawValue, buffer: &slot.readback, what: "read-back buffer")
        }
    }

    // MARK: - Zero-copy ring payload

    /// Buffer usage of the ring payload: the RGBA8 upload copies from it, the f32 field / points shaders read it.
    static let ringPayloadUsage =
        VK_BUFFER_USAGE_TRANSFER_SRC_BIT.rawValue | VK_BUFFER_USAGE_STORAGE_BUFFER_BIT.rawValue

    /// The memory type a zero-copy ring payload would use (HOST_VISIBLE|HOST_COHERENT, DEVICE_LOCAL preferred) and
    /// whether it is also DEVICE_LOCAL; nil when the device has none for such a buffer. Probes with a small buffer.
    func zeroCopyMemoryType() throws(RenderError) -> (index: UInt32, deviceLocal: Bool)? {
        var info = VkBufferCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        info.size = 65536
        info.usage = Self.ringPayloadUsage
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        var probe: VkBuffer?
        try vkCheck(vkCreateBuffer(device, &info, nil, &probe), "vkCreateBuffer")
        defer { vkDestroyBuffer(device, probe, nil) }
        var req = VkMemoryRequirements()
        vkGetBufferMemoryRequirements(device, probe, &req)
        let hostCoherent = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT.rawValue | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT.rawValue
        let deviceLocal = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT.rawValue
        guard
            let index = findMemoryType(
                memoryProperties, typeBits: req.memoryTypeBits, required: hostCoherent, preferred: deviceLocal)
        else { return nil }
        let flags = withUnsafeBytes(of: memoryProperties.memoryTypes) { raw in
            raw.bindMemory(to: VkMemoryType.self)[Int(index)].propertyFlags
        }
        return (index, flags & deviceLocal != 0)
    }

    /// Allocates the ring payload (`slotCount` slots, `slotStride` bytes apart, `frameBytes` of each read) and its
    /// descriptor sets (after createSlots: the f32 field's sets name each frame slot's texture).
    func createRingPayload(
        slotCount: Int, slotStride: Int, frameBytes: Int, pageSize: Int, content: FrameContent
    ) throws(RenderError) {
        let arena = ScratchArena()
        defer { arena.release() }
        var props = VkPhysicalDeviceProperties()
        vkGetPhysicalDeviceProperties(physicalDevice, &props)
        // Buffer offsets of the slots must suit a storage-buffer descriptor (f32 field, points) and a buffer→image
        // copy (RGBA8: a multiple of the texel size, 4; optimalBufferCopyOffsetAlignment is a speed hint worth
        // honouring).
        let offsetAlignment = max(
            Int(props.limits.minStorageBufferOffsetAlignment), Int(props.limits.optimalBufferCopyOffsetAlignment), 4)
        // One spare page: vkMapMemory's pointer need not be page-aligned, the first slot then starts further in.
        let ringBytes = slotStride * slotCount
        // A local, stored back on every path (an inout access to a field of a class property would overlap).
        var buffer: VkBuffer?
        let mapped: UnsafeMutableRawPointer
        do {
            mapped = try createMappedBuffer(
                size: VkDeviceSize(ringBytes + pageSize), usage: Self.ringPayloadUsage,
                preferred: VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT.rawValue, alignment: pageSize, buffer: &buffer,
                what: "zero-copy slot ring")
        } catch {
            ringPayload.buffer = buffer
            throw error
        }
        ringPayload.buffer = buffer
        ringPayload.mapped = mapped
        let misalignment = Int(bitPattern: mapped) % pageSize
        let firstSlotOffset = misalignment == 0 ? 0 : pageSize - misalignment
        // Slot offsets are firstSlotOffset + i * slotStride; slotStride is a multiple of the page, hence of any
        // power-of-two alignment up to a page. Only the first offset can break the rule.
        guard firstSlotOffset % offsetAlignment == 0, offsetAlignment <= pageSize else {
            throw RenderError(
                kind: .vulkan,
                message: "the mapped slot-ring memory cannot be aligned to both a page and the device's buffer offset "
                    + "alignment of \(offsetAlignment) bytes: use --upload copy")
        }
        (mapped + firstSlotOffset).initializeMemory(as: UInt8.self, repeating: 0, count: ringBytes)
        ringPayload.firstSlotOffset = firstSlotOffset
        ringPayload.slotStride = slotStride
        ringPayload.slotCount = slotCount
        ringPayload.frameSlots = slots.count

        let graphicsSetCount: Int
        let computeSetCount: Int
        switch content {
        case .rgba8: (graphicsSetCount, computeSetCount) = (0, 0)  // the copy names the region itself
        case .points: (graphicsSetCount, computeSetCount) = (slotCount, 0)
        case .scalarField: (graphicsSetCount, computeSetCount) = (0, slotCount * slots.count)
        }
        let setCount = graphicsSetCount + computeSetCount
        guard setCount > 0 else { return }

        var poolSizes = [VkDescriptorPoolSize(type: VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, descriptorCount: 0)]
        poolSizes[0].descriptorCount = UInt32(graphicsSetCount + 2 * computeSetCount)
        if computeSetCount > 0 {
            poolSizes.append(
                VkDescriptorPoolSize(type: VK_DESCRIPTOR_TYPE_STORAGE_IMAGE, descriptorCount: UInt32(computeSetCount)))
        }
        var poolInfo = VkDescriptorPoolCreateInfo()
        poolInfo.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO
        poolInfo.maxSets = UInt32(setCount)
        poolInfo.poolSizeCount = UInt32(poolSizes.count)
        poolInfo.pPoolSizes = arena.pointer(poolSizes)
        try vkCheck(
            vkCreateDescriptorPool(device, &poolInfo, nil, &ringPayload.descriptorPool), "vkCreateDescriptorPool")

        let layout = graphicsSetCount > 0 ? descriptorSetLayout : computeSetLayout
        var setInfo = VkDescriptorSetAllocateInfo()
        setInfo.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO
        setInfo.descriptorPool = ringPayload.descriptorPool
        setInfo.descriptorSetCount = UInt32(setCount)
        setInfo.pSetLayouts = arena.pointer([VkDescriptorSetLayout?](repeating: layout, count: setCount))
        var sets = [VkDescriptorSet?](repeating: nil, count: setCount)
        try vkCheck(vkAllocateDescriptorSets(device, &setInfo, &sets), "vkAllocateDescriptorSets")

        var writes = DescriptorWrites(arena: arena)
        func region(_ ringSlot: Int) -> VkDescriptorBufferInfo {
            VkDescriptorBufferInfo(
                buffer: ringPayload.buffer, offset: VkDeviceSize(ringPayloadOffset(ringSlot)),
                range: VkDeviceSize(frameBytes))
        }
        if graphicsSetCount > 0 {
            ringPayload.graphicsSets = sets
            for r in 0..<slotCount {
                writes.add(sets[r], binding: 0, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, buffer: region(r))
            }
        } else {
            ringPayload.computeSets = sets
            for r in 0..<slotCount {
                for f in slots.indices {
                    addColormapWrites(
                        &writes, set: sets[r * slots.count + f], field: region(r), texture: slots[f].textureView)
                }
            }
        }
        writes.apply(device)
    }

    /// The colour-map compute set: the f32 field (binding 0), the colour table (1), the texture it writes (2).
    private func addColormapWrites(
        _ writes: inout DescriptorWrites, set: VkDescriptorSet?, field: VkDescriptorBufferInfo, texture: VkImageView?
    ) {
        writes.add(set, binding: 0, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, buffer: field)
        writes.add(
            set, binding: 1, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
            buffer: VkDescriptorBufferInfo(buffer: colormapBuffer, offset: 0, range: Self.colormapTableBytes))
        writes.add(
            set, binding: 2, VK_DESCRIPTOR_TYPE_STORAGE_IMAGE,
            image: VkDescriptorImageInfo(sampler: nil, imageView: texture, imageLayout: VK_IMAGE_LAYOUT_GENERAL))
    }

    /// Byte offset of ring slot `ringSlot` in the ring payload buffer (and its mapping).
    func ringPayloadOffset(_ ringSlot: Int) -> Int {
        ringPayload.firstSlotOffset + ringSlot * ringPayload.slotStride
    }

    /// Where frame slot `frameSlot` reads ring slot `ringSlot` from (zero-copy).
    func ringSource(ringSlot: Int, frameSlot: Int) -> KernelFrameSource {
        let slot = slots[frameSlot]
        var source = KernelFrameSource(
            buffer: ringPayload.buffer, offset: VkDeviceSize(ringPayloadOffset(ringSlot)),
            graphicsSet: slot.descriptorSet, computeSet: slot.computeDescriptorSet)
        if !ringPayload.graphicsSets.isEmpty { source.graphicsSet = ringPayload.graphicsSets[ringSlot] }
        if !ringPayload.computeSets.isEmpty {
            source.computeSet = ringPayload.computeSets[ringSlot * ringPayload.frameSlots + frameSlot]
        }
        return source
    }

    // MARK: - Resource helpers (each stores handles through inout as soon as they exist, for deinit)

    /// Memory for a resource with requirements `req` (MemoryBlocks), or a one-line error naming `what`.
    private func allocate(
        _ req: VkMemoryRequirements, required: VkMemoryPropertyFlags, preferred: VkMemoryPropertyFlags,
        linear: Bool, map: Bool, what: String
    ) throws(RenderError) -> MemoryBlocks.Allocation {
        guard
            let type = findMemoryType(
                memoryProperties, typeBits: req.memoryTypeBits, required: required, preferred: preferred)
        else {
            throw RenderError(
                kind: .vulkan,
                message: "no Vulkan memory type fits the \(what) (required property flags 0x\(String(required, radix: 16))): "
                    + "try another device with `framepipe devices`")
        }
        return try memory.allocate(device: device, req, typeIndex: type, linear: linear, map: map)
    }

    /// A buffer in HOST_VISIBLE|HOST_COHERENT memory (`preferred` flags where a type has them), bound, and its bytes'
    /// persistent mapping (coherent: no flush before a submit). `alignment`: of the buffer's offset in its block, at
    /// least (the zero-copy ring asks for a page, so its slots' host addresses and buffer offsets align together).
    func createMappedBuffer(
        size: VkDeviceSize, usage: VkBufferUsageFlags, preferred: VkMemoryPropertyFlags = 0, alignment: Int = 1,
        buffer: inout VkBuffer?, what: String
    ) throws(RenderError) -> UnsafeMutableRawPointer {
        var info = VkBufferCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        info.size = size
        info.usage = usage
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        try vkCheck(vkCreateBuffer(device, &info, nil, &buffer), "vkCreateBuffer")
        var req = VkMemoryRequirements()
        vkGetBufferMemoryRequirements(device, buffer, &req)
        req.alignment = max(req.alignment, VkDeviceSize(alignment))
        let allocation = try allocate(
            req, required: VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT.rawValue | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT.rawValue,
            preferred: preferred, linear: true, map: true, what: what)
        try vkCheck(vkBindBufferMemory(device, buffer, allocation.memory, allocation.offset), "vkBindBufferMemory")
        guard let mapped = allocation.mapped else { throw RenderError.vulkan("vkMapMemory (\(what))", VK_ERROR_MEMORY_MAP_FAILED) }
        return mapped
    }

    private func createImage(
        width: UInt32, height: UInt32, usage: VkImageUsageFlags, image: inout VkImage?
    ) throws(RenderError) {
        var info = VkImageCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO
        info.imageType = VK_IMAGE_TYPE_2D
        info.format = Self.colorFormat
        info.extent = VkExtent3D(width: width, height: height, depth: 1)
        info.mipLevels = 1
        info.arrayLayers = 1
        info.samples = VK_SAMPLE_COUNT_1_BIT
        info.tiling = VK_IMAGE_TILING_OPTIMAL
        info.usage = usage
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        info.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED
        try vkCheck(vkCreateImage(device, &info, nil, &image), "vkCreateImage")
        var req = VkMemoryRequirements()
        vkGetImageMemoryRequirements(device, image, &req)
        // Device-local where there is such a thing; lavapipe's single heap qualifies either way.
        let allocation = try allocate(
            req, required: 0, preferred: VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT.rawValue, linear: false, map: false,
            what: "image")
        try vkCheck(vkBindImageMemory(device, image, allocation.memory, allocation.offset), "vkBindImageMemory")
    }

    private func createView(_ image: VkImage?) throws(RenderError) -> VkImageView? {
        var info = VkImageViewCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO
        info.image = image
        info.viewType = VK_IMAGE_VIEW_TYPE_2D
        info.format = Self.colorFormat
        info.subresourceRange = Self.colorRange
        var view: VkImageView?
        try vkCheck(vkCreateImageView(device, &info, nil, &view), "vkCreateImageView")
        return view
    }

    static let colorRange = VkImageSubresourceRange(
        aspectMask: VK_IMAGE_ASPECT_COLOR_BIT.rawValue, baseMipLevel: 0, levelCount: 1, baseArrayLayer: 0,
        layerCount: 1)
}
