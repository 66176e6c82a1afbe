// Zero-copy upload (the slot ring lives in the renderer's host-visible memory, the GPU reads slots in place) against
// copy upload, and pipelined read-back, on the real Vulkan driver (Mesa lavapipe on machines without a GPU).
// Unsafe pointer use: test byte arrays are lent to SlotRing.write / submitFrame via withUnsafeBytes for the duration of
// the call only; both copy them before returning.

import FrameHandoff
import Foundation
import XCTest

@testable import VulkanRender

final class ZeroCopyUploadTests: XCTestCase {
    override class func setUp() {
        super.setUp()
        prepareVulkanTestEnvironment()
    }

    private struct Failure: Error, CustomStringConvertible { let description: String }

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

    /// One frame's bytes for `content`, varying with `seed`. f32 field: values over 0...1 plus a few out-of-range and
    /// NaN; points: squares with varied position, size and colour.
    private func frame(_ content: FrameContent, width: Int, height: Int, seed: UInt64) -> [UInt8] {
        switch content {
        case .rgba8:
            return noise(count: width * height * 4, seed: seed)
        case .scalarField:
            let raw = noise(count: width * height, seed: seed)
            var values = raw.map { Float($0) / 255 }
            values[0] = -0.5
            values[1] = 1.5
            values[2] = .nan
            return floatBytes(values)
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

    /// A ring on the renderer's zero-copy memory, `fifo` so every published frame is read in order.
    private func zeroCopyRing(_ r: HeadlessRenderer, slots: Int) throws -> SlotRing {
        let bytes = r.content.byteCount(width: r.width, height: r.height)
        let memory = try r.makeRingPayload(slotCount: slots, slotByteCount: bytes)
        XCTAssertEqual(Int(bitPattern: memory.base) % SlotRing.pageSize, 0, "ring base must be page-aligned")
        XCTAssertEqual(memory.slotStride, SlotRing.requiredPayloadBytes(slotCount: 1, slotByteCount: bytes))
        return try SlotRing(
            slotCount: slots, slotByteCount: bytes, policy: .fifo,
            payload: LentPayload(base: memory.base, byteCount: memory.byteCount, owner: memory))
    }

    /// Writes `bytes` into a fresh slot, publishes it and acquires it.
    private func publishAndAcquire(_ ring: SlotRing, _ bytes: [UInt8]) throws -> ReadLease {
        guard let lease = ring.beginFrame() else { throw Failure(description: "no free slot") }
        do {
            try bytes.withUnsafeBytes { try ring.write(lease, at: 0, from: $0) }
        } catch {
            ring.cancel(lease)
            throw error
        }
        ring.publish(lease)
        guard let read = ring.acquire() else { throw Failure(description: "published frame not acquirable") }
        return read
    }

    // MARK: - Golden: zero-copy draws exactly what copy draws

    func testZeroCopyMatchesCopyForEveryFormat() throws {
        let (w, h) = (61, 37)
        let contents: [FrameContent] = [.rgba8, .scalarField(.viridis), .points(count: 40)]
        for content in contents {
            let copy = try HeadlessRenderer(width: w, height: h, content: content, framesInFlight: 2, upload: .copy)
            let zero = try HeadlessRenderer(width: w, height: h, content: content, framesInFlight: 2, upload: .zeroCopy)
            XCTAssertEqual(copy.uploadMode, .copy)
            XCTAssertEqual(zero.uploadMode, .zeroCopy)
            let ring = try zeroCopyRing(zero, slots: 4)
            // Six frames: every ring slot is used (offsets past the first slot), slots are reused, and two frames
            // are in flight at once, each from a different ring slot.
            var held: [ReadLease] = []
            var zeroPixels: [UInt64: [UInt8]] = [:]
            for seed in UInt64(1)...6 {
                let bytes = frame(content, width: w, height: h, seed: seed)
                try copy.submitFrame(bytes: bytes, tag: seed, readBack: true)
                if held.count == 2 {
                    // Frames complete in order: release the oldest only once the renderer reports it complete.
                    let done = try zero.collectCompleted() + (try zero.finish())
                    for f in done { zeroPixels[f.tag] = f.pixels }
                    for lease in held { try ring.release(lease) }
                    held.removeAll()
                }
                let lease = try publishAndAcquire(ring, bytes)
                XCTAssertTrue(ring.validate(lease.handle))
                _ = try zero.submitFrame(ringSlot: lease.handle.slot, tag: seed, readBack: true)
                held.append(lease)
            }
            for f in try zero.finish() { zeroPixels[f.tag] = f.pixels }
            for lease in held { try ring.release(lease) }
            let copied = try copy.finish()
            XCTAssertEqual(copied.map(\.tag), [1, 2, 3, 4, 5, 6])
            for f in copied {
                let want = try XCTUnwrap(f.pixels, "\(content): copy frame \(f.tag) has no pixels")
                let got = try XCTUnwrap(zeroPixels[f.tag], "\(content): zero-copy frame \(f.tag) has no pixels")
                XCTAssertEqual(got.count, w * h * 4)
                XCTAssertTrue(got == want, "\(content): frame \(f.tag) differs between zero-copy and copy upload")
                // The absolute goldens (copy path) are FrameFormatTests'; RGBA8 and the field are checked here too.
                let input = frame(content, width: w, height: h, seed: f.tag)
                switch content {
                case .rgba8:
                    XCTAssertTrue(got == input, "RGBA8 frame \(f.tag): output is not the input")
                case .scalarField(let map):
                    let values = stride(from: 0, to: input.count, by: 4).map { i in
                        Float(bitPattern: UInt32(input[i]) | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2]) << 16
                            | UInt32(input[i + 3]) << 24)
                    }
                    let reference = values.flatMap { v -> [UInt8] in
                        let c = map.rgba8(v)
                        return [c.0, c.1, c.2, c.3]
                    }
                    XCTAssertTrue(got == reference, "f32 field frame \(f.tag): output is not the CPU colour map")
                case .points:
                    // Points must have drawn something over the black background.
                    XCTAssertTrue(
                        stride(from: 0, to: got.count, by: 4).contains { got[$0] != 0 || got[$0 + 1] != 0 },
                        "points frame \(f.tag) drew nothing")
                }
            }
            XCTAssertEqual(ring.counters.staleRejected, 0)
        }
    }

    // MARK: - Pipelined read-back

    func testPipelinedReadbackEqualsReadBackLastFrame() throws {
        let (w, h) = (33, 20)
        let r = try HeadlessRenderer(width: w, height: h, content: .rgba8, framesInFlight: 3)
        var frames: [CompletedFrame] = []
        for seed in UInt64(1)...7 {
            // Every other frame asks for its pixels; the others must come back without them.
            try r.submitFrame(bytes: noise(count: w * h * 4, seed: seed), tag: seed, readBack: seed % 2 == 1)
            frames += try r.collectCompleted()
        }
        let last = try r.readBackLastFrame()
        frames += try r.finish()
        XCTAssertEqual(frames.map(\.tag), Array(1...7))
        for f in frames {
            if f.tag % 2 == 1 {
                XCTAssertTrue(f.pixels == noise(count: w * h * 4, seed: f.tag), "frame \(f.tag): wrong pixels")
            } else {
                XCTAssertNil(f.pixels, "frame \(f.tag) did not ask for its pixels")
            }
        }
        XCTAssertEqual(frames.last?.pixels, last)
    }

    // MARK: - Mode choice and misuse

    func testAutoUploadChoice() throws {
        let hostMemory: (index: UInt32, deviceLocal: Bool) = (0, false)
        let sharedMemory: (index: UInt32, deviceLocal: Bool) = (0, true)
        func mode(_ m: UploadMode, _ memory: (index: UInt32, deviceLocal: Bool)?, _ type: String) throws -> UploadMode {
            try HeadlessRenderer.resolveUpload(m, memory: memory, deviceType: type, deviceName: "GPU").0
        }
        XCTAssertEqual(try mode(.auto, hostMemory, "cpu"), .zeroCopy)
        XCTAssertEqual(try mode(.auto, hostMemory, "integrated"), .zeroCopy)
        XCTAssertEqual(try mode(.auto, hostMemory, "discrete"), .copy)
        XCTAssertEqual(try mode(.auto, sharedMemory, "discrete"), .zeroCopy)
        XCTAssertEqual(try mode(.auto, nil, "cpu"), .copy)
        XCTAssertEqual(try mode(.copy, sharedMemory, "cpu"), .copy)
        XCTAssertEqual(try mode(.zeroCopy, hostMemory, "discrete"), .zeroCopy)
        XCTAssertThrowsError(try mode(.zeroCopy, nil, "discrete")) { error in
            let e = error as? RenderError
            XCTAssertEqual(e?.kind, .badRequest)
            XCTAssertTrue(e?.message.contains("--upload copy") ?? false, "\(error)")
        }
        XCTAssertEqual(UploadMode(rawValue: "zero-copy"), .zeroCopy)

        // The real device: lavapipe is a CPU device, so auto must pick zero-copy there.
        let r = try HeadlessRenderer(width: 8, height: 8, upload: .auto)
        XCTAssertNotEqual(r.uploadMode, .auto)
        if r.device.type == "cpu" || r.device.type == "integrated" {
            XCTAssertEqual(r.uploadMode, .zeroCopy, r.uploadReason)
        }
    }

    func testZeroCopyMisuseIsBadRequest() throws {
        func assertBadRequest(_ body: () throws -> some Any, _ what: String, line: UInt = #line) {
            XCTAssertThrowsError(try body(), what, line: line) { error in
                XCTAssertEqual((error as? RenderError)?.kind, .badRequest, "\(what): \(error)", line: line)
            }
        }
        let copy = try HeadlessRenderer(width: 8, height: 8, upload: .copy)
        assertBadRequest({ try copy.makeRingPayload(slotCount: 3, slotByteCount: 256) }, "ring from a copy renderer")
        let zero = try HeadlessRenderer(width: 8, height: 8, upload: .zeroCopy)
        assertBadRequest({ try zero.submitFrame(ringSlot: 0, tag: 1) }, "submit before the ring exists")
        assertBadRequest({ try zero.makeRingPayload(slotCount: 3, slotByteCount: 100) }, "slot size not one frame")
        let memory = try zero.makeRingPayload(slotCount: 3, slotByteCount: 256)
        XCTAssertEqual(memory.byteCount, 3 * memory.slotStride)
        assertBadRequest({ try zero.makeRingPayload(slotCount: 3, slotByteCount: 256) }, "second ring")
        assertBadRequest({ try zero.submitFrame(ringSlot: 3, tag: 1) }, "ring slot out of range")
        assertBadRequest({ try zero.submitFrame(ringSlot: -1, tag: 1) }, "negative ring slot")
        XCTAssertEqual(try zero.finish().count, 0)
    }
}
