// WindowRenderer's zero-copy upload (drawFrame(ringSlot:) reads the ring slot in place) against the copy path, in a
// real window on a private Xvfb display that the test starts (skipped where Xvfb is not installed).
// Unsafe pointer use: test byte arrays are copied into ring slots through ZeroCopyRingMemory.base (inside the slot's
// slotByteCount bytes, while no GPU work reads the ring) and lent to drawFrame / submitFrame via withUnsafeBytes for
// the call only.

import EngineTestSupport
import Foundation
import XCTest

@testable import VulkanRender

final class WindowZeroCopyTests: XCTestCase {
    private var xvfb: XvfbDisplay?

    override func setUpWithError() throws {
        prepareVulkanTestEnvironment()
        try XCTSkipUnless(XvfbDisplay.isInstalled, "Xvfb is not installed (scripts/setup.sh)")
        xvfb = try XvfbDisplay()
    }

    override func tearDown() {
        ViewerWindow.terminate()
        xvfb?.stop()
        super.tearDown()
    }

    /// Deterministic bytes (xorshift64*), different for each seed.
    private func noise(count: Int, seed: UInt64) -> [UInt8] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<count).map { _ in
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            return UInt8(truncatingIfNeeded: (state &* 0x2545_F491_4F6C_DD1D) >> 56)
        }
    }

    private func floatBytes(_ values: [Float]) -> [UInt8] {
        values.flatMap { v in [0, 8, 16, 24].map { UInt8(truncatingIfNeeded: v.bitPattern >> UInt32($0)) } }
    }

    /// One frame of `content`, varying with `seed`.
    private func frame(_ content: FrameContent, width: Int, height: Int, seed: UInt64) -> [UInt8] {
        switch content {
        case .rgba8:
            return noise(count: width * height * 4, seed: seed)
        case .scalarField:
            return floatBytes(noise(count: width * height, seed: seed).map { Float($0) / 255 })
        case .points(let count):
            let raw = noise(count: count * 8, seed: seed)
            var floats: [Float] = []
            for p in 0..<count {
                let r = raw[(p * 8)..<(p * 8 + 8)].map { Float($0) / 255 }
                floats += [r[0] * 2 - 1, r[1] * 2 - 1, 0, 1 + r[2] * 12, r[3], r[4], r[5], 0.25 + r[6] * 0.75]
            }
            return floatBytes(floats)
        }
    }

    /// Each format: frames drawn in place from ring slots (every slot, reused, two in flight) read back exactly as the
    /// headless copy path draws the same bytes; every ring frame's tag comes back from collectFinishedRingReads once,
    /// and only after its frame slot's fence (here: after waitIdle at the latest).
    func testRingSlotDrawEqualsCopyDrawForEveryFormat() throws {
        let (w, h) = (29, 17)
        for content in [FrameContent.rgba8, .scalarField(.magma), .points(count: 24)] {
            // A window per renderer: one swapchain per native window.
            let window = try ViewerWindow(width: 116, height: 68, title: "framepipe-window-zero-copy-test")
            let renderer = try WindowRenderer(
                window: window, width: w, height: h, content: content, presentMode: "fifo", upload: .zeroCopy)
            XCTAssertEqual(renderer.uploadMode, .zeroCopy)
            XCTAssertEqual(renderer.uploadReason, "zero-copy requested")
            let bytes = content.byteCount(width: w, height: h)
            let slotCount = renderer.framesInFlight + 2
            let ring = try renderer.makeRingPayload(slotCount: slotCount, slotByteCount: bytes)
            XCTAssertTrue(renderer.zeroCopyRing === ring)
            XCTAssertThrowsError(try renderer.makeRingPayload(slotCount: slotCount, slotByteCount: bytes))
            XCTAssertThrowsError(try renderer.drawFrame(ringSlot: slotCount, tag: 0, hud: nil))

            let headless = try HeadlessRenderer(width: w, height: h, content: content, upload: .copy)
            var finished: [UInt64] = []
            // Slots 0..<slotCount, then 1 and 0 again (reused after their frames completed).
            let order = Array(0..<slotCount) + [1, 0]
            for (n, slot) in order.enumerated() {
                let tag = UInt64(100 + n)
                // The writer's side: only a slot whose previous frame came back may be written.
                try renderer.waitForFreeFrameSlot()
                try renderer.collectFinishedRingReads { finished.append($0) }
                if n >= slotCount {
                    XCTAssertTrue(finished.contains(UInt64(100 + slot)), "slot \(slot) rewritten while drawn: \(finished)")
                }
                let input = frame(content, width: w, height: h, seed: tag)
                input.withUnsafeBytes { source in
                    (ring.base + slot * ring.slotStride).copyMemory(from: source.baseAddress!, byteCount: bytes)
                }
                try renderer.drawFrame(ringSlot: slot, tag: tag, hud: nil)
                let drawn = try XCTUnwrap(try renderer.readBackLastFrame())
                try headless.submitFrame(bytes: input, tag: tag, readBack: true)
                let expected = try XCTUnwrap(try headless.finish().last?.pixels)
                XCTAssertEqual(drawn.count, w * h * 4)
                XCTAssertTrue(drawn == expected, "\(content): ring slot \(slot) (frame \(tag)) differs from the copy draw")
            }
            renderer.waitIdle()
            try renderer.collectFinishedRingReads { finished.append($0) }
            XCTAssertEqual(finished.sorted(), (0..<UInt64(order.count)).map { 100 + $0 })
            // Nothing twice: a second collect returns nothing.
            try renderer.collectFinishedRingReads { XCTFail("tag \($0) returned twice") }
            // The copy path of the same renderer still works and draws the same.
            let input = frame(content, width: w, height: h, seed: 7)
            _ = try input.withUnsafeBytes { try renderer.drawFrame($0, tag: 7, hud: nil) }
            try headless.submitFrame(bytes: input, tag: 7, readBack: true)
            XCTAssertEqual(try renderer.readBackLastFrame(), try headless.finish().last?.pixels)
            try renderer.collectFinishedRingReads { XCTFail("a copied frame \($0) came back as a ring frame") }
        }
    }

    /// A copy renderer lends no ring and refuses ring draws with a one-line request error naming the fix.
    func testCopyRendererRefusesRingDraws() throws {
        let window = try ViewerWindow(width: 64, height: 64, title: "framepipe-window-copy-test")
        let renderer = try WindowRenderer(
            window: window, width: 16, height: 16, content: .rgba8, presentMode: "fifo", upload: .copy)
        XCTAssertEqual(renderer.uploadMode, .copy)
        XCTAssertEqual(renderer.uploadReason, "copy requested")
        XCTAssertThrowsError(try renderer.makeRingPayload(slotCount: 4, slotByteCount: 16 * 16 * 4)) { error in
            XCTAssertTrue("\(error)".contains("--upload zero-copy"), "\(error)")
        }
        XCTAssertNil(renderer.zeroCopyRing)
        XCTAssertThrowsError(try renderer.drawFrame(ringSlot: 0, tag: 1, hud: nil)) { error in
            XCTAssertTrue("\(error)".contains("makeRingPayload"), "\(error)")
        }
        // auto on this machine's device: the same rule as HeadlessRenderer.
        let autoWindow = try ViewerWindow(width: 64, height: 64, title: "framepipe-window-auto-test")
        let auto = try WindowRenderer(
            window: autoWindow, width: 16, height: 16, content: .rgba8, presentMode: "fifo", upload: .auto)
        let headless = try HeadlessRenderer(width: 16, height: 16, upload: .auto)
        XCTAssertEqual(auto.uploadMode, headless.uploadMode)
        XCTAssertEqual(auto.uploadReason, headless.uploadReason)
    }
}
