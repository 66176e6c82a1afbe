import EngineTestSupport
import Foundation
import Framepipe
import KernelRuntime
import Synchronization
import XCTest

/// `framepipe new`: every template (three languages × three formats) written by the command, built by its own
/// build.sh outside the repository and run on both engines; the embedded copies match assets/; bad names and
/// existing folders are refused with nothing written (docs/kernel-abi.md, "framepipe new").
final class KernelProjectTests: XCTestCase {
    override func setUp() { prepareEnvironment() }

    /// GeneratedKernelTemplates.swift holds exactly assets/templates and assets/sdk as they are checked in
    /// (scripts/build-templates.sh regenerates it).
    func testEmbeddedTemplatesMatchTheAssets() throws {
        let assets = repositoryRoot.appendingPathComponent("assets")
        var onDisk: [String] = []
        for folder in ["templates", "sdk"] {
            let root = assets.appendingPathComponent(folder)
            let walker = try XCTUnwrap(FileManager.default.enumerator(atPath: root.path))
            for case let relative as String in walker {
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: root.appendingPathComponent(relative).path, isDirectory: &isDirectory),
                    !isDirectory.boolValue
                {
                    onDisk.append("\(folder)/\(relative)")
                }
            }
        }
        for path in onDisk {
            let contents = try String(contentsOf: assets.appendingPathComponent(path), encoding: .utf8)
            XCTAssertEqual(KernelProject.embedded(path), contents, "assets/\(path) differs from its embedded copy: run scripts/build-templates.sh")
        }
        for path in KernelProject.templateAssets {
            XCTAssertTrue(onDisk.contains(path), "a project needs assets/\(path), which does not exist")
        }
    }

    func testEveryTemplateBuildsOutsideTheRepositoryAndRunsOnBothEngines() throws {
        let parent = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: parent) }
        for language in KernelProject.Language.allCases {
            for format in KernelProject.Format.allCases {
                let name = "k-\(language.rawValue)-\(format.rawValue)"
                let made = try runProcess(
                    framepipeExecutable, ["new", name, "--lang", language.rawValue, "--format", format.rawValue, "--in", parent])
                XCTAssertEqual(made.status, 0, "\(name): \(made.stderr)")
                let project = URL(fileURLWithPath: parent).appendingPathComponent(name)
                let built = try runProcess(project.appendingPathComponent("build.sh"), [], in: project)
                XCTAssertEqual(built.status, 0, "\(name): build.sh failed: \(built.stderr)")
                let kernel = project.appendingPathComponent("\(name).wasm").path
                guard built.status == 0 else { continue }
                try checkRuns(kernel, name: name, format: format)
            }
        }
    }

    /// The kernel loads on each engine, logs its printf line, makes output that is not all one value, and
    /// the same bytes on both engines.
    private func checkRuns(_ kernel: String, name: String, format: KernelProject.Format) throws {
        var outputs: [[UInt8]] = []
        try TestEngines.forEach { engine in
            let lines = Mutex<[String]>([])
            let host = KernelHost(log: { line in lines.withLock { $0.append(line) } }, input: { _ in 0 })
            let compiled = try engine.make().load(path: kernel)
            let instance = try compiled.instantiate(width: 48, height: 32, limits: KernelLimits(), host: host)
            let units = format == .points ? 4096 : 32
            try instance.run(frame: 30, time: 0.5, units: 0..<units)
            let bytes = try instance.outputBytes()
            XCTAssertEqual(bytes.count, format == .points ? 4096 * 32 : 48 * 32 * 4, "\(name) on \(engine)")
            XCTAssertGreaterThan(Set(bytes).count, 16, "\(name) on \(engine): the output is nearly constant")
            let log = lines.withLock { $0 }
            XCTAssertTrue(log.contains { $0.hasPrefix("kernel \(name): \(name): ") }, "\(name) on \(engine): its printf line is missing from \(log)")
            outputs.append(bytes)
        }
        if outputs.count == 2 { XCTAssertEqual(outputs[0], outputs[1], "\(name): the same bytes on both engines") }
    }

    /// A kernel built the documented way (`framepipe new`'s build.sh) that panics: the failure names the functions,
    /// Rust's mangled symbols decoded, and with `./build.sh --debug` gives file:line; the panic message is logged.
    func testAPanickingRustKernelNamesItsFunctionsAndWithDebugItsLines() throws {
        let parent = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let made = try runProcess(framepipeExecutable, ["new", "panics", "--lang", "rust", "--in", parent])
        XCTAssertEqual(made.status, 0, made.stderr)
        let project = URL(fileURLWithPath: parent).appendingPathComponent("panics")
        let source = project.appendingPathComponent("panics.rs")
        let original = try String(contentsOf: source, encoding: .utf8)
        let hook = "    let t = time as f32 * framepipe::param(0);\n"
        XCTAssertTrue(original.contains(hook), "the template changed: update this test")
        try original.replacingOccurrences(of: hook, with: "    if _frame == 3 { panic!(\"boom at frame {}\", _frame); }\n" + hook)
            .write(to: source, atomically: true, encoding: .utf8)
        for debug in [false, true] {
            let built = try runProcess(project.appendingPathComponent("build.sh"), debug ? ["--debug"] : [], in: project)
            XCTAssertEqual(built.status, 0, built.stderr)
            try TestEngines.forEach { engine in
                let lines = Mutex<[String]>([])
                let host = KernelHost(log: { line in lines.withLock { $0.append(line) } }, input: { _ in 0 })
                let instance = try engine.make().load(path: project.appendingPathComponent("panics.wasm").path)
                    .instantiate(width: 16, height: 16, limits: KernelLimits(), host: host)
                try instance.run(frame: 2, time: 2.0 / 60, units: 0..<16)
                do {
                    try instance.run(frame: 3, time: 3.0 / 60, units: 0..<16)
                    XCTFail("\(engine): frame 3 panics")
                } catch {
                    let message = (error as? KernelError)?.message ?? "\(error)"
                    XCTAssertTrue(message.contains("trapped: unreachable; backtrace: "), "\(engine): \(message)")
                    XCTAssertTrue(message.contains("std::panicking::"), "\(engine): Rust's names decoded: \(message)")
                    XCTAssertFalse(message.contains("_ZN"), "\(engine): no mangled names left: \(message)")
                    XCTAssertTrue(message.contains("fp_frame"), "\(engine): \(message)")
                    XCTAssertEqual(message.contains(".rs:"), debug, "\(engine), debug \(debug): file:line only with -g: \(message)")
                    if debug && engine == .wasmtime {
                        // wasmtime gives each frame's instruction: the panic's own line, in the user's file. WasmKit gives
                        // where each function starts, here fp_frame's in the SDK's kernel! macro (the user's fn is inlined).
                        XCTAssertTrue(message.contains("(panics.rs:"), "\(engine): \(message)")
                    }
                    XCTAssertLessThan(message.count, 1200, "\(engine): bounded: \(message)")
                }
                XCTAssertTrue(
                    lines.withLock { $0 }.contains { $0.contains("panicked at 'boom at frame 3', panics.rs:") },
                    "\(engine): the panic message is logged: \(lines.withLock { $0 })")
            }
        }
    }

    /// `view K --build CMD` with no K yet runs CMD once first; a failed build is exit 2 with the compiler's lines logged
    /// and one error line last (no display needed: the viewer never starts).
    func testViewBuildsAMissingKernelFirstAndAFailedBuildIsExitTwo() throws {
        let parent = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let outcome = try runProcess(
            framepipeExecutable, ["view", parent + "/none.wasm", "--build", "echo 'k.c:3:1: error: not today' >&2; exit 3"])
        XCTAssertEqual(outcome.status, 2, outcome.stderr)
        XCTAssertTrue(outcome.stderr.contains("build| k.c:3:1: error: not today"), outcome.stderr)
        let last = outcome.stderr.split(separator: "\n").last.map(String.init) ?? ""
        XCTAssertTrue(last.hasPrefix("framepipe: error: \(parent)/none.wasm does not exist and --build "), last)
        XCTAssertTrue(last.contains("failed (exit 3)"), last)
    }

    func testNewRefusesBadNamesAndExistingFoldersWritingNothing() throws {
        let parent = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: parent) }
        for bad in ["9lives", "a b", "../escape", "x/y", "", String(repeating: "a", count: 65), "é"] {
            let outcome = try runProcess(framepipeExecutable, ["new", bad, "--lang", "c", "--in", parent])
            XCTAssertEqual(outcome.status, 64, "'\(bad)': \(outcome.stderr)")
            XCTAssertEqual(outcome.stderr.split(separator: "\n").count, 1, "'\(bad)': one line: \(outcome.stderr)")
        }
        let unknownLanguage = try runProcess(framepipeExecutable, ["new", "ok", "--lang", "go", "--in", parent])
        XCTAssertEqual(unknownLanguage.status, 64, unknownLanguage.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: parent), [], "nothing written for refused names")

        let existing = URL(fileURLWithPath: parent).appendingPathComponent("taken")
        try FileManager.default.createDirectory(at: existing, withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: existing.appendingPathComponent("notes.txt"))
        let again = try runProcess(framepipeExecutable, ["new", "taken", "--lang", "rust", "--in", parent])
        XCTAssertEqual(again.status, 73, again.stderr)
        XCTAssertTrue(again.stderr.contains("exists already"), again.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: existing.path), ["notes.txt"], "the existing folder is untouched")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: parent), ["taken"], "no staging folder left behind")

        let missingParent = try runProcess(framepipeExecutable, ["new", "fresh", "--lang", "c", "--in", parent + "/none"])
        XCTAssertEqual(missingParent.status, 73, missingParent.stderr)
    }
}

/// `view --build`'s runner (SourceRebuilder): a build past its time is stopped with everything it started, and its
/// output and status come back.
final class SourceRebuilderTests: XCTestCase {
    func testABuildPastItsTimeIsStoppedWithTheProcessesItStarted() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let pidFile = folder + "/child.pid"
        let lines = Mutex<[String]>([])
        let started = Date()
        let outcome = SourceRebuilder.run(
            "echo compiling; sleep 600 & echo $! > '\(pidFile)'; wait", timeout: .seconds(1),
            log: { line in lines.withLock { $0.append(line) } })
        guard case .failed(let status, _, let output) = outcome else { return XCTFail("stopped: \(outcome)") }
        XCTAssertNotEqual(status, 0)
        XCTAssertEqual(output.first, "compiling", "\(output)")
        XCTAssertLessThan(Date().timeIntervalSince(started), 60, "stopped, not waited for")
        XCTAssertTrue(lines.withLock { $0 }.contains { $0.contains("ran past 1 s; stopping it") }, "\(lines.withLock { $0 })")
        let child = try XCTUnwrap(Int32(String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        let deadline = Date().addingTimeInterval(30)
        while kill(child, 0) == 0, Date() < deadline { usleep(10_000) }  // polls: SIGTERM and reaping take their time
        XCTAssertNotEqual(kill(child, 0), 0, "the compiler the shell started (pid \(child)) is stopped too")
    }

    func testABuildsOutputAndStatusComeBack() {
        let lines = Mutex<[String]>([])
        let log: @Sendable (String) -> Void = { line in lines.withLock { $0.append(line) } }
        guard case .failed(let status, _, let output) = SourceRebuilder.run("echo 'k.c:1:1: error: no' >&2; exit 4", log: log)
        else { return XCTFail("a failing build") }
        XCTAssertEqual(status, 4)
        XCTAssertEqual(output, ["k.c:1:1: error: no"])
        XCTAssertTrue(lines.withLock { $0 }.contains { $0.hasPrefix("build: failed (exit 4)") }, "\(lines.withLock { $0 })")
        guard case .succeeded = SourceRebuilder.run("true", log: log) else { return XCTFail("a good build") }
    }
}
