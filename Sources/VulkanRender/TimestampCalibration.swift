// GPU timestamps on the host's CLOCK_MONOTONIC (the clock of submitNanos/completeNanos).
//
// With VK_EXT_calibrated_timestamps (device extension, and the device lists both VK_TIME_DOMAIN_DEVICE_EXT and
// VK_TIME_DOMAIN_CLOCK_MONOTONIC_EXT): vkGetCalibratedTimestampsEXT samples both clocks together, giving an anchor
// (gpuTicks, monotonicNanos) good to maxDeviation ns; a GPU timestamp t maps to
// monotonicNanos + (t - gpuTicks) * timestampPeriod, the tick difference taken modulo timestampValidBits (signed, so
// timestamps just before the anchor work too). Clocks drift, so the owner recalibrates about once a second.
// Without it (fallback): the GPU end timestamp of a completed frame is pinned to the host time its fence was seen
// signalled. That is an upper bound on the true time, so the estimate is biased late by up to the fence-polling delay;
// the anchor is moved earlier whenever a later frame proves it late (its mapped end would fall after its fence time).
//
// Unsafe pointer invariants:
// - The two extension entry points are looked up by their exact names with vkGetInstanceProcAddr (instance-level
//   vkGetPhysicalDeviceCalibrateableTimeDomainsEXT) and vkGetDeviceProcAddr (device-level vkGetCalibratedTimestampsEXT)
//   and cast with unsafeBitCast to the PFN_ type the Vulkan header declares for that name. A nil lookup means the
//   function is unavailable and it is never called. The device entry point is only called with the VkDevice it was
//   loaded from, and GPUClock is owned by the HeadlessRenderer (or WindowRenderer) that also owns (through
//   VulkanObjects) that device, so the device outlives every call.
// - Arrays handed to the enumerate/get calls are Swift arrays (or locals) sized before the call, which only writes
//   within the count it is given, and are read after it returns; nothing keeps their pointers.

import CVulkan

/// Maps GPU timestamp ticks to CLOCK_MONOTONIC ns for one device and queue family.
struct GPUClock {
    static let extensionName: StaticString = "VK_EXT_calibrated_timestamps"
    /// Recalibrate when the last calibration is older than this (host ns).
    static let recalibrationIntervalNanos: UInt64 = 1_000_000_000

    enum Mode {
        /// The queue writes no timestamps: nothing to map.
        case unavailable
        /// vkGetCalibratedTimestampsEXT, loaded for the device.
        case calibrated(PFN_vkGetCalibratedTimestampsEXT)
        /// Fallback: anchored to the host time a frame's fence was seen signalled.
        case fenceAnchored
    }

    private struct Anchor {
        var gpuTicks: UInt64
        var hostNanos: UInt64
    }

    private(set) var mode: Mode
    private let period: Double
    private let mask: UInt64
    private var anchor: Anchor?
    private var maxDeviationNanos: UInt64 = 0
    private var lastCalibrationNanos: UInt64 = 0

    /// - timestampMask: (1 << timestampValidBits) - 1, or UInt64.max for 64 valid bits.
    init(mode: Mode, timestampPeriod: Double, timestampMask: UInt64) {
        self.mode = mode
        self.period = timestampPeriod
        self.mask = timestampMask
    }

    /// The counter mask for a queue family's timestampValidBits: differences are taken modulo it.
    static func mask(validBits: UInt32) -> UInt64 {
        validBits >= 64 ? UInt64.max : (UInt64(1) << UInt64(validBits)) &- 1
    }

    /// The clock both renderers use for their queue: none without timestamps; calibrated where the
    /// extension was enabled (`calibrate`) and its entry point loads; otherwise the fence-anchored estimate.
    static func forQueue(
        timestamps: Bool, calibrate: Bool, device: VkDevice?, timestampPeriod: Double, validBits: UInt32
    ) -> GPUClock {
        let mode: Mode
        if !timestamps {
            mode = .unavailable
        } else if calibrate, let device, let getTimestamps = loadCalibrate(device: device) {
            mode = .calibrated(getTimestamps)
        } else {
            mode = .fenceAnchored
        }
        return GPUClock(mode: mode, timestampPeriod: timestampPeriod, timestampMask: mask(validBits: validBits))
    }

    /// True when `physical` offers VK_EXT_calibrated_timestamps with both the device and CLOCK_MONOTONIC domains.
    static func isSupported(instance: VkInstance, physical: VkPhysicalDevice) -> Bool {
        guard VulkanSystem.hasDeviceExtension(physical, extensionName.description) else { return false }
        guard
            let raw = vkGetInstanceProcAddr(instance, cString("vkGetPhysicalDeviceCalibrateableTimeDomainsEXT"))
        else { return false }
        let getDomains = unsafeBitCast(raw, to: PFN_vkGetPhysicalDeviceCalibrateableTimeDomainsEXT.self)
        var domainCount: UInt32 = 0
        guard getDomains(physical, &domainCount, nil) == VK_SUCCESS, domainCount > 0 else { return false }
        var domains = [VkTimeDomainEXT](repeating: VK_TIME_DOMAIN_DEVICE_EXT, count: Int(domainCount))
        let dr = getDomains(physical, &domainCount, &domains)
        guard dr == VK_SUCCESS || dr == VK_INCOMPLETE else { return false }
        let listed = domains.prefix(Int(domainCount))
        return listed.contains(VK_TIME_DOMAIN_DEVICE_EXT) && listed.contains(VK_TIME_DOMAIN_CLOCK_MONOTONIC_EXT)
    }

    /// vkGetCalibratedTimestampsEXT for `device`, created with the extension enabled; nil if the loader lacks it.
    static func loadCalibrate(device: VkDevice) -> PFN_vkGetCalibratedTimestampsEXT? {
        guard let raw = vkGetDeviceProcAddr(device, cString("vkGetCalibratedTimestampsEXT")) else { return nil }
        return unsafeBitCast(raw, to: PFN_vkGetCalibratedTimestampsEXT.self)
    }

    /// How GPU timestamps are put on the host clock (HeadlessRenderer.timestampCalibration).
    var description: String {
        switch mode {
        case .unavailable:
            return "none (the queue writes no timestamps)"
        case .calibrated:
            return "VK_EXT_calibrated_timestamps (max deviation \(maxDeviationNanos) ns)"
        case .fenceAnchored:
            return "fence-anchored estimate (no VK_EXT_calibrated_timestamps with device and CLOCK_MONOTONIC "
                + "domains): a frame's GPU end is pinned to the host time its fence was seen signalled, so GPU times "
                + "are biased late by up to the fence-polling delay"
        }
    }

    /// True while GPU timestamps map through a VK_EXT_calibrated_timestamps anchor (not the fence-anchored estimate).
    var isCalibrated: Bool {
        if case .calibrated = mode, anchor != nil { return true }
        return false
    }

    /// In calibrated mode: whether the last calibration is older than the recalibration interval at `now`.
    func calibrationDue(at now: UInt64) -> Bool {
        guard case .calibrated = mode else { return false }
        return anchor == nil || now &- lastCalibrationNanos >= Self.recalibrationIntervalNanos
    }

    /// Samples the device and CLOCK_MONOTONIC clocks together. On failure keeps the previous anchor; with none yet,
    /// falls back to fence anchoring (timing is diagnostic, so it never fails a frame). Returns whether it worked.
    @discardableResult
    mutating func calibrate(device: VkDevice) -> Bool {
        guard case .calibrated(let getTimestamps) = mode else { return false }
        var infos = [VkCalibratedTimestampInfoEXT](repeating: VkCalibratedTimestampInfoEXT(), count: 2)
        for (i, domain) in [VK_TIME_DOMAIN_DEVICE_EXT, VK_TIME_DOMAIN_CLOCK_MONOTONIC_EXT].enumerated() {
            infos[i].sType = VK_STRUCTURE_TYPE_CALIBRATED_TIMESTAMP_INFO_EXT
            infos[i].timeDomain = domain
        }
        var stamps: [UInt64] = [0, 0]
        var deviation: UInt64 = 0
        let r = getTimestamps(device, 2, infos, &stamps, &deviation)
        guard r == VK_SUCCESS else {
            if anchor == nil { mode = .fenceAnchored }
            return false
        }
        anchor = Anchor(gpuTicks: stamps[0] & mask, hostNanos: stamps[1])
        maxDeviationNanos = deviation
        lastCalibrationNanos = stamps[1]
        return true
    }

    /// Fallback only: a completed frame whose GPU work ended at `gpuEndTicks` had its fence seen at `fenceSeenNanos`.
    /// The first such frame sets the anchor; a later one moves it earlier if the anchor maps its end past its fence.
    mutating func observe(gpuEndTicks: UInt64, fenceSeenNanos: UInt64) {
        guard case .fenceAnchored = mode else { return }
        if let mapped = hostNanos(ticks: gpuEndTicks), mapped <= fenceSeenNanos { return }
        anchor = Anchor(gpuTicks: gpuEndTicks & mask, hostNanos: fenceSeenNanos)
    }

    /// CLOCK_MONOTONIC ns of GPU timestamp `ticks`; nil without an anchor.
    func hostNanos(ticks: UInt64) -> UInt64? {
        guard let anchor else { return nil }
        let forward = (ticks &- anchor.gpuTicks) & mask
        // Differences over half the counter's range are read as "before the anchor" (signed, modulo the width).
        let deltaNanos: Double =
            forward <= mask >> 1
            ? Double(forward) * period : -(Double((anchor.gpuTicks &- ticks) & mask) * period)
        guard deltaNanos.isFinite, abs(deltaNanos) < 9.0e18 else { return nil }
        let result = Int64(clamping: anchor.hostNanos) &+ Int64(deltaNanos.rounded())
        return result < 0 ? nil : UInt64(result)
    }
}
