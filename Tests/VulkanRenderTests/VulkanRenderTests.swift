// Runs against the real Vulkan driver (Mesa lavapipe on CI machines without a GPU).
// Unsafe pointer use: test pixel arrays are lent to submitFrame via withUnsafeBytes for the duration of the call only;
// submitFrame copies them into its staging buffer before returning, so nothing outlives that scope.

import Foundation
import XCTest

@testable import VulkanRender

final class VulkanRenderTests: XCTestCase {
    override class func setUp() {
        super.setUp()
        prepareVulkanTestEnvironment()
    }

    /// Deterministic RGBA pattern (xorshift64*), different for each seed; alpha varies too so no channel is trivial.
    private func pattern(width: Int, height: Int, seed: UInt64) -> [UInt8] {
        var state = seed | 1
        return (0..<(width * height * 4)).map { _ in
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            return UInt8(truncatingIfNeeded: (state &* 0x2545_F491_4F6C_DD1D) >> 56)
        }
    }

    private func submit(_ r: HeadlessRenderer, _ pixels: [UInt8], tag: UInt64) throws -> SubmittedFrame {
        try pixels.withUnsafeBytes { try r.submitFrame(pixels: $0, tag: tag) }
    }

    func testDevicesListsAtLeastOne() throws {
        let devices = try VulkanSystem.devices()
        XCTAssertFalse(devices.isEmpty)
        for (i, d) in devices.enumerated() {
            XCTAssertEqual(d.index, i)
            XCTAssertFalse(d.name.isEmpty)
            XCTAssertTrue(["discrete", "integrated", "virtual", "cpu", "other"].contains(d.type), d.type)
            XCTAssertEqual(d.apiVersion.split(separator: ".").count, 3, d.apiVersion)
        }
    }

    /// Golden test. Tolerance is 0: a same-size texture sampled with NEAREST at pixel centres, written without
    /// blending into an UNORM target, must reproduce the input byte for byte. 61×37 is odd on purpose (no
    /// power-of-two or row-alignment luck). Two different frames back to back exercise both slots; the second,
    /// in the slot that is not the first one, is read back.
    func testGoldenRoundTripIsBitExact() throws {
        let (w, h) = (61, 37)
        let r = try HeadlessRenderer(width: w, height: h, framesInFlight: 2)
        XCTAssertEqual(r.width, w)
        XCTAssertEqual(r.height, h)
        let first = pattern(width: w, height: h, seed: 0x1234_5678)
        let second = pattern(width: w, height: h, seed: 0x9E37_79B9_7F4A_7C15)
        XCTAssertNotEqual(first, second)

        _ = try submit(r, first, tag: 1)
        _ = try submit(r, second, tag: 2)
        let out = try r.readBackLastFrame()
        XCTAssertEqual(out.count, w * h * 4)
        if out.count == second.count, let i = out.indices.first(where: { out[$0] != second[$0] }) {
            XCTFail("first mismatch at byte \(i) (pixel \(i / 4 % w),\(i / 4 / w) channel \(i % 4)): "
                + "got \(out[i]), want \(second[i])")
        }

        // Reuse slot 0 after read-back: the first pattern again must come back exactly too.
        _ = try submit(r, first, tag: 3)
        XCTAssertEqual(try r.readBackLastFrame(), first)
        let done = try r.finish()
        XCTAssertEqual(done.map(\.tag), [1, 2, 3])
    }

    func testSixFramesAllCompleteInOrder() throws {
        let (w, h) = (61, 37)
        let r = try HeadlessRenderer(width: w, height: h, framesInFlight: 2)
        var completed: [CompletedFrame] = []
        var submitted: [SubmittedFrame] = []
        for tag in UInt64(10)..<16 {
            let frame = pattern(width: w, height: h, seed: tag)
            submitted.append(try submit(r, frame, tag: tag))
            completed += try r.collectCompleted()
        }
        completed += try r.finish()
        XCTAssertEqual(completed.count, 6)
        XCTAssertEqual(completed.map(\.tag), Array(10..<16))
        XCTAssertEqual(submitted.map(\.tag), Array(10..<16))
        for (c, s) in zip(completed, submitted) {
            XCTAssertEqual(c.submitNanos, s.submitNanos)
            XCTAssertGreaterThanOrEqual(c.completeNanos, c.submitNanos)
            if let gpu = c.gpuNanos { XCTAssertGreaterThanOrEqual(gpu, 0) }
        }
        XCTAssertEqual(try r.collectCompleted().count, 0)
        XCTAssertEqual(try r.finish().count, 0)
        // The last frame is still what read-back returns.
        XCTAssertEqual(try r.readBackLastFrame(), pattern(width: w, height: h, seed: 15))
    }

    func testWrongPixelCountIsBadRequest() throws {
        let r = try HeadlessRenderer(width: 8, height: 4, framesInFlight: 1)
        for count in [0, 8 * 4 * 4 - 1, 8 * 4 * 4 + 4] {
            let bytes = [UInt8](repeating: 0, count: count)
            XCTAssertThrowsError(try submit(r, bytes, tag: 0)) { error in
                XCTAssertEqual((error as? RenderError)?.kind, .badRequest)
            }
        }
        XCTAssertThrowsError(try r.readBackLastFrame(), "nothing submitted yet") { error in
            XCTAssertEqual((error as? RenderError)?.kind, .badRequest)
        }
        // A rejected request leaves the renderer usable.
        let ok = pattern(width: 8, height: 4, seed: 7)
        _ = try submit(r, ok, tag: 1)
        XCTAssertEqual(try r.readBackLastFrame(), ok)
    }

    func testBadConstructionArgumentsAreBadRequest() {
        let cases: [(Int, Int, Int, Int?)] = [(0, 10, 2, nil), (10, -1, 2, nil), (10, 10, 0, nil), (10, 10, 2, 9999)]
        for (w, h, n, index) in cases {
            XCTAssertThrowsError(try HeadlessRenderer(width: w, height: h, framesInFlight: n, deviceIndex: index)) {
                error in
                let e = error as? RenderError
                XCTAssertEqual(e?.kind, .badRequest, "\(w)x\(h) n=\(n) index=\(String(describing: index))")
                XCTAssertFalse(e?.message.contains("\n") ?? true)
            }
        }
    }

    func testGeneratedShadersAreUpToDate() throws {
        let glslcPresent = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
            .split(separator: ":")
            .contains { FileManager.default.isExecutableFile(atPath: "\($0)/glslc") }
        try XCTSkipUnless(glslcPresent, "glslc not installed; the committed GeneratedShaders.swift is used as is")

        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [root.appendingPathComponent("scripts/build-shaders.sh").path, "--check"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, text)
    }
}
