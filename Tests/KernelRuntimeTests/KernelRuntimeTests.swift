import FrameHandoff
import Foundation
import XCTest

@testable import KernelRuntime

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
let badModules = repositoryRoot.appendingPathComponent("Tests/KernelRuntimeTests/BadModules")
let plasmaPath = repositoryRoot.appendingPathComponent("assets/kernels/plasma.wasm").path

func corpus(_ name: String) -> String { badModules.appendingPathComponent(name).path }

/// Loads and initialises a kernel, returning the one-line error it is refused with.
func refusal(_ name: String, width: Int = 16, height: Int = 16) -> KernelError? {
    do {
        let module = try KernelModule(path: corpus(name))
        _ = try KernelInstance(module: module, width: width, height: height)
        return nil
    } catch {
        return error
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
            ("init-fails.wasm", .runtimeFault, "fp_init(16, 16) returned error code 5"),
            ("output-out-of-bounds.wasm", .runtimeFault, "output region"),
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
        XCTAssertThrowsError(try KernelModule(path: "/nonexistent/kernel.wasm")) { error in
            XCTAssertEqual((error as? KernelError)?.kind, .unreadable)
            XCTAssertTrue("\(error)".contains("no such file"))
        }
    }
}

final class KernelExecutionTests: XCTestCase {
    func testGradientKernelComputesTheDocumentedPixels() throws {
        let instance = try KernelInstance(module: KernelModule(path: corpus("good-gradient.wasm")), width: 16, height: 8)
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
        let module = try KernelModule(path: plasmaPath)
        let whole = try KernelInstance(module: module, width: 24, height: 20)
        try whole.run(frame: 9, time: 9.0 / 60, units: 0..<20)
        let expected = try whole.outputBytes()
        let tiled = try KernelInstance(module: module, width: 24, height: 20)
        for tile in [12..<20, 0..<5, 5..<12] {
            try tiled.run(frame: 9, time: 9.0 / 60, units: tile)
        }
        XCTAssertEqual(try tiled.outputBytes(), expected)
        XCTAssertTrue(expected.contains { $0 != expected[0] }, "plasma should not be a flat colour")
        XCTAssertTrue(stride(from: 3, to: expected.count, by: 4).allSatisfy { expected[$0] == 255 }, "opaque")
    }

    func testTrapIsReportedAndInstanceCanBeRebuilt() throws {
        let module = try KernelModule(path: corpus("traps.wasm"))
        let instance = try KernelInstance(module: module, width: 8, height: 8)
        XCTAssertThrowsError(try instance.run(frame: 0, time: 0, units: 0..<8)) { error in
            let message = (error as? KernelError)?.message ?? ""
            XCTAssertTrue(message.contains("fp_frame") && message.contains("unreachable"), message)
        }
        XCTAssertNoThrow(try KernelInstance(module: module, width: 8, height: 8))
    }

    func testEndlessLoopIsStoppedByFuel() throws {
        let module = try KernelModule(path: corpus("endless-loop.wasm"))
        let instance = try KernelInstance(
            module: module, width: 8, height: 8, limits: KernelLimits(fuelPerCall: 5_000_000))
        XCTAssertThrowsError(try instance.run(frame: 0, time: 0, units: 0..<8)) { error in
            XCTAssertTrue("\(error)".contains("ran out of fuel"), "\(error)")
        }
    }

    func testLogImportReachesTheHost() throws {
        let lines = LockedLines()
        let host = KernelHost(log: { lines.append($0) }, input: { _ in 0 })
        _ = try KernelInstance(module: KernelModule(path: plasmaPath), width: 32, height: 16, host: host)
        XCTAssertEqual(lines.all, ["plasma: 32x16"])
    }
}

final class LockedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}

final class ComputeWorkerTests: XCTestCase {
    func testWorkerPublishesFramesWithTheKernelsPixels() throws {
        let ring = try SlotRing(slotByteCount: 16 * 8 * 4)
        let worker = ComputeWorker(
            module: try KernelModule(path: corpus("good-gradient.wasm")),
            settings: ComputeSettings(width: 16, height: 8), ring: ring)
        XCTAssertEqual(try worker.start(), .rgba8)
        var seen: [UInt64] = []
        while seen.count < 5 {
            let lease = try XCTUnwrap(ring.waitForFrame(timeoutNanos: 10_000_000_000))
            // Blue carries the frame number: it must match the generation (frames start at 0, generations at 1).
            let blue = try ring.withReadableBytes(lease) { $0[2] }
            XCTAssertEqual(UInt64(blue), (lease.handle.generation - 1) & 255)
            seen.append(lease.handle.generation)
            try ring.release(lease)
        }
        let report = worker.stop()
        XCTAssertEqual(seen, seen.sorted())
        XCTAssertEqual(report.failedFrames, 0)
        var records: [ComputeRecord] = []
        worker.telemetry.drain { records.append($0) }
        XCTAssertGreaterThanOrEqual(records.count, 5, "one telemetry record per published frame")
        XCTAssertEqual(records.map(\.generation), records.map(\.generation).sorted())
        XCTAssertTrue(records.allSatisfy { $0.scheduleNanos <= $0.computeStartNanos && $0.computeStartNanos <= $0.computeEndNanos })
        XCTAssertNil(report.disabledBecause)
    }

    func testTrappingKernelIsDisabledAfterConsecutiveFailures() throws {
        let ring = try SlotRing(slotByteCount: 8 * 8 * 4)
        let logged = LockedLines()
        let worker = ComputeWorker(
            module: try KernelModule(path: corpus("traps.wasm")),
            settings: ComputeSettings(width: 8, height: 8, maxConsecutiveFailures: 3), ring: ring,
            host: KernelHost(log: { logged.append($0) }, input: { _ in 0 }))
        try worker.start()
        let deadline = Date().addingTimeInterval(30)
        while !worker.isDisabled && Date() < deadline { usleep(1000) }
        let report = worker.stop()
        XCTAssertEqual(report.failedFrames, 3)
        XCTAssertTrue(report.disabledBecause?.message.contains("3 consecutive failed frames") ?? false)
        XCTAssertEqual(logged.all.count, 3)
        XCTAssertNil(ring.acquireLatest(), "failed frames are never published")
    }

    func testUnusableKernelFailsToStart() throws {
        let ring = try SlotRing(slotByteCount: 64)
        let worker = ComputeWorker(
            module: try KernelModule(path: corpus("init-fails.wasm")), settings: ComputeSettings(width: 4, height: 4),
            ring: ring)
        XCTAssertThrowsError(try worker.start())
    }
}
