// FrameOverlay: the viewer's Dear ImGui overlay (COverlay, fp_overlay.h) — numbers with labels, the stage table, the
// stacked frame-time plot with its target line and axis values, the kernel's state and faults, parameter sliders and
// the key help — drawn into WindowRenderer's final render pass, over the kernel frame.
//
// Threading: like WindowRenderer (its owner), main thread only; not Sendable.
//
// Unsafe pointer invariants:
// - `handle` is the fp_overlay that fp_overlay_create returned; `destroy()` frees it exactly once, and WindowRenderer
//   calls it with the device idle, before the device and the window go (the overlay's GLFW callbacks chain to
//   ViewerWindow's, so it must go first).
// - Every string and array given to fp_overlay_build lives in a `withCString` / `withUnsafe…Pointer` scope around that
//   one call; the C side reads them during the call only and keeps no pointer.
// - `history` and `sortScratch` are sized once (HudHistory.capacity × stage count) and only rewritten in place, so
//   their buffers stay where they are for the call.

import COverlay
import CVulkan
import FrameTiming

/// A kernel parameter shown as a slider (issue: kernel parameters; the viewer fills these).
public struct OverlayParameter: Sendable, Equatable {
    public var name: String
    public var minimum: Float
    public var maximum: Float
    public var value: Float
    /// Where the overlay last drew the slider, in window pixels (nil before it was drawn).
    public var sliderRect: OverlayRect?

    public init(name: String, minimum: Float, maximum: Float, value: Float) {
        self.name = name
        self.minimum = minimum
        self.maximum = maximum
        self.value = value
    }
}

/// A rectangle in window pixels.
public struct OverlayRect: Sendable, Equatable {
    public var x0, y0, x1, y1: Float
}

/// The text side of the overlay: what the viewer knows about the run. Numbers change every frame; the strings only
/// when something happens (the viewer rebuilds them then, not per frame).
public struct OverlayPanel: Sendable {
    public var kernel = ""
    public var engine = ""
    public var device = ""
    public var upload = ""
    public var computeRate = ""
    public var workers = 0
    public var fps = 0.0
    public var intervalP50Ms = 0.0
    public var intervalP99Ms = 0.0
    public var frameOnScreen: Int64 = 0
    public var dropped: UInt64 = 0
    public var failed: UInt64 = 0
    public var stale: UInt64 = 0
    /// "running", "paused", "disabled".
    public var state = "running"
    public var reload: String?
    public var reloadFailed = false
    public var disabledReason: String?
    /// The last faults, newest last (one bounded line each).
    public var faults: [String] = []
    public var parameters: [OverlayParameter] = []
    public var help = ""

    public init() {}
}

final class FrameOverlay {
    private var handle: OpaquePointer?
    /// frames × stages, oldest frame first (NaN: not measured).
    private var history: [Float]
    private var sortScratch: [Float]
    private let stageNames: [String] = Stage.allCases.map(\.name)

    /// The render pass the overlay was made for (a swapchain format change needs a new overlay).
    let renderPass: VkRenderPass

    init(
        instance: VkInstance, physical: VkPhysicalDevice, device: VkDevice, queueFamily: UInt32, queue: VkQueue,
        renderPass: VkRenderPass, framesInFlight: Int, window: ViewerWindow
    ) throws(RenderError) {
        history = Array(repeating: .nan, count: HudHistory.capacity * Stage.allCases.count)
        sortScratch = []
        sortScratch.reserveCapacity(HudHistory.capacity)
        self.renderPass = renderPass
        var setup = fp_overlay_setup(
            instance: UnsafeMutableRawPointer(instance), physical_device: UnsafeMutableRawPointer(physical),
            device: UnsafeMutableRawPointer(device), queue_family: queueFamily, queue: UnsafeMutableRawPointer(queue),
            render_pass: UnsafeMutableRawPointer(renderPass), image_count: UInt32(max(2, framesInFlight)),
            window: UnsafeMutableRawPointer(window.handle))
        var error = [CChar](repeating: 0, count: 256)
        let made = error.withUnsafeMutableBufferPointer { buffer in
            fp_overlay_create(&setup, buffer.baseAddress, buffer.count)
        }
        guard let made else {
            // fp_overlay_create wrote a NUL-terminated line into `error` (zeroed above, so terminated either way).
            let reason = String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw RenderError.vulkan(reason, VkResult(rawValue: fp_overlay_vulkan_error(nil)))
        }
        handle = made
    }

    deinit { destroy() }

    /// Frees the overlay (device idle). Safe to call twice.
    func destroy() {
        if let handle { fp_overlay_destroy(handle) }
        handle = nil
    }

    var wantsKeyboard: Bool { handle.map { fp_overlay_wants_keyboard($0) } ?? false }
    var wantsPointer: Bool { handle.map { fp_overlay_wants_pointer($0) } ?? false }
    /// The first Vulkan error a Dear ImGui backend call returned, if any.
    var vulkanError: VkResult? {
        let r = fp_overlay_vulkan_error(handle)
        return r == 0 ? nil : VkResult(rawValue: r)
    }

    /// Builds this frame's overlay from `hud` (history, target, scale, panel). Slider moves are written back into
    /// `hud.panel.parameters`.
    func build(_ hud: inout HudOverlay) {
        guard let handle else { return }
        let stageCount = Stage.allCases.count
        let frames = hud.history.count
        for (i, frame) in hud.history.enumerated() {
            for stage in Stage.allCases {
                history[i * stageCount + stage.index] = frame[stage].map { Float($0) } ?? .nan
            }
        }
        let medians = Stage.allCases.map { median($0, frames: frames, stride: stageCount) }
        let panel = hud.panel
        // One C string per text, in this order: the fixed fields, the stage names, the faults, the parameter names.
        let fixed = [
            panel.kernel, panel.engine, panel.device, panel.upload, panel.computeRate, panel.state, panel.help,
            panel.reload ?? "", panel.disabledReason ?? "",
        ]
        let texts = fixed + stageNames + panel.faults + panel.parameters.map(\.name)
        let faultsStart = fixed.count + stageCount
        let namesStart = faultsStart + panel.faults.count
        var values = panel.parameters.map(\.value)
        var rects = [Float](repeating: .nan, count: 4 * panel.parameters.count)
        withCStrings(texts) { c in
            rects.withUnsafeMutableBufferPointer { rectBuffer in
                values.withUnsafeMutableBufferPointer { valueBuffer in
                    let stages = Stage.allCases.map { stage in
                        fp_overlay_stage(
                            name: c[fixed.count + stage.index], colour: stage.colour.argb,
                            last_ms: hud.history.last?[stage].map { Float($0) } ?? .nan, median_ms: medians[stage.index])
                    }
                    let parameters = panel.parameters.indices.map { i in
                        fp_overlay_parameter(
                            name: c[namesStart + i], minimum: panel.parameters[i].minimum,
                            maximum: panel.parameters[i].maximum, value: valueBuffer.baseAddress.map { $0 + i },
                            rect: rectBuffer.baseAddress.map { $0 + 4 * i })
                    }
                    history.withUnsafeBufferPointer { historyBuffer in
                        stages.withUnsafeBufferPointer { stageBuffer in
                            parameters.withUnsafeBufferPointer { parameterBuffer in
                                var frame = fp_overlay_frame()
                                frame.kernel = c[0]
                                frame.engine = c[1]
                                frame.device = c[2]
                                frame.upload = c[3]
                                frame.compute_rate = c[4]
                                frame.state = c[5]
                                frame.help = c[6]
                                frame.reload = panel.reload == nil ? nil : c[7]
                                frame.disabled_reason = panel.disabledReason == nil ? nil : c[8]
                                frame.reload_failed = panel.reloadFailed
                                frame.workers = Int32(clamping: panel.workers)
                                frame.fps = Float(panel.fps)
                                frame.interval_p50_ms = Float(panel.intervalP50Ms)
                                frame.interval_p99_ms = Float(panel.intervalP99Ms)
                                frame.target_ms = Float(hud.targetMs)
                                frame.top_ms = Float(hud.topMs)
                                frame.frame_on_screen = UInt64(max(0, panel.frameOnScreen))
                                frame.dropped = panel.dropped
                                frame.failed = panel.failed
                                frame.stale = panel.stale
                                frame.stages = stageBuffer.baseAddress
                                frame.stage_count = Int32(stageCount)
                                frame.history = historyBuffer.baseAddress
                                frame.frame_count = Int32(frames)
                                frame.faults = c.baseAddress.map { UnsafePointer($0 + faultsStart) }
                                frame.fault_count = Int32(panel.faults.count)
                                frame.parameters = parameterBuffer.baseAddress
                                frame.parameter_count = Int32(parameterBuffer.count)
                                fp_overlay_build(handle, &frame)
                            }
                        }
                    }
                }
            }
        }
        for i in values.indices {
            hud.panel.parameters[i].value = values[i]
            let r = rects[4 * i..<4 * i + 4]
            hud.panel.parameters[i].sliderRect =
                r.allSatisfy(\.isFinite) ? OverlayRect(x0: r[4 * i], y0: r[4 * i + 1], x1: r[4 * i + 2], y1: r[4 * i + 3]) : nil
        }
    }

    /// Records the last build's draw lists into `commandBuffer` (inside the render pass it was made for).
    func record(_ commandBuffer: VkCommandBuffer) {
        guard let handle else { return }
        fp_overlay_record(handle, UnsafeMutableRawPointer(commandBuffer))
    }

    /// The median of one stage over the history (NaN when no frame measured it); sorts in the reserved scratch.
    private func median(_ stage: Stage, frames: Int, stride: Int) -> Float {
        sortScratch.removeAll(keepingCapacity: true)
        for i in 0..<frames {
            let v = history[i * stride + stage.index]
            if v.isFinite { sortScratch.append(v) }
        }
        guard !sortScratch.isEmpty else { return .nan }
        sortScratch.sort()
        return sortScratch[sortScratch.count / 2]
    }
}

extension HudColour {
    /// 0xAARRGGBB.
    var argb: UInt32 {
        func byte(_ v: Float) -> UInt32 { UInt32((min(max(v, 0), 1) * 255).rounded()) }
        return byte(a) << 24 | byte(r) << 16 | byte(g) << 8 | byte(b)
    }
}

/// Calls `body` with C strings of `strings` (valid during the call only).
private func withCStrings<R>(_ strings: [String], _ body: (UnsafeBufferPointer<UnsafePointer<CChar>?>) -> R) -> R {
    var pointers: [UnsafePointer<CChar>?] = []
    pointers.reserveCapacity(strings.count)
    func nest(_ index: Int) -> R {
        if index == strings.count { return pointers.withUnsafeBufferPointer(body) }
        return strings[index].withCString { pointer in
            pointers.append(pointer)
            return nest(index + 1)
        }
    }
    return nest(0)
}

private func withOptionalCString<R>(_ string: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let string else { return body(nil) }
    return string.withCString { body($0) }
}
