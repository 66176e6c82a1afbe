import EngineTestSupport
import Foundation
import Synchronization
import XCTest

@testable import KernelRuntime

/// The WASI preview1 subset (WASIPreview1.swift, docs/kernel-abi.md "WASI subset") on both engines:
/// BadModules/good-wasi.wat calls each function and writes the answers into its output (its header lists
/// the slots).
final class WASITests: XCTestCase {
    /// A data directory: input.txt, a directory sub, a symlink escape → /etc; outside.txt beside it.
    static func makeDataDirectory() throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("wasi-\(UUID().uuidString)")
        let data = root.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try Data("DATA from the host".utf8).write(to: data.appendingPathComponent("input.txt"))
        try Data("secret".utf8).write(to: root.appendingPathComponent("outside.txt"))
        try FileManager.default.createSymbolicLink(atPath: data.appendingPathComponent("escape").path, withDestinationPath: "/etc")
        return data
    }

    final class Lines: Sendable {
        let lines = Mutex<[String]>([])
        var all: [String] { lines.withLock { $0 } }
        var host: KernelHost { KernelHost(log: { [self] line in lines.withLock { $0.append(line) } }, input: { _ in 0 }) }
    }

    static func slots(_ bytes: [UInt8]) -> [Int32] {
        stride(from: 0, to: bytes.count - 3, by: 4).map { offset in
            Int32(bitPattern: UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24)
        }
    }

    func testEveryFunctionAnswersAsDocumentedOnBothEngines() throws {
        let data = try Self.makeDataDirectory()
        defer { try? FileManager.default.removeItem(at: data.deletingLastPathComponent()) }
        try TestEngines.forEach { engine in
            let lines = Lines()
            var host = lines.host
            host.wasi = WASIOptions(dataDirectory: data.path, seed: 42)
            var slots: [Int32] = []
            do {
                let instance = try instantiate(corpus("good-wasi.wasm"), on: engine.make(), width: 16, height: 1, host: host)
                try instance.run(frame: 3, time: 1.5, units: 0..<1)
                slots = Self.slots(try instance.outputBytes())
            }  // the instance ends here: its unfinished stderr line is flushed
            XCTAssertEqual(slots.count, 16, "\(engine)")
            guard slots.count == 16 else { return }
            XCTAssertEqual(slots[0], 0, "\(engine): fd_write(1)")
            XCTAssertEqual(slots[1], 18, "\(engine): bytes written")
            XCTAssertEqual(slots[2], 0, "\(engine): open input.txt")
            XCTAssertEqual(slots[3], 0, "\(engine): fd_read")
            XCTAssertEqual(slots[4], 18, "\(engine): bytes read")
            XCTAssertEqual(slots[5], Int32(bitPattern: 0x4154_4144), "\(engine): 'DATA'")
            XCTAssertEqual(slots[6], 76, "\(engine): ../outside.txt is ENOTCAPABLE")
            XCTAssertEqual(slots[7], 76, "\(engine): an absolute path is ENOTCAPABLE")
            XCTAssertEqual(slots[8], 76, "\(engine): a symlink out is ENOTCAPABLE")
            XCTAssertEqual(slots[9], 76, "\(engine): O_CREAT (a write) is ENOTCAPABLE")
            XCTAssertEqual(slots[10], 31, "\(engine): reading a directory as a file is EISDIR")
            XCTAssertEqual(slots[11], 1_500_000, "\(engine): the clock reads kernel time, 1.5 s")
            XCTAssertEqual(slots[13], 0, "\(engine): fd 3 is the preopen")
            XCTAssertEqual(slots[14], 8, "\(engine): fd_write to a closed fd is EBADF")
            XCTAssertEqual(slots[15], 76, "\(engine): opening for writing is ENOTCAPABLE")
            let log = lines.all
            XCTAssertEqual(log.filter { $0 == "kernel good-wasi: wasi kernel ready" }.count, 2, "\(engine): \(log)")
            XCTAssertTrue(log.contains("kernel good-wasi: and to stderr"), "\(engine): \(log)")
        }
    }

    func testClockAndRandomAreDeterministicAndSeeded() throws {
        let data = try Self.makeDataDirectory()
        defer { try? FileManager.default.removeItem(at: data.deletingLastPathComponent()) }
        var randomBySeed: [String: Int32] = [:]
        try TestEngines.forEach { engine in
            func random(seed: UInt64, frame: Int32, firstUnit: Int = 0) throws -> Int32 {
                var host = KernelHost.headless
                host.wasi = WASIOptions(dataDirectory: data.path, seed: seed)
                let instance = try instantiate(corpus("good-wasi.wasm"), on: engine.make(), width: 16, height: 2, host: host)
                try instance.run(frame: frame, time: 0.25, units: firstUnit..<(firstUnit + 1))
                return Self.slots(try instance.withOutput(units: firstUnit..<(firstUnit + 1)) { [UInt8]($0) })[12]
            }
            let first = try random(seed: 7, frame: 1)
            XCTAssertEqual(first, try random(seed: 7, frame: 1), "\(engine): same seed, same frame, same bytes")
            XCTAssertNotEqual(first, try random(seed: 8, frame: 1), "\(engine): another seed")
            XCTAssertNotEqual(first, try random(seed: 7, frame: 2), "\(engine): another frame")
            XCTAssertNotEqual(first, try random(seed: 7, frame: 1, firstUnit: 1), "\(engine): another tile")
            if let other = randomBySeed["7/1"] {
                XCTAssertEqual(first, other, "\(engine): both engines give the same bytes")
            }
            randomBySeed["7/1"] = first
        }
    }

    func testWithoutDataNothingOpens() throws {
        try TestEngines.forEach { engine in
            let instance = try instantiate(corpus("good-wasi.wasm"), on: engine.make(), width: 16, height: 1)
            try instance.run(frame: 0, time: 0, units: 0..<1)
            let slots = Self.slots(try instance.outputBytes())
            XCTAssertEqual(slots[2], 8, "\(engine): no preopen: fd 3 is EBADF")
            XCTAssertEqual(slots[13], 8, "\(engine): fd_prestat_get(3) is EBADF")
        }
    }

    func testProcExitIsAFaultNamingTheCode() throws {
        try TestEngines.forEach { engine in
            let instance = try instantiate(corpus("wasi-exit.wasm"), on: engine.make(), width: 4, height: 4)
            XCTAssertThrowsError(try instance.run(frame: 0, time: 0, units: 0..<4)) { error in
                let message = (error as? KernelError)?.message ?? "\(error)"
                XCTAssertTrue(message.contains("called proc_exit(3)"), "\(engine): \(message)")
                XCTAssertFalse(message.contains("\n"), "\(engine): one line")
            }
        }
    }

    func testSocketsAndUnknownFunctionsAreRefusedAtLoadByName() throws {
        try TestEngines.forEach { engine in
            XCTAssertThrowsError(try engine.make().load(path: corpus("wasi-socket.wasm"))) { error in
                let message = (error as? KernelError)?.message ?? "\(error)"
                XCTAssertTrue(message.contains("wasi_snapshot_preview1.sock_send"), "\(engine): \(message)")
                XCTAssertTrue(message.contains("no network"), "\(engine): \(message)")
            }
        }
        for (module, words) in [
            ("wasi-wrong-type.wasm", "imports `wasi_snapshot_preview1.fd_write` as (i32) -> (i32), but preview1 defines it as (i32, i32, i32, i32) -> (i32)"),
            ("fp-import-wrong-type.wasm", "imports `fp.log` as (i32) -> (), but the host defines it as (i32, i32) -> ()"),
        ] {
            var messages: [String] = []
            try TestEngines.forEach { engine in
                XCTAssertThrowsError(try engine.make().load(path: corpus(module))) { error in
                    let message = (error as? KernelError)?.message ?? "\(error)"
                    XCTAssertTrue(message.contains(words), "\(engine): \(message)")
                    messages.append(message)
                }
            }
            XCTAssertEqual(Set(messages).count, 1, "\(module): the same words on every engine: \(messages)")
        }
        XCTAssertNotNil(WASI.refusal(name: "not_a_function", type: nil))
        XCTAssertNotNil(WASI.refusal(name: "fd_write", type: WasmFunctionType([.i32], [.i32])), "a wrong type")
        XCTAssertNil(WASI.refusal(name: "fd_write", type: WasmFunctionType([.i32, .i32, .i32, .i32], [.i32])))
    }

    func testAReactorIsInitialisedBeforeFpInit() throws {
        try TestEngines.forEach { engine in
            _ = try instantiate(corpus("good-wasi-reactor.wasm"), on: engine.make(), width: 4, height: 4)
        }
    }

    func testStdoutLinesShareTheLogAllowance() throws {
        // fp_init writes one line; each frame one more: with an allowance of 16 lines a frame the
        // 17th and later are dropped after one notice.
        let lines = Lines()
        let engine = try EngineUnderTest.wasmkit.make()
        let kernel = try engine.load(path: corpus("good-wasi.wasm"))
        let instances = try (0..<20).map { _ in
            try kernel.instantiate(width: 16, height: 1, limits: KernelLimits(), host: lines.host)
        }
        for instance in instances { try instance.run(frame: 5, time: 0, units: 0..<1) }
        let frameLines = lines.all.filter { !$0.contains("and to stderr") }
        XCTAssertEqual(frameLines.filter { $0.hasSuffix("wasi kernel ready") }.count, 16 + 16, "set-up 16, frame 5 16: \(frameLines.count)")
        XCTAssertEqual(frameLines.filter { $0.contains("further log lines dropped") }.count, 2, "\(frameLines.suffix(3))")
    }

    /// The gallery's edges.wasm without `--data`: fp_init logs how to run it and returns 5.
    func testGalleryImageKernelWithoutItsDataSaysHowToRunIt() throws {
        try TestEngines.forEach { engine in
            let lines = Lines()
            XCTAssertThrowsError(
                try instantiate(gallery("edges.wasm"), on: engine.make(), width: 16, height: 16, host: lines.host)
            ) { error in
                let message = (error as? KernelError)?.message ?? "\(error)"
                XCTAssertTrue(message.contains("fp_init(16, 16) returned error code 5"), "\(engine): \(message)")
            }
            XCTAssertTrue(
                lines.all.contains { $0.hasSuffix("edges: logo.ppm not found: run with --data assets/data") }, "\(engine): \(lines.all)")
        }
    }

    func testDataDirectoryThatCannotBeOpenedIsOneLineError() throws {
        var host = KernelHost.headless
        host.wasi = WASIOptions(dataDirectory: "/nonexistent/framepipe-data")
        XCTAssertThrowsError(
            try instantiate(corpus("good-wasi.wasm"), on: EngineUnderTest.wasmkit.make(), width: 16, height: 1, host: host)
        ) { error in
            let message = (error as? KernelError)?.message ?? "\(error)"
            XCTAssertTrue(message.contains("--data /nonexistent/framepipe-data"), message)
        }
    }
}
