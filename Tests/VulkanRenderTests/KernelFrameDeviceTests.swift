// The device checks both renderers make through KernelFrameDevice (KernelFrameLimits, KernelFrameRequest.validate),
// against limits a test sets, so every refusal is reached without a device that has those limits; and the real device
// built for each renderer shape.

import CVulkan
import XCTest

@testable import VulkanRender

final class KernelFrameDeviceTests: XCTestCase {
    override func setUp() {
        super.setUp()
        prepareVulkanTestEnvironment()
    }

    private let device = VulkanDeviceInfo(
        index: 0, name: "Test GPU", type: "discrete", apiVersion: "1.3.0", driverVersion: 1)

    /// Generous limits; each test narrows one.
    private func limits() -> VkPhysicalDeviceLimits {
        var limits = VkPhysicalDeviceLimits()
        limits.maxImageDimension2D = 8192
        limits.maxFramebufferWidth = 8192
        limits.maxFramebufferHeight = 8192
        limits.maxStorageBufferRange = UInt32(1 << 27)
        limits.maxComputeWorkGroupCount = (65535, 65535, 65535)
        return limits
    }

    private let allFeatures: VkFormatFeatureFlags = [FormatNeed.sample, .render, .store, .blend, .blitFrom]
        .reduce(0) { $0 | $1.flag }

    private func request(
        _ width: Int, _ height: Int, _ content: FrameContent, window: Bool = false
    ) -> KernelFrameRequest {
        KernelFrameRequest(
            width: width, height: height, content: content, framesInFlight: 2, deviceIndex: nil, upload: .copy,
            calibratedTimestamps: true, timestampsPerFrame: window ? 3 : 2, extraFormatNeeds: window ? [.blitFrom] : [])
    }

    private func refusal(
        _ request: KernelFrameRequest, limits: VkPhysicalDeviceLimits? = nil, features: VkFormatFeatureFlags? = nil
    ) -> RenderError? {
        do {
            try KernelFrameLimits.check(
                request, limits: limits ?? self.limits(), formatFeatures: features ?? allFeatures, device: device)
            return nil
        } catch {
            return error
        }
    }

    /// The headless and the window shape of a request are refused alike for every limit (the window renderer used to
    /// skip the compute work-group check).
    func testEveryLimitRefusesBothRendererShapesAlike() {
        for window in [false, true] {
            let shape = window ? "window" : "headless"
            XCTAssertNil(refusal(request(640, 480, .scalarField(.magma), window: window)), shape)

            let tooWide = refusal(request(9000, 10, .rgba8, window: window))
            XCTAssertEqual(tooWide?.kind, .badRequest, shape)
            XCTAssertEqual(
                tooWide?.message, "frame size 9000x10 exceeds Test GPU's limit of 8192 pixels per side: use a smaller size")

            var fewGroups = limits()
            fewGroups.maxComputeWorkGroupCount = (4, 4, 4)
            XCTAssertNil(refusal(request(32, 32, .scalarField(.magma), window: window), limits: fewGroups), shape)
            let groups = refusal(request(40, 32, .scalarField(.magma), window: window), limits: fewGroups)
            XCTAssertEqual(groups?.kind, .badRequest, shape)
            XCTAssertEqual(
                groups?.message,
                "frame size 40x32 needs more compute workgroups than Test GPU allows: use a smaller size", shape)
            // RGBA8 frames are not colour-mapped by a compute shader: no work-group limit applies.
            XCTAssertNil(refusal(request(40, 32, .rgba8, window: window), limits: fewGroups), shape)

            var smallBuffers = limits()
            smallBuffers.maxStorageBufferRange = 4096
            let field = refusal(request(64, 32, .scalarField(.magma), window: window), limits: smallBuffers)
            XCTAssertEqual(field?.kind, .badRequest, shape)
            XCTAssertTrue(field?.message.hasSuffix("storage buffer limit of 4096: use a smaller size") == true, shape)
            let points = refusal(request(64, 32, .points(count: 200), window: window), limits: smallBuffers)
            XCTAssertTrue(points?.message.hasSuffix("use fewer points") == true, "\(shape): \(points?.message ?? "")")
            XCTAssertNil(refusal(request(64, 32, .rgba8, window: window), limits: smallBuffers), shape)
        }
    }

    /// Missing format features name what the renderer would do with the format; only the window needs blits.
    func testMissingFormatFeaturesNameWhatIsNeeded() {
        let noStore = allFeatures & ~FormatNeed.store.flag & ~FormatNeed.sample.flag
        let field = refusal(request(64, 64, .scalarField(.magma)), features: noStore)
        XCTAssertEqual(field?.kind, .noDevice)
        XCTAssertEqual(
            field?.message,
            "Vulkan device 0 (Test GPU) cannot sample or store to R8G8B8A8_UNORM images: pick another with "
                + "`framepipe devices`")
        let noBlit = allFeatures & ~FormatNeed.blitFrom.flag
        XCTAssertNil(refusal(request(64, 64, .rgba8), features: noBlit))
        XCTAssertEqual(
            refusal(request(64, 64, .rgba8, window: true), features: noBlit)?.message,
            "Vulkan device 0 (Test GPU) cannot blit from R8G8B8A8_UNORM images: pick another with `framepipe devices`")
        XCTAssertNil(refusal(request(64, 64, .points(count: 4)), features: allFeatures & ~FormatNeed.sample.flag))
    }

    func testRequestsNeedingNoDeviceAreCheckedFirst() {
        func message(_ r: KernelFrameRequest) -> String? {
            do {
                try r.validate()
                return nil
            } catch {
                return error.message
            }
        }
        XCTAssertNil(message(request(1, 1, .rgba8)))
        XCTAssertEqual(
            message(request(0, 5, .rgba8)), "frame size 0x5 is invalid: width and height must be at least 1")
        var inFlight = request(8, 8, .rgba8)
        inFlight.framesInFlight = 17
        XCTAssertEqual(message(inFlight), "framesInFlight 17 is invalid: use 1 to 16 (2 or 3 is typical)")
        XCTAssertTrue(message(request(8, 8, .points(count: 0)))?.hasPrefix("point count 0 is invalid") == true)
    }

    /// The real device, built for each renderer's timestamp shape: two or three timestamps per frame slot, read back
    /// on the host clock in order.
    func testRealDeviceTimesFramesWithEitherTimestampShape() throws {
        for perFrame: UInt32 in [2, 3] {
            let vk = VulkanObjects()
            (vk.instance, vk.debugMessenger) = try VulkanSystem.createInstance()
            var r = request(16, 16, .rgba8)
            r.timestampsPerFrame = perFrame
            let gpu = try KernelFrameDevice(
                vk: vk, request: r, unusable: "has no graphics queue", noneUsable: "no Vulkan device with a graphics queue",
                usableFamily: { VulkanSystem.graphicsQueueFamily($0) })
            XCTAssertEqual(gpu.frameBytes, 16 * 16 * 4)
            guard gpu.timestamps.perFrame > 0 else { throw XCTSkip("the queue writes no timestamps") }
            XCTAssertEqual(gpu.timestamps.perFrame, perFrame)
            let slot = vk.slots[0]
            let cb = try XCTUnwrap(slot.commandBuffer)
            try vk.beginOneTimeCommands(cb)
            gpu.timestamps.begin(cb, pool: gpu.queryPool(0))
            vk.recordKernelFrame(slot, from: .staging(of: slot), content: .rgba8, width: 16, height: 16, into: cb)
            for query in 1..<perFrame { gpu.timestamps.mark(cb, pool: gpu.queryPool(0), query: query) }
            try vkCheck(vkEndCommandBuffer(cb), "vkEndCommandBuffer")
            try gpu.resetFence(0)
            let submitted = monotonicNanos()
            try vkCheck(vk.submit(cb, fence: try XCTUnwrap(slot.fence)), "vkQueueSubmit")
            try gpu.waitForFrameSlot(0)
            XCTAssertTrue(try gpu.frameSlotIsDone(0))
            let seen = monotonicNanos()
            let times = try XCTUnwrap(try gpu.timestamps.read(pool: gpu.queryPool(0), device: vk.device, fenceSeenNanos: seen))
            let start = try XCTUnwrap(times.startNanos)
            let end = try XCTUnwrap(times.endNanos)
            XCTAssertLessThanOrEqual(start, end)
            XCTAssertGreaterThanOrEqual(times.elapsedNanos, 0)
            // Calibrated or fence-anchored, the frame lies between its submit and the moment its fence was seen
            // (1 ms covers a calibration's deviation, as in GPUClockTests).
            XCTAssertGreaterThanOrEqual(start + 1_000_000, submitted)
            XCTAssertLessThanOrEqual(end, seen + 1_000_000)
            if perFrame == 3 {
                let kernelEnd = try XCTUnwrap(times.kernelEndNanos)
                XCTAssertTrue((start...end).contains(kernelEnd))
            } else {
                XCTAssertNil(times.kernelEndNanos)
            }
        }
    }
}
