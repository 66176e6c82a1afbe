import FrameHandoff
import Foundation
import XCTest

@testable import KernelRuntime

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
let badModules = repositoryRoot.appendingPathComponent("Tests/KernelRuntimeTests/BadModules")
let plasmaPath = repositoryRoot.appendingPathComponent("assets/kernels/plasma.wasm").path

func corpus(_ name: String) -> String { badModules.appendingPathComponent(name).path }

let engine = WasmKitEngine()

/// Loads and instantiates a kernel with the shipped engine.
func instantiate(
    _ path: String, width: Int, height: Int, limits: KernelLimits = KernelLimits(), host: KernelHost = .headless
) throws -> any KernelInstance {
    try engine.load(path: path).instantiate(width: width, height: height, limits: limits, host: host)
}

/// Loads and initialises a kernel, returning the one-line error it is refused with.
func refusal(_ name: String, width: Int = 16, height: Int = 16, limits: KernelLimits = KernelLimits()) -> KernelError? {
    do {
        _ = try instantiate(corpus(name), width: width, height: height, limits: limits)
        return nil
    } catch {
        return error as? KernelError
    }
}

final class BadModuleTests: XCTestCase {
    /// Each corpus file gets exactly the message that names its fault, on one line.
    func testEachBadModuleIsRefusedWithItsOwnMessage() {
        let expectations: [(file: String, kind: KernelError.Kind, message: String)] = [
            ("not-wasm.txt", .invalidModule, "not a WebAssembly module"),
            ("truncated.wasm", .invalidModule, "invalid or truncated WebAssembly module"),
            ("missing-fp-frame.wasm", .invalidModule, "missing required export `fp_frame`"),
            ("wrong-abi-version.wasm", .invalidModule, "kernel ABI version 2 is not supported"),
            ("fp-frame-wrong-type.wasm", .invalidModule, "export `fp_frame` has type (i32) -> (i32)"),
            ("unknown-import.wasm", .invalidModule, "imports `env.abort`"),
            ("bad-format.wasm", .invalidModule, "fp_format returned 7"),
            ("points-absurd.wasm", .invalidModule, "fp_points returned 0"),
            ("no-memory.wasm", .invalidModule, "does not export its linear memory as `memory`"),
            ("init-fails.wasm", .invalidModule, "fp_init(16, 16) returned error code 5"),
            ("output-out-of-bounds.wasm", .invalidModule, "output region"),
        ]
        for expected in expectations {
            guard let error = refusal(expected.file) else {
                XCTFail("\(expected.file) was accepted")
                continue
            }
            XCTAssertEqual(error.kind, expected.kind, expected.file)
            XCTAssertTrue(
                error.message.contains(expected.message), "\(expected.file): got «\(error.message)»")
            XCTAssertFalse(error.message.contains("\n"), "\(expected.file): message must be one line")
        }
    }

    func testMissingFileSaysSo() {
        XCTAssertThrowsError(try engine.load(path: "/nonexistent/kernel.wasm")) { error in
            XCTAssertEqual((error as? KernelError)?.kind, .unreadable)
            XCTAssertTrue("\(error)".contains("no such file"))
        }
    }

    /// A kernel whose initial memory is over --max-memory is refused at load, naming the limit.
    func testInitialMemoryOverTheLimitIsRefused() {
        // plasma grows its memory in fp_init to fit the frame: 64×64×4 bytes do not fit in 64 KiB.
        let error = refusalOfPlasma(maxMemoryBytes: 64 << 10)
        XCTAssertEqual(error?.fault, .memoryRefused)
        XCTAssertTrue(error?.message.contains("raise --max-memory") ?? false, error?.message ?? "accepted")
    }

    private func refusalOfPlasma(maxMemoryBytes: Int) -> KernelError? {
        do {
            _ = try instantiate(plasmaPath, width: 64, height: 64, limits: KernelLimits(maxMemoryBytes: maxMemoryBytes))
            return nil
        } catch {
            return error as? KernelError
        }
    }
}

final class KernelExecutionTests: XCTestCase {
    func testGradientKernelComputesTheDocumentedPixels() throws {
        let instance = try instantiate(corpus("good-gradient.wasm"), width: 16, height: 8)
        XCTAssertEqual(instance.format, .rgba8)
        XCTAssertEqual(instance.unitCount, 8)
        try instance.run(frame: 7, time: 7.0 / 60, units: 0..<8)
        let pixels = try instance.outputBytes()
        XCTAssertEqual(pixels.count, 16 * 8 * 4)
        for y in 0..<8 {
            for x in 0..<16 {
                let at = (y * 16 + x) * 4
                XCTAssertEqual(Array(pixels[at..<at + 4]), [UInt8(x * 4 & 255), UInt8(y * 4 & 255), 7, 255])
            }
        }
    }

    func testPlasmaTilesInAnyOrderEqualTheWholeFrame() throws {
        let kernel = try engine.load(path: plasmaPath)
        let whole = try kernel.instantiate(width: 24, height: 20, limits: KernelLimits(), host: .headless)
        try whole.run(frame: 9, time: 9.0 / 60, units: 0..<20)
        let expected = try whole.outputBytes()
        let tiled = try kernel.instantiate(width: 24, height: 20, limits: KernelLimits(), host: .headless)
        for tile in [12..<20, 0..<5, 5..<12] {
            try tiled.run(frame: 9, time: 9.0 / 60, units: tile)
        }
        XCTAssertEqual(try tiled.outputBytes(), expected)
        XCTAssertTrue(expected.contains { $0 != expected[0] }, "plasma should not be a flat colour")
        XCTAssertTrue(stride(from: 3, to: expected.count, by: 4).allSatisfy { expected[$0] == 255 }, "opaque")
    }

    func testTrapIsReportedAndInstanceCanBeRebuilt() throws {
        let instance = try instantiate(corpus("traps.wasm"), width: 8, height: 8)
        XCTAssertThrowsError(try instance.run(frame: 0, time: 0, units: 0..<8)) { error in
            let error = error as? KernelError
            let message = error?.message ?? ""
            XCTAssertEqual(error?.fault, .trap)
            XCTAssertTrue(message.contains("fp_frame") && message.contains("unreachable"), message)
        }
        XCTAssertNoThrow(try instantiate(corpus("traps.wasm"), width: 8, height: 8))
    }

    func testEndlessLoopIsStoppedByFuel() throws {
        let instance = try instantiate(
            corpus("endless-loop.wasm"), width: 8, height: 8, limits: KernelLimits(fuelPerTile: 5_000_000))
        XCTAssertThrowsError(try instance.run(frame: 0, time: 0, units: 0..<8)) { error in
            XCTAssertEqual((error as? KernelError)?.fault, .fuelExhausted)
            XCTAssertTrue("\(error)".contains("ran out of fuel"), "\(error)")
        }
    }

    /// Each run-time fault of the corpus, on one instance: the fault kind and its message.
    func testEachRuntimeFaultIsClassified() throws {
        let limits = KernelLimits(fuelPerTile: 5_000_000, maxMemoryBytes: 4 << 20)
        let expectations: [(String, KernelError.Fault, String)] = [
            ("fault-trap.wasm", .trap, "trapped: unreachable"),
            ("fault-fuel.wasm", .fuelExhausted, "ran out of fuel after 5000000 units"),
            ("fault-memory.wasm", .memoryRefused, "asked to grow memory to 64.1 MiB, over the limit of 4 MiB"),
            ("fault-error-code.wasm", .errorCode, "returned error code 9"),
            ("fault-output.wasm", .outputOutsideMemory, "output region 2147418112..<"),
        ]
        for (file, fault, text) in expectations {
            let instance = try instantiate(corpus(file), width: 8, height: 4, limits: limits)
            try instance.run(frame: 1, time: 1.0 / 60, units: 0..<4)  // frame 1 is fine
            XCTAssertThrowsError(try instance.run(frame: 2, time: 2.0 / 60, units: 0..<4), file) { error in
                let error = error as? KernelError
                XCTAssertEqual(error?.kind, .runtimeFault, file)
                XCTAssertEqual(error?.fault, fault, file)
                XCTAssertTrue(error?.message.contains(text) ?? false, "\(file): «\(error?.message ?? "")»")
                XCTAssertTrue(error?.message.contains("fp_frame(frame 2, rows 0..<4)") ?? false, file)
            }
        }
    }

    func testLogImportReachesTheHost() throws {
        let lines = LockedLines()
        let host = KernelHost(log: { lines.append($0) }, input: { _ in 0 })
        _ = try instantiate(plasmaPath, width: 32, height: 16, host: host)
        XCTAssertEqual(lines.all, ["plasma: 32x16"])
    }
}

final class LockedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}

