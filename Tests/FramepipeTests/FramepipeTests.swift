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
        for key in ["mean", "p50", "p99", "max"] {
            XCTAssertGreaterThan(interval[key] as? Double ?? 0, 0, key)
        }
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

final class StatisticsTests: XCTestCase {
    func testPercentilesAndSpreadOfAKnownSeries() throws {
        // 1...100 ms: nearest-rank p50 = 50, p90 = 90, p99 = 99; squared deviations sum to n(n²−1)/12 = 83325.
        let stats = try XCTUnwrap(DurationStatistics(milliseconds: (1...100).map(Double.init).shuffled()))
        XCTAssertEqual(stats.count, 100)
        XCTAssertEqual(stats.mean, 50.5)
        XCTAssertEqual(stats.p50, 50)
        XCTAssertEqual(stats.p90, 90)
        XCTAssertEqual(stats.p99, 99)
        XCTAssertEqual(stats.min, 1)
        XCTAssertEqual(stats.max, 100)
        XCTAssertEqual(stats.stddev, (83325.0 / 99).squareRoot(), accuracy: 1e-9)
        XCTAssertNil(DurationStatistics(milliseconds: []))
        XCTAssertEqual(DurationStatistics(milliseconds: [4])?.p99, 4)
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
