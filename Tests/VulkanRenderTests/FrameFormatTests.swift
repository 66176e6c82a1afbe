// The f32 field (ABI format 2) and points (ABI format 3) contents, against the real Vulkan driver (Mesa lavapipe on
// machines without a GPU), and the CPU side of FrameContent/Colormap.
// Unsafe pointer use: none (frames are built as byte arrays from f32 bit patterns and go through submitFrame(bytes:)).

import Foundation
import XCTest

@testable import VulkanRender

final class FrameFormatTests: XCTestCase {
    override class func setUp() {
        super.setUp()
        prepareVulkanTestEnvironment()
    }

    /// Little-endian bytes of f32 values, the layout kernels write.
    private func bytes(of values: [Float]) -> [UInt8] {
        values.flatMap { v in
            let bits = v.bitPattern
            return [0, 8, 16, 24].map { UInt8(truncatingIfNeeded: bits >> UInt32($0)) }
        }
    }

    private func assertBadRequest(
        _ body: @autoclosure () throws -> some Any, _ what: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(try body(), what, file: file, line: line) { error in
            let e = error as? RenderError
            XCTAssertEqual(e?.kind, .badRequest, "\(what): \(error)", file: file, line: line)
            XCTAssertFalse(
                e?.message.contains("\n") ?? true, "\(what): message must be one line", file: file, line: line)
        }
    }

    // MARK: - CPU side

    func testByteCounts() {
        XCTAssertEqual(FrameContent.rgba8.byteCount(width: 61, height: 37), 61 * 37 * 4)
        XCTAssertEqual(FrameContent.scalarField(.magma).byteCount(width: 61, height: 37), 61 * 37 * 4)
        XCTAssertEqual(FrameContent.points(count: 10).byteCount(width: 61, height: 37), 320)
        XCTAssertEqual(FrameContent.points(count: FrameContent.maxPointCount).byteCount(width: 1, height: 1), 1 << 27)
        // Impossible sizes saturate instead of trapping.
        XCTAssertEqual(FrameContent.rgba8.byteCount(width: Int.max / 2, height: 3), Int.max)
        XCTAssertEqual(FrameContent.points(count: Int.max).byteCount(width: 1, height: 1), Int.max)
    }

    /// The tables against matplotlib's published colours (#440154 … #21918c … #fde725 for viridis), and the index
    /// rule: NaN → entry 0, clamping, round to nearest with ties up.
    func testColormapReference() {
        func rgba(_ c: (UInt8, UInt8, UInt8, UInt8)) -> [UInt8] { [c.0, c.1, c.2, c.3] }
        XCTAssertEqual(rgba(Colormap.viridis.rgba8(0)), [0x44, 0x01, 0x54, 255])
        XCTAssertEqual(rgba(Colormap.viridis.rgba8(0.5)), [0x21, 0x91, 0x8C, 255])
        XCTAssertEqual(rgba(Colormap.viridis.rgba8(1)), [0xFD, 0xE7, 0x25, 255])
        XCTAssertEqual(rgba(Colormap.magma.rgba8(0)), [0, 0, 4, 255])
        XCTAssertEqual(rgba(Colormap.magma.rgba8(1)), [252, 253, 191, 255])
        XCTAssertEqual(rgba(Colormap.gray.rgba8(0.5)), [128, 128, 128, 255])
        for map in Colormap.allCases {
            XCTAssertEqual(map.packedTable.count, 256)
            XCTAssertEqual(rgba(map.rgba8(.nan)), rgba(map.rgba8(0)), "\(map): NaN maps like 0")
            XCTAssertEqual(rgba(map.rgba8(-0.5)), rgba(map.rgba8(0)), "\(map): below 0 clamps")
            XCTAssertEqual(rgba(map.rgba8(1.7)), rgba(map.rgba8(1)), "\(map): above 1 clamps")
            XCTAssertEqual(rgba(map.rgba8(.infinity)), rgba(map.rgba8(1)))
            XCTAssertEqual(rgba(map.rgba8(-.infinity)), rgba(map.rgba8(0)))
        }
        XCTAssertEqual(Colormap.tableIndex(0.5 / 255), 1, "ties round up")
        XCTAssertEqual(Colormap.tableIndex(0.49 / 255), 0)
        XCTAssertEqual(Colormap.tableIndex(254.6 / 255), 255)
        XCTAssertEqual(Colormap.allCases.map(\.rawValue), ["viridis", "magma", "gray"])
    }

    // MARK: - f32 field

    /// width*height values: every k/255 and (k + 0.5)/255 (exact table entries and index ties), special values
    /// (−0.5, 1.7, NaN, −NaN, ±∞, −0, a subnormal), then a deterministic spread over [−0.1, 1.1].
    private func fieldValues(width: Int, height: Int, seed: UInt64) -> [Float] {
        var values: [Float] = []
        for k in 0..<256 { values += [Float(k) / 255, (Float(k) + 0.5) / 255] }
        values += [
            -0.5, 1.7, .nan, -Float.nan, .signalingNaN, .infinity, -.infinity, -0.0, .leastNonzeroMagnitude,
            -.leastNonzeroMagnitude, 1, 0, Float(1).nextDown, Float(1).nextUp,
        ]
        var state = seed | 1
        while values.count < width * height {
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            let unit = Float((state &* 0x2545_F491_4F6C_DD1D) >> 40) / Float(1 << 24)
            values.append(unit * 1.2 - 0.1)
        }
        // Rotate by the seed so two frames differ at every pixel position, including the special values.
        let shift = Int(seed % UInt64(width * height))
        return Array(values[shift...] + values[..<shift])
    }

    /// Golden test, tolerance 0: nearest table lookup with the CPU's own index rule, and RGBA8 table bytes that go
    /// through unpackUnorm4x8 → rgba8 store → NEAREST sample → UNORM target, which round-trips every byte.
    /// 61×37 is odd on purpose: the 8×8 workgroups overhang both edges. Two different frames exercise both slots;
    /// the second is read back, then slot 0 is reused for a third.
    func testGoldenScalarFieldEveryColormap() throws {
        let (w, h) = (61, 37)
        for map in Colormap.allCases {
            let r = try HeadlessRenderer(width: w, height: h, content: .scalarField(map), framesInFlight: 2)
            XCTAssertEqual(r.content, .scalarField(map))
            let first = fieldValues(width: w, height: h, seed: 0)
            let second = fieldValues(width: w, height: h, seed: 977)
            try r.submitFrame(bytes: bytes(of: first), tag: 1)
            try r.submitFrame(bytes: bytes(of: second), tag: 2)
            try assertMapped(try r.readBackLastFrame(), values: second, map: map, width: w)
            try r.submitFrame(bytes: bytes(of: first), tag: 3)
            try assertMapped(try r.readBackLastFrame(), values: first, map: map, width: w)
            XCTAssertEqual(try r.finish().map(\.tag), [1, 2, 3])
        }
    }

    private func assertMapped(
        _ out: [UInt8], values: [Float], map: Colormap, width: Int, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        XCTAssertEqual(out.count, values.count * 4, file: file, line: line)
        guard out.count == values.count * 4 else { return }
        var mismatches = 0
        for (i, v) in values.enumerated() {
            let want = map.rgba8(v)
            let got = (out[4 * i], out[4 * i + 1], out[4 * i + 2], out[4 * i + 3])
            if got != want {
                if mismatches < 5 {
                    XCTFail(
                        "\(map): pixel \(i % width),\(i / width) value \(v) "
                            + "(bits 0x\(String(v.bitPattern, radix: 16))): got \(got), want \(want)",
                        file: file, line: line)
                }
                mismatches += 1
            }
        }
        XCTAssertEqual(mismatches, 0, "\(map): mismatching pixels", file: file, line: line)
    }

    // MARK: - Points

    private struct TestPoint {
        var x: Float, y: Float, z: Float = 0, size: Float, r: Float, g: Float, b: Float, a: Float
        var floats: [Float] { [x, y, z, size, r, g, b, a] }
    }

    /// Clip-space coordinate of a position in pixels (0 = left / top edge).
    private func clip(_ pixels: Float, _ extent: Int) -> Float { pixels / Float(extent) * 2 - 1 }

    /// CPU reference: pixel centres strictly inside each square (the test keeps every edge on a pixel boundary, so
    /// no centre lies on an edge), blended in array order over opaque black, with the renderer's blend equation.
    private func reference(_ points: [TestPoint], width: Int, height: Int) -> [[Float]] {
        var image = [[Float]](repeating: [0, 0, 0, 1], count: width * height)
        for p in points where p.x.isFinite && p.y.isFinite && p.size.isFinite && p.size > 0 {
            let cx = (p.x + 1) / 2 * Float(width)
            let cy = (p.y + 1) / 2 * Float(height)
            for py in 0..<height {
                for px in 0..<width {
                    let (fx, fy) = (Float(px) + 0.5, Float(py) + 0.5)
                    guard abs(fx - cx) < p.size / 2, abs(fy - cy) < p.size / 2 else { continue }
                    let dst = image[py * width + px]
                    let src = [p.r, p.g, p.b].map { min(max($0, 0), 1) }
                    let a = min(max(p.a, 0), 1)
                    image[py * width + px] = [
                        src[0] * a + dst[0] * (1 - a), src[1] * a + dst[1] * (1 - a), src[2] * a + dst[2] * (1 - a),
                        a + dst[3] * (1 - a),
                    ]
                }
            }
        }
        return image
    }

    /// Golden test on 64×48, tolerance ±2 per channel (blending in 8-bit UNORM may round either way; opaque and
    /// background pixels come out exact in practice). Covers: an opaque square on a pixel-corner centre, a
    /// half-transparent square overlapping it (blended), an odd size on a pixel centre, a square partly off-screen
    /// (clipped), and points that must draw nothing (size 0, negative size, NaN x, infinite y, NaN size) placed where
    /// they would otherwise be visible. Every pixel is compared with the CPU reference, and key pixels are spelled
    /// out. The first frame (different points) fills slot 0 so the third, read-back frame proves the clear.
    func testGoldenPoints() throws {
        let (w, h) = (64, 48)
        let points: [TestPoint] = [
            // A: opaque red, 8 px, centred on the corner (16, 12): covers x 12...19, y 8...15 (y counted from the top).
            TestPoint(x: clip(16, w), y: clip(12, h), size: 8, r: 1, g: 0, b: 0, a: 1),
            // B: half-transparent green, 6 px, centred on (20, 14): x 17...22, y 11...16; over A at x 17...19,
            // y 11...15.
            TestPoint(x: clip(20, w), y: clip(14, h), size: 6, r: 0, g: 1, b: 0, a: 0.5),
            // C: opaque blue, 10 px, centred on (2, 45): x −3...6 and y 40...49, clipped to x 0...6, y 40...47.
            TestPoint(x: clip(2, w), y: clip(45, h), size: 10, r: 0, g: 0, b: 1, a: 1),
            // D: white, 5 px, centred on the pixel centre (40.5, 30.5): x 38...42, y 28...32. z is ignored.
            TestPoint(x: clip(40.5, w), y: clip(30.5, h), z: -7, size: 5, r: 1, g: 1, b: 1, a: 1),
            // Nothing: size 0, negative size, NaN x, infinite y, NaN size (all bright, all where the image is black).
            TestPoint(x: clip(50, w), y: clip(10, h), size: 0, r: 1, g: 1, b: 1, a: 1),
            TestPoint(x: clip(50, w), y: clip(20, h), size: -3, r: 1, g: 1, b: 1, a: 1),
            TestPoint(x: .nan, y: clip(10, h), size: 6, r: 1, g: 1, b: 1, a: 1),
            TestPoint(x: clip(30, w), y: .infinity, size: 6, r: 1, g: 1, b: 1, a: 1),
            TestPoint(x: clip(56, w), y: clip(40, h), size: .nan, r: 1, g: 1, b: 1, a: 1),
        ]
        let r = try HeadlessRenderer(width: w, height: h, content: .points(count: points.count), framesInFlight: 2)
        XCTAssertEqual(r.content, .points(count: points.count))

        // Frame 1: the same points shifted, so stale pixels would show if slot 0's target were not cleared.
        let shifted = points.map { p -> TestPoint in
            var q = p
            q.x += 0.3
            return q
        }
        try r.submitFrame(bytes: bytes(of: shifted.flatMap(\.floats)), tag: 1)
        try r.submitFrame(bytes: bytes(of: points.flatMap(\.floats)), tag: 2)
        try r.submitFrame(bytes: bytes(of: points.flatMap(\.floats)), tag: 3)
        let out = try r.readBackLastFrame()
        XCTAssertEqual(out.count, w * h * 4)
        guard out.count == w * h * 4 else { return }

        func pixel(_ x: Int, _ y: Int) -> [Int] { (0..<4).map { Int(out[(y * w + x) * 4 + $0]) } }
        func assertPixel(_ x: Int, _ y: Int, _ want: [Int], _ what: String, line: UInt = #line) {
            let got = pixel(x, y)
            XCTAssertTrue(
                zip(got, want).allSatisfy { abs($0 - $1) <= 2 }, "\(what) at \(x),\(y): got \(got), want \(want)",
                line: line)
        }
        assertPixel(12, 8, [255, 0, 0, 255], "A top-left inside")
        assertPixel(15, 13, [255, 0, 0, 255], "A inside, outside B")
        assertPixel(11, 8, [0, 0, 0, 255], "left of A")
        assertPixel(12, 7, [0, 0, 0, 255], "above A")
        assertPixel(18, 12, [128, 128, 0, 255], "B blended over A")
        assertPixel(21, 16, [0, 128, 0, 255], "B over black")
        assertPixel(23, 14, [0, 0, 0, 255], "right of B")
        assertPixel(0, 47, [0, 0, 255, 255], "C clipped corner")
        assertPixel(6, 40, [0, 0, 255, 255], "C inside")
        assertPixel(7, 40, [0, 0, 0, 255], "right of C")
        assertPixel(6, 39, [0, 0, 0, 255], "above C")
        assertPixel(40, 30, [255, 255, 255, 255], "D centre")
        assertPixel(38, 28, [255, 255, 255, 255], "D top-left")
        assertPixel(42, 32, [255, 255, 255, 255], "D bottom-right")
        assertPixel(37, 30, [0, 0, 0, 255], "left of D")
        assertPixel(43, 30, [0, 0, 0, 255], "right of D")
        assertPixel(40, 27, [0, 0, 0, 255], "above D")
        assertPixel(40, 33, [0, 0, 0, 255], "below D")
        assertPixel(50, 10, [0, 0, 0, 255], "size 0 draws nothing")
        assertPixel(50, 20, [0, 0, 0, 255], "negative size draws nothing")
        assertPixel(56, 40, [0, 0, 0, 255], "NaN size draws nothing")

        let expected = reference(points, width: w, height: h)
        var mismatches = 0
        for y in 0..<h {
            for x in 0..<w {
                let want = expected[y * w + x].map { Int(($0 * 255).rounded()) }
                let got = pixel(x, y)
                if !zip(got, want).allSatisfy({ abs($0 - $1) <= 2 }) {
                    if mismatches < 5 { XCTFail("pixel \(x),\(y): got \(got), want \(want) ±2") }
                    mismatches += 1
                }
            }
        }
        XCTAssertEqual(mismatches, 0, "pixels off the CPU reference by more than 2")
        XCTAssertEqual(try r.finish().map(\.tag), [1, 2, 3])
    }

    // MARK: - Rejections

    func testWrongByteCountsAreBadRequest() throws {
        let field = try HeadlessRenderer(width: 8, height: 4, content: .scalarField(.gray), framesInFlight: 1)
        for count in [0, 8 * 4 * 4 - 1, 8 * 4 * 4 + 4, 8 * 4] {
            assertBadRequest(
                try field.submitFrame(bytes: [UInt8](repeating: 0, count: count), tag: 0), "field \(count)")
        }
        let points = try HeadlessRenderer(width: 8, height: 4, content: .points(count: 3), framesInFlight: 1)
        for count in [0, 3 * 32 - 1, 3 * 32 + 32, 8 * 4 * 4] {
            assertBadRequest(
                try points.submitFrame(bytes: [UInt8](repeating: 0, count: count), tag: 0), "points \(count)")
        }
        // A rejected request leaves the renderer usable: a gray field of 1.0 reads back white.
        try field.submitFrame(bytes: bytes(of: [Float](repeating: 1, count: 8 * 4)), tag: 1)
        XCTAssertEqual(try field.readBackLastFrame(), [UInt8](repeating: 255, count: 8 * 4 * 4))
        // And three all-zero points (size 0) leave the target black.
        try points.submitFrame(bytes: [UInt8](repeating: 0, count: 3 * 32), tag: 1)
        let black = [[UInt8]](repeating: [0, 0, 0, 255], count: 8 * 4).flatMap { $0 }
        XCTAssertEqual(try points.readBackLastFrame(), black)
    }

    func testBadPointCountsAreBadRequest() {
        for count in [0, -1, FrameContent.maxPointCount + 1] {
            assertBadRequest(
                try HeadlessRenderer(width: 8, height: 4, content: .points(count: count)), "point count \(count)")
        }
    }

    func testDefaultContentIsRGBA8() throws {
        let r = try HeadlessRenderer(width: 4, height: 4, framesInFlight: 1)
        XCTAssertEqual(r.content, .rgba8)
    }
}
