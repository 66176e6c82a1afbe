import EngineTestSupport
import FrameHandoff
import Foundation
import XCTest

@testable import KernelRuntime

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
let badModules = repositoryRoot.appendingPathComponent("Tests/KernelRuntimeTests/BadModules")
let plasmaPath = repositoryRoot.appendingPathComponent("assets/kernels/plasma.wasm").path

func corpus(_ name: String) -> String { badModules.appendingPathComponent(name).path }
func gallery(_ name: String) -> String { repositoryRoot.appendingPathComponent("assets/kernels/\(name)").path }

/// Runs a build tool (a compiler, a build script) to completion; a non-zero exit throws with what it wrote to stderr.
func runBuildTool(_ executable: String, _ arguments: [String]) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let errors = Pipe()
    process.standardError = errors
    try process.run()
    let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        let tool = (executable as NSString).lastPathComponent
        throw NSError(domain: tool, code: Int(process.terminationStatus), userInfo: [NSLocalizedDescriptionKey: message])
    }
}

/// Loads and instantiates a kernel on `engine`.
func instantiate(
    _ path: String, on engine: any KernelEngine, width: Int, height: Int, limits: KernelLimits = KernelLimits(),
    host: KernelHost = .headless
) throws -> any KernelInstance {
    try engine.load(path: path).instantiate(width: width, height: height, limits: limits, host: host)
}

/// Loads and initialises a kernel, returning the one-line error it is refused with.
func refusal(
    _ name: String, on engine: any KernelEngine, width: Int = 16, height: Int = 16, limits: KernelLimits = KernelLimits()
) -> KernelError? {
    do {
        _ = try instantiate(corpus(name), on: engine, width: width, height: height, limits: limits)
        return nil
    } catch {
        return error as? KernelError
    }
}

/// The error of `body`, as a KernelError (nil when it did not throw one).
func kernelError(_ body: () throws -> Void) -> KernelError? {
    do {
        try body()
        return nil
    } catch {
        return error as? KernelError
    }
}

final class BadModuleTests: XCTestCase {
    /// Each corpus file gets exactly the message that names its fault, on one line, on every engine.
    func testEachBadModuleIsRefusedWithItsOwnMessage() throws {
        let expectations: [(file: String, kind: KernelError.Kind, message: String)] = [
            ("not-wasm.txt", .invalidModule, "not a WebAssembly module"),
            ("truncated.wasm", .invalidModule, "invalid or truncated WebAssembly module"),
            ("invalid-body.wasm", .invalidModule, "invalid or truncated WebAssembly module"),
            ("missing-fp-frame.wasm", .invalidModule, "missing required export `fp_frame`"),
            ("wrong-abi-version.wasm", .invalidModule, "kernel ABI version 2 is not supported"),
            ("fp-frame-wrong-type.wasm", .invalidModule, "export `fp_frame` has type (i32) -> (i32)"),
            ("unknown-import.wasm", .invalidModule, "imports `env.abort`"),
            ("bad-format.wasm", .invalidModule, "fp_format returned 7"),
            ("points-absurd.wasm", .invalidModule, "fp_points returned 0"),
            ("no-memory.wasm", .invalidModule, "does not export its linear memory as `memory`"),
            ("init-fails.wasm", .invalidModule, "fp_init(16, 16) returned error code 5"),
            ("output-out-of-bounds.wasm", .invalidModule, "output region"),
            ("params-too-many.wasm", .invalidModule, "fp_param_count returned 17; it must be in 0...16"),
            ("params-bad-name.wasm", .invalidModule, "parameter 1: name \"bad name\" must be 1-31 characters of A-Z, a-z, 0-9 and _"),
            ("params-no-nul.wasm", .invalidModule, "parameter 0: its name has no NUL within 32 bytes"),
            ("params-empty-range.wasm", .invalidModule, "parameter flat: range 1.0...1.0 must be finite with min < max"),
            ("params-initial-outside.wasm", .invalidModule, "parameter gain: initial value 5.0 is outside its range 0.0...1.0"),
            ("params-duplicate.wasm", .invalidModule, "parameter 1: name gain is declared twice"),
            ("params-outside-memory.wasm", .invalidModule, "fp_params points at 65530..<65662, outside the kernel's 65536-byte memory"),
            ("params-count-only.wasm", .invalidModule, "exports fp_param_count without fp_params"),
        ]
        try TestEngines.forEach { which in
            let engine = try which.make()
            for expected in expectations {
                let context = "\(which): \(expected.file)"
                guard let error = refusal(expected.file, on: engine) else {
                    XCTFail("\(context) was accepted")
                    continue
                }
                XCTAssertEqual(error.kind, expected.kind, context)
                XCTAssertTrue(error.message.contains(expected.message), "\(context): got «\(error.message)»")
                XCTAssertFalse(error.message.contains("\n"), "\(context): message must be one line")
            }
        }
    }

    /// Engines index their export tables by `ordinal`: it must be each function's position in `allCases`.
    func testABIFunctionOrdinalsAreTheirPositionsInAllCases() {
        for (index, function) in ABIFunction.allCases.enumerated() { XCTAssertEqual(function.ordinal, index, "\(function)") }
    }

    func testMissingFileSaysSo() throws {
        try TestEngines.forEach { which in
            XCTAssertThrowsError(try which.make().load(path: "/nonexistent/kernel.wasm"), "\(which)") { error in
                XCTAssertEqual((error as? KernelError)?.kind, .unreadable, "\(which)")
                XCTAssertTrue("\(error)".contains("no such file"), "\(which): \(error)")
            }
        }
    }

    /// A kernel that grows its memory past --max-memory in fp_init is refused at load, naming the limit.
    func testMemoryGrowthInInitOverTheLimitIsRefused() throws {
        var messages: [String] = []
        try TestEngines.forEach { which in
            // plasma grows its memory in fp_init to fit the frame: 1024×1024×4 bytes do not fit in 1 MiB.
            let error = kernelError {
                _ = try instantiate(
                    plasmaPath, on: try which.make(), width: 1024, height: 1024, limits: KernelLimits(maxMemoryBytes: 1 << 20))
            }
            let message = error?.message ?? "accepted"
            XCTAssertEqual(error?.kind, .invalidModule, "\(which)")
            XCTAssertEqual(error?.fault, .memoryRefused, "\(which)")
            XCTAssertTrue(message.contains("fp_init asked to grow memory to "), "\(which): \(message)")
            XCTAssertTrue(message.contains("over the limit of 1 MiB; raise --max-memory"), "\(which): \(message)")
            messages.append(message)
        }
        XCTAssertEqual(Set(messages).count, 1, "the same message on every engine: \(messages)")
    }

    /// A module whose initial memory (2 MiB) is already over --max-memory (1 MiB) is refused at load,
    /// before any kernel code runs, with the same message on every engine.
    func testInitialMemoryOverTheLimitIsRefused() throws {
        var messages: [String] = []
        try TestEngines.forEach { which in
            let error = refusal("initial-memory-2mib.wasm", on: try which.make(), limits: KernelLimits(maxMemoryBytes: 1 << 20))
            let message = error?.message ?? "accepted"
            XCTAssertEqual(error?.kind, .invalidModule, "\(which)")
            XCTAssertEqual(error?.fault, .memoryRefused, "\(which)")
            XCTAssertTrue(
                message.contains("the kernel's initial memory (2 MiB) exceeds the limit of 1 MiB; raise --max-memory"),
                "\(which): \(message)")
            messages.append(message)
            // Under the default limit it is a good kernel.
            XCTAssertNil(refusal("initial-memory-2mib.wasm", on: try which.make()), "\(which)")
        }
        XCTAssertEqual(Set(messages).count, 1, "the same message on every engine: \(messages)")
    }
}

final class KernelExecutionTests: XCTestCase {
    func testGradientKernelComputesTheDocumentedPixels() throws {
        try TestEngines.forEach { which in
            let instance = try instantiate(corpus("good-gradient.wasm"), on: try which.make(), width: 16, height: 8)
            XCTAssertEqual(instance.format, .rgba8, "\(which)")
            XCTAssertEqual(instance.unitCount, 8, "\(which)")
            try instance.run(frame: 7, time: 7.0 / 60, units: 0..<8)
            let pixels = try instance.outputBytes()
            XCTAssertEqual(pixels.count, 16 * 8 * 4, "\(which)")
            var wrong = 0
            for y in 0..<8 {
                for x in 0..<16 {
                    let at = (y * 16 + x) * 4
                    if Array(pixels[at..<at + 4]) != [UInt8(x * 4 & 255), UInt8(y * 4 & 255), 7, 255] { wrong += 1 }
                }
            }
            XCTAssertEqual(wrong, 0, "\(which): pixels that differ from the documented gradient")
        }
    }

    func testPlasmaTilesInAnyOrderEqualTheWholeFrame() throws {
        try TestEngines.forEach { which in
            let kernel = try which.make().load(path: plasmaPath)
            let whole = try kernel.instantiate(width: 24, height: 20, limits: KernelLimits(), host: .headless)
            try whole.run(frame: 9, time: 9.0 / 60, units: 0..<20)
            let expected = try whole.outputBytes()
            let tiled = try kernel.instantiate(width: 24, height: 20, limits: KernelLimits(), host: .headless)
            for tile in [12..<20, 0..<5, 5..<12] {
                try tiled.run(frame: 9, time: 9.0 / 60, units: tile)
            }
            XCTAssertEqual(try tiled.outputBytes(), expected, "\(which)")
            XCTAssertTrue(expected.contains { $0 != expected[0] }, "\(which): plasma should not be a flat colour")
            XCTAssertTrue(stride(from: 3, to: expected.count, by: 4).allSatisfy { expected[$0] == 255 }, "\(which): opaque")
        }
    }

    func testTrapIsReportedAndInstanceCanBeRebuilt() throws {
        try TestEngines.forEach { which in
            let engine = try which.make()
            let instance = try instantiate(corpus("traps.wasm"), on: engine, width: 8, height: 8)
            XCTAssertThrowsError(try instance.run(frame: 0, time: 0, units: 0..<8), "\(which)") { error in
                let error = error as? KernelError
                let message = error?.message ?? ""
                XCTAssertEqual(error?.fault, .trap, "\(which)")
                XCTAssertTrue(message.contains("fp_frame") && message.contains("unreachable"), "\(which): \(message)")
            }
            XCTAssertNoThrow(try instantiate(corpus("traps.wasm"), on: engine, width: 8, height: 8), "\(which)")
        }
    }

    /// Fuel stops an endless loop: WasmKit always meters it, wasmtime when asked (`--fuel`).
    func testEndlessLoopIsStoppedByFuel() throws {
        try TestEngines.forEach { which in
            let instance = try instantiate(
                corpus("endless-loop.wasm"), on: try which.make(meterFuel: true), width: 8, height: 8,
                limits: KernelLimits(fuelPerTile: 5_000_000))
            XCTAssertThrowsError(try instance.run(frame: 0, time: 0, units: 0..<8), "\(which)") { error in
                XCTAssertEqual((error as? KernelError)?.fault, .fuelExhausted, "\(which)")
                XCTAssertTrue("\(error)".contains("ran out of fuel after 5000000 units"), "\(which): \(error)")
            }
        }
    }

    /// Each run-time fault of the corpus, on one instance: the fault kind and its message, the same
    /// on every engine (wasmtime with fuel metering on, so fault-fuel is stopped by fuel on both).
    func testEachRuntimeFaultIsClassified() throws {
        let limits = KernelLimits(fuelPerTile: 5_000_000, maxMemoryBytes: 4 << 20)
        let expectations: [(String, KernelError.Fault, String)] = [
            ("fault-trap.wasm", .trap, "trapped: unreachable; backtrace: explode ← fp_frame"),
            ("fault-fuel.wasm", .fuelExhausted, "ran out of fuel after 5000000 units"),
            ("fault-memory.wasm", .memoryRefused, "asked to grow memory to 64.1 MiB, over the limit of 4 MiB"),
            ("fault-error-code.wasm", .errorCode, "returned error code 9"),
            ("fault-output.wasm", .outputOutsideMemory, "output region 2147418112..<"),
        ]
        try TestEngines.forEach { which in
            let engine = try which.make(meterFuel: true)
            for (file, fault, text) in expectations {
                let context = "\(which): \(file)"
                let instance = try instantiate(corpus(file), on: engine, width: 8, height: 4, limits: limits)
                try instance.run(frame: 1, time: 1.0 / 60, units: 0..<4)  // frame 1 is fine
                XCTAssertThrowsError(try instance.run(frame: 2, time: 2.0 / 60, units: 0..<4), context) { error in
                    let error = error as? KernelError
                    XCTAssertEqual(error?.kind, .runtimeFault, context)
                    XCTAssertEqual(error?.fault, fault, context)
                    XCTAssertTrue(error?.message.contains(text) ?? false, "\(context): «\(error?.message ?? "")»")
                    XCTAssertTrue(error?.message.contains("fp_frame(frame 2, rows 0..<4)") ?? false, context)
                }
            }
        }
    }

    func testLogImportReachesTheHost() throws {
        try TestEngines.forEach { which in
            let lines = LockedLines()
            let host = KernelHost(log: { lines.append($0) }, input: { _ in 0 })
            _ = try instantiate(plasmaPath, on: try which.make(), width: 32, height: 16, host: host)
            XCTAssertEqual(lines.all, ["kernel plasma: plasma: 32x16"], "\(which)")
        }
    }
}

final class LockedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}
