import EngineTestSupport
import Foundation
import XCTest

@testable import KernelRuntime

/// What only wasmtime has, and each fault kind on it: the wall-clock deadline (epoch interruption),
/// fuel when asked for, backtraces named from the name section, host memories that see a refused
/// growth. The messages are the ABI layer's, so each is compared with WasmKit's.
final class WasmtimeFaultTests: XCTestCase {
    let deadline = KernelLimits(tileTimeoutNanos: 200_000_000)

    func testIdentityAndRunawayGuard() throws {
        let engine = try EngineUnderTest.wasmtime.make()
        XCTAssertEqual(engine.identity.name, "wasmtime")
        XCTAssertEqual(engine.identity.kind, .compiler)
        XCTAssertTrue(engine.identity.version.hasPrefix(WasmtimeLibrary.supportedMajorVersion), engine.identity.version)
        XCTAssertEqual(engine.identity.mode, "Cranelift JIT")
        XCTAssertEqual(engine.runawayGuard(under: deadline), "deadline 200 ms per call (epoch interruption)")
        let metered = try EngineUnderTest.wasmtime.make(meterFuel: true)
        XCTAssertEqual(
            metered.runawayGuard(under: KernelLimits(fuelPerTile: 1000, tileTimeoutNanos: 200_000_000)),
            "deadline 200 ms per call (epoch interruption) and fuel 1000 per tile")
    }

    /// An endless loop is stopped by the deadline, no earlier than it; the instance is then replaced
    /// and a new one runs.
    func testEndlessLoopIsStoppedByTheDeadline() throws {
        let engine = try EngineUnderTest.wasmtime.make()
        let instance = try instantiate(corpus("endless-loop.wasm"), on: engine, width: 8, height: 8, limits: deadline)
        let start = Date()
        let error = kernelError { try instance.run(frame: 0, time: 0, units: 0..<8) }
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertEqual(error?.kind, .runtimeFault)
        XCTAssertEqual(error?.fault, .timeout)
        XCTAssertEqual(
            error?.message,
            "\(corpus("endless-loop.wasm")): fp_frame(frame 0, rows 0..<8) ran past its deadline of 200 ms (an endless loop? raise --tile-timeout if the kernel really needs more); backtrace: fp_frame"
        )
        XCTAssertGreaterThanOrEqual(elapsed, 0.195, "the deadline must not hit early")
        XCTAssertLessThan(elapsed, 60, "the deadline must hit")
        XCTAssertNoThrow(try instantiate(corpus("endless-loop.wasm"), on: engine, width: 8, height: 8, limits: deadline))
    }

    /// fault-fuel loops forever on frame 2 only: frame 1 is fine, frame 2 times out, and a rebuilt
    /// instance computes frame 3 correctly.
    func testRunawayFrameTimesOutAndTheNextFrameIsGood() throws {
        let engine = try EngineUnderTest.wasmtime.make()
        let kernel = try engine.load(path: corpus("fault-fuel.wasm"))
        let instance = try kernel.instantiate(width: 8, height: 4, limits: deadline, host: .headless)
        try instance.run(frame: 1, time: 1.0 / 60, units: 0..<4)
        let error = kernelError { try instance.run(frame: 2, time: 2.0 / 60, units: 0..<4) }
        XCTAssertEqual(error?.fault, .timeout)
        XCTAssertTrue(
            error?.message.contains("fp_frame(frame 2, rows 0..<4) ran past its deadline of 200 ms") ?? false,
            error?.message ?? "no error")
        let rebuilt = try kernel.instantiate(width: 8, height: 4, limits: deadline, host: .headless)
        try rebuilt.run(frame: 3, time: 3.0 / 60, units: 0..<4)
        XCTAssertEqual(Array(try rebuilt.outputBytes().prefix(4)), [0, 0, 3, 255])
    }

    /// Fuel only when asked for (`--fuel`): then it stops the loop first, with WasmKit's message;
    /// it is what `fuelUsedByLastRun` reports.
    func testFuelIsMeteredWhenAsked() throws {
        let limits = KernelLimits(fuelPerTile: 100_000, tileTimeoutNanos: 60_000_000_000)
        let metered = try EngineUnderTest.wasmtime.make(meterFuel: true)
        let error = kernelError {
            try instantiate(corpus("endless-loop.wasm"), on: metered, width: 8, height: 8, limits: limits)
                .run(frame: 0, time: 0, units: 0..<8)
        }
        XCTAssertEqual(error?.fault, .fuelExhausted)
        let wasmKit = kernelError {
            try instantiate(corpus("endless-loop.wasm"), on: WasmKitEngine(), width: 8, height: 8, limits: limits)
                .run(frame: 0, time: 0, units: 0..<8)
        }
        XCTAssertEqual(error?.message, wasmKit?.message)
        XCTAssertTrue(error?.message.contains("ran out of fuel after 100000 units") ?? false, error?.message ?? "")

        let counted = try XCTUnwrap(
            try instantiate(corpus("good-gradient.wasm"), on: metered, width: 8, height: 8) as? ABIInstance)
        try counted.run(frame: 0, time: 0, units: 0..<8)
        XCTAssertGreaterThan(counted.fuelUsedByLastRun, 0, "fuel burned by a metered call")
        let unmetered = try XCTUnwrap(
            try instantiate(corpus("good-gradient.wasm"), on: try EngineUnderTest.wasmtime.make(), width: 8, height: 8)
                as? ABIInstance)
        try unmetered.run(frame: 0, time: 0, units: 0..<8)
        XCTAssertEqual(unmetered.fuelUsedByLastRun, 0, "no fuel is counted without metering")
    }

    /// A trap's backtrace is named from the name section (the corpus is built with --debug-names):
    /// innermost first, the same as WasmKit's.
    func testTrapBacktraceIsNamedFromTheNameSection() throws {
        func trap(on engine: any KernelEngine, bytes: [UInt8]) throws -> KernelError? {
            let instance = try engine.compile(bytes: bytes, path: "fault-trap.wasm")
                .instantiate(width: 8, height: 4, limits: KernelLimits(), host: .headless)
            try instance.run(frame: 1, time: 0, units: 0..<4)
            return kernelError { try instance.run(frame: 2, time: 0, units: 0..<4) }
        }
        let named = try [UInt8](Data(contentsOf: URL(fileURLWithPath: corpus("fault-trap.wasm"))))
        let wasmtime = try EngineUnderTest.wasmtime.make()
        let error = try trap(on: wasmtime, bytes: named)
        XCTAssertEqual(error?.fault, .trap)
        XCTAssertEqual(
            error?.message, "fault-trap.wasm: fp_frame(frame 2, rows 0..<4) trapped: unreachable; backtrace: explode ← fp_frame")
        XCTAssertEqual(error?.message, try trap(on: WasmKitEngine(), bytes: named)?.message)

        // Without a name section the helper is named by its index, exports by their export name.
        let stripped = Self.removingNameSection(named)
        XCTAssertLessThan(stripped.count, named.count, "the corpus module has a name section")
        let anonymous = try trap(on: wasmtime, bytes: stripped)
        XCTAssertEqual(
            anonymous?.message,
            "fault-trap.wasm: fp_frame(frame 2, rows 0..<4) trapped: unreachable; backtrace: wasm function[2] ← fp_frame")
        XCTAssertEqual(anonymous?.message, try trap(on: WasmKitEngine(), bytes: stripped)?.message)
    }

    /// Refused growth fails the frame even though the kernel ignores memory.grow's −1 (the host made
    /// the memory and saw the refusal); the memory keeps its size. Growth within the limit works.
    func testMemoryGrowthIsRefusedOverTheLimitAndGrantedUnderIt() throws {
        let tight = KernelLimits(maxMemoryBytes: 4 << 20)
        let wasmtime = try EngineUnderTest.wasmtime.make()
        func growth(on engine: any KernelEngine, limits: KernelLimits) throws -> (KernelError?, Int) {
            let instance = try instantiate(corpus("fault-memory.wasm"), on: engine, width: 8, height: 4, limits: limits)
            try instance.run(frame: 1, time: 0, units: 0..<4)
            let error = kernelError { try instance.run(frame: 2, time: 0, units: 0..<4) }
            return (error, instance.memoryByteCount)
        }
        let (refused, refusedSize) = try growth(on: wasmtime, limits: tight)
        XCTAssertEqual(refused?.kind, .runtimeFault)
        XCTAssertEqual(refused?.fault, .memoryRefused)
        XCTAssertTrue(
            refused?.message.contains("asked to grow memory to 64.1 MiB, over the limit of 4 MiB (raise --max-memory)") ?? false,
            refused?.message ?? "no error")
        XCTAssertEqual(refused?.message, try growth(on: WasmKitEngine(), limits: tight).0?.message, "WasmKit's message")
        XCTAssertEqual(refusedSize, 64 << 10, "a refused growth leaves the memory as it was")

        for engine in [wasmtime, WasmKitEngine()] as [any KernelEngine] {
            let (granted, grantedSize) = try growth(on: engine, limits: KernelLimits())
            XCTAssertNil(granted, "\(engine.identity.name): 64 MiB more is within the default limit")
            XCTAssertEqual(grantedSize, (64 << 10) + (64 << 20), "\(engine.identity.name): the memory grew")
        }
    }

    /// An error code and an output region outside memory, on wasmtime: WasmKit's messages.
    func testErrorCodeAndOutputOutsideMemory() throws {
        let wasmtime = try EngineUnderTest.wasmtime.make()
        for (file, fault, text) in [
            ("fault-error-code.wasm", KernelError.Fault.errorCode, "fp_frame(frame 2, rows 0..<4) returned error code 9"),
            ("fault-output.wasm", .outputOutsideMemory, "after fp_frame(frame 2, rows 0..<4), output region 2147418112..<"),
        ] {
            func failure(on engine: any KernelEngine) throws -> KernelError? {
                let instance = try instantiate(corpus(file), on: engine, width: 8, height: 4)
                try instance.run(frame: 1, time: 0, units: 0..<4)
                return kernelError { try instance.run(frame: 2, time: 0, units: 0..<4) }
            }
            let error = try failure(on: wasmtime)
            XCTAssertEqual(error?.kind, .runtimeFault, file)
            XCTAssertEqual(error?.fault, fault, file)
            XCTAssertTrue(error?.message.contains(text) ?? false, "\(file): \(error?.message ?? "no error")")
            XCTAssertEqual(error?.message, try failure(on: WasmKitEngine())?.message, "\(file): WasmKit's message")
        }
        let atLoad = refusal("output-out-of-bounds.wasm", on: wasmtime)
        XCTAssertEqual(atLoad?.kind, .invalidModule)
        XCTAssertEqual(atLoad?.fault, .outputOutsideMemory)
        XCTAssertEqual(atLoad?.message, refusal("output-out-of-bounds.wasm", on: WasmKitEngine())?.message)
    }

    /// `bytes` without its custom section "name".
    static func removingNameSection(_ bytes: [UInt8]) -> [UInt8] {
        var output = Array(bytes.prefix(8))
        var position = 8
        func leb() -> Int {
            var result = 0
            var shift = 0
            while true {
                let byte = bytes[position]
                position += 1
                result |= Int(byte & 0x7F) << shift
                shift += 7
                if byte & 0x80 == 0 { return result }
            }
        }
        while position < bytes.count {
            let start = position
            let id = bytes[position]
            position += 1
            let size = leb()
            let contents = position
            position += size
            if id == 0 {
                var inner = contents
                swap(&inner, &position)
                let nameLength = leb()
                let name = String(decoding: bytes[position..<position + nameLength], as: UTF8.self)
                swap(&inner, &position)
                if name == "name" { continue }
            }
            output += bytes[start..<position]
        }
        return output
    }
}
