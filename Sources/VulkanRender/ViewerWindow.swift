// ViewerWindow: the GLFW window of `framepipe view` — creation, events, title, pointer — and the Vulkan surface.
//
// Threading: GLFW may only be called from the main thread. Every method here calls GLFW, so the class is not
// Sendable and must be created, used and released on the main thread (Viewer.run does all of that there).
//
// Unsafe pointer invariants:
// - The GLFW window's user pointer is an *unretained* reference to this object. It is set right after the window
//   exists and cleared (together with every callback) in deinit before glfwDestroyWindow, so the callbacks — which
//   GLFW only invokes from inside glfwPollEvents/glfwWaitEvents* on this same thread — never see a dangling pointer.
// - glfwGetError's description pointer is owned by GLFW and valid until the next GLFW call; it is copied into a Swift
//   String immediately.
// - glfwGetVideoMode returns a GLFWvidmode owned by GLFW (valid until the monitor's mode changes or it is
//   disconnected); its refresh rate is read at once and the pointer is not kept.
// - glfwGetRequiredInstanceExtensions returns a static array owned by GLFW (valid until glfwTerminate); the names
//   are copied into Swift Strings at once.

import CGLFW
import CVulkan
import Glibc

/// Why the window could not be opened.
public struct WindowError: Error, CustomStringConvertible, Sendable {
    /// True when there is no display to open a window on (exit code 6 in the CLI).
    public let noDisplay: Bool
    public let message: String
    public var description: String { message }
}

/// A key the viewer reacts to.
public enum ViewerKey: Sendable, Equatable {
    case space, n, r, h, s, f, escape
}

public final class ViewerWindow {
    let handle: OpaquePointer
    private var keys: [ViewerKey] = []
    private var resized = false
    private var title = ""
    /// Position and size before F made the window full screen; nil while windowed.
    private var windowedFrame: (x: Int32, y: Int32, width: Int32, height: Int32)?
    private static nonisolated(unsafe) var initialized = false

    /// Opens a window of `width`×`height` screen coordinates (resizable, no client API: Vulkan draws into it).
    public init(width: Int, height: Int, title: String) throws(WindowError) {
        let environment = DisplayEnvironment.environment
        guard environment["DISPLAY"].map({ !$0.isEmpty }) == true
            || environment["WAYLAND_DISPLAY"].map({ !$0.isEmpty }) == true
        else {
            throw WindowError(noDisplay: true, message: "DISPLAY and WAYLAND_DISPLAY are unset")
        }
        if !Self.initialized {
            guard glfwInit() == GLFW_TRUE else {
                throw WindowError(noDisplay: true, message: "glfwInit failed: \(Self.lastError())")
            }
            Self.initialized = true
        }
        guard glfwVulkanSupported() == GLFW_TRUE else {
            throw WindowError(
                noDisplay: false,
                message: "GLFW finds no Vulkan loader: install the Debian packages libvulkan1 and mesa-vulkan-drivers")
        }
        glfwDefaultWindowHints()
        glfwWindowHint(GLFW_CLIENT_API, GLFW_NO_API)
        glfwWindowHint(GLFW_RESIZABLE, GLFW_TRUE)
        guard let window = glfwCreateWindow(Int32(clamping: width), Int32(clamping: height), title, nil, nil) else {
            throw WindowError(noDisplay: true, message: "cannot open a window: \(Self.lastError())")
        }
        handle = window
        self.title = title
        glfwSetWindowUserPointer(window, Unmanaged.passUnretained(self).toOpaque())
        glfwSetKeyCallback(window) { window, key, _, action, _ in
            guard action == GLFW_PRESS, let window, let me = ViewerWindow.owner(of: window) else { return }
            switch key {
            case GLFW_KEY_SPACE: me.keys.append(.space)
            case GLFW_KEY_R: me.keys.append(.r)
            case GLFW_KEY_H: me.keys.append(.h)
            case GLFW_KEY_S: me.keys.append(.s)
            case GLFW_KEY_N: me.keys.append(.n)
            case GLFW_KEY_F: me.keys.append(.f)
            case GLFW_KEY_ESCAPE: me.keys.append(.escape)
            default: break
            }
        }
        glfwSetFramebufferSizeCallback(window) { window, _, _ in
            guard let window, let me = ViewerWindow.owner(of: window) else { return }
            me.resized = true
        }
    }

    deinit {
        glfwSetKeyCallback(handle, nil)
        glfwSetFramebufferSizeCallback(handle, nil)
        glfwSetWindowUserPointer(handle, nil)
        glfwDestroyWindow(handle)
    }

    /// Ends GLFW; call once, after every window was released.
    public static func terminate() {
        if initialized {
            glfwTerminate()
            initialized = false
        }
    }

    private static func owner(of window: OpaquePointer) -> ViewerWindow? {
        guard let raw = glfwGetWindowUserPointer(window) else { return nil }
        return Unmanaged<ViewerWindow>.fromOpaque(raw).takeUnretainedValue()
    }

    static func lastError() -> String {
        var description: UnsafePointer<CChar>?
        let code = glfwGetError(&description)
        if let description { return String(cString: description) }
        return code == GLFW_NO_ERROR ? "unknown GLFW error" : "GLFW error 0x\(String(code, radix: 16))"
    }

    /// Handles pending events without waiting.
    public func pollEvents() { glfwPollEvents() }

    /// Sleeps until an event arrives or `seconds` pass (minimised windows wait here).
    public func waitEvents(timeout seconds: Double) { glfwWaitEventsTimeout(seconds) }

    /// Keys pressed since the last call, in order.
    public func takeKeys() -> [ViewerKey] {
        defer { keys.removeAll(keepingCapacity: true) }
        return keys
    }

    /// True once after the framebuffer changed size.
    public func takeResized() -> Bool {
        defer { resized = false }
        return resized
    }

    public var shouldClose: Bool { glfwWindowShouldClose(handle) == GLFW_TRUE }

    /// Framebuffer size in pixels (0×0 while minimised).
    public var framebufferSize: (width: Int, height: Int) {
        var w: Int32 = 0
        var h: Int32 = 0
        glfwGetFramebufferSize(handle, &w, &h)
        return (Int(max(w, 0)), Int(max(h, 0)))
    }

    /// True while the window is iconified or not mapped (nothing of it on screen). On X11 an iconified window keeps
    /// its framebuffer size, so a zero size alone does not tell.
    public var isHidden: Bool {
        glfwGetWindowAttrib(handle, GLFW_ICONIFIED) == GLFW_TRUE || glfwGetWindowAttrib(handle, GLFW_VISIBLE) != GLFW_TRUE
    }

    /// True while the pointer is over the window's content area.
    public var isHovered: Bool { glfwGetWindowAttrib(handle, GLFW_HOVERED) == GLFW_TRUE }

    /// True while the window covers its monitor (F).
    public var isFullscreen: Bool { glfwGetWindowMonitor(handle) != nil }

    /// F: full screen on the window's monitor (the primary one) at its current video mode, or back to the position and
    /// size it had. No-op when GLFW knows no monitor.
    public func toggleFullscreen() {
        if let frame = windowedFrame {
            windowedFrame = nil
            glfwSetWindowMonitor(handle, nil, frame.x, frame.y, frame.width, frame.height, GLFW_DONT_CARE)
            return
        }
        guard let monitor = glfwGetPrimaryMonitor(), let mode = glfwGetVideoMode(monitor) else { return }
        var x: Int32 = 0
        var y: Int32 = 0
        var width: Int32 = 0
        var height: Int32 = 0
        glfwGetWindowPos(handle, &x, &y)
        glfwGetWindowSize(handle, &width, &height)
        windowedFrame = (x, y, width, height)
        let m = mode.pointee
        glfwSetWindowMonitor(handle, monitor, 0, 0, m.width, m.height, m.refreshRate)
    }

    public func setTitle(_ text: String) {
        guard text != title else { return }
        title = text
        glfwSetWindowTitle(handle, text)
    }

    /// Pointer position in framebuffer pixels (GLFW reports screen coordinates; scaled by the content scale).
    public var pointer: (x: Double, y: Double) {
        var x = 0.0
        var y = 0.0
        glfwGetCursorPos(handle, &x, &y)
        var windowW: Int32 = 0
        var windowH: Int32 = 0
        glfwGetWindowSize(handle, &windowW, &windowH)
        let fb = framebufferSize
        let sx = windowW > 0 ? Double(fb.width) / Double(windowW) : 1
        let sy = windowH > 0 ? Double(fb.height) / Double(windowH) : 1
        return (x * sx, y * sy)
    }

    /// The refresh rate in Hz of the window's monitor (full screen) or else the primary monitor; nil when GLFW does not
    /// know one (e.g. a virtual display that reports 0).
    public var displayRefreshHz: Double? {
        guard let monitor = glfwGetWindowMonitor(handle) ?? glfwGetPrimaryMonitor(),
            let mode = glfwGetVideoMode(monitor)
        else { return nil }
        let rate = mode.pointee.refreshRate
        return rate > 0 && rate < 1000 ? Double(rate) : nil
    }

    /// Bit i set while mouse button i (0 left, 1 right, 2 middle) is down.
    public var buttons: UInt32 {
        var mask: UInt32 = 0
        for button in 0..<3 where glfwGetMouseButton(handle, Int32(button)) == GLFW_PRESS {
            mask |= 1 << UInt32(button)
        }
        return mask
    }

    /// Instance extensions GLFW needs for surfaces on this platform.
    static func requiredInstanceExtensions() throws(RenderError) -> [String] {
        var count: UInt32 = 0
        guard let names = glfwGetRequiredInstanceExtensions(&count) else {
            throw RenderError(
                kind: .noLoader,
                message: "GLFW cannot present with Vulkan on this display (\(lastError())): \(RenderError.installHint)")
        }
        return (0..<Int(count)).compactMap { names[$0].map { String(cString: $0) } }
    }

    func createSurface(_ instance: VkInstance) throws(RenderError) -> VkSurfaceKHR {
        var surface: VkSurfaceKHR?
        let r = glfwCreateWindowSurface(instance, handle, nil, &surface)
        try vkCheck(r, "glfwCreateWindowSurface")
        guard let surface else { throw RenderError.vulkan("glfwCreateWindowSurface", VK_ERROR_INITIALIZATION_FAILED) }
        return surface
    }
}

/// Environment lookup without Foundation (VulkanRender does not import it).
enum DisplayEnvironment {
    static var environment: [String: String] {
        var result: [String: String] = [:]
        for name in ["DISPLAY", "WAYLAND_DISPLAY"] {
            if let value = getenv(name) { result[name] = String(cString: value) }
        }
        return result
    }
}
