import Foundation
import XCTest

/// Runs the built `framepipe` executable as a user would.
final class CommandLineTests: XCTestCase {
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    var executable: URL {
        // The test bundle sits in the same products directory as the executable.
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            return bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("framepipe")
        }
        return Bundle.main.bundleURL.appendingPathComponent("framepipe")
    }

    func run(_ arguments: [String]) throws -> Outcome {
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
        return Outcome(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }

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
