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

final class StatisticsTests: XCTestCase {
    /// Relative precision of the HDR histogram (3 significant digits).
    let precision = 0.001

    func testPercentilesAndSpreadOfAKnownSeries() throws {
        // 1...100 ms: p50 = 50, p90 = 90, p95 = 95, p99 = 99, p99.9 = 100; squared deviations sum to
        // n(n²−1)/12 = 83325. Mean, stddev, min and max are exact; percentiles within 0.1 %.
        let stats = try XCTUnwrap(DurationStatistics(milliseconds: (1...100).map(Double.init).shuffled()))
        XCTAssertEqual(stats.count, 100)
        XCTAssertEqual(stats.mean, 50.5, accuracy: 1e-9)
        XCTAssertEqual(stats.stddev, (83325.0 / 99).squareRoot(), accuracy: 1e-9)
        XCTAssertEqual(stats.min, 1)
        XCTAssertEqual(stats.max, 100)
        for (value, expected) in [(stats.p50, 50.0), (stats.p90, 90), (stats.p95, 95), (stats.p99, 99), (stats.p999, 100)] {
            XCTAssertEqual(value, expected, accuracy: expected * precision)
        }
        XCTAssertNil(DurationStatistics(milliseconds: []))
        XCTAssertEqual(DurationStatistics(milliseconds: [4])?.p99, 4)
        XCTAssertEqual(DurationStatistics(milliseconds: [4])?.stddev, 0)
    }

    /// 200 000 samples of a normal (16.7 ms, σ 0.5) and an exponential (mean 2 ms) distribution from a
    /// fixed seed: every reported percentile is within 0.1 % of the exact nearest-rank percentile of
    /// the same samples, and mean and stddev match the distributions.
    func testPercentilesMatchExactRanksOnKnownDistributions() throws {
        var generator = SplitMix64(seed: 0x5EED)
        func uniform() -> Double { (Double(generator.next() >> 11) + 0.5) / Double(1 << 53) }
        let normal = (0..<200_000).map { _ in 16.7 + 0.5 * (-2 * log(uniform())).squareRoot() * cos(2 * .pi * uniform()) }
        let exponential = (0..<200_000).map { _ in -2 * log(uniform()) }
        for (samples, mean, stddev) in [(normal, 16.7, 0.5), (exponential, 2.0, 2.0)] {
            let stats = try XCTUnwrap(DurationStatistics(milliseconds: samples))
            let sorted = samples.sorted()
            func exact(_ percent: Double) -> Double {
                sorted[Swift.max(0, Int((percent / 100 * Double(sorted.count)).rounded(.up)) - 1)]
            }
            for (value, percent) in [(stats.p50, 50.0), (stats.p90, 90), (stats.p95, 95), (stats.p99, 99), (stats.p999, 99.9)] {
                XCTAssertEqual(value, exact(percent), accuracy: exact(percent) * precision + 1e-6, "p\(percent)")
            }
            XCTAssertEqual(stats.mean, mean, accuracy: mean * 0.01)
            XCTAssertEqual(stats.stddev, stddev, accuracy: stddev * 0.02)
            XCTAssertEqual(stats.min, sorted[0], accuracy: 1e-6)
            XCTAssertEqual(stats.max, sorted[sorted.count - 1], accuracy: 1e-6)
        }
    }
}

/// A small deterministic generator (SplitMix64) so distribution tests are reproducible.
struct SplitMix64: RandomNumberGenerator {
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
