import Foundation
import FrameTiming
import KernelRuntime
import XCTest

@testable import Framepipe

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
let plasmaPath = repositoryRoot.appendingPathComponent("assets/kernels/plasma.wasm").path
let badModules = repositoryRoot.appendingPathComponent("Tests/KernelRuntimeTests/BadModules")

/// lavapipe prints noise to stderr without a runtime directory; every test process gets its own.
func prepareEnvironment() {
    if ProcessInfo.processInfo.environment["XDG_RUNTIME_DIR"] == nil {
        let path = NSTemporaryDirectory() + "framepipe-tests-\(getpid())"
        try? FileManager.default.createDirectory(
            atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        setenv("XDG_RUNTIME_DIR", path, 1)
    }
}

/// What a finished process printed and returned.
struct ProcessOutcome {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs `executable ARGUMENTS` in the repository root to completion and collects what it printed.
/// stdout is read to its end first; fine for tools whose stderr stays small (error lines).
func runProcess(_ executable: URL, _ arguments: [String]) throws -> ProcessOutcome {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.currentDirectoryURL = repositoryRoot
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ProcessOutcome(
        status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
        stderr: String(decoding: stderr, as: UTF8.self))
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

final class GoldenCaptureTests: XCTestCase {
    override func setUp() { prepareEnvironment() }

    /// The PNG captured through Vulkan equals, pixel for pixel (tolerance 0: nearest sampling of a
    /// texture of the target's exact size), the frame the kernel computes directly in WasmKit.
    func testCapturedPNGEqualsTheKernelsOwnFrame() throws {
        let directory = try temporaryDirectory()
        let png = directory + "/frame.png"
        let options = Capture.Options(kernelPath: plasmaPath, frame: 12, width: 40, height: 28, outputPath: png)
        let readBack = try Capture.run(options)
        let direct = try Capture.computeDirectly(options).bytes
        let file = try OutputFiles.readPNG(png)
        XCTAssertEqual(file.width, 40)
        XCTAssertEqual(file.height, 28)
        XCTAssertEqual(readBack.count, direct.count)
        let differing = zip(file.pixels, direct).filter { $0 != $1 }.count
        XCTAssertEqual(differing, 0, "bytes that differ between the Vulkan capture and the kernel's frame")
        XCTAssertEqual(readBack, file.pixels)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0 != "frame.png" }
        XCTAssertEqual(leftovers, [], "no temporary files left behind")
    }

    func testDifferentFramesDiffer() throws {
        let options = { (frame: Int32) in
            Capture.Options(kernelPath: plasmaPath, frame: frame, width: 16, height: 16, outputPath: "/dev/null")
        }
        XCTAssertNotEqual(try Capture.computeDirectly(options(0)).bytes, try Capture.computeDirectly(options(30)).bytes)
    }
}

final class BenchTests: XCTestCase {
    override func setUp() { prepareEnvironment() }

    func testHeadlessBenchWritesAParsableSummaryAndTheLastFrame() throws {
        let directory = try temporaryDirectory() + "/report"
        var options = BenchOptions(kernelPath: plasmaPath)
        options.width = 32
        options.height = 24
        options.frames = 12
        options.warmup = 2
        options.workers = 1
        options.outputDirectory = directory
        let result = try Bench.run(options)

        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/summary.json"))
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(json["schema"] as? String, "framepipe.bench/1")
        XCTAssertEqual(json["kernel"] as? String, plasmaPath)
        XCTAssertEqual(json["size"] as? String, "32x24")
        XCTAssertEqual(json["workers"] as? Int, 1)
        XCTAssertTrue((json["engine"] as? String)?.hasPrefix("WasmKit") ?? false)
        let device = try XCTUnwrap(json["device"] as? [String: Any])
        XCTAssertFalse((device["name"] as? String ?? "").isEmpty)
        XCTAssertNotNil(device["type"] as? String)
        let frames = try XCTUnwrap(json["frames"] as? [String: Any])
        XCTAssertEqual(frames["measured"] as? Int, 12)
        XCTAssertEqual(frames["failed"] as? Int, 0)
        XCTAssertGreaterThan(json["fps"] as? Double ?? 0, 0)
        let interval = try XCTUnwrap(json["frame_interval_ms"] as? [String: Any])
        for key in ["mean", "p50", "p90", "p95", "p99", "p999", "max", "min"] {
            XCTAssertGreaterThan(interval[key] as? Double ?? 0, 0, key)
        }
        XCTAssertEqual(interval["count"] as? Int, 12, "12 measured frames after warm-up give 12 intervals (the first from the last warm-up frame)")
        let jitter = try XCTUnwrap(json["jitter_ms"] as? [String: Any])
        XCTAssertEqual(jitter["stddev"] as? Double, interval["stddev"] as? Double)
        XCTAssertGreaterThanOrEqual(jitter["p99_minus_p50"] as? Double ?? -1, 0)
        XCTAssertLessThanOrEqual(interval["p50"] as? Double ?? 0, interval["p99"] as? Double ?? 0)
        XCTAssertLessThanOrEqual(interval["p99"] as? Double ?? 0, interval["max"] as? Double ?? 0)

        // The last frame on disk is the frame the kernel computes for that frame number.
        let png = try OutputFiles.readPNG(result.lastFramePath)
        XCTAssertEqual(png.width, 32)
        XCTAssertEqual(png.height, 24)
        let direct = try Capture.computeDirectly(
            .init(
                kernelPath: plasmaPath, frame: result.summary.last_frame.frame, width: 32, height: 24,
                outputPath: "/dev/null")
        ).bytes
        XCTAssertEqual(png.pixels, direct)
    }

    func testBenchRefusesABadKernelWithExitCode2() {
        var options = BenchOptions(kernelPath: badModules.appendingPathComponent("missing-fp-frame.wasm").path)
        options.width = 8
        options.height = 8
        XCTAssertThrowsError(try Bench.run(options)) { error in
            XCTAssertEqual((error as? FramepipeError)?.exitCode, .badKernel)
        }
    }

    func testTrappingKernelEndsTheBenchWithExitCode5() throws {
        var options = BenchOptions(kernelPath: badModules.appendingPathComponent("traps.wasm").path)
        options.width = 8
        options.height = 8
        options.outputDirectory = try temporaryDirectory() + "/never-written"
        XCTAssertThrowsError(try Bench.run(options)) { error in
            XCTAssertEqual((error as? FramepipeError)?.exitCode, .kernelFailed, "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: options.outputDirectory + "/summary.json"))
    }
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
