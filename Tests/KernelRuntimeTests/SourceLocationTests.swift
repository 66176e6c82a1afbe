import EngineTestSupport
import Foundation
import XCTest

@testable import KernelRuntime

/// Backtraces with `file:line` (docs/kernel-abi.md, "Backtraces"): C kernels built here with and without
/// -g, trapped on both engines, and the DWARF line-table reader (WasmSourceMap) on real and broken tables.
final class SourceLocationTests: XCTestCase {
    static let clang = "/opt/swift/usr/bin/clang"

    /// A kernel whose `shade` traps (`__builtin_trap()` on the line marked TRAP; unconditional, as
    /// Cranelift reports a trap under an `if` at its condition) and whose `recurse` recurses without
    /// end on frame 5.
    static let trapperSource = """
        #include "framepipe.h"

        static uint8_t *g_out;

        FP_EXPORT(fp_abi_version) int32_t fp_abi_version(void) { return FP_ABI_VERSION; }
        FP_EXPORT(fp_format) int32_t fp_format(void) { return FP_FORMAT_RGBA8; }
        FP_EXPORT(fp_init) int32_t fp_init(int32_t width, int32_t height) {
            g_out = (uint8_t *)fp_heap_reserve((uint64_t)width * (uint64_t)height * 4u);
            fp_log("ready", 5); /* an imported function: defined ones are numbered after it */
            return g_out ? 0 : 1;
        }
        FP_EXPORT(fp_output) int32_t fp_output(void) { return fp_offset(g_out); }

        __attribute__((noinline)) static void shade(int32_t frame) { /* SHADE */
            g_out[0] = (uint8_t)frame;
            __builtin_trap(); /* TRAP */
        }

        __attribute__((noinline)) static int32_t recurse(int32_t n) { /* RECURSE */
            volatile int32_t slot[16];
            slot[n & 15] = n;
            if (n == 0) return slot[0];
            return recurse(n - 1) + slot[(n + 1) & 15]; /* CALL */
        }

        FP_EXPORT(fp_frame) int32_t fp_frame(int32_t frame, double time, int32_t begin, int32_t end) { /* FRAME */
            (void)time; (void)begin; (void)end;
            if (frame == 5) return recurse(0x7fffffff);
            shade(frame); /* SHADE CALL */
            return 0;
        }
        """

    /// The 1-based line of `trapperSource` holding `marker`.
    static func line(_ marker: String) -> Int {
        let lines = trapperSource.split(separator: "\n", omittingEmptySubsequences: false)
        return (lines.firstIndex { $0.contains("/* \(marker) */") } ?? -1) + 1
    }

    /// `trapperSource` built as `trapper.wasm` with `flags` into a fresh folder (names kept: no --strip-all).
    static func build(_ flags: [String], name: String = "trapper") throws -> String {
        guard FileManager.default.isExecutableFile(atPath: clang) else {
            let message = "\(clang) not found: these tests build C kernels from source (the Swift toolchain ships clang and wasm-ld)"
            if ProcessInfo.processInfo.environment["CI"].map({ !$0.isEmpty && $0 != "0" && $0 != "false" }) ?? false {
                XCTFail(message)
            }
            throw XCTSkip(message)
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("source-location-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let source = directory.appendingPathComponent("\(name).c")
        try Data(trapperSource.utf8).write(to: source)
        let output = directory.appendingPathComponent("\(name).wasm")
        try runBuildTool(
            clang,
            ["--target=wasm32", "-mcpu=mvp", "-mbulk-memory", "-O1", "-nostdlib", "-Wl,--no-entry", "-Wl,--stack-first"]
                + flags + ["-I", repositoryRoot.appendingPathComponent("assets/sdk/c").path, "-o", output.path, source.path])
        return output.path
    }

    static let debugBuild = Result { try build(["-g"]) }

    /// The one-line message a frame of `kernel` fails with on `engine`.
    func failure(_ kernel: String, frame: Int32, on engine: EngineUnderTest) throws -> String {
        let instance = try instantiate(kernel, on: engine.make(), width: 8, height: 8)
        do {
            try instance.run(frame: frame, time: 0, units: 0..<8)
        } catch {
            return error.message
        }
        XCTFail("\(engine): frame \(frame) did not fail")
        return ""
    }

    func testATrapNamesTheFunctionAndItsSourceLineOnBothEngines() throws {
        let kernel = try Self.debugBuild.get()
        try TestEngines.forEach { engine in
            let message = try failure(kernel, frame: 3, on: engine)
            XCTAssertTrue(message.contains("trapped: unreachable; backtrace: shade (trapper.c:"), "\(engine): \(message)")
            XCTAssertFalse(message.contains("\n"), "\(engine): \(message)")
            switch engine {
            case .wasmtime:
                // The exact instructions: the trap in shade, the call in fp_frame.
                XCTAssertTrue(
                    message.contains(
                        "backtrace: shade (trapper.c:\(Self.line("TRAP"))) ← fp_frame (trapper.c:\(Self.line("SHADE CALL")))"),
                    "\(engine): \(message)")
            case .wasmkit:
                // No module offsets: where each function starts (its first row: the opening line, or
                // the first statement's where there is no prologue).
                let map = try XCTUnwrap(WasmSourceMap(module: Array(try Data(contentsOf: URL(fileURLWithPath: kernel)))))
                let shade = try XCTUnwrap(map.functionIndex(named: "shade").flatMap(map.location(functionIndex:)))
                let frame = try XCTUnwrap(map.functionIndex(named: "fp_frame").flatMap(map.location(functionIndex:)))
                XCTAssertTrue(message.contains("backtrace: shade (\(shade)) ← fp_frame (\(frame))"), "\(engine): \(message)")
            }
        }
    }

    func testWithoutDebugInfoAFrameHasItsNameOnly() throws {
        let kernel = try Self.build([], name: "nodebug")
        XCTAssertFalse(WasmSourceMap.hasDebugLine(Array(try Data(contentsOf: URL(fileURLWithPath: kernel)))))
        try TestEngines.forEach { engine in
            let message = try failure(kernel, frame: 3, on: engine)
            XCTAssertTrue(message.hasSuffix("trapped: unreachable; backtrace: shade ← fp_frame"), "\(engine): \(message)")
        }
    }

    func testADeepRecursionWithDebugInfoIsOneShortStackOverflowLine() throws {
        let kernel = try Self.debugBuild.get()
        try TestEngines.forEach { engine in
            let message = try failure(kernel, frame: 5, on: engine)
            XCTAssertTrue(message.contains("trapped: "), "\(engine): \(message)")
            XCTAssertTrue(message.contains("(a stack overflow: deep recursion)"), "\(engine): \(message)")
            XCTAssertTrue(message.contains("recurse (trapper.c:"), "\(engine): \(message)")
            XCTAssertTrue(message.contains(") ×"), "\(engine): the recursion collapsed: \(message)")
            if engine == .wasmkit {
                XCTAssertTrue(message.hasSuffix("fp_frame (trapper.c:\(Self.line("FRAME")))"), "\(engine): \(message)")
            }  // wasmtime keeps only the innermost 20 frames (ABIInstance.isStackOverflow): fp_frame is not among them
            XCTAssertLessThan(message.count, 600, "\(engine): \(message)")
            XCTAssertFalse(message.contains("\n"), "\(engine): \(message)")
        }
    }

    func testLocatedFramesCollapseByFunctionAndStayBounded() {
        // A recursion calls itself from one line and traps on another: one run all the same.
        let recursion = [(name: "recurse", location: "k.c:12")] + Array(repeating: (name: "recurse", location: "k.c:14"), count: 239)
            + [(name: "fp_frame", location: "k.c:20")]
        XCTAssertEqual(
            KernelText.backtrace(recursion.map { (name: $0.name, location: Optional($0.location)) }),
            "recurse (k.c:12) ×240 ← fp_frame (k.c:20)")
        XCTAssertEqual(
            KernelText.backtrace([(name: "shade", location: "b.c:3"), (name: "helper", location: nil)]), "shade (b.c:3) ← helper")
        let distinct = (0..<50).map { (name: "f\($0)", location: Optional("k.c:\($0)")) }
        XCTAssertEqual(KernelText.backtrace(distinct).components(separatedBy: " ← ").count, 9, "6 + the cut + 2")
    }

    /// wasmtime keeps the innermost 20 frames: a shadow-stack overflow is judged on those, on both engines.
    func testAShadowStackOverflowIsJudgedOnTheInnermostTwentyFrames() {
        func frames(_ names: [String]) -> [BacktraceFrame] { names.map { BacktraceFrame(functionIndex: nil, name: $0) } }
        let oob = TrapReason.memoryOutOfBounds
        XCTAssertTrue(ABIInstance.isStackOverflow(oob, frames(Array(repeating: "recurse", count: 20))))
        XCTAssertFalse(ABIInstance.isStackOverflow(oob, frames(Array(repeating: "recurse", count: 19))))
        XCTAssertTrue(ABIInstance.isStackOverflow(oob, frames((0..<30).map { $0 % 2 == 0 ? "even" : "odd" })), "mutual recursion")
        XCTAssertFalse(ABIInstance.isStackOverflow(oob, frames((0..<20).map { "f\($0)" } + Array(repeating: "r", count: 80))))
        XCTAssertFalse(ABIInstance.isStackOverflow(.unreachable, frames(Array(repeating: "recurse", count: 100))))
        XCTAssertTrue(ABIInstance.isStackOverflow(.callStackExhausted, []))
    }

    // MARK: The line-table reader

    /// The source map of a -g build with DWARF `version`.
    func sourceMap(dwarf version: Int) throws -> (WasmSourceMap, [UInt8]) {
        let path = version == 4 ? try Self.debugBuild.get() : try Self.build(["-gdwarf-\(version)"], name: "trapper")
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let map = try XCTUnwrap(WasmSourceMap(module: bytes), "DWARF \(version)")
        return (map, bytes)
    }

    func testTheReaderFindsEachFunctionsStartAndEachInstructionsLine() throws {
        for version in [4, 5] {
            let (map, _) = try sourceMap(dwarf: version)
            let shade = try XCTUnwrap(map.functionIndex(named: "shade"), "DWARF \(version)")
            let frame = try XCTUnwrap(map.functionIndex(named: "fp_frame"), "DWARF \(version)")
            XCTAssertEqual(map.importedFunctions, 1, "fp.log")
            XCTAssertEqual(map.functionIndex(named: "fp_log"), 0, "the import's name")
            // A function starts at its opening line, or at its first statement where it has no prologue.
            let shadeStart = try XCTUnwrap(map.location(functionIndex: shade))
            XCTAssertEqual(shadeStart.file, "trapper.c")
            XCTAssertTrue([Self.line("SHADE"), Self.line("SHADE") + 1].contains(shadeStart.line), "DWARF \(version): \(shadeStart)")
            XCTAssertEqual(map.location(functionIndex: frame), SourceLocation(file: "trapper.c", line: Self.line("FRAME")))
            XCTAssertEqual(SourceLocation(file: "trapper.c", line: 7).description, "trapper.c:7")
            XCTAssertNil(map.location(functionIndex: 100_000))
            // Every instruction of shade's body lies within shade's lines, and one is the trap's.
            let body = map.bodies[Int(shade) - map.importedFunctions]
            let lines = Set(body.compactMap { map.location(moduleOffset: $0) }.map(\.line))
            XCTAssertTrue(lines.contains(Self.line("TRAP")), "DWARF \(version): \(lines.sorted())")
            XCTAssertTrue(lines.allSatisfy { (Self.line("SHADE")...Self.line("TRAP") + 1).contains($0) }, "DWARF \(version): \(lines.sorted())")
            XCTAssertNil(map.location(moduleOffset: 0), "before the code section")
            XCTAssertNil(map.location(moduleOffset: Int.max))
        }
    }

    func testACutOrGarbledLineTableGivesNoSourceMap() throws {
        let (_, bytes) = try sourceMap(dwarf: 5)
        let table = try XCTUnwrap(Self.section(".debug_line", of: bytes))
        XCTAssertNotNil(WasmSourceMap(module: Self.replacing(".debug_line", in: bytes, with: table)), "the rebuilt module reads")
        for length in 1..<table.count {
            XCTAssertNil(
                WasmSourceMap(module: Self.replacing(".debug_line", in: bytes, with: Array(table.prefix(length)))),
                "cut to \(length) bytes")
        }
        var generator = SplitMix(seed: 42)
        for round in 0..<200 {
            var garbled = table
            for _ in 0..<(1 + round % 8) {
                garbled[Int(generator.next() % UInt64(garbled.count))] = UInt8(truncatingIfNeeded: generator.next())
            }
            // Garbled bytes may still form a table; what matters is no crash and no hang.
            _ = WasmSourceMap(module: Self.replacing(".debug_line", in: bytes, with: garbled))
            let noise = (0..<(Int(generator.next() % 300))).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            XCTAssertNil(DebugLine.parse(noise + [0xFF, 0xFF, 0xFF, 0xF0], strings: DebugStrings()), "round \(round)")
        }
    }

    func testHandMadeBrokenUnitsAreRefused() {
        // A DWARF 4 unit: version, header length, then min_inst 1, max_ops 1, is_stmt 1, line_base -5,
        // line_range (given), opcode_base 13 with its 12 lengths, no directories, one file "k.c".
        func unit(version: UInt16 = 4, lineRange: UInt8 = 14, program: [UInt8]) -> [UInt8] {
            let fields: [UInt8] = [1, 1, 1, 0xFB, lineRange, 13, 0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1] + [0] + Array("k.c".utf8) + [0, 0, 0, 0, 0]
            var body = withUnsafeBytes(of: version.littleEndian, Array.init)
            body += withUnsafeBytes(of: UInt32(fields.count).littleEndian, Array.init) + fields + program
            return withUnsafeBytes(of: UInt32(body.count).littleEndian, Array.init) + body
        }
        let setAddress: [UInt8] = [0, 5, 2, 0x10, 0, 0, 0]
        let endSequence: [UInt8] = [0, 1, 1]
        // set_address 0x10, advance_line +9 (line 10), copy, advance_pc 4, end_sequence.
        let good = unit(program: setAddress + [3, 9, 1, 2, 4] + endSequence)
        let sequences = DebugLine.parse(good, strings: DebugStrings())
        XCTAssertEqual(sequences?.count, 1)
        XCTAssertEqual(sequences?.first?.rows, [WasmSourceMap.Row(address: 0x10, file: "k.c", line: 10)])
        XCTAssertEqual(sequences?.first?.end, 0x14)

        XCTAssertNil(DebugLine.parse(unit(lineRange: 0, program: [20]), strings: DebugStrings()), "line_range 0")
        XCTAssertNil(DebugLine.parse(unit(version: 1, program: []), strings: DebugStrings()), "version 1")
        XCTAssertNil(DebugLine.parse(unit(version: 6, program: []), strings: DebugStrings()), "version 6")
        XCTAssertNil(DebugLine.parse(unit(program: [0, 0x7F]), strings: DebugStrings()), "an extended opcode longer than the unit")
        XCTAssertNil(DebugLine.parse(unit(program: [0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]), strings: DebugStrings()))
        XCTAssertNil(DebugLine.parse(unit(program: [2, 0x80]), strings: DebugStrings()), "a cut LEB128")
        XCTAssertNil(DebugLine.parse([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 4, 0], strings: DebugStrings()), "DWARF64 past the end")
        // Huge advances wrap instead of trapping: the row is kept, its line is no line.
        let huge = unit(program: setAddress + [3, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 2, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 1] + endSequence)
        XCTAssertNotNil(DebugLine.parse(huge, strings: DebugStrings()))
        // A DWARF 5 unit whose file format uses a form this reader does not know (DW_FORM_strx1).
        var v5: [UInt8] = [1, 1, 1, 0xFB, 14, 13, 0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1]
        v5 += [1, 1, 0x08, 1] + Array("/d".utf8) + [0]  // directories: path as string; one: "/d"
        v5 += [1, 1, 0x25, 1, 0]  // files: path as strx1; one
        var body: [UInt8] = [5, 0, 4, 0] + withUnsafeBytes(of: UInt32(v5.count).littleEndian, Array.init) + v5
        body = withUnsafeBytes(of: UInt32(body.count).littleEndian, Array.init) + body
        XCTAssertNil(DebugLine.parse(body, strings: DebugStrings()), "an unknown form")
    }

    // MARK: Module surgery

    /// The contents of custom section `name`.
    static func section(_ name: String, of bytes: [UInt8]) -> [UInt8]? {
        var found: [UInt8]?
        ModuleLayout.forEachSection(bytes) { id, reader in
            guard id == 0, found == nil, reader.name() == name else { return }
            found = Array(bytes[reader.position..<reader.end])
        }
        return found
    }

    /// `bytes` with custom section `name`'s contents replaced by `contents`.
    static func replacing(_ name: String, in bytes: [UInt8], with contents: [UInt8]) -> [UInt8] {
        func leb(_ value: Int) -> [UInt8] {
            var value = value
            var out: [UInt8] = []
            repeat {
                var byte = UInt8(value & 0x7F)
                value >>= 7
                if value != 0 { byte |= 0x80 }
                out.append(byte)
            } while value != 0
            return out
        }
        var result = Array(bytes[0..<8])
        var reader = ByteReader(bytes, from: 8, to: bytes.count)
        while let id = reader.u8(), let size = reader.uleb().map(Int.init) {
            let start = reader.position
            var section = ByteReader(bytes, from: start, to: start + size)
            if id == 0, section.name() == name {
                let payload = leb(name.utf8.count) + Array(name.utf8) + contents
                result += [0] + leb(payload.count) + payload
            } else {
                result += [id] + leb(size) + Array(bytes[start..<start + size])
            }
            reader.position = start + size
        }
        return result
    }
}

/// A small seeded generator, so the garbage is the same on every run.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
