// WindowObjects: the Vulkan objects of a window on top of VulkanObjects (which holds the instance, device and the
// kernel-frame pipelines and slots): surface, swapchain, its image views and framebuffers, the per-frame acquire
// semaphores, the per-image render-finished semaphores, the overlay render pass (the overlay itself is Dear ImGui's,
// FrameOverlay.swift), and the per-frame timestamp query pools.
//
// Like VulkanObjects, every handle is stored the moment it exists; deinit waits for the device to go idle and
// destroys exactly what was created, in reverse order, before `vk` (instance, device) is released.
//
// Unsafe pointer invariants:
// - Create-info structs point into a ScratchArena released after the vkCreate* call returns (also for the overlay
//   render pass, which VulkanObjects' shared builder creates from structs in the arena passed to it).
// - Arrays filled by vkGet*/vkEnumerate* are Swift arrays sized from the count-only call, read after the second call.

import CVulkan

final class WindowObjects {
    let vk = VulkanObjects()
    var surface: VkSurfaceKHR?
    var swapchain: VkSwapchainKHR?
    var format = VK_FORMAT_UNDEFINED
    var extent = VkExtent2D(width: 0, height: 0)
    var swapchainImages: [VkImage?] = []
    var swapchainViews: [VkImageView?] = []
    var framebuffers: [VkFramebuffer?] = []
    /// One per frame in flight: signalled by vkAcquireNextImageKHR, waited on by that frame's submit.
    var imageAvailable: [VkSemaphore?] = []
    /// One per swapchain image: signalled by the submit that drew the image, waited on by its present. Kept (and only
    /// added to) across swapchain rebuilds, because a present may still hold one.
    var renderFinished: [VkSemaphore?] = []
    /// The last pass of every frame: loads the blitted frame, the overlay draws in it, ends in PRESENT_SRC_KHR.
    var overlayRenderPass: VkRenderPass?
    var overlayRenderPassFormat = VK_FORMAT_UNDEFINED
    /// Whether R8G8B8A8_UNORM supports linear filtering (blit minification).
    var linearBlit = false

    deinit {
        if let device = vk.device {
            _ = vkDeviceWaitIdle(device)
            destroySwapchainViews(device)
            if let swapchain { vkDestroySwapchainKHR(device, swapchain, nil) }
            for s in renderFinished { if let s { vkDestroySemaphore(device, s, nil) } }
            for s in imageAvailable { if let s { vkDestroySemaphore(device, s, nil) } }
            if let overlayRenderPass { vkDestroyRenderPass(device, overlayRenderPass, nil) }
        }
        if let surface, let instance = vk.instance { vkDestroySurfaceKHR(instance, surface, nil) }
        // vk (device, then instance) is released after this body.
    }

    private func destroySwapchainViews(_ device: VkDevice) {
        for fb in framebuffers { if let fb { vkDestroyFramebuffer(device, fb, nil) } }
        for v in swapchainViews { if let v { vkDestroyImageView(device, v, nil) } }
        framebuffers = []
        swapchainViews = []
        swapchainImages = []
    }

    // MARK: - Device support and per-frame objects

    static func hasSwapchainExtension(_ physical: VkPhysicalDevice) -> Bool {
        VulkanSystem.hasDeviceExtension(physical, "VK_KHR_swapchain")
    }

    /// The acquire semaphores, one per frame in flight.
    func createFrameObjects(count: Int) throws(RenderError) {
        for _ in 0..<count { imageAvailable.append(try createSemaphore()) }
    }

    private func createSemaphore() throws(RenderError) -> VkSemaphore? {
        var info = VkSemaphoreCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO
        var semaphore: VkSemaphore?
        try vkCheck(vkCreateSemaphore(vk.device, &info, nil, &semaphore), "vkCreateSemaphore")
        return semaphore
    }

    func presentModes() throws(RenderError) -> [VkPresentModeKHR] {
        var count: UInt32 = 0
        try vkCheck(
            vkGetPhysicalDeviceSurfacePresentModesKHR(vk.physicalDevice, surface, &count, nil),
            "vkGetPhysicalDeviceSurfacePresentModesKHR")
        var modes = [VkPresentModeKHR](repeating: VK_PRESENT_MODE_FIFO_KHR, count: Int(count))
        let r = vkGetPhysicalDeviceSurfacePresentModesKHR(vk.physicalDevice, surface, &count, &modes)
        if r != VK_INCOMPLETE { try vkCheck(r, "vkGetPhysicalDeviceSurfacePresentModesKHR") }
        return Array(modes.prefix(Int(count)))
    }

    // MARK: - Swapchain

    /// Builds (or rebuilds, after the device went idle) the swapchain for a framebuffer of width×height pixels.
    func createSwapchain(width: UInt32, height: UInt32, presentMode: VkPresentModeKHR) throws(RenderError) {
        guard let device = vk.device else { return }
        try vkCheck(vkDeviceWaitIdle(device), "vkDeviceWaitIdle")
        var caps = VkSurfaceCapabilitiesKHR()
        try vkCheck(
            vkGetPhysicalDeviceSurfaceCapabilitiesKHR(vk.physicalDevice, surface, &caps),
            "vkGetPhysicalDeviceSurfaceCapabilitiesKHR")
        let needUsage = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT.rawValue | VK_IMAGE_USAGE_TRANSFER_DST_BIT.rawValue
        guard caps.supportedUsageFlags & needUsage == needUsage else {
            throw RenderError(
                kind: .noDevice,
                message: "this display's swapchain images cannot be blitted to and rendered into: "
                    + "pick another device with `framepipe devices`")
        }

        var formatCount: UInt32 = 0
        try vkCheck(
            vkGetPhysicalDeviceSurfaceFormatsKHR(vk.physicalDevice, surface, &formatCount, nil),
            "vkGetPhysicalDeviceSurfaceFormatsKHR")
        var formats = [VkSurfaceFormatKHR](repeating: VkSurfaceFormatKHR(), count: Int(formatCount))
        let fr = vkGetPhysicalDeviceSurfaceFormatsKHR(vk.physicalDevice, surface, &formatCount, &formats)
        if fr != VK_INCOMPLETE { try vkCheck(fr, "vkGetPhysicalDeviceSurfaceFormatsKHR") }
        formats = Array(formats.prefix(Int(formatCount)))
        func blitsInto(_ f: VkFormat) -> Bool {
            var props = VkFormatProperties()
            vkGetPhysicalDeviceFormatProperties(vk.physicalDevice, f, &props)
            let needed = VK_FORMAT_FEATURE_BLIT_DST_BIT.rawValue | VK_FORMAT_FEATURE_COLOR_ATTACHMENT_BLEND_BIT.rawValue
            return props.optimalTilingFeatures & needed == needed
        }
        // UNORM, not SRGB: the kernel's bytes are shown as they are (as the PNGs store them), no conversion.
        let preferred = [VK_FORMAT_B8G8R8A8_UNORM, VK_FORMAT_R8G8B8A8_UNORM]
        guard
            let chosen = formats.first(where: { preferred.contains($0.format) && blitsInto($0.format) })
                ?? formats.first(where: { blitsInto($0.format) })
        else {
            throw RenderError(
                kind: .noDevice,
                message: "no swapchain format of this display can be blitted into: pick another device with "
                    + "`framepipe devices`")
        }

        var extent = caps.currentExtent
        if extent.width == UInt32.max {
            extent.width = min(max(width, caps.minImageExtent.width), caps.maxImageExtent.width)
            extent.height = min(max(height, caps.minImageExtent.height), caps.maxImageExtent.height)
        }
        var imageCount = caps.minImageCount + 1
        if caps.maxImageCount > 0 { imageCount = min(imageCount, caps.maxImageCount) }
        let alphaOptions: [VkCompositeAlphaFlagBitsKHR] = [
            VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR, VK_COMPOSITE_ALPHA_INHERIT_BIT_KHR,
            VK_COMPOSITE_ALPHA_PRE_MULTIPLIED_BIT_KHR, VK_COMPOSITE_ALPHA_POST_MULTIPLIED_BIT_KHR,
        ]
        let alpha = alphaOptions.first { caps.supportedCompositeAlpha & $0.rawValue != 0 } ?? VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR

        let old = swapchain
        var info = VkSwapchainCreateInfoKHR()
        info.sType = VK_STRUCTURE_TYPE_SWAPCHAIN_CREATE_INFO_KHR
        info.surface = surface
        info.minImageCount = imageCount
        info.imageFormat = chosen.format
        info.imageColorSpace = chosen.colorSpace
        info.imageExtent = extent
        info.imageArrayLayers = 1
        info.imageUsage = needUsage
        info.imageSharingMode = VK_SHARING_MODE_EXCLUSIVE
        info.preTransform = caps.currentTransform
        info.compositeAlpha = alpha
        info.presentMode = presentMode
        info.clipped = 1
        info.oldSwapchain = old
        var created: VkSwapchainKHR?
        try vkCheck(vkCreateSwapchainKHR(device, &info, nil, &created), "vkCreateSwapchainKHR")
        destroySwapchainViews(device)
        if let old { vkDestroySwapchainKHR(device, old, nil) }
        swapchain = created
        format = chosen.format
        self.extent = extent

        var count: UInt32 = 0
        try vkCheck(vkGetSwapchainImagesKHR(device, swapchain, &count, nil), "vkGetSwapchainImagesKHR")
        var images = [VkImage?](repeating: nil, count: Int(count))
        try vkCheck(vkGetSwapchainImagesKHR(device, swapchain, &count, &images), "vkGetSwapchainImagesKHR")
        swapchainImages = Array(images.prefix(Int(count)))
        while renderFinished.count < swapchainImages.count { renderFinished.append(try createSemaphore()) }

        if overlayRenderPass == nil || overlayRenderPassFormat != format { try createOverlayRenderPass() }

        let arena = ScratchArena()
        defer { arena.release() }
        for image in swapchainImages {
            var viewInfo = VkImageViewCreateInfo()
            viewInfo.sType = VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO
            viewInfo.image = image
            viewInfo.viewType = VK_IMAGE_VIEW_TYPE_2D
            viewInfo.format = format
            viewInfo.subresourceRange = VulkanObjects.colorRange
            swapchainViews.append(nil)
            try vkCheck(
                vkCreateImageView(device, &viewInfo, nil, &swapchainViews[swapchainViews.count - 1]),
                "vkCreateImageView")
            var fbInfo = VkFramebufferCreateInfo()
            fbInfo.sType = VK_STRUCTURE_TYPE_FRAMEBUFFER_CREATE_INFO
            fbInfo.renderPass = overlayRenderPass
            fbInfo.attachmentCount = 1
            fbInfo.pAttachments = arena.pointer(swapchainViews[swapchainViews.count - 1])
            fbInfo.width = extent.width
            fbInfo.height = extent.height
            fbInfo.layers = 1
            framebuffers.append(nil)
            try vkCheck(
                vkCreateFramebuffer(device, &fbInfo, nil, &framebuffers[framebuffers.count - 1]), "vkCreateFramebuffer")
        }
    }

    // MARK: - Overlay render pass

    /// The overlay render pass: loads the blitted frame, the overlay (when shown) draws with alpha blending in its one
    /// subpass, and it ends in PRESENT_SRC_KHR.
    private func createOverlayRenderPass() throws(RenderError) {
        guard let device = vk.device else { return }
        if let overlayRenderPass { vkDestroyRenderPass(device, overlayRenderPass, nil) }
        overlayRenderPass = nil
        let arena = ScratchArena()
        defer { arena.release() }

        var dependencies = [VkSubpassDependency](repeating: VkSubpassDependency(), count: 2)
        // In: the clear and blit (transfer writes) before the load and the blended colour writes.
        dependencies[0].srcSubpass = VulkanObjects.subpassExternal
        dependencies[0].dstSubpass = 0
        dependencies[0].srcStageMask = VK_PIPELINE_STAGE_TRANSFER_BIT.rawValue
        dependencies[0].srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT.rawValue
        dependencies[0].dstStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT.rawValue
        dependencies[0].dstAccessMask =
            VK_ACCESS_COLOR_ATTACHMENT_READ_BIT.rawValue | VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT.rawValue
        // Out: presentation waits on the submit's semaphore, which covers all commands; nothing else reads it.
        dependencies[1].srcSubpass = 0
        dependencies[1].dstSubpass = VulkanObjects.subpassExternal
        dependencies[1].srcStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT.rawValue
        dependencies[1].srcAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT.rawValue
        dependencies[1].dstStageMask = VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT.rawValue
        dependencies[1].dstAccessMask = 0
        try vk.createColorRenderPass(
            format: format, loadOp: VK_ATTACHMENT_LOAD_OP_LOAD, initialLayout: VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
            finalLayout: VK_IMAGE_LAYOUT_PRESENT_SRC_KHR, dependencies: dependencies, arena: arena,
            into: &overlayRenderPass)
        overlayRenderPassFormat = format
    }
}
