import XCTest

@testable import KernelRuntime

/// SHA256.swift against the FIPS 180-4 / NIST test vectors, and the padding edge cases.
final class SHA256Tests: XCTestCase {
    func testNISTVectors() {
        XCTAssertEqual(SHA256.hex([UInt8]()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(
            SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", "448 bits")
        XCTAssertEqual(
            SHA256.hex(
                Array(
                    "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"
                        .utf8)),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1", "896 bits")
        XCTAssertEqual(
            SHA256.hex([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", "one million 'a'")
    }

    /// Lengths around the 64-byte block and the 56-byte padding boundary (bytes 0, 1, 2, …), one
    /// shot and fed in uneven pieces (expected digests from Python's hashlib).
    func testBlockBoundariesAndIncrementalUpdates() {
        let expected: [Int: String] = [
            55: "463eb28e72f82e0a96c0a4cc53690c571281131f672aa229e0d45ae59b598b59",
            56: "da2ae4d6b36748f2a318f23e7ab1dfdf45acdc9d049bd80e59de82a60895f562",
            63: "29af2686fd53374a36b0846694cc342177e428d1647515f078784d69cdb9e488",
            64: "fdeab9acf3710362bd2658cdc9a29e8f9c757fcf9811603a8c447cd1d9151108",
            65: "4bfd2c8b6f1eec7a2afeb48b934ee4b2694182027e6d0fc075074f2fabb31781",
            119: "da18797ed7c3a777f0847f429724a2d8cd5138e6ed2895c3fa1a6d39d18f7ec6",
            120: "f52b23db1fbb6ded89ef42a23ce0c8922c45f25c50b568a93bf1c075420bbb7c",
        ]
        for (length, digest) in expected {
            let bytes = (0..<length).map { UInt8($0 & 255) }
            XCTAssertEqual(SHA256.hex(bytes), digest, "\(length) bytes")
            var pieces = SHA256()
            var rest = bytes[...]
            for size in [1, 7, 0, 30, 64] where !rest.isEmpty {
                pieces.update(rest.prefix(size))
                rest = rest.dropFirst(size)
            }
            pieces.update(rest)
            XCTAssertEqual(SHA256.hex(digest: pieces.finalize()), digest, "\(length) bytes in pieces")
        }
        var text = SHA256()
        text.update("ab")
        text.update("c")
        XCTAssertEqual(SHA256.hex(digest: text.finalize()), SHA256.hex(Array("abc".utf8)), "update(String)")
    }
}

/// WasmBinary.swift: what the ABI layer reads from module bytes itself.
final class WasmBinaryTests: XCTestCase {
    func testExportedFunctionNamesByIndex() throws {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: corpus("fault-trap.wasm"))))
        // Function 2 is the unexported helper `explode`; memory exports are not functions.
        XCTAssertEqual(
            WasmBinary.exportedFunctionNames(bytes),
            [0: "fp_abi_version", 1: "fp_init", 3: "fp_format", 4: "fp_output", 5: "fp_frame"])
        let points = try [UInt8](Data(contentsOf: URL(fileURLWithPath: corpus("good-points.wasm"))))
        XCTAssertEqual(WasmBinary.exportedFunctionNames(points)[3], "fp_points")
        XCTAssertEqual(WasmBinary.exportedFunctionNames(points)[6], "fp_frame")
    }

    /// Malformed bytes give what was read so far, never a crash.
    func testMalformedModulesGiveWhatWasReadSoFar() throws {
        let truncated = try [UInt8](Data(contentsOf: URL(fileURLWithPath: corpus("truncated.wasm"))))
        XCTAssertEqual(WasmBinary.exportedFunctionNames(truncated), [:])
        XCTAssertEqual(WasmBinary.exportedFunctionNames(Array("not wasm at all".utf8)), [:])
        XCTAssertEqual(WasmBinary.exportedFunctionNames([]), [:])
        let whole = try [UInt8](Data(contentsOf: URL(fileURLWithPath: corpus("fault-trap.wasm"))))
        for cut in stride(from: 0, to: whole.count, by: 7) {
            XCTAssertLessThanOrEqual(WasmBinary.exportedFunctionNames(Array(whole.prefix(cut))).count, 5, "cut at \(cut)")
        }
        // A section that claims more bytes than there are, and a LEB128 longer than 32 bits.
        let header: [UInt8] = [0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00]
        XCTAssertEqual(WasmBinary.exportedFunctionNames(header + [7, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]), [:])
        XCTAssertEqual(WasmBinary.exportedFunctionNames(header + [7, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), [:])
        // An export count far larger than the section.
        XCTAssertEqual(WasmBinary.exportedFunctionNames(header + [7, 2, 0xFF, 0x01]), [:])
    }
}
