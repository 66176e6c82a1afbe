import EngineTestSupport
import Foundation
import XCTest

@testable import KernelRuntime

/// wasmtime's compile cache with a real engine and a folder of its own: a miss writes an entry, the
/// next engine loads it; corrupt, truncated and stale entries are detected, recompiled and
/// rewritten, and the kernel still computes the right frames.
final class CompileCacheTests: XCTestCase {
    private var directory = ""
    private let kernelPath = gallery("mandelbrot.wasm")

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "framepipe-cache-test-\(UUID().uuidString)"
        _ = try TestEngines.wasmtimeLibrary()  // skips (or fails, where required) without wasmtime
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func engine(meterFuel: Bool = false) throws -> WasmtimeEngine {
        try XCTUnwrap(try EngineUnderTest.wasmtime.make(meterFuel: meterFuel, cacheDirectory: directory) as? WasmtimeEngine)
    }

    /// Loads the kernel on `engine` and says where its module came from and what the cache said.
    private func load(on engine: WasmtimeEngine, file: StaticString = #filePath, line: UInt = #line) throws -> (
        kernel: any CompiledKernel, origin: WasmtimeModule.Origin?, outcome: CompileCache.Outcome?
    ) {
        let kernel = try engine.load(path: kernelPath)
        let module = (kernel as? ABIKernel)?.module as? WasmtimeModule
        XCTAssertNotNil(module, "a wasmtime module", file: file, line: line)
        return (kernel, module?.compiledFrom, engine.cache?.outcomeOfLastLookup)
    }

    /// The one entry in the folder (and no temporary files beside it).
    private func entry(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
        XCTAssertEqual(names.count, 1, "one entry, nothing else: \(names)", file: file, line: line)
        let name = try XCTUnwrap(names.first, file: file, line: line)
        XCTAssertTrue(name.hasSuffix(".cwasm"), name, file: file, line: line)
        return directory + "/" + name
    }

    /// Magic, header line and payload of an entry.
    private func parts(of path: String) throws -> (header: [String], payloadStart: Int, bytes: [UInt8]) {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let magic = Array(CompileCache.magic.utf8)
        XCTAssertTrue(bytes.starts(with: magic), "entry starts with the magic")
        let newline = try XCTUnwrap(bytes[magic.count...].firstIndex(of: 0x0A))
        let header = String(decoding: bytes[magic.count..<newline], as: UTF8.self).split(separator: " ").map(String.init)
        return (header, newline + 1, bytes)
    }

    private func write(_ bytes: [UInt8], to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// The kernel's frames 0..<3 at 21×13 (WasmKit's are the reference).
    private func frames(_ kernel: any CompiledKernel) throws -> [[UInt8]] {
        let instance = try kernel.instantiate(width: 21, height: 13, limits: KernelLimits(), host: .headless)
        return try (Int32(0)..<3).map { frame in
            try instance.run(frame: frame, time: Double(frame) / 60, units: 0..<instance.unitCount)
            return try instance.outputBytes()
        }
    }

    private lazy var expectedFrames: [[UInt8]] = (try? frames(WasmKitEngine().load(path: kernelPath))) ?? []

    func testFirstCompileMissesAndWritesAnEntryTheNextEngineLoads() throws {
        let first = try load(on: try engine())
        XCTAssertEqual(first.outcome, .miss)
        XCTAssertEqual(first.origin, .source)
        let path = try entry()
        let (header, payloadStart, bytes) = try parts(of: path)
        let key = CompileCache.key(
            module: [UInt8](try Data(contentsOf: URL(fileURLWithPath: kernelPath))), engineVersion: try engine().library.version,
            configuration: try engine().configuration)
        XCTAssertEqual(URL(fileURLWithPath: path).lastPathComponent, key.digest + ".cwasm")
        XCTAssertEqual(header.count, 5, "\(header)")
        XCTAssertEqual(Array(header.prefix(3)), [key.digest, key.engineVersion, key.configuration])
        XCTAssertEqual(Int(header[3]), bytes.count - payloadStart, "payload length")
        XCTAssertEqual(header[4], SHA256.hex(bytes[payloadStart...]), "payload checksum")
        XCTAssertEqual(try frames(first.kernel), expectedFrames, "compiled")

        let second = try load(on: try engine())
        XCTAssertEqual(second.outcome, .hit)
        XCTAssertEqual(second.origin, .cache)
        XCTAssertEqual(try frames(second.kernel), expectedFrames, "loaded from the cache")
        XCTAssertEqual(try entry(), path)

        // Fuel metering changes the machine code: another key, another entry.
        let metered = try load(on: try engine(meterFuel: true))
        XCTAssertEqual(metered.outcome, .miss)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory).count, 2)
        XCTAssertEqual(try frames(metered.kernel), expectedFrames, "fuel-metered")
    }

    /// A flipped payload byte fails the checksum: recompiled (not loaded: wasmtime would run it as
    /// trusted machine code), rewritten, and the next engine hits again.
    func testCorruptEntryIsRecompiledAndRewritten() throws {
        _ = try load(on: try engine())
        let path = try entry()
        let (_, payloadStart, original) = try parts(of: path)
        for offset in [payloadStart, payloadStart + (original.count - payloadStart) / 2, original.count - 1] {
            var corrupt = original
            corrupt[offset] ^= 0x40
            try write(corrupt, to: path)
            let reloaded = try load(on: try engine())
            XCTAssertEqual(reloaded.outcome, .corrupt, "byte \(offset) flipped")
            XCTAssertEqual(reloaded.origin, .source, "byte \(offset) flipped")
            XCTAssertEqual(try frames(reloaded.kernel), expectedFrames, "byte \(offset) flipped")
            XCTAssertNotEqual([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))), corrupt, "rewritten")
            let again = try load(on: try engine())
            XCTAssertEqual(again.outcome, .hit, "byte \(offset) flipped, then rewritten")
            XCTAssertEqual(again.origin, .cache)
            XCTAssertEqual(try frames(again.kernel), expectedFrames)
        }
    }

    /// Cut anywhere (in the magic, in the header, in the payload) or emptied: corrupt, recompiled.
    func testTruncatedEntryIsCorrupt() throws {
        _ = try load(on: try engine())
        let path = try entry()
        let (_, payloadStart, original) = try parts(of: path)
        for length in [0, 3, CompileCache.magic.utf8.count, payloadStart - 10, payloadStart, payloadStart + 100, original.count - 1] {
            try write(Array(original.prefix(length)), to: path)
            let reloaded = try load(on: try engine())
            XCTAssertEqual(reloaded.outcome, .corrupt, "cut to \(length) of \(original.count) bytes")
            XCTAssertEqual(reloaded.origin, .source, "cut to \(length)")
            XCTAssertEqual(try frames(reloaded.kernel), expectedFrames, "cut to \(length)")
            XCTAssertEqual(try load(on: try engine()).outcome, .hit, "cut to \(length), then rewritten")
        }
    }

    /// The same file name with another wasmtime version, configuration or module digest in its
    /// header (a hash collision, or an entry written by another build): stale, recompiled, rewritten.
    func testStaleEntryIsRecompiled() throws {
        _ = try load(on: try engine())
        let path = try entry()
        let (header, payloadStart, original) = try parts(of: path)
        let magic = Array(CompileCache.magic.utf8)
        for (field, value) in [(1, "49"), (2, header[2].replacingOccurrences(of: "fuel=0", with: "fuel=1")), (0, String(repeating: "0", count: 64))] {
            var changed = header
            changed[field] = value
            XCTAssertNotEqual(changed, header)
            try write(magic + Array((changed.joined(separator: " ") + "\n").utf8) + original[payloadStart...], to: path)
            let reloaded = try load(on: try engine())
            XCTAssertEqual(reloaded.outcome, .stale, "header field \(field) = \(value)")
            XCTAssertEqual(reloaded.origin, .source, "header field \(field)")
            XCTAssertEqual(try frames(reloaded.kernel), expectedFrames, "header field \(field)")
            XCTAssertEqual(try parts(of: path).header, header, "rewritten with this engine's header")
            XCTAssertEqual(try load(on: try engine()).outcome, .hit)
        }
        // A header line that is not five fields: corrupt.
        try write(magic + Array("not a header\n".utf8) + original[payloadStart...], to: path)
        XCTAssertEqual(try load(on: try engine()).outcome, .corrupt)
    }

    /// An entry whose checksum is right but whose payload wasmtime refuses to deserialize (not a
    /// serialized module at all) is compiled from source and replaced.
    func testPayloadWasmtimeRefusesIsRecompiled() throws {
        _ = try load(on: try engine())
        let path = try entry()
        let (header, _, _) = try parts(of: path)
        let garbage = Array("this is no serialized wasmtime module".utf8)
        var forged = header
        forged[3] = "\(garbage.count)"
        forged[4] = SHA256.hex(garbage)
        try write(Array(CompileCache.magic.utf8) + Array((forged.joined(separator: " ") + "\n").utf8) + garbage, to: path)
        let reloaded = try load(on: try engine())
        XCTAssertEqual(reloaded.outcome, .hit, "the entry itself checks out")
        XCTAssertEqual(reloaded.origin, .source, "but wasmtime refused it, so it was compiled")
        XCTAssertEqual(try frames(reloaded.kernel), expectedFrames)
        let again = try load(on: try engine())
        XCTAssertEqual(again.origin, .cache, "the refused entry was replaced")
    }

    /// A cache folder that cannot be made only costs a compile.
    func testUnwritableCacheFolderOnlyCostsACompile() throws {
        try write(Array("a file, not a folder".utf8), to: directory)
        let first = try load(on: try engine())
        XCTAssertEqual(first.outcome, .miss)
        XCTAssertEqual(first.origin, .source)
        XCTAssertEqual(try frames(first.kernel), expectedFrames)
        XCTAssertEqual(try load(on: try engine()).outcome, .miss)
    }
}
