import EngineTestSupport
import Foundation
import XCTest

@testable import Framepipe

/// Runs the built `framepipe` executable as a user would, with `--engine wasmkit` and `--engine wasmtime`.
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
        try TestEngines.forEach { which in
            for (file, problem) in cases {
                let outcome = try run(
                    ["inspect", badModules.appendingPathComponent(file).path, "--size", "16x16"] + which.arguments)
                let context = "\(which): \(file)"
                XCTAssertEqual(outcome.status, 2, context)
                let lines = outcome.stderr.split(separator: "\n")
                XCTAssertEqual(lines.count, 1, "\(context): \(outcome.stderr)")
                XCTAssertTrue(lines.first?.contains(problem) ?? false, "\(context): \(outcome.stderr)")
                XCTAssertTrue(outcome.stdout.isEmpty, context)
            }
        }
    }

    /// Every module of the corpus: the same exit code from `inspect` on both engines, and the same
    /// one-line error (but for the engine's own reason a module does not parse).
    func testInspectOfEveryCorpusModuleIsTheSameOnBothEngines() throws {
        _ = try TestEngines.wasmtimeLibrary()
        // The corpus and the fuzzing reproducers (BadModules/fuzz, docs/fuzzing.md).
        let fuzz = try FileManager.default.contentsOfDirectory(atPath: badModules.appendingPathComponent("fuzz").path)
            .filter { $0.hasSuffix(".wasm") }.map { "fuzz/\($0)" }
        let files = try FileManager.default.contentsOfDirectory(atPath: badModules.path)
            .filter { $0.hasSuffix(".wasm") || $0.hasSuffix(".txt") }.sorted() + fuzz.sorted()
        XCTAssertGreaterThan(files.count, 20)
        XCTAssertGreaterThanOrEqual(fuzz.count, 10, "the fuzzing reproducers")
        // A probe that loops is stopped at its bound, min(--tile-timeout, 1 s) (KernelLimits.probeBudget):
        // WasmKit's fuel for it is calibrated on a release build, and this debug build interprets ~30×
        // slower, so the default bound would take 30 s here; 100 ms takes 3 s and bounds both engines alike.
        let executable = self.executable
        let outcomes = try concurrently(files.count) { index in
            let arguments = [
                "inspect", badModules.appendingPathComponent(files[index]).path, "--size", "16x16", "--tile-timeout", "100",
            ]
            return (
                try runProcess(executable, arguments + EngineUnderTest.wasmkit.arguments),
                try runProcess(executable, arguments + EngineUnderTest.wasmtime.arguments)
            )
        }
        var refused = 0
        for (file, (interpreted, compiled)) in zip(files, outcomes) {
            XCTAssertEqual(interpreted.status, compiled.status, "\(file): exit codes\n\(interpreted.stderr)\(compiled.stderr)")
            XCTAssertEqual(
                Self.engineNeutral(interpreted.stderr), Self.engineNeutral(compiled.stderr), "\(file): the error line")
            if interpreted.status != 0 {
                refused += 1
                XCTAssertEqual(interpreted.status, 2, "\(file): \(interpreted.stderr)")
                XCTAssertEqual(compiled.stderr.split(separator: "\n").count, 1, "\(file): \(compiled.stderr)")
                XCTAssertTrue(compiled.stderr.hasPrefix("framepipe: error: "), "\(file): \(compiled.stderr)")
            } else {
                XCTAssertTrue(interpreted.stdout.contains("engine    WasmKit"), "\(file): \(interpreted.stdout)")
                XCTAssertTrue(compiled.stdout.contains("engine    wasmtime"), "\(file): \(compiled.stdout)")
            }
        }
        XCTAssertGreaterThanOrEqual(refused, 11, "the modules refused at load")
    }

    /// The engine's own reason a module does not parse, cut out (EngineEquivalenceTests does the same),
    /// and how the engine stopped a runaway call: wasmtime "ran past its deadline", WasmKit "used up
    /// its time budget" (the same bound, kept by fuel).
    static func engineNeutral(_ text: String) -> String {
        var text = text
        // How deep a backtrace is: wasmtime keeps 20 frames of a deep stack, WasmKit all of them.
        text = text.replacingOccurrences(of: #" ×\d+"#, with: " ×N", options: .regularExpression)
        // How the engine words a link error (an import of the wrong type).
        if let start = text.range(of: "cannot instantiate kernel: ") {
            let end = text[start.upperBound...].firstIndex(of: "\n") ?? text.endIndex
            text.replaceSubrange(start.upperBound..<end, with: "…")
        }
        for phrase in ["ran past its deadline", "used up its time budget"] {
            if let start = text.range(of: phrase) {
                let end = text[start.lowerBound...].firstIndex(of: "\n") ?? text.endIndex
                text.replaceSubrange(start.lowerBound..<end, with: "stopped at its time bound")
            }
        }
        let marker = "invalid or truncated WebAssembly module: "
        guard let start = text.range(of: marker), let end = text.range(of: "; rebuild it", range: start.upperBound..<text.endIndex)
        else { return text }
        return text.replacingCharacters(in: start.upperBound..<end.lowerBound, with: "…")
    }

    func testInspectDescribesPlasma() throws {
        try TestEngines.forEach { which in
            let outcome = try run(["inspect", "assets/kernels/plasma.wasm"] + which.arguments)
            XCTAssertEqual(outcome.status, 0, "\(which): \(outcome.stderr)")
            XCTAssertTrue(outcome.stdout.contains("engine    \(which.description) "), "\(which): \(outcome.stdout)")
            XCTAssertTrue(outcome.stdout.contains("abi       v1"), "\(which)")
            XCTAssertTrue(outcome.stdout.contains("format    1 (rgba8)"), "\(which)")
            XCTAssertTrue(outcome.stdout.contains("fp_frame"), "\(which)")
            XCTAssertEqual(outcome.stderr, "", "\(which): no noise on stderr")
        }
    }

    func testBenchAndCaptureFromTheCommandLine() throws {
        try TestEngines.forEach { which in
            let directory = try temporaryDirectory()
            let bench = try run(
                [
                    "bench", "assets/kernels/plasma.wasm", "--headless", "--frames", "6", "--warmup", "1", "--size", "16x16",
                    "--out", directory,
                ] + which.arguments)
            XCTAssertEqual(bench.status, 0, "\(which): \(bench.stderr)")
            XCTAssertTrue(bench.stdout.contains("fps"), "\(which)")
            XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/summary.json"), "\(which)")
            XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/last-frame.png"), "\(which)")

            let capture = try run(
                ["capture", "assets/kernels/plasma.wasm", "--frame", "3", "--size", "16x8", "--out", directory + "/c.png"]
                    + which.arguments)
            XCTAssertEqual(capture.status, 0, "\(which): \(capture.stderr)")
            XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/c.png"), "\(which)")
        }
    }

    /// `--data` and `--seed` (docs/cli.md, "Kernel data and seed"): a WASI kernel that logs, reads the clock and
    /// random bytes and a file from the data directory gives the same capture twice with one seed, another with
    /// another seed; on both engines, the same bytes. A `--data` that is not a directory is exit 64, one line.
    func testDataAndSeedMakeWASIKernelsReproducible() throws {
        let kernel = "Tests/KernelRuntimeTests/BadModules/good-wasi.wasm"
        let directory = try temporaryDirectory()
        let data = directory + "/data"
        try FileManager.default.createDirectory(atPath: data + "/sub", withIntermediateDirectories: true)
        try Data("DATA from the host".utf8).write(to: URL(fileURLWithPath: data + "/input.txt"))
        var captures: [String: Data] = [:]
        try TestEngines.forEach { which in
            func capture(seed: Int, _ name: String) throws -> Data {
                let out = directory + "/\(which)-\(name).png"
                let outcome = try run(
                    ["capture", kernel, "--frame", "3", "--size", "16x4", "--data", data, "--seed", "\(seed)", "--out", out]
                        + which.arguments)
                XCTAssertEqual(outcome.status, 0, "\(which): \(outcome.stderr)")
                return try Data(contentsOf: URL(fileURLWithPath: out))
            }
            let first = try capture(seed: 9, "a")
            XCTAssertEqual(first, try capture(seed: 9, "b"), "\(which): one seed, one frame")
            XCTAssertNotEqual(first, try capture(seed: 10, "c"), "\(which): another seed")
            if let other = captures["seed 9"] { XCTAssertEqual(first, other, "\(which): the same bytes on both engines") }
            captures["seed 9"] = first
        }
        let bench = try run(["bench", kernel, "--headless", "--frames", "3", "--warmup", "0", "--size", "16x4", "--data", data, "--out", directory + "/b"])
        XCTAssertEqual(bench.status, 0, bench.stderr)
        XCTAssertTrue(bench.stderr.contains("kernel good-wasi: wasi kernel ready"), "stdout is the kernel log: \(bench.stderr)")
        for (argument, expected) in [
            ("/nonexistent/framepipe", "no such directory"), (data + "/input.txt", "is a file; give the directory that holds it"),
        ] {
            let refused = try run(["bench", kernel, "--headless", "--data", argument, "--out", directory + "/r"])
            XCTAssertEqual(refused.status, 64, refused.stderr)
            XCTAssertTrue(refused.stderr.contains("--data \(argument)") && refused.stderr.contains(expected), refused.stderr)
            XCTAssertEqual(refused.stderr.split(separator: "\n").count, 1, refused.stderr)
        }
    }

    /// `framepipe --version` names the release and the commit the binary was built from; summary.json records the same,
    /// with the date, the command line, the host and the Vulkan driver.
    func testVersionAndRunMetadataNameTheBuildTheCommandAndTheHost() throws {
        let version = try run(["--version"])
        XCTAssertEqual(version.status, 0, version.stderr)
        let line = version.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(line.hasPrefix("framepipe \(FramepipeVersion.number) (commit "), line)
        // The test runs in the checkout the binary was built from: the stamped commit is its HEAD (or "unknown"
        // where git is missing, which setup.sh installs).
        let git = try? runProcess(URL(fileURLWithPath: "/usr/bin/git"), ["rev-parse", "HEAD"])
        if let head = git.flatMap({ $0.status == 0 ? $0.stdout.trimmingCharacters(in: .whitespacesAndNewlines) : nil }) {
            XCTAssertEqual(FramepipeVersion.commit, head, "the commit stamped into this build")
            XCTAssertTrue(line.contains("(commit \(head.prefix(12))"), line)
        }

        let directory = try temporaryDirectory()
        let arguments = [
            "bench", "assets/kernels/plasma.wasm", "--frames", "4", "--warmup", "0", "--size", "16x16", "--out", directory,
            "--engine", "wasmkit", "--runs", "1",
        ]
        let before = Date()
        let bench = try run(arguments)
        XCTAssertEqual(bench.status, 0, bench.stderr)
        let summary = try JSONDecoder().decode(
            BenchSummary.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/summary.json")))
        let metadata = try XCTUnwrap(summary.run, "summary.json has no `run`")
        XCTAssertEqual(metadata.framepipe_version, FramepipeVersion.number)
        XCTAssertEqual(metadata.commit, FramepipeVersion.commit)
        XCTAssertEqual(metadata.command_line.first, executable.path)
        XCTAssertEqual(Array(metadata.command_line.dropFirst()), arguments)
        let started = try XCTUnwrap(ISO8601DateFormatter().date(from: metadata.date), metadata.date)
        XCTAssertLessThanOrEqual(abs(started.timeIntervalSince(before)), 600, "date \(metadata.date) is not this run's")
        XCTAssertEqual(metadata.host.cores, ProcessInfo.processInfo.activeProcessorCount)
        XCTAssertTrue(metadata.host.kernel.hasPrefix("Linux "), metadata.host.kernel)
        XCTAssertFalse(metadata.host.distribution.isEmpty)
        XCTAssertFalse(metadata.host.cpu_model.isEmpty)
        // lavapipe (and every current driver) has VK_KHR_driver_properties.
        XCTAssertFalse(summary.device.driver_name?.isEmpty ?? true, "\(summary.device)")
        XCTAssertFalse(summary.device.driver_version?.isEmpty ?? true, "\(summary.device)")

        // A summary of an older run, without these fields, still decodes (baselines are read back).
        var object = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/summary.json")))
                as? [String: Any])
        object["run"] = nil
        var device = try XCTUnwrap(object["device"] as? [String: Any])
        for key in ["driver_name", "driver_info", "driver_version"] { device[key] = nil }
        object["device"] = device
        let old = try JSONDecoder().decode(BenchSummary.self, from: JSONSerialization.data(withJSONObject: object))
        XCTAssertNil(old.run)
        XCTAssertNil(old.device.driver_name)
    }

    /// Every numeric flag, given a negative number (read as its value, not as a flag) or a word: exit 64 and one line
    /// `framepipe: error: …` that names the flag and what it takes. Other argument errors are one line too.
    func testEveryArgumentErrorIsOneLineThatNamesTheAllowedValues() throws {
        let baseline = try temporaryDirectory()
        let kernel = "assets/kernels/plasma.wasm"
        // (command and arguments before the flag, flag, what its error must say it takes, bad values)
        let cases: [([String], String, String, [String])] = [
            (["bench", kernel], "--frames", "at least 1", ["-1", "0", "many"]),
            (["bench", kernel], "--duration", "more than 0 and at most 86400", ["-1", "soon"]),
            (["bench", kernel], "--warmup", "0 or more", ["-1", "x"]),
            (["bench", kernel], "--runs", "1...100", ["-1", "0", "101", "x"]),
            (["bench", kernel, "--baseline", baseline], "--min-effect", "a percentage, 0...100", ["-1", "150", "x"]),
            (["bench", kernel, "--baseline", baseline], "--significance", "more than 0 and at most 0.5", ["0", "0.7", "x"]),
            (["bench", kernel], "--target-hz", "at most 10000", ["-60", "fast"]),
            (["bench", kernel, "--baseline", baseline], "--fail-on-regression", "0 or more", ["-5", "x"]),
            (["bench", kernel], "--gpu", "0 or more", ["-1", "first"]),
            (["bench", kernel], "--cpu-dma-latency", "0...2000000000", ["-1", "3000000000", "idle"]),
            (["bench", kernel], "--slots", "3...8", ["-1", "2", "x"]),
            (["bench", kernel], "--workers", "1...256", ["-1", "0", "x"]),
            (["bench", kernel], "--max-failures", "at least 1", ["-1", "x"]),
            (["bench", kernel], "--tile-timeout", "1...3600000", ["-1", "x"]),
            (["bench", kernel], "--fuel", "at least 1", ["-1", "0", "x"]),
            (["bench", kernel], "--max-memory", "1...4096", ["-1", "x"]),
            (["bench", kernel], "--size", "each 1...16384", ["-1x5", "0x0", "big"]),
            (["capture", kernel, "--out", baseline + "/f.png"], "--frame", "0 or more", ["-3", "x"]),
            (["capture", kernel, "--out", baseline + "/f.png"], "--time", "a finite number of seconds, 0 or more", ["nan", "-1", "x"]),
            (["capture", kernel, "--out", baseline + "/f.png"], "--gpu", "0 or more", ["-1"]),
            (["view", kernel], "--exit-after-frames", "at least 1", ["-1", "x"]),
            (["view", kernel], "--workers", "1...256", ["-2"]),
        ]
        func assertOneLine(_ arguments: [String], mentions: [String], file: StaticString = #filePath, line: UInt = #line) throws {
            let outcome = try run(arguments)
            let words = arguments.joined(separator: " ")
            XCTAssertEqual(outcome.status, 64, "\(words): \(outcome.stderr)", file: file, line: line)
            let lines = outcome.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "\(words): \(outcome.stderr)", file: file, line: line)
            XCTAssertTrue(outcome.stderr.hasPrefix("framepipe: error: "), "\(words): \(outcome.stderr)", file: file, line: line)
            for word in mentions {
                XCTAssertTrue(outcome.stderr.contains(word), "\(words): '\(word)' missing in \(outcome.stderr)", file: file, line: line)
            }
        }
        for (prefix, flag, allowed, values) in cases {
            for value in values { try assertOneLine(prefix + [flag, value], mentions: [flag, allowed]) }
        }
        try assertOneLine(["capture", kernel, "--out", baseline + "/f.jpg"], mentions: ["--out", ".png"])
        try assertOneLine(["bench"], mentions: ["<kernel>"])
        try assertOneLine(["bench", kernel, "--no-such-flag"], mentions: ["--no-such-flag"])
        try assertOneLine(["bench", kernel, "--policy", "sideways"], mentions: ["latest", "fifo"])
        try assertOneLine(["no-such-command"], mentions: ["no-such-command"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: baseline + "/f.jpg"), "a refused capture writes nothing")
        // Help is still ArgumentParser's (several lines, exit 0).
        let help = try run(["bench", "--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.contains("--frames"))
    }

    /// `--cpu-dma-latency US`: while bench runs, the kernel's PM QoS constraint is that request (read back from
    /// /dev/cpu_dma_latency by polling, with a deadline); after it, the constraint is what it was; summary.json and the
    /// console say it was held. Without the right to open the file: exit 1 and one line that says what to do.
    func testCPUDMALatencyIsHeldForTheRunAndRecorded() throws {
        let path = CPUWakeLatencyRequest.path
        guard let before = CPUWakeLatencyRequest.current() else { throw XCTSkip("\(path) cannot be read here") }
        let directory = try temporaryDirectory()
        let request = 7  // a value no other request on this machine holds, so that reading it back means ours
        let arguments = [
            "bench", "assets/kernels/plasma.wasm", "--size", "16x16", "--target-hz", "30", "--frames", "90", "--out",
            directory, "--no-progress", "--cpu-dma-latency", String(request),
        ]
        guard access(path, W_OK) == 0 else {
            let refused = try run(arguments)
            XCTAssertEqual(refused.status, 1, refused.stderr)
            XCTAssertEqual(refused.stderr.split(separator: "\n").count, 1, refused.stderr)
            XCTAssertTrue(refused.stderr.contains("--cpu-dma-latency: cannot open \(path)"), refused.stderr)
            return
        }
        guard before > request else { throw XCTSkip("another PM QoS request (\(before) µs) is lower than the test's") }
        let bench = try RunningProcess(executable, arguments)
        // 90 frames at 30 Hz: the request stands for 3 s at least, well over the wait's 20 ms polling step.
        let seen = bench.waitFor { _ in CPUWakeLatencyRequest.current() == request }
        let outcome = bench.wait()
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        XCTAssertTrue(seen, "the constraint never read \(request) µs while bench ran")
        XCTAssertEqual(CPUWakeLatencyRequest.current(), before, "the request outlived the run")
        let summary = try JSONDecoder().decode(
            BenchSummary.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/summary.json")))
        XCTAssertEqual(summary.placement.cpu_dma_latency_us, request)
        XCTAssertTrue(outcome.stdout.contains("idle CPUs wake within \(request) µs"), outcome.stdout)
    }

    func testAPMQoSRequestIsRefusedInOneLineWhereThereIsNoInterface() throws {
        XCTAssertThrowsError(try CPUWakeLatencyRequest(microseconds: 0, path: "/nonexistent/cpu_dma_latency")) { error in
            let failure = error as? FramepipeError
            XCTAssertEqual(failure?.exitCode, .failure)
            XCTAssertEqual(
                failure?.message,
                "--cpu-dma-latency: cannot open /nonexistent/cpu_dma_latency: No such file or directory (this kernel has no PM QoS interface; leave out --cpu-dma-latency)")
        }
    }

    func testBadArgumentsAndMissingFilesHaveDistinctExitCodes() throws {
        try TestEngines.forEach { which in
            let badSize = try run(["bench", "assets/kernels/plasma.wasm", "--size", "huge"] + which.arguments)
            XCTAssertEqual(badSize.status, 64, "\(which)")
            let missing = try run(["capture", "no/such/kernel.wasm", "--out", "/tmp/never.png"] + which.arguments)
            XCTAssertEqual(missing.status, 2, "\(which)")
            XCTAssertEqual(missing.stderr.split(separator: "\n").count, 1, "\(which): \(missing.stderr)")
            XCTAssertTrue(missing.stderr.contains("no such file"), "\(which): \(missing.stderr)")
        }
        let badEngine = try run(["inspect", "assets/kernels/plasma.wasm", "--engine", "v8"])
        XCTAssertEqual(badEngine.status, 64, badEngine.stderr)
    }
}

extension CommandLineTests {
    /// A fault on one frame: one log line on stderr with kernel, frame, tile and reason; the run
    /// goes on and exits 0 with the failure counted.
    func testBenchReportsAFaultAndGoesOn() throws {
        try TestEngines.forEach { which in
            let directory = try temporaryDirectory()
            let outcome = try run(
                [
                    "bench", badModules.appendingPathComponent("fault-trap.wasm").path, "--frames", "8", "--warmup", "0",
                    "--size", "8x8", "--workers", "2", "--policy", "fifo", "--out", directory,
                ] + which.arguments)
            XCTAssertEqual(outcome.status, 0, "\(which): \(outcome.stderr)")
            let faultLines = outcome.stderr.split(separator: "\n").filter { $0.contains("failed [trap]") }
            XCTAssertFalse(faultLines.isEmpty, "\(which): \(outcome.stderr)")
            XCTAssertTrue(
                faultLines.allSatisfy {
                    $0.hasPrefix("kernel fault-trap: frame 2 tile ") && $0.contains("backtrace: explode ← fp_frame")
                }, "\(which): \(outcome.stderr)")
            XCTAssertTrue(outcome.stdout.contains("failed 1"), "\(which): \(outcome.stdout)")
        }
    }

    /// An endless loop in fp_frame is a fault like any other on both engines: each frame fails at
    /// its deadline with one fault line, and bench exits 5 once the kernel is disabled, never with
    /// the "no frame from the kernel" watchdog (exit 1).
    func testAnEndlessLoopIsAFaultNotAStall() throws {
        try TestEngines.forEach { which in
            let directory = try temporaryDirectory()
            let outcome = try run(
                [
                    "bench", badModules.appendingPathComponent("frame-tail-call-cycle.wasm").path, "--size", "8x8",
                    "--tile-timeout", "50", "--workers", "1", "--no-progress", "--out", directory,
                ] + which.arguments)
            XCTAssertEqual(outcome.status, 5, "\(which): \(outcome.stderr)")
            let faults = outcome.stderr.split(separator: "\n").filter { $0.contains("failed [timeout]") }
            XCTAssertFalse(faults.isEmpty, "\(which): \(outcome.stderr)")
            XCTAssertTrue(
                outcome.stderr.contains("framepipe: error: kernel disabled after 3 consecutive failed frames"), "\(which): \(outcome.stderr)")
            XCTAssertFalse(outcome.stderr.contains("no frame from the kernel"), "\(which): \(outcome.stderr)")
        }
    }

    /// Kernel log text reaches stderr escaped and prefixed, never as forged host lines.
    func testKernelLogCannotForgeHostOutput() throws {
        try TestEngines.forEach { which in
            let directory = try temporaryDirectory()
            let outcome = try run(
                [
                    "bench", badModules.appendingPathComponent("log-injection.wasm").path, "--size", "8x8", "--frames", "3",
                    "--warmup", "0", "--no-progress", "--out", directory,
                ] + which.arguments)
            XCTAssertEqual(outcome.status, 0, "\(which): \(outcome.stderr)")
            let lines = outcome.stderr.split(separator: "\n", omittingEmptySubsequences: false)
            XCTAssertFalse(lines.contains { $0.hasPrefix("framepipe: error: forged") }, "\(which): \(outcome.stderr)")
            XCTAssertFalse(outcome.stderr.contains("\u{1B}") || outcome.stderr.contains("\u{7}"), "\(which)")
            XCTAssertTrue(
                lines.contains { $0 == #"kernel log-injection: ok\nframepipe: error: forged\u{1B}[31mred\u{7}"# }, "\(which): \(outcome.stderr)")
            // At most 16 lines a frame, then one notice: 100 logged a frame never all reach stderr.
            let notices = lines.filter { $0.hasPrefix("kernel log-injection: frame ") && $0.hasSuffix("further log lines dropped (at most 16 a frame)") }
            let printed = lines.filter { $0 == "kernel log-injection: ok" }
            XCTAssertFalse(notices.isEmpty, "\(which): \(outcome.stderr)")
            XCTAssertLessThanOrEqual(printed.count, 16 * notices.count + 16, "\(which)")
        }
    }

    func testMaxFailuresAndLimitsAreTakenFromTheCommandLine() throws {
        try TestEngines.forEach { which in
            let directory = try temporaryDirectory()
            let disabled = try run(
                [
                    "bench", badModules.appendingPathComponent("traps.wasm").path, "--size", "8x8", "--max-failures", "2",
                    "--out", directory,
                ] + which.arguments)
            XCTAssertEqual(disabled.status, 5, "\(which): \(disabled.stderr)")
            XCTAssertTrue(
                disabled.stderr.contains("framepipe: error: kernel disabled after 2 consecutive failed frames"),
                "\(which): \(disabled.stderr)")

            let tooSmall = try run(
                [
                    "capture", "assets/kernels/plasma.wasm", "--size", "1024x1024", "--max-memory", "1", "--out",
                    directory + "/x.png",
                ] + which.arguments)
            XCTAssertEqual(tooSmall.status, 2, "\(which): \(tooSmall.stderr)")
            XCTAssertTrue(tooSmall.stderr.contains("raise --max-memory"), "\(which): \(tooSmall.stderr)")

            // --fuel: WasmKit always meters fuel; given, wasmtime meters it too.
            let endless = try run(
                [
                    "capture", badModules.appendingPathComponent("endless-loop.wasm").path, "--size", "8x8", "--fuel",
                    "100000", "--out", directory + "/y.png",
                ] + which.arguments)
            XCTAssertEqual(endless.status, 5, "\(which): \(endless.stderr)")
            XCTAssertTrue(endless.stderr.contains("ran out of fuel after 100000"), "\(which): \(endless.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/y.png"), "\(which)")
        }
    }

    /// wasmtime without --fuel: its wall-clock deadline (--tile-timeout) stops a runaway kernel.
    func testTileTimeoutStopsARunawayKernelOnWasmtime() throws {
        _ = try TestEngines.wasmtimeLibrary()
        let directory = try temporaryDirectory()
        let endless = try run(
            [
                "capture", badModules.appendingPathComponent("endless-loop.wasm").path, "--size", "8x8", "--tile-timeout",
                "200", "--out", directory + "/y.png",
            ] + EngineUnderTest.wasmtime.arguments)
        XCTAssertEqual(endless.status, 5, endless.stderr)
        XCTAssertEqual(endless.stderr.split(separator: "\n").count, 1, endless.stderr)
        XCTAssertTrue(endless.stderr.hasPrefix("framepipe: error: "), endless.stderr)
        XCTAssertTrue(endless.stderr.contains("ran past its deadline of 200 ms"), endless.stderr)
        XCTAssertTrue(endless.stderr.contains("raise --tile-timeout"), endless.stderr)
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

/// Without wasmtime's library: `--engine wasmtime` exits 7 with one line, `--engine auto` (the
/// default) falls back to WasmKit with a one-line note, `--engine wasmkit` says nothing.
extension CommandLineTests {
    /// The environment of a `framepipe` that can find no wasmtime: FRAMEPIPE_WASMTIME_LIB unset and
    /// a PATH without python3 (so no Python package is found either).
    func environmentWithoutWasmtime() -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["FRAMEPIPE_WASMTIME_LIB"] = nil
        environment["PYTHONPATH"] = ""
        environment["PATH"] = "/nonexistent-framepipe-test-bin"
        return environment
    }

    /// A copy of the binary in a temporary folder, outside the repository, run from another
    /// temporary folder: neither the executable's folder nor the current one has `.deps` above it
    /// (`WasmtimeLibrary.projectLocalCandidates`; a symlink would be resolved back to .build).
    func isolatedBinary() throws -> (binary: URL, directory: URL) {
        let folder = URL(fileURLWithPath: try temporaryDirectory())
        let binary = folder.appendingPathComponent("bin/framepipe")
        try FileManager.default.createDirectory(at: binary.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: executable, to: binary)
        let directory = folder.appendingPathComponent("work")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        XCTAssertFalse(folder.path.hasPrefix(repositoryRoot.path), "the copy must lie outside the repository")
        return (binary, directory)
    }

    func testWithoutTheLibraryWasmtimeExits7AndAutoFallsBack() throws {
        let (binary, directory) = try isolatedBinary()
        defer { try? FileManager.default.removeItem(at: binary.deletingLastPathComponent().deletingLastPathComponent()) }
        let environment = environmentWithoutWasmtime()
        let kernel = repositoryRoot.appendingPathComponent("assets/kernels/plasma.wasm").path
        func framepipe(_ arguments: [String]) throws -> Outcome {
            try runProcess(binary, arguments, in: directory, environment: environment)
        }

        let wasmtime = try framepipe(["inspect", kernel, "--engine", "wasmtime"])
        XCTAssertEqual(wasmtime.status, 7, wasmtime.stderr)
        XCTAssertEqual(wasmtime.stderr.split(separator: "\n").count, 1, wasmtime.stderr)
        XCTAssertTrue(
            wasmtime.stderr.hasPrefix("framepipe: error: wasmtime's library was not found: run scripts/setup.sh"),
            wasmtime.stderr)
        XCTAssertTrue(wasmtime.stdout.isEmpty, wasmtime.stdout)
        let bench = try framepipe(["bench", kernel, "--engine", "wasmtime", "--size", "8x8", "--frames", "2", "--out", directory.path + "/b"])
        XCTAssertEqual(bench.status, 7, bench.stderr)

        for arguments in [["--engine", "auto"], []] {
            let png = directory.path + "/auto\(arguments.count).png"
            let auto = try framepipe(["capture", kernel, "--frame", "2", "--size", "16x8", "--out", png] + arguments)
            XCTAssertEqual(auto.status, 0, "\(arguments): \(auto.stderr)")
            let lines = auto.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "\(arguments): one note line: \(auto.stderr)")
            XCTAssertTrue(lines.first?.hasPrefix("framepipe: note: running on WasmKit") ?? false, "\(arguments): \(auto.stderr)")
            XCTAssertTrue(lines.first?.contains("wasmtime") ?? false, "\(arguments): \(auto.stderr)")
            XCTAssertTrue(FileManager.default.fileExists(atPath: png), "\(arguments): the capture was written")
        }
        let inspect = try framepipe(["inspect", kernel])
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        XCTAssertTrue(inspect.stdout.contains("engine    WasmKit"), inspect.stdout)

        let wasmKit = try framepipe(["inspect", kernel, "--engine", "wasmkit"])
        XCTAssertEqual(wasmKit.status, 0, wasmKit.stderr)
        XCTAssertEqual(wasmKit.stderr, "", "no note when WasmKit was asked for")
    }

    /// FRAMEPIPE_WASMTIME_LIB or --wasmtime-lib naming a missing file, or a file that is no wasmtime
    /// library: exit 7, one line that names the path; `auto` falls back.
    func testAWasmtimeLibraryThatIsNotThereOrNotWasmtimeExits7() throws {
        var environment = ProcessInfo.processInfo.environment
        environment["FRAMEPIPE_WASMTIME_LIB"] = "/nonexistent/_libwasmtime.so"
        let kernel = "assets/kernels/plasma.wasm"
        let missing = try runProcess(executable, ["inspect", kernel, "--engine", "wasmtime"], environment: environment)
        XCTAssertEqual(missing.status, 7, missing.stderr)
        XCTAssertEqual(missing.stderr.split(separator: "\n").count, 1, missing.stderr)
        XCTAssertTrue(
            missing.stderr.hasPrefix("framepipe: error: FRAMEPIPE_WASMTIME_LIB /nonexistent/_libwasmtime.so: no such file"),
            missing.stderr)
        let fallback = try runProcess(executable, ["inspect", kernel], environment: environment)
        XCTAssertEqual(fallback.status, 0, fallback.stderr)
        XCTAssertTrue(fallback.stderr.hasPrefix("framepipe: note: running on WasmKit"), fallback.stderr)
        XCTAssertEqual(fallback.stderr.split(separator: "\n").count, 1, fallback.stderr)

        let libc = ["/lib/x86_64-linux-gnu/libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6", "/usr/lib64/libc.so.6"]
            .first { FileManager.default.fileExists(atPath: $0) }
        let notWasmtime: [(String, String)] =
            [("/etc/hostname", "cannot load wasmtime from /etc/hostname"), ("/nonexistent.so", "--wasmtime-lib /nonexistent.so: no such file")]
            + (libc.map { [($0, "has no symbol wasm_config_new (not a wasmtime C API library?)")] } ?? [])
        for (path, expected) in notWasmtime {
            let outcome = try run(["inspect", kernel, "--engine", "wasmtime", "--wasmtime-lib", path])
            XCTAssertEqual(outcome.status, 7, "\(path): \(outcome.stderr)")
            XCTAssertEqual(outcome.stderr.split(separator: "\n").count, 1, "\(path): \(outcome.stderr)")
            XCTAssertTrue(outcome.stderr.hasPrefix("framepipe: error: "), "\(path): \(outcome.stderr)")
            XCTAssertTrue(outcome.stderr.contains(expected), "\(path): \(outcome.stderr)")
        }
    }
}

/// `--param NAME=VALUE` on bench and capture (docs/cli.md, "Kernel parameters"): the value reaches the kernel, the
/// summary records it, and a wrong name or value is a usage error that says what the kernel declares.
extension CommandLineTests {
    func testParamChangesTheFrameAndIsRecordedInTheSummary() throws {
        try TestEngines.forEach { which in
            let directory = try temporaryDirectory()
            let mandelbrot = "assets/kernels/mandelbrot.wasm"
            func capture(_ name: String, _ extra: [String]) throws -> [UInt8] {
                let outcome = try run(
                    ["capture", mandelbrot, "--frame", "90", "--size", "48x32", "--out", "\(directory)/\(name).png"] + extra
                        + which.arguments)
                XCTAssertEqual(outcome.status, 0, "\(which) \(extra): \(outcome.stderr)")
                return try OutputFiles.readPNG("\(directory)/\(name).png").pixels
            }
            let initial = try capture("initial", [])
            XCTAssertEqual(try capture("explicit", ["--param", "iterations=64", "--param", "color_drift=0.5"]), initial, "\(which): the initial values, given")
            XCTAssertNotEqual(try capture("deeper", ["--param", "iterations=256"]), initial, "\(which): more iterations draw more of the set")
            XCTAssertNotEqual(try capture("drift", ["--param", "color_drift=1.75"]), initial, "\(which): another palette")

            let bench = try run(
                [
                    "bench", "assets/kernels/grayscott.wasm", "--frames", "3", "--warmup", "0", "--size", "32x32",
                    "--param", "kill=0.06", "--out", directory + "/bench", "--no-progress",
                ] + which.arguments)
            XCTAssertEqual(bench.status, 0, "\(which): \(bench.stderr)")
            let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/bench/summary.json"))
            let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            let parameters = try XCTUnwrap(summary["parameters"] as? [String: Double], "\(which): \(summary["parameters"] ?? "absent")")
            XCTAssertEqual(parameters.keys.sorted(), ["feed", "kill"], "\(which)")
            XCTAssertEqual(parameters["kill"].map { Float($0) }, 0.06, "\(which)")
            XCTAssertEqual(parameters["feed"].map { Float($0) }, 0.0545, "\(which): the initial value")

            let plain = try run(
                ["bench", "assets/kernels/plasma.wasm", "--frames", "2", "--warmup", "0", "--size", "16x16", "--out", directory + "/plasma", "--no-progress"]
                    + which.arguments)
            XCTAssertEqual(plain.status, 0, "\(which): \(plain.stderr)")
            let plainSummary = try XCTUnwrap(
                try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/plasma/summary.json"))) as? [String: Any])
            XCTAssertEqual((plainSummary["parameters"] as? [String: Any])?.count, 0, "\(which): a kernel without parameters records {}")
        }
    }

    func testAWrongParamIsAUsageErrorThatListsTheKernelsParameters() throws {
        try TestEngines.forEach { which in
            let directory = try temporaryDirectory()
            let cases: [(arguments: [String], message: String)] = [
                (["capture", "assets/kernels/mandelbrot.wasm", "--out", directory + "/x.png", "--param", "iters=100"],
                 "--param iters: kernel mandelbrot has no parameter iters; it declares iterations, zoom_period, color_drift"),
                (["capture", "assets/kernels/mandelbrot.wasm", "--out", directory + "/x.png", "--param", "iterations=4"],
                 "--param iterations=4.0: outside the parameter's range 8.0...512.0"),
                (["bench", "assets/kernels/life.wasm", "--frames", "2", "--out", directory + "/b", "--param", "speed=2"],
                 "kernel life has no parameter speed; it declares none"),
                (["capture", "assets/kernels/mandelbrot.wasm", "--out", directory + "/x.png", "--param", "iterations"],
                 "The value 'iterations' is invalid for '--param <name=value>'"),
            ]
            for (arguments, message) in cases {
                let outcome = try run(arguments + which.arguments)
                XCTAssertEqual(outcome.status, 64, "\(which) \(arguments): \(outcome.stderr)")
                XCTAssertTrue(outcome.stderr.contains(message), "\(which) \(arguments): \(outcome.stderr)")
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/x.png"), "\(which): nothing written")
            XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/b"), "\(which): no report folder")
        }
    }
}
