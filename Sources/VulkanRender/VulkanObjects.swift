// Owner of every Vulkan object the renderer creates, and the code that creates them.
//
// Why a separate class: HeadlessRenderer.init builds these objects one by one and any step can throw. Every handle is
// stored here the moment it exists, so when init throws, releasing this object runs `deinit`, which destroys exactly
// what was created (in reverse order, after vkDeviceWaitIdle). No partially built renderer can leak or double-free.
//
// Unsafe pointer invariants:
// - `Slot.stagingMapped` / `readbackMapped` are persistent vkMapMemory mappings of HOST_VISIBLE|HOST_COHERENT memory,
//   valid from creation until vkFreeMemory in deinit (which runs after vkDeviceWaitIdle, so the GPU is done with them).
//   Who may touch them when is decided by HeadlessRenderer (see its header); this file never reads or writes them.
// - Create-info structs point into a ScratchArena released after the vkCreate* call returns.
// - Shader words are passed with withUnsafeBufferPointer for the duration of vkCreateShaderModule only.

import CVulkan

final class VulkanObjects {
    /// One frame-in-flight slot: everything a submitted frame uses until its fence signals.
    struct Slot {
        var staging: VkBuffer?
        var stagingMemory: VkDeviceMemory?
        var stagingMapped: UnsafeMutableRawPointer?
        var texture: VkImage?
        var textureMemory: VkDeviceMemory?
        var textureView: VkImageView?
        var descriptorSet: VkDescriptorSet?  // freed with descriptorPool
        var target: VkImage?
        var targetMemory: VkDeviceMemory?
        var targetView: VkImageView?
        var framebuffer: VkFramebuffer?
        var commandBuffer: VkCommandBuffer?  // freed with commandPool
        var fence: VkFence?
        var queryPool: VkQueryPool?  // nil when the queue family has no timestamps
    }

    static let colorFormat = VK_FORMAT_R8G8B8A8_UNORM
    static let subpassExternal = UInt32.max  // VK_SUBPASS_EXTERNAL (~0U) does not import into Swift
    static let queueFamilyIgnored = UInt32.max  // VK_QUEUE_FAMILY_IGNORED

    var instance: VkInstance?
    var physicalDevice: VkPhysicalDevice?
    var memoryProperties = VkPhysicalDeviceMemoryProperties()
    var queueFamily: UInt32 = 0
    var device: VkDevice?
    var queue: VkQueue?
    var commandPool: VkCommandPool?
    var sampler: VkSampler?
    var descriptorSetLayout: VkDescriptorSetLayout?
    var pipelineLayout: VkPipelineLayout?
    var renderPass: VkRenderPass?
    var pipeline: VkPipeline?
    var descriptorPool: VkDescriptorPool?
    var slots: [Slot] = []
    var readbackBuffer: VkBuffer?
    var readbackMemory: VkDeviceMemory?
    var readbackMapped: UnsafeMutableRawPointer?
    var readbackCommandBuffer: VkCommandBuffer?  // freed with commandPool
    var readbackFence: VkFence?

    deinit {
        if let device {
            // Destroying anything the GPU may still use is invalid. If the device was lost this fails, and then
            // nothing is executing any more, so destroying is allowed anyway.
            _ = vkDeviceWaitIdle(device)
            if let readbackFence { vkDestroyFence(device, readbackFence, nil) }
            if let readbackMemory, readbackMapped != nil { vkUnmapMemory(device, readbackMemory) }
            if let readbackBuffer { vkDestroyBuffer(device, readbackBuffer, nil) }
            if let readbackMemory { vkFreeMemory(device, readbackMemory, nil) }
            for s in slots.reversed() {
                if let q = s.queryPool { vkDestroyQueryPool(device, q, nil) }
                if let f = s.fence { vkDestroyFence(device, f, nil) }
                if let fb = s.framebuffer { vkDestroyFramebuffer(device, fb, nil) }
                if let v = s.targetView { vkDestroyImageView(device, v, nil) }
                if let i = s.target { vkDestroyImage(device, i, nil) }
                if let m = s.targetMemory { vkFreeMemory(device, m, nil) }
                if let v = s.textureView { vkDestroyImageView(device, v, nil) }
                if let i = s.texture { vkDestroyImage(device, i, nil) }
                if let m = s.textureMemory { vkFreeMemory(device, m, nil) }
                if let m = s.stagingMemory, s.stagingMapped != nil { vkUnmapMemory(device, m) }
                if let b = s.staging { vkDestroyBuffer(device, b, nil) }
                if let m = s.stagingMemory { vkFreeMemory(device, m, nil) }
            }
            if let descriptorPool { vkDestroyDescriptorPool(device, descriptorPool, nil) }
            if let pipeline { vkDestroyPipeline(device, pipeline, nil) }
            if let renderPass { vkDestroyRenderPass(device, renderPass, nil) }
            if let pipelineLayout { vkDestroyPipelineLayout(device, pipelineLayout, nil) }
            if let descriptorSetLayout { vkDestroyDescriptorSetLayout(device, descriptorSetLayout, nil) }
            if let sampler { vkDestroySampler(device, sampler, nil) }
            if let commandPool { vkDestroyCommandPool(device, commandPool, nil) }
            vkDestroyDevice(device, nil)
        }
        if let instance { vkDestroyInstance(instance, nil) }
    }

    // MARK: - Device

    func createDevice(physical: VkPhysicalDevice, queueFamily: UInt32) throws(RenderError) {
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
        try vkCheck(vkCreateDevice(physical, &info, nil, &device), "vkCreateDevice")
        vkGetDeviceQueue(device, queueFamily, 0, &queue)

        var poolInfo = VkCommandPoolCreateInfo()
        poolInfo.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO
        // Each slot's command buffer is re-recorded every frame; this flag lets vkBeginCommandBuffer reset it.
        poolInfo.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT.rawValue
        poolInfo.queueFamilyIndex = queueFamily
        try vkCheck(vkCreateCommandPool(device, &poolInfo, nil, &commandPool), "vkCreateCommandPool")
    }

    // MARK: - Pipeline (shared by all slots)

    func createPipeline(width: UInt32, height: UInt32) throws(RenderError) {
        let arena = ScratchArena()
        defer { arena.release() }

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
        binding.descriptorType = VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER
        binding.descriptorCount = 1
        binding.stageFlags = VK_SHADER_STAGE_FRAGMENT_BIT.rawValue
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
        try vkCheck(vkCreatePipelineLayout(device, &layoutInfo, nil, &pipelineLayout), "vkCreatePipelineLayout")

        try createRenderPass(arena)

        let vert = try createShaderModule(GeneratedShaders.fullscreenVert)
        defer { vkDestroyShaderModule(device, vert, nil) }
        let frag = try createShaderModule(GeneratedShaders.textureFrag)
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

        var vertexInput = VkPipelineVertexInputStateCreateInfo()  // the triangle comes from gl_VertexIndex
        vertexInput.sType = VK_STRUCTURE_TYPE_PIPELINE_VERTEX_INPUT_STATE_CREATE_INFO
        var inputAssembly = VkPipelineInputAssemblyStateCreateInfo()
        inputAssembly.sType = VK_STRUCTURE_TYPE_PIPELINE_INPUT_ASSEMBLY_STATE_CREATE_INFO
        inputAssembly.topology = VK_PRIMITIVE_TOPOLOGY_TRIANGLE_LIST

        var viewportState = VkPipelineViewportStateCreateInfo()
        viewportState.sType = VK_STRUCTURE_TYPE_PIPELINE_VIEWPORT_STATE_CREATE_INFO
        viewportState.viewportCount = 1
        viewportState.pViewports = arena.pointer(
            VkViewport(x: 0, y: 0, width: Float(width), height: Float(height), minDepth: 0, maxDepth: 1))
        viewportState.scissorCount = 1
        viewportState.pScissors = arena.pointer(
            VkRect2D(offset: VkOffset2D(x: 0, y: 0), extent: VkExtent2D(width: width, height: height)))

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
        blendAttachment.blendEnable = 0  // blending would round; the copy must be exact
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
        info.layout = pipelineLayout
        info.renderPass = renderPass
        info.subpass = 0
        try vkCheck(vkCreateGraphicsPipelines(device, nil, 1, &info, nil, &pipeline), "vkCreateGraphicsPipelines")
    }

    private func createRenderPass(_ arena: ScratchArena) throws(RenderError) {
        var attachment = VkAttachmentDescription()
        attachment.format = Self.colorFormat
        attachment.samples = VK_SAMPLE_COUNT_1_BIT
        // The triangle writes every pixel, so neither old contents nor a clear are needed.
        attachment.loadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE
        attachment.storeOp = VK_ATTACHMENT_STORE_OP_STORE
        attachment.stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE
        attachment.stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE
        attachment.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED
        // Ready for vkCmdCopyImageToBuffer (read-back) without another barrier.
        attachment.finalLayout = VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL

        var colorRef = VkAttachmentReference()
        colorRef.attachment = 0
        colorRef.layout = VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL
        var subpass = VkSubpassDescription()
        subpass.pipelineBindPoint = VK_PIPELINE_BIND_POINT_GRAPHICS
        subpass.colorAttachmentCount = 1
        subpass.pColorAttachments = arena.pointer(colorRef)

        let colorOutput = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT.rawValue
        let transfer = VK_PIPELINE_STAGE_TRANSFER_BIT.rawValue
        let colorWrite = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT.rawValue
        var dependencies = [VkSubpassDependency](repeating: VkSubpassDependency(), count: 2)
        // In: the target image was last written by this slot's previous render pass (WAW) and maybe read by a
        // read-back copy (WAR). Both must finish before the layout transition and the new colour writes.
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

    private func createShaderModule(_ words: [UInt32]) throws(RenderError) -> VkShaderModule {
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

    // MARK: - Slots

    func createSlots(count: Int, width: UInt32, height: UInt32, timestamps: Bool) throws(RenderError) {
        let arena = ScratchArena()
        defer { arena.release() }
        let byteCount = VkDeviceSize(width) * VkDeviceSize(height) * 4

        var poolSize = VkDescriptorPoolSize()
        poolSize.type = VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER
        poolSize.descriptorCount = UInt32(count)
        var poolInfo = VkDescriptorPoolCreateInfo()
        poolInfo.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO
        poolInfo.maxSets = UInt32(count)
        poolInfo.poolSizeCount = 1
        poolInfo.pPoolSizes = arena.pointer(poolSize)
        try vkCheck(vkCreateDescriptorPool(device, &poolInfo, nil, &descriptorPool), "vkCreateDescriptorPool")

        var setInfo = VkDescriptorSetAllocateInfo()
        setInfo.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO
        setInfo.descriptorPool = descriptorPool
        setInfo.descriptorSetCount = UInt32(count)
        setInfo.pSetLayouts = arena.pointer([VkDescriptorSetLayout?](repeating: descriptorSetLayout, count: count))
        var sets = [VkDescriptorSet?](repeating: nil, count: count)
        try vkCheck(vkAllocateDescriptorSets(device, &setInfo, &sets), "vkAllocateDescriptorSets")

        var cbInfo = VkCommandBufferAllocateInfo()
        cbInfo.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO
        cbInfo.commandPool = commandPool
        cbInfo.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY
        cbInfo.commandBufferCount = UInt32(count)
        var commandBuffers = [VkCommandBuffer?](repeating: nil, count: count)
        try vkCheck(vkAllocateCommandBuffers(device, &cbInfo, &commandBuffers), "vkAllocateCommandBuffers")

        for i in 0..<count {
            var slot = Slot()
            // Runs on the error path too, so deinit destroys whatever part of this slot already exists.
            defer { slots.append(slot) }
            slot.descriptorSet = sets[i]
            slot.commandBuffer = commandBuffers[i]

            // Staging: the CPU writes here, the GPU copies out. Coherent so no flush is needed before submit.
            let hostVisibleCoherent =
                VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT.rawValue | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT.rawValue
            try createBuffer(
                size: byteCount, usage: VK_BUFFER_USAGE_TRANSFER_SRC_BIT.rawValue,
                required: hostVisibleCoherent, buffer: &slot.staging, memory: &slot.stagingMemory)
            slot.stagingMapped = try map(slot.stagingMemory, "staging buffer")

            try createImage(
                width: width, height: height,
                usage: VK_IMAGE_USAGE_TRANSFER_DST_BIT.rawValue | VK_IMAGE_USAGE_SAMPLED_BIT.rawValue,
                image: &slot.texture, memory: &slot.textureMemory)
            slot.textureView = try createView(slot.texture)

            try createImage(
                width: width, height: height,
                usage: VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT.rawValue | VK_IMAGE_USAGE_TRANSFER_SRC_BIT.rawValue,
                image: &slot.target, memory: &slot.targetMemory)
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

            if timestamps {
                var qpInfo = VkQueryPoolCreateInfo()
                qpInfo.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO
                qpInfo.queryType = VK_QUERY_TYPE_TIMESTAMP
                qpInfo.queryCount = 2
                try vkCheck(vkCreateQueryPool(device, &qpInfo, nil, &slot.queryPool), "vkCreateQueryPool")
            }

            // The view never changes, so the descriptor is written once; it names the layout the image will be
            // in whenever a draw samples it (each frame's upload ends with a transition to it).
            var imageInfo = VkDescriptorImageInfo()
            imageInfo.sampler = sampler
            imageInfo.imageView = slot.textureView
            imageInfo.imageLayout = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL
            var write = VkWriteDescriptorSet()
            write.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET
            write.dstSet = slot.descriptorSet
            write.dstBinding = 0
            write.descriptorCount = 1
            write.descriptorType = VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER
            write.pImageInfo = arena.pointer(imageInfo)
            vkUpdateDescriptorSets(device, 1, &write, 0, nil)
        }
    }

    func createReadback(width: UInt32, height: UInt32) throws(RenderError) {
        let required = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT.rawValue | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT.rawValue
        // The CPU reads this buffer; cached memory makes that read fast where the device offers it.
        try createBuffer(
            size: VkDeviceSize(width) * VkDeviceSize(height) * 4, usage: VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue,
            required: required, preferred: VK_MEMORY_PROPERTY_HOST_CACHED_BIT.rawValue,
            buffer: &readbackBuffer, memory: &readbackMemory)
        readbackMapped = try map(readbackMemory, "read-back buffer")

        var cbInfo = VkCommandBufferAllocateInfo()
        cbInfo.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO
        cbInfo.commandPool = commandPool
        cbInfo.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY
        cbInfo.commandBufferCount = 1
        try vkCheck(vkAllocateCommandBuffers(device, &cbInfo, &readbackCommandBuffer), "vkAllocateCommandBuffers")

        var fenceInfo = VkFenceCreateInfo()
        fenceInfo.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO
        try vkCheck(vkCreateFence(device, &fenceInfo, nil, &readbackFence), "vkCreateFence")
    }

    // MARK: - Resource helpers (each stores handles through inout as soon as they exist, for deinit)

    private func allocate(
        _ req: VkMemoryRequirements, required: VkMemoryPropertyFlags, preferred: VkMemoryPropertyFlags,
        what: String, into memory: inout VkDeviceMemory?
    ) throws(RenderError) {
        guard
            let type = findMemoryType(
                memoryProperties, typeBits: req.memoryTypeBits, required: required, preferred: preferred)
        else {
            throw RenderError(
                kind: .vulkan,
                message: "no Vulkan memory type fits the \(what) (required property flags 0x\(String(required, radix: 16))): "
                    + "try another device with `framepipe devices`")
        }
        var info = VkMemoryAllocateInfo()
        info.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO
        info.allocationSize = req.size
        info.memoryTypeIndex = type
        try vkCheck(vkAllocateMemory(device, &info, nil, &memory), "vkAllocateMemory")
    }

    private func createBuffer(
        size: VkDeviceSize, usage: VkBufferUsageFlags, required: VkMemoryPropertyFlags,
        preferred: VkMemoryPropertyFlags = 0, buffer: inout VkBuffer?, memory: inout VkDeviceMemory?
    ) throws(RenderError) {
        var info = VkBufferCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        info.size = size
        info.usage = usage
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        try vkCheck(vkCreateBuffer(device, &info, nil, &buffer), "vkCreateBuffer")
        var req = VkMemoryRequirements()
        vkGetBufferMemoryRequirements(device, buffer, &req)
        try allocate(req, required: required, preferred: preferred, what: "buffer", into: &memory)
        try vkCheck(vkBindBufferMemory(device, buffer, memory, 0), "vkBindBufferMemory")
    }

    private func createImage(
        width: UInt32, height: UInt32, usage: VkImageUsageFlags, image: inout VkImage?, memory: inout VkDeviceMemory?
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
        try allocate(
            req, required: 0, preferred: VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT.rawValue, what: "image", into: &memory)
        try vkCheck(vkBindImageMemory(device, image, memory, 0), "vkBindImageMemory")
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

    private func map(_ memory: VkDeviceMemory?, _ what: String) throws(RenderError) -> UnsafeMutableRawPointer {
        var mapped: UnsafeMutableRawPointer?
        try vkCheck(vkMapMemory(device, memory, 0, VkDeviceSize.max /* VK_WHOLE_SIZE */, 0, &mapped), "vkMapMemory")
        guard let mapped else { throw RenderError.vulkan("vkMapMemory (\(what))", VK_ERROR_MEMORY_MAP_FAILED) }
        return mapped
    }

    static let colorRange = VkImageSubresourceRange(
        aspectMask: VK_IMAGE_ASPECT_COLOR_BIT.rawValue, baseMipLevel: 0, levelCount: 1, baseArrayLayer: 0,
        layerCount: 1)
}
