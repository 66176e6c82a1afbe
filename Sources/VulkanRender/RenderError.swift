// RenderError and the VkResult → RenderError conversion every Vulkan call goes through.
// Unsafe pointer use in this file: none (only the VkResult values are inspected).

import CVulkan

/// A failure of the renderer, always reported as one line that says what is wrong and how to fix it.
public struct RenderError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable {
        /// No usable Vulkan loader/driver (vkCreateInstance cannot find an ICD).
        case noLoader
        /// The loader works but there is no (suitable) physical device.
        case noDevice
        /// The caller asked for something impossible (bad size, bad device index, nothing to read back, ...).
        case badRequest
        /// A Vulkan call failed at run time.
        case vulkan
    }

    public let kind: Kind
    public let message: String
    public var description: String { message }

    public init(kind: Kind, message: String) {
        self.kind = kind
        // The contract is one line; collapse anything a driver string might smuggle in.
        self.message = message.split(whereSeparator: \.isNewline).joined(separator: " ")
    }

    static func badRequest(_ message: String) -> RenderError { RenderError(kind: .badRequest, message: message) }

    /// "vkXxx failed: VK_ERROR_... (code)"
    static func vulkan(_ call: String, _ result: VkResult) -> RenderError {
        RenderError(kind: .vulkan, message: "\(call) failed: \(vkResultName(result)) (\(result.rawValue))")
    }

    static let installHint =
        "install the Debian packages \"libvulkan1\" (loader) and \"mesa-vulkan-drivers\" (CPU driver lavapipe)"
}

/// Throws unless `result` is VK_SUCCESS. Positive non-success codes (VK_NOT_READY, VK_TIMEOUT, VK_INCOMPLETE, ...)
/// also throw: every call site that can legitimately see one checks for it before calling this.
@inline(__always)
func vkCheck(_ result: VkResult, _ call: @autoclosure () -> String) throws(RenderError) {
    if result != VK_SUCCESS { throw RenderError.vulkan(call(), result) }
}

func vkResultName(_ r: VkResult) -> String {
    switch r {
    case VK_SUCCESS: "VK_SUCCESS"
    case VK_NOT_READY: "VK_NOT_READY"
    case VK_TIMEOUT: "VK_TIMEOUT"
    case VK_EVENT_SET: "VK_EVENT_SET"
    case VK_EVENT_RESET: "VK_EVENT_RESET"
    case VK_INCOMPLETE: "VK_INCOMPLETE"
    case VK_ERROR_OUT_OF_HOST_MEMORY: "VK_ERROR_OUT_OF_HOST_MEMORY"
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: "VK_ERROR_OUT_OF_DEVICE_MEMORY"
    case VK_ERROR_INITIALIZATION_FAILED: "VK_ERROR_INITIALIZATION_FAILED"
    case VK_ERROR_DEVICE_LOST: "VK_ERROR_DEVICE_LOST"
    case VK_ERROR_MEMORY_MAP_FAILED: "VK_ERROR_MEMORY_MAP_FAILED"
    case VK_ERROR_LAYER_NOT_PRESENT: "VK_ERROR_LAYER_NOT_PRESENT"
    case VK_ERROR_EXTENSION_NOT_PRESENT: "VK_ERROR_EXTENSION_NOT_PRESENT"
    case VK_ERROR_FEATURE_NOT_PRESENT: "VK_ERROR_FEATURE_NOT_PRESENT"
    case VK_ERROR_INCOMPATIBLE_DRIVER: "VK_ERROR_INCOMPATIBLE_DRIVER"
    case VK_ERROR_TOO_MANY_OBJECTS: "VK_ERROR_TOO_MANY_OBJECTS"
    case VK_ERROR_FORMAT_NOT_SUPPORTED: "VK_ERROR_FORMAT_NOT_SUPPORTED"
    case VK_ERROR_FRAGMENTED_POOL: "VK_ERROR_FRAGMENTED_POOL"
    case VK_ERROR_UNKNOWN: "VK_ERROR_UNKNOWN"
    case VK_ERROR_OUT_OF_POOL_MEMORY: "VK_ERROR_OUT_OF_POOL_MEMORY"
    case VK_ERROR_INVALID_EXTERNAL_HANDLE: "VK_ERROR_INVALID_EXTERNAL_HANDLE"
    case VK_ERROR_FRAGMENTATION: "VK_ERROR_FRAGMENTATION"
    case VK_ERROR_INVALID_OPAQUE_CAPTURE_ADDRESS: "VK_ERROR_INVALID_OPAQUE_CAPTURE_ADDRESS"
    case VK_ERROR_SURFACE_LOST_KHR: "VK_ERROR_SURFACE_LOST_KHR"
    case VK_ERROR_OUT_OF_DATE_KHR: "VK_ERROR_OUT_OF_DATE_KHR"
    case VK_ERROR_VALIDATION_FAILED_EXT: "VK_ERROR_VALIDATION_FAILED_EXT"
    default: "VkResult"
    }
}
