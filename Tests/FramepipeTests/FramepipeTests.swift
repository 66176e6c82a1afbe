import EngineTestSupport
import Foundation
import FrameTiming
import KernelRuntime
import Synchronization
import XCTest

@testable import Framepipe

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
let plasmaPath = repositoryRoot.appendingPathComponent("assets/kernels/plasma.wasm").path
/// `--data assets/data`, as the gallery runs: edges.wasm reads its image there (the others never open a file).
let galleryWASI = WASIOptions(dataDirectory: repositoryRoot.appendingPathComponent("assets/data").path)
let badModules = repositoryRoot.appendingPathComponent("Tests/KernelRuntimeTests/BadModules")

/// lavapipe prints noise to stderr without a runtime directory; every test process gets its own.
/// The `framepipe` processes the tests start keep their wasmtime compile cache in a folder of this
/// test process, not in ~/.cache.
func prepareEnvironment() {
    if ProcessInfo.processInfo.environment["XDG_RUNTIME_DIR"] == nil {
        let path = NSTemporaryDirectory() + "framepipe-tests-\(getpid())"
        try? FileManager.default.createDirectory(
            atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        setenv("XDG_RUNTIME_DIR", path, 1)
    }
    TestEngines.isolateCacheHomeForChildProcesses()
}

/// What a finished process printed and returned.
struct ProcessOutcome: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// `bench` measures 5 runs by default; a test that is not about repeated runs measures one (`--runs 1` is added
/// unless the arguments give `--runs` or ask for help), so the suite's benches take one run's time.
func oneRunUnlessAsked(_ arguments: [String]) -> [String] {
    guard arguments.first == "bench", !arguments.contains("--runs"), !arguments.contains("--help") else { return arguments }
    return ["bench", "--runs", "1"] + arguments.dropFirst()
}

/// Runs `executable ARGUMENTS` in the repository root (or `directory`) to completion and collects what it printed
/// (RunningProcess: both pipes drained at once, so a child that fills one before closing the other cannot block).
func runProcess(
    _ executable: URL, _ arguments: [String], in directory: URL = repositoryRoot, environment: [String: String]? = nil
) throws -> ProcessOutcome {
    try RunningProcess(executable, arguments, in: directory, environment: environment).wait()
}

/// Starts `executable ARGUMENTS` in the repository root (or `directory`); stdout and stderr are collected by reader
/// threads of their own (so a chatty process never blocks on a full pipe), each reading to end of file; `wait` joins
/// them, so no output read from a pipe is lost on the way to the outcome.
final class RunningProcess: @unchecked Sendable {
    // @unchecked: the collected bytes are only touched under `lock`; the rest is set up in init.
    let process = Process()
    private let out = Pipe()
    private let err = Pipe()
    private let lock = NSLock()
    private var stdoutData = Data()
    private var stderrData = Data()
    private let readers = DispatchGroup()

    init(
        _ executable: URL, _ arguments: [String], in directory: URL = repositoryRoot, environment: [String: String]? = nil
    ) throws {
        process.executableURL = executable
        process.arguments = oneRunUnlessAsked(arguments)
        process.currentDirectoryURL = directory
        if let environment { process.environment = environment }
        process.standardOutput = out
        process.standardError = err
        try process.run()
        for isStdout in [true, false] {
            let handle = (isStdout ? out : err).fileHandleForReading
            readers.enter()
            Thread { [self] in
                while case let data = handle.availableData, !data.isEmpty {
                    lock.withLock { if isStdout { stdoutData.append(data) } else { stderrData.append(data) } }
                }
                readers.leave()
            }.start()
        }
    }

    var stderrSoFar: String { lock.withLock { String(decoding: stderrData, as: UTF8.self) } }
    var stdoutSoFar: String { lock.withLock { String(decoding: stdoutData, as: UTF8.self) } }

    /// Waits (up to `seconds`) until `condition` holds or the process has ended; whether it held.
    func waitFor(seconds: Double = 120, _ condition: (RunningProcess) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition(self), Date() < deadline, process.isRunning { usleep(20_000) }
        return condition(self)
    }

    func wait() -> ProcessOutcome {
        let status = ChildProcess.waitForExit(process)
        // End of file on both pipes once the process is gone (generous: only a leaked grandchild could hold one).
        _ = readers.wait(timeout: .now() + 120)
        return lock.withLock {
            ProcessOutcome(
                status: status, stdout: String(decoding: stdoutData, as: UTF8.self),
                stderr: String(decoding: stderrData, as: UTF8.self))
        }
    }
}

/// `body(0..<count)` on every core at once, results in index order; the first error is rethrown.
/// For tests that start many short processes of their own (each `body` waits for its process).
func concurrently<Result: Sendable>(_ count: Int, _ body: @Sendable (Int) throws -> Result) throws -> [Result] {
    let results = Mutex<[Int: Swift.Result<Result, any Error>]>([:])
    DispatchQueue.concurrentPerform(iterations: count) { index in
        let result = Swift.Result { try body(index) }
        results.withLock { $0[index] = result }
    }
    return try results.withLock { all in try (0..<count).map { index in try all[index]!.get() } }
}

/// The built `framepipe` executable: the test bundle sits in the same products directory.
var framepipeExecutable: URL {
    for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
        return bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("framepipe")
    }
    return Bundle.main.bundleURL.appendingPathComponent("framepipe")
}

func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "framepipe-test-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

final class RunProcessTests: XCTestCase {
    /// A child that writes more than a pipe holds to stderr before it closes stdout: read one pipe after the other,
    /// both processes would wait on each other forever. Run on a thread of its own, so that the old behaviour fails
    /// the test (after a generous timeout) instead of hanging the suite.
    func testBothPipesAreDrainedAtOnce() throws {
        let bytes = 300_000
        let script = "head -c \(bytes) /dev/zero | tr '\\0' e >&2; head -c \(bytes) /dev/zero | tr '\\0' o; exit 3"
        let outcome = Mutex<Result<ProcessOutcome, any Error>?>(nil)
        let finished = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            let result = Result { try runProcess(URL(fileURLWithPath: "/bin/sh"), ["-c", script]) }
            outcome.withLock { $0 = result }
            finished.signal()
        }
        guard finished.wait(timeout: .now() + 120) == .success else {
            return XCTFail("runProcess did not return: a full pipe blocked the child")
        }
        let result = try XCTUnwrap(outcome.withLock { $0 }).get()
        XCTAssertEqual(result.status, 3)
        XCTAssertEqual(result.stderr, String(repeating: "e", count: bytes))
        XCTAssertEqual(result.stdout, String(repeating: "o", count: bytes))
    }
}

final class GoldenCaptureTests: XCTestCase {
    override func setUp() { prepareEnvironment() }

    /// The PNG captured through Vulkan equals, pixel for pixel (tolerance 0: nearest sampling of a
    /// texture of the target's exact size), the frame the kernel computes directly on the same engine.
    func testCapturedPNGEqualsTheKernelsOwnFrame() throws {
        try TestEngines.forEach { which in
            let directory = try temporaryDirectory()
            let png = directory + "/frame.png"
            var options = Capture.Options(kernelPath: plasmaPath, frame: 12, width: 40, height: 28, outputPath: png)
            options.engine = which.request()
            let readBack = try Capture.run(options)
            let direct = try Capture.computeDirectly(options).bytes
            let file = try OutputFiles.readPNG(png)
            XCTAssertEqual(file.width, 40, "\(which)")
            XCTAssertEqual(file.height, 28, "\(which)")
            XCTAssertEqual(readBack.count, direct.count, "\(which)")
            let differing = zip(file.pixels, direct).filter { $0 != $1 }.count
            XCTAssertEqual(differing, 0, "\(which): bytes that differ between the Vulkan capture and the kernel's frame")
            XCTAssertEqual(readBack, file.pixels, "\(which)")
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0 != "frame.png" }
            XCTAssertEqual(leftovers, [], "\(which): no temporary files left behind")
        }
    }

    func testDifferentFramesDiffer() throws {
        try TestEngines.forEach { which in
            let options = { (frame: Int32) in
                var options = Capture.Options(kernelPath: plasmaPath, frame: frame, width: 16, height: 16, outputPath: "/dev/null")
                options.engine = which.request()
                return options
            }
            XCTAssertNotEqual(
                try Capture.computeDirectly(options(0)).bytes, try Capture.computeDirectly(options(30)).bytes, "\(which)")
        }
    }

    /// Both engines capture the same PNG of every gallery kernel (the SIMD build where wasmtime
    /// loads one, `--kernel-build auto`), stateful ones stepped to the frame.
    func testBothEnginesCaptureTheSamePixels() throws {
        let wasmtime = EngineUnderTest.wasmtime.request()
        _ = try TestEngines.wasmtimeLibrary()
        for name in ["plasma", "mandelbrot", "life", "grayscott", "particles", "ripples", "cells", "edges"] {
            var options = Capture.Options(
                kernelPath: repositoryRoot.appendingPathComponent("assets/kernels/\(name).wasm").path, frame: 4, width: 29,
                height: 19, outputPath: "/dev/null")
            options.wasi = galleryWASI
            options.engine = EngineUnderTest.wasmkit.request()
            let interpreted = try Capture.run(options)
            options.engine = wasmtime
            let compiled = try Capture.run(options)
            XCTAssertEqual(interpreted.count, 29 * 19 * 4, name)
            XCTAssertEqual(zip(interpreted, compiled).filter { $0 != $1 }.count, 0, "\(name): WasmKit vs wasmtime capture")
        }
    }
}

final class BenchTests: XCTestCase {
    override func setUp() { prepareEnvironment() }

    func testHeadlessBenchWritesAParsableSummaryAndTheLastFrame() throws {
        try TestEngines.forEach { which in
            let directory = try temporaryDirectory() + "/report"
            var options = BenchOptions(kernelPath: plasmaPath)
            options.width = 32
            options.height = 24
            options.frames = 12
            options.warmup = 2
            options.workers = 1
            options.outputDirectory = directory
            options.engine = which.request()
            let result = try Bench.run(options)

            let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/summary.json"))
            let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any], "\(which)")
            XCTAssertEqual(json["schema"] as? String, "framepipe.bench/2", "\(which)")
            XCTAssertEqual(json["kernel"] as? String, plasmaPath, "\(which)")
            // --kernel-build auto: the SIMD build beside plasma.wasm on wasmtime, the MVP build on WasmKit.
            let loaded = which == .wasmtime ? plasmaPath.replacingOccurrences(of: ".wasm", with: ".simd.wasm") : plasmaPath
            XCTAssertEqual(json["kernel_file"] as? String, loaded, "\(which)")
            let loadedBytes = try Data(contentsOf: URL(fileURLWithPath: loaded))
            XCTAssertEqual(json["kernel_sha256"] as? String, SHA256.hex([UInt8](loadedBytes)), "\(which)")
            XCTAssertEqual(json["size"] as? String, "32x24", "\(which)")
            XCTAssertEqual(json["workers"] as? Int, 1, "\(which)")
            let engine = try XCTUnwrap(json["engine"] as? [String: Any], "\(which): engine is an object in /2")
            XCTAssertEqual(engine["name"] as? String, which.description)
            XCTAssertEqual(engine["kind"] as? String, which == .wasmtime ? "compiler" : "interpreter", "\(which)")
            XCTAssertFalse((engine["version"] as? String ?? "").isEmpty, "\(which)")
            XCTAssertFalse((engine["mode"] as? String ?? "").isEmpty, "\(which)")
            XCTAssertTrue(
                (engine["runaway_guard"] as? String ?? "").hasPrefix(which == .wasmtime ? "deadline 5000 ms" : "time budget: "),
                "\(which): \(engine["runaway_guard"] ?? "none")")
            XCTAssertTrue((engine["description"] as? String ?? "").hasPrefix(which.description), "\(which)")
            let device = try XCTUnwrap(json["device"] as? [String: Any], "\(which)")
            XCTAssertFalse((device["name"] as? String ?? "").isEmpty, "\(which)")
            XCTAssertNotNil(device["type"] as? String, "\(which)")
            let frames = try XCTUnwrap(json["frames"] as? [String: Any], "\(which)")
            XCTAssertEqual(frames["measured"] as? Int, 12, "\(which)")
            XCTAssertEqual(frames["failed"] as? Int, 0, "\(which)")
            XCTAssertGreaterThan(json["fps"] as? Double ?? 0, 0, "\(which)")
            let interval = try XCTUnwrap(json["frame_interval_ms"] as? [String: Any], "\(which)")
            for key in ["mean", "p50", "p90", "p95", "p99", "p999", "max", "min"] {
                XCTAssertGreaterThan(interval[key] as? Double ?? 0, 0, "\(which): \(key)")
            }
            XCTAssertEqual(
                interval["count"] as? Int, 12,
                "\(which): 12 measured frames after warm-up give 12 intervals (the first from the last warm-up frame)")
            let jitter = try XCTUnwrap(json["jitter_ms"] as? [String: Any], "\(which)")
            XCTAssertEqual(jitter["stddev"] as? Double, interval["stddev"] as? Double, "\(which)")
            XCTAssertGreaterThanOrEqual(jitter["p99_minus_p50"] as? Double ?? -1, 0, "\(which)")
            XCTAssertLessThanOrEqual(interval["p50"] as? Double ?? 0, interval["p99"] as? Double ?? 0, "\(which)")
            XCTAssertLessThanOrEqual(interval["p99"] as? Double ?? 0, interval["max"] as? Double ?? 0, "\(which)")

            // The last frame on disk is the frame the kernel computes for that frame number.
            let png = try OutputFiles.readPNG(result.lastFramePath)
            XCTAssertEqual(png.width, 32, "\(which)")
            XCTAssertEqual(png.height, 24, "\(which)")
            var direct = Capture.Options(
                kernelPath: plasmaPath, frame: result.summary.last_frame.frame, width: 32, height: 24, outputPath: "/dev/null")
            direct.engine = which.request()
            XCTAssertEqual(png.pixels, try Capture.computeDirectly(direct).bytes, "\(which)")
        }
    }

    func testBenchRefusesABadKernelWithExitCode2() throws {
        try TestEngines.forEach { which in
            var options = BenchOptions(kernelPath: badModules.appendingPathComponent("missing-fp-frame.wasm").path)
            options.width = 8
            options.height = 8
            options.engine = which.request()
            XCTAssertThrowsError(try Bench.run(options), "\(which)") { error in
                XCTAssertEqual((error as? FramepipeError)?.exitCode, .badKernel, "\(which)")
            }
        }
    }

    func testTrappingKernelEndsTheBenchWithExitCode5() throws {
        try TestEngines.forEach { which in
            var options = BenchOptions(kernelPath: badModules.appendingPathComponent("traps.wasm").path)
            options.width = 8
            options.height = 8
            options.outputDirectory = try temporaryDirectory() + "/never-written"
            options.engine = which.request()
            XCTAssertThrowsError(try Bench.run(options), "\(which)") { error in
                XCTAssertEqual((error as? FramepipeError)?.exitCode, .kernelFailed, "\(which): \(error)")
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: options.outputDirectory + "/summary.json"), "\(which)")
        }
    }

    /// `--engine wasmtime` without its library: exit 7, one line; `auto` falls back with a note.
    func testEngineRequestWithoutTheLibrary() throws {
        var options = BenchOptions(kernelPath: plasmaPath)
        options.width = 8
        options.height = 8
        options.frames = 2
        options.warmup = 0
        options.outputDirectory = try temporaryDirectory() + "/report"
        options.engine = EngineRequest(choice: .wasmtime, wasmtimeLibrary: "/nonexistent/_libwasmtime.so")
        XCTAssertThrowsError(try Bench.run(options)) { error in
            let error = error as? FramepipeError
            XCTAssertEqual(error?.exitCode, .engineUnavailable)
            XCTAssertEqual(error?.exitCode.rawValue, 7)
            XCTAssertTrue(error?.message.contains("--wasmtime-lib /nonexistent/_libwasmtime.so: no such file") ?? false, "\(String(describing: error))")
        }
        let notes = LockedNotes()
        options.engine.choice = .auto
        options.log = { notes.append($0) }
        let result = try Bench.run(options)
        XCTAssertEqual(result.summary.engine.name, "WasmKit")
        XCTAssertEqual(result.summary.kernel_file, plasmaPath, "the MVP build on WasmKit")
        XCTAssertEqual(notes.all.filter { $0.contains("running on WasmKit") }.count, 1, "\(notes.all)")
    }
}

final class LockedNotes: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}

final class OutputFileTests: XCTestCase {
    func testPNGRoundTripsAndFailedWritesLeaveNothing() throws {
        let directory = try temporaryDirectory()
        let pixels = (0..<(5 * 3 * 4)).map { UInt8($0 * 7 & 255) }
        try OutputFiles.writePNG(pixels, width: 5, height: 3, to: directory + "/a.png")
        let back = try OutputFiles.readPNG(directory + "/a.png")
        XCTAssertEqual(back.pixels, pixels)
        XCTAssertThrowsError(try OutputFiles.writePNG(pixels, width: 5, height: 3, to: directory + "/missing/b.png"))
        XCTAssertThrowsError(try OutputFiles.readPNG(directory + "/nothing.png"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["a.png"])
    }
}
