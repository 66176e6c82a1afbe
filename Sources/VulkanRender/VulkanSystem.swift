// Instance creation and physical-device discovery.
//
// Unsafe pointer invariants: describe's VkPhysicalDeviceDriverProperties is a Swift local lent, through the pNext of a
// local VkPhysicalDeviceProperties2, for the vkGetPhysicalDeviceProperties2 call only. The VkApplicationInfo/VkInstanceCreateInfo pointers (and the messenger create info in
// its pNext, FRAMEPIPE_VULKAN_MESSAGES only) live in a ScratchArena that is released after vkCreateInstance returns; the application and engine names are static C strings (see
// VulkanSupport.swift), the requested extension names arena-owned NUL-terminated copies that outlive the call. Arrays filled by
// vkEnumerate*/vkGet* are Swift arrays sized from the first (count-only) call and only read after the second.

import CVulkan

public struct VulkanDeviceInfo: Sendable, Equatable {
    /// Index in vkEnumeratePhysicalDevices order (what `deviceIndex:` refers to).
    public let index: Int
    public let name: String
    /// "discrete" | "integrated" | "virtual" | "cpu" | "other"
    public let type: String
    /// "major.minor.patch", e.g. "1.3.255"
    public let apiVersion: String
    /// Vendor-specific encoding; reported raw (and decoded in `driverVersionText`).
    public let driverVersion: UInt32
    /// VkPhysicalDeviceDriverProperties where the device has VK_KHR_driver_properties: the driver's name ("llvmpipe",
    /// "NVIDIA") and its own description ("Mesa 22.3.6 (LLVM 15.0.6)", "535.104.05"); "" otherwise.
    public var driverName = ""
    public var driverInfo = ""
    /// `driverVersion` decoded by the vendor's scheme (NVIDIA: 10.8.8.6 bits; others: Vulkan's major.minor.patch).
    public var driverVersionText = ""
}

public enum VulkanSystem {
    /// Enumerates physical devices (creates and destroys a throwaway instance).
    public static func devices() throws(RenderError) -> [VulkanDeviceInfo] {
        let (instance, messenger) = try createInstance()
        defer {
            ValidationMessages.destroyMessenger(messenger, of: instance)
            vkDestroyInstance(instance, nil)
        }
        return try physicalDevices(instance).enumerated().map { describe($0.element, index: $0.offset) }
    }

    /// An instance for API 1.1 without explicitly requested layers: validation is opted into from outside with
    /// VK_INSTANCE_LAYERS=VK_LAYER_KHRONOS_validation, so the code path is the same with and without.
    /// `extensions`: instance extensions to enable (the viewer's window-surface extensions; none headless). With
    /// FRAMEPIPE_VULKAN_MESSAGES set, also VK_EXT_debug_utils and a messenger (ValidationMessages), which the caller
    /// destroys (ValidationMessages.destroyMessenger) before the instance.
    static func createInstance(
        extensions: [String] = []
    ) throws(RenderError) -> (instance: VkInstance, messenger: VkDebugUtilsMessengerEXT?) {
        let arena = ScratchArena()
        defer { arena.release() }
        var app = VkApplicationInfo()
        app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO
        app.pApplicationName = cString("framepipe")
        app.applicationVersion = fp_vk_make_api_version(0, 0, 1, 0)
        app.pEngineName = cString("Framepipe VulkanRender")
        app.engineVersion = fp_vk_make_api_version(0, 0, 1, 0)
        app.apiVersion = fp_vk_make_api_version(0, 1, 1, 0)
        var info = VkInstanceCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO
        info.pApplicationInfo = arena.pointer(app)
        let logMessages = ValidationMessages.wanted()
        let names: [UnsafePointer<CChar>?] =
            (extensions + (logMessages ? [ValidationMessages.extensionName] : [])).map { arena.cString($0) }
        // Covers vkCreateInstance and vkDestroyInstance themselves; the messenger made below, everything between.
        if logMessages { info.pNext = UnsafeRawPointer(arena.pointer(ValidationMessages.createInfo)) }
        info.enabledExtensionCount = UInt32(names.count)
        info.ppEnabledExtensionNames = arena.pointer(names)

        var instance: VkInstance?
        let r = vkCreateInstance(&info, nil, &instance)
        if r == VK_ERROR_INCOMPATIBLE_DRIVER || r == VK_ERROR_INITIALIZATION_FAILED {
            throw RenderError(
                kind: .noLoader,
                message: "no usable Vulkan driver (vkCreateInstance: \(vkResultName(r))): \(RenderError.installHint)")
        }
        if r == VK_ERROR_EXTENSION_NOT_PRESENT {
            throw RenderError(
                kind: .noLoader,
                message: "the Vulkan driver cannot present to windows (missing \(extensions.joined(separator: ", "))): "
                    + RenderError.installHint)
        }
        if r == VK_ERROR_LAYER_NOT_PRESENT {
            throw RenderError(
                kind: .noLoader,
                message: "a layer named in VK_INSTANCE_LAYERS is not installed (vkCreateInstance: "
                    + "VK_ERROR_LAYER_NOT_PRESENT): unset it or install the Debian package vulkan-validationlayers")
        }
        try vkCheck(r, "vkCreateInstance")
        guard let instance else { throw RenderError.vulkan("vkCreateInstance", VK_ERROR_UNKNOWN) }
        return (instance, logMessages ? ValidationMessages.makeMessenger(instance) : nil)
    }

    static func physicalDevices(_ instance: VkInstance) throws(RenderError) -> [VkPhysicalDevice] {
        var count: UInt32 = 0
        try vkCheck(vkEnumeratePhysicalDevices(instance, &count, nil), "vkEnumeratePhysicalDevices")
        var handles = [VkPhysicalDevice?](repeating: nil, count: Int(count))
        let r = vkEnumeratePhysicalDevices(instance, &count, &handles)
        // VK_INCOMPLETE only means a device vanished between the two calls; the `count` we got is still valid.
        if r != VK_INCOMPLETE { try vkCheck(r, "vkEnumeratePhysicalDevices") }
        return handles.prefix(Int(count)).compactMap { $0 }
    }

    static func describe(_ device: VkPhysicalDevice, index: Int) -> VulkanDeviceInfo {
        var props = VkPhysicalDeviceProperties()
        vkGetPhysicalDeviceProperties(device, &props)
        let type: String
        switch props.deviceType {
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: type = "discrete"
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: type = "integrated"
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: type = "virtual"
        case VK_PHYSICAL_DEVICE_TYPE_CPU: type = "cpu"
        default: type = "other"
        }
        let v = props.apiVersion
        var info = VulkanDeviceInfo(
            index: index,
            name: stringFromCTuple(props.deviceName),
            type: type,
            apiVersion: "\(fp_vk_api_version_major(v)).\(fp_vk_api_version_minor(v)).\(fp_vk_api_version_patch(v))",
            driverVersion: props.driverVersion)
        info.driverVersionText = decodedDriverVersion(props.driverVersion, vendorID: props.vendorID)
        if hasDeviceExtension(device, "VK_KHR_driver_properties") {
            // Physical-device-level: usable when the device supports the extension, without enabling it.
            var driver = VkPhysicalDeviceDriverProperties()
            driver.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES
            withUnsafeMutablePointer(to: &driver) { pointer in
                var props2 = VkPhysicalDeviceProperties2()
                props2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2
                props2.pNext = UnsafeMutableRawPointer(pointer)
                vkGetPhysicalDeviceProperties2(device, &props2)
            }
            info.driverName = stringFromCTuple(driver.driverName)
            info.driverInfo = stringFromCTuple(driver.driverInfo)
        }
        return info
    }

    /// `version` by the vendor's encoding: NVIDIA packs 10.8.8.6 bits; Mesa and most others use VK_MAKE_VERSION.
    static func decodedDriverVersion(_ version: UInt32, vendorID: UInt32) -> String {
        if vendorID == 0x10DE {
            return "\(version >> 22).\((version >> 14) & 0xFF).\((version >> 6) & 0xFF).\(version & 0x3F)"
        }
        return "\(fp_vk_api_version_major(version)).\(fp_vk_api_version_minor(version)).\(fp_vk_api_version_patch(version))"
    }

    /// Whether `physical` lists device extension `name`.
    static func hasDeviceExtension(_ physical: VkPhysicalDevice, _ name: String) -> Bool {
        var count: UInt32 = 0
        guard vkEnumerateDeviceExtensionProperties(physical, nil, &count, nil) == VK_SUCCESS, count > 0 else { return false }
        var props = [VkExtensionProperties](repeating: VkExtensionProperties(), count: Int(count))
        let r = vkEnumerateDeviceExtensionProperties(physical, nil, &count, &props)
        guard r == VK_SUCCESS || r == VK_INCOMPLETE else { return false }
        return props.prefix(Int(count)).contains { stringFromCTuple($0.extensionName) == name }
    }

    /// Lower is better: discrete > integrated > virtual > cpu > other.
    /// The device to use: `requested` if given (it must be usable: `usableFamily` non-nil), else the
    /// best usable one by type (discrete > integrated > virtual > CPU), then index. `unusable` says
    /// what a refused device lacks ("has no graphics queue"); `noneUsable` is the error when none is usable.
    static func chooseDevice<Family>(
        _ infos: [VulkanDeviceInfo], requested: Int?, unusable: String, noneUsable: String,
        usableFamily: (Int) -> Family?
    ) throws(RenderError) -> (index: Int, family: Family) {
        if let requested {
            guard infos.indices.contains(requested) else {
                throw .badRequest("no Vulkan device \(requested): run `framepipe devices`")
            }
            guard let family = usableFamily(requested) else {
                throw .badRequest(
                    "Vulkan device \(requested) (\(infos[requested].name)) \(unusable): pick another with `framepipe devices`")
            }
            return (requested, family)
        }
        let candidates = infos.compactMap { info in usableFamily(info.index).map { (info, $0) } }
        guard
            let best = candidates.min(by: {
                (preferenceRank($0.0.type), $0.0.index) < (preferenceRank($1.0.type), $1.0.index)
            })
        else {
            throw RenderError(kind: .noDevice, message: "\(noneUsable): \(RenderError.installHint)")
        }
        return (best.0.index, best.1)
    }

    /// The device's limits, after checking a `width`×`height` target fits them.
    static func limits(of physical: VkPhysicalDevice, named name: String, fitting width: Int, _ height: Int)
        throws(RenderError) -> VkPhysicalDeviceLimits
    {
        var props = VkPhysicalDeviceProperties()
        vkGetPhysicalDeviceProperties(physical, &props)
        let limits = props.limits
        let maxSide = Int(min(limits.maxImageDimension2D, limits.maxFramebufferWidth, limits.maxFramebufferHeight))
        guard width <= maxSide, height <= maxSide else {
            throw .badRequest(
                "frame size \(width)x\(height) exceeds \(name)'s limit of \(maxSide) pixels per side: use a smaller size")
        }
        return limits
    }

    static func preferenceRank(_ type: String) -> Int {
        switch type {
        case "discrete": 0
        case "integrated": 1
        case "virtual": 2
        case "cpu": 3
        default: 4
        }
    }

    /// First queue family with graphics support that `usable` accepts (by family index; the window's: it can present
    /// to the surface), or nil.
    static func graphicsQueueFamily(
        _ device: VkPhysicalDevice, where usable: (UInt32) -> Bool = { _ in true }
    ) -> (index: UInt32, timestampValidBits: UInt32)? {
        var count: UInt32 = 0
        vkGetPhysicalDeviceQueueFamilyProperties(device, &count, nil)
        var families = [VkQueueFamilyProperties](repeating: VkQueueFamilyProperties(), count: Int(count))
        vkGetPhysicalDeviceQueueFamilyProperties(device, &count, &families)
        for (i, f) in families.prefix(Int(count)).enumerated()
        where f.queueCount > 0 && f.queueFlags & VK_QUEUE_GRAPHICS_BIT.rawValue != 0 && usable(UInt32(i)) {
            return (UInt32(i), f.timestampValidBits)
        }
        return nil
    }
}
