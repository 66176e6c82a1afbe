import Foundation
import XCTest

/// Runs the built `framepipe` executable as a user would.
final class CommandLineTests: XCTestCase {
    typealias Outcome = ProcessOutcome
    var executable: URL { framepipeExecutable }

    func run(_ arguments: [String]) throws -> Outcome { try runProcess(executable, arguments) }

    override func setUpWithError() throws {
        prepareEnvironment()
        try XCTSkipUnless(
            FileManager.default.isExecutableFile(atPath: executable.path), "framepipe not built at \(executable.path)")
    }

    func testInspectRefusesBrokenFilesWithOneLineAndExitCode2() throws {
        let cases = [
            ("not-wasm.txt", "not a WebAssembly module"),
            ("truncated.wasm", "truncated"),
            ("missing-fp-frame.wasm", "fp_frame"),
        ]
        for (file, problem) in cases {
            let outcome = try run(["inspect", badModules.appendingPathComponent(file).path, "--size", "16x16"])
            XCTAssertEqual(outcome.status, 2, file)
            let lines = outcome.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "\(file): \(outcome.stderr)")
            XCTAssertTrue(lines.first?.contains(problem) ?? false, "\(file): \(outcome.stderr)")
            XCTAssertTrue(outcome.stdout.isEmpty)
        }
    }

    func testInspectDescribesPlasma() throws {
        let outcome = try run(["inspect", "assets/kernels/plasma.wasm"])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        XCTAssertTrue(outcome.stdout.contains("abi       v1"))
        XCTAssertTrue(outcome.stdout.contains("format    1 (rgba8)"))
        XCTAssertTrue(outcome.stdout.contains("fp_frame"))
        XCTAssertEqual(outcome.stderr, "", "no noise on stderr")
    }

    func testBenchAndCaptureFromTheCommandLine() throws {
        let directory = try temporaryDirectory()
        let bench = try run([
            "bench", "assets/kernels/plasma.wasm", "--headless", "--frames", "6", "--warmup", "1", "--size", "16x16",
            "--out", directory,
        ])
        XCTAssertEqual(bench.status, 0, bench.stderr)
        XCTAssertTrue(bench.stdout.contains("fps"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/summary.json"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/last-frame.png"))

        let capture = try run([
            "capture", "assets/kernels/plasma.wasm", "--frame", "3", "--size", "16x8", "--out", directory + "/c.png",
        ])
        XCTAssertEqual(capture.status, 0, capture.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/c.png"))
    }

    func testBadArgumentsAndMissingFilesHaveDistinctExitCodes() throws {
        let badSize = try run(["bench", "assets/kernels/plasma.wasm", "--size", "huge"])
        XCTAssertEqual(badSize.status, 64)
        let missing = try run(["capture", "no/such/kernel.wasm", "--out", "/tmp/never.png"])
        XCTAssertEqual(missing.status, 2)
        XCTAssertEqual(missing.stderr.split(separator: "\n").count, 1, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("no such file"))
    }
}

extension CommandLineTests {
    /// A fault on one frame: one log line on stderr with kernel, frame, tile and reason; the run
    /// goes on and exits 0 with the failure counted.
    func testBenchReportsAFaultAndGoesOn() throws {
        let directory = try temporaryDirectory()
        let outcome = try run([
            "bench", badModules.appendingPathComponent("fault-trap.wasm").path, "--frames", "8", "--warmup", "0",
            "--size", "8x8", "--workers", "2", "--policy", "fifo", "--out", directory,
        ])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let faultLines = outcome.stderr.split(separator: "\n").filter { $0.contains("failed [trap]") }
        XCTAssertFalse(faultLines.isEmpty, outcome.stderr)
        XCTAssertTrue(faultLines.allSatisfy { $0.hasPrefix("kernel fault-trap: frame 2 tile ") }, outcome.stderr)
        XCTAssertTrue(outcome.stdout.contains("failed 1"), outcome.stdout)
    }

    func testMaxFailuresAndLimitsAreTakenFromTheCommandLine() throws {
        let directory = try temporaryDirectory()
        let disabled = try run([
            "bench", badModules.appendingPathComponent("traps.wasm").path, "--size", "8x8", "--max-failures", "2",
            "--out", directory,
        ])
        XCTAssertEqual(disabled.status, 5, disabled.stderr)
        XCTAssertTrue(disabled.stderr.contains("framepipe: error: kernel disabled after 2 consecutive failed frames"), disabled.stderr)

        let tooSmall = try run([
            "capture", "assets/kernels/plasma.wasm", "--size", "1024x1024", "--max-memory", "1", "--out", directory + "/x.png",
        ])
        XCTAssertEqual(tooSmall.status, 2, tooSmall.stderr)
        XCTAssertTrue(tooSmall.stderr.contains("raise --max-memory"), tooSmall.stderr)

        let endless = try run([
            "capture", badModules.appendingPathComponent("endless-loop.wasm").path, "--size", "8x8", "--fuel", "100000",
            "--out", directory + "/y.png",
        ])
        XCTAssertEqual(endless.status, 5, endless.stderr)
        XCTAssertTrue(endless.stderr.contains("ran out of fuel after 100000"), endless.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/y.png"))
    }

    func testBadPlacementIsAUsageError() throws {
        let badList = try run(["bench", "assets/kernels/plasma.wasm", "--compute-cpus", "3-1"])
        XCTAssertEqual(badList.status, 64, badList.stderr)
        XCTAssertTrue(badList.stderr.contains("compute-cpus"), badList.stderr)
        let missingCPU = try run(["bench", "assets/kernels/plasma.wasm", "--render-cpus", "1000"])
        XCTAssertEqual(missingCPU.status, 64, missingCPU.stderr)
        XCTAssertTrue(missingCPU.stderr.contains("CPU 1000 is not available"), missingCPU.stderr)
    }
}
