// GPU timestamps on CLOCK_MONOTONIC (CompletedFrame.gpuStartNanos/gpuEndNanos), against the real driver (lavapipe
// here, which has VK_EXT_calibrated_timestamps), plus the tick arithmetic on its own.
// Unsafe pointer use: frame bytes are lent to submitFrame via withUnsafeBytes for the duration of the call only.

import XCTest

@testable import VulkanRender

final class GPUClockTests: XCTestCase {
    override class func setUp() {
        super.setUp()
        prepareVulkanTestEnvironment()
    }

    /// Slack allowed where GPU times are compared with host times: the calibration's max deviation is ~1 ns on
    /// lavapipe and microseconds on real GPUs; 1 ms covers either without hiding a wrong clock (which is off by
    /// seconds or more).
    private let hostTolerance: UInt64 = 1_000_000
    /// gpuEnd - gpuStart against gpuNanos: both come from the same two ticks, only rounding differs.
    private let durationTolerance = 1_000.0

    private func run(_ r: HeadlessRenderer, frames: Int) throws -> [CompletedFrame] {
        let pixels = [UInt8](repeating: 0x5A, count: r.width * r.height * 4)
        var done: [CompletedFrame] = []
        for tag in 0..<UInt64(frames) {
            _ = try pixels.withUnsafeBytes { try r.submitFrame(pixels: $0, tag: tag) }
            done += try r.collectCompleted()
        }
        done += try r.finish()
        XCTAssertEqual(done.map(\.tag), Array(0..<UInt64(frames)))
        return done
    }

    private func checkOrdering(_ frames: [CompletedFrame], endSlack: UInt64) {
        for f in frames {
            guard let start = f.gpuStartNanos, let end = f.gpuEndNanos, let gpu = f.gpuNanos else {
                XCTFail("frame \(f.tag) has no GPU times")
                continue
            }
            XCTAssertLessThanOrEqual(f.submitNanos, start + hostTolerance, "frame \(f.tag): GPU start before submit")
            XCTAssertLessThanOrEqual(start, end, "frame \(f.tag)")
            XCTAssertLessThanOrEqual(end, f.completeNanos + endSlack, "frame \(f.tag): GPU end after fence seen")
            XCTAssertEqual(Double(end - start), gpu, accuracy: durationTolerance, "frame \(f.tag)")
        }
    }

    func testCalibratedGPUTimesLieBetweenSubmitAndCompletion() throws {
        let r = try HeadlessRenderer(width: 64, height: 48, framesInFlight: 2)
        let mode = r.timestampCalibration
        if r.device.name.contains("llvmpipe") {
            XCTAssertTrue(mode.hasPrefix("VK_EXT_calibrated_timestamps (max deviation "), mode)
        }
        guard mode.hasPrefix("VK_EXT_calibrated_timestamps") else {
            throw XCTSkip("\(r.device.name) has no calibrated timestamps: \(mode)")
        }
        checkOrdering(try run(r, frames: 12), endSlack: hostTolerance)
    }

    /// The fallback pins GPU end times to fence observations, so a frame's GPU end never maps past its own fence
    /// time (no slack), and being biased late it cannot map before the submit either.
    func testFenceAnchoredFallbackWhenCalibrationIsOff() throws {
        let r = try HeadlessRenderer(
            width: 64, height: 48, content: .rgba8, framesInFlight: 2, deviceIndex: nil, calibratedTimestamps: false)
        guard r.timestampCalibration.hasPrefix("fence-anchored") else {
            throw XCTSkip("\(r.device.name): \(r.timestampCalibration)")
        }
        XCTAssertTrue(r.timestampCalibration.contains("biased late"), r.timestampCalibration)
        checkOrdering(try run(r, frames: 12), endSlack: 0)
    }

    /// 16 valid bits, 2 ns per tick: differences are taken modulo 2^16 and read as signed.
    func testTickMappingHandlesWrapAndTightensFallbackAnchor() {
        var clock = GPUClock(mode: .fenceAnchored, timestampPeriod: 2.0, timestampMask: 0xFFFF)
        XCTAssertNil(clock.hostNanos(ticks: 5))
        clock.observe(gpuEndTicks: 0xFFF0, fenceSeenNanos: 1_000_000)
        XCTAssertEqual(clock.hostNanos(ticks: 0xFFF0), 1_000_000)
        XCTAssertEqual(clock.hostNanos(ticks: 0x0010), 1_000_064)  // 32 ticks later, across the wrap
        XCTAssertEqual(clock.hostNanos(ticks: 0xFFE0), 999_968)  // 16 ticks earlier
        XCTAssertEqual(clock.hostNanos(ticks: 0x1_0000_FFF0), 1_000_000)  // bits above the valid width ignored
        // A frame seen earlier than the anchor maps its end proves the anchor late: it moves.
        clock.observe(gpuEndTicks: 0x0010, fenceSeenNanos: 1_000_050)
        XCTAssertEqual(clock.hostNanos(ticks: 0x0010), 1_000_050)
        // One seen later does not.
        clock.observe(gpuEndTicks: 0x0020, fenceSeenNanos: 2_000_000)
        XCTAssertEqual(clock.hostNanos(ticks: 0x0020), 1_000_082)
        XCTAssertFalse(clock.calibrationDue(at: 10_000_000_000))
        XCTAssertTrue(clock.description.contains("biased late"))
    }
}
