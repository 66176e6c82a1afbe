// ValidationMessages: when FRAMEPIPE_VULKAN_MESSAGES names a file, every message of the Vulkan layers (the Khronos
// validation layer, enabled from outside with VK_INSTANCE_LAYERS) is appended to it as one line, from every process.
//
// Why: the layer logs to stdout, and a test that runs `framepipe` as a child process captures that output and mostly
// never looks at it, so a validation error in a child would go unseen. scripts/test.sh sets the variable and fails the
// run when the file is not empty (docs/testing.md, "Validation").
//
// Unsafe pointer invariants: the callback reads only `pCallbackData.pointee.pMessageIdName` / `.pMessage`, NUL-
// terminated strings the layer keeps valid for the duration of the call, and copies them. The create info handed to
// vkCreateInstance (pNext) and vkCreateDebugUtilsMessengerEXT lives in the caller's ScratchArena until the call
// returns. The file descriptor is opened once with O_APPEND, and each message is one write(2) of one line, so lines of
// concurrent processes do not interleave (up to PIPE_BUF, and in practice for regular files).

import CVulkan

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

enum ValidationMessages {
    static let variable = "FRAMEPIPE_VULKAN_MESSAGES"

    /// The log file, opened on first use; -1 when the variable is unset or empty, or the file cannot be opened.
    static let descriptor: Int32 = {
        guard let path = getenv(variable).map({ String(cString: $0) }), !path.isEmpty else { return -1 }
        return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
    }()

    static let extensionName = "VK_EXT_debug_utils"

    /// Appends "pid N: <id>: <message>" (newlines folded) to the log file. Skipped: general (not validation or
    /// performance) messages that are not errors, i.e. the loader's own notes (where it looked for drivers, that
    /// VK_INSTANCE_LAYERS added a layer).
    static let callback: PFN_vkDebugUtilsMessengerCallbackEXT = { severity, types, data, _ in
        guard descriptor >= 0, let data else { return VkBool32(VK_FALSE) }
        let layerTypes =
            VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT.rawValue | VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT.rawValue
        if types & layerTypes == 0, severity.rawValue < VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT.rawValue {
            return VkBool32(VK_FALSE)
        }
        let id = data.pointee.pMessageIdName.map { String(cString: $0) } ?? "?"
        let message = data.pointee.pMessage.map { String(cString: $0) } ?? ""
        var line = "pid \(getpid()): \(id): " + message.split(separator: "\n").joined(separator: " ") + "\n"
        line.withUTF8 { bytes in _ = write(descriptor, bytes.baseAddress, bytes.count) }
        return VkBool32(VK_FALSE)
    }

    /// What the messenger listens to: every severity and type.
    static var createInfo: VkDebugUtilsMessengerCreateInfoEXT {
        var info = VkDebugUtilsMessengerCreateInfoEXT()
        info.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT
        info.messageSeverity =
            VK_DEBUG_UTILS_MESSAGE_SEVERITY_VERBOSE_BIT_EXT.rawValue | VK_DEBUG_UTILS_MESSAGE_SEVERITY_INFO_BIT_EXT.rawValue
            | VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT.rawValue
            | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT.rawValue
        info.messageType =
            VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT.rawValue | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT.rawValue
            | VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT.rawValue
        info.pfnUserCallback = callback
        return info
    }

    /// Whether messages are wanted and the instance can deliver them (VK_EXT_debug_utils is offered).
    static func wanted() -> Bool {
        guard descriptor >= 0 else { return false }
        var count: UInt32 = 0
        guard vkEnumerateInstanceExtensionProperties(nil, &count, nil) == VK_SUCCESS else { return false }
        var props = [VkExtensionProperties](repeating: VkExtensionProperties(), count: Int(count))
        let r = vkEnumerateInstanceExtensionProperties(nil, &count, &props)
        guard r == VK_SUCCESS || r == VK_INCOMPLETE else { return false }
        return props.prefix(Int(count)).contains { stringFromCTuple($0.extensionName) == extensionName }
    }

    /// The messenger for `instance`'s lifetime (created with VK_EXT_debug_utils enabled); nil if it cannot be made.
    static func makeMessenger(_ instance: VkInstance) -> VkDebugUtilsMessengerEXT? {
        guard
            let raw = vkGetInstanceProcAddr(instance, "vkCreateDebugUtilsMessengerEXT")
        else { return nil }
        let create = unsafeBitCast(raw, to: PFN_vkCreateDebugUtilsMessengerEXT.self)
        var info = createInfo
        var messenger: VkDebugUtilsMessengerEXT?
        guard create(instance, &info, nil, &messenger) == VK_SUCCESS else { return nil }
        return messenger
    }

    /// Destroys `messenger` (made by makeMessenger for `instance`), before the instance is destroyed.
    static func destroyMessenger(_ messenger: VkDebugUtilsMessengerEXT?, of instance: VkInstance) {
        guard let messenger, let raw = vkGetInstanceProcAddr(instance, "vkDestroyDebugUtilsMessengerEXT") else {
            return
        }
        let destroy = unsafeBitCast(raw, to: PFN_vkDestroyDebugUtilsMessengerEXT.self)
        destroy(instance, messenger, nil)
    }
}
