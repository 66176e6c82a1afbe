import EngineTestSupport
import FrameTiming
import Foundation
import VulkanRender
import XCTest

@testable import Framepipe
@testable import KernelRuntime

/// `framepipe view` in a real window with a real swapchain, under Xvfb, driven by real X events (xdotool).
final class ViewerTests: XCTestCase {
    typealias Outcome = ProcessOutcome
    var executable: URL { framepipeExecutable }

    static let validationLayerManifests = [
        "/usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json",
        "/usr/local/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json",
    ]
    var hasValidationLayer: Bool {
        Self.validationLayerManifests.contains { FileManager.default.fileExists(atPath: $0) }
    }

    func which(_ tool: String) -> String? {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(directory)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    func run(_ executable: String, _ arguments: [String], environment: [String: String]) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = repositoryRoot
        process.environment = environment
        // Files, not pipes: the child can never block on a full pipe while we wait for it.
        let directory = try temporaryDirectory()
        let outPath = directory + "/stdout"
        let errPath = directory + "/stderr"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let status = ChildProcess.waitForExit(process)
        try out.close()
        try err.close()
        return Outcome(
            status: status,
            stdout: String(decoding: FileManager.default.contents(atPath: outPath) ?? Data(), as: UTF8.self),
            stderr: String(decoding: FileManager.default.contents(atPath: errPath) ?? Data(), as: UTF8.self))
    }

    /// The environment for a window test: validation on (when installed), a private XDG_RUNTIME_DIR.
    func windowEnvironment() -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        if hasValidationLayer { environment["VK_INSTANCE_LAYERS"] = "VK_LAYER_KHRONOS_validation" }
        return environment
    }

    /// Runs a window script (`bash -c SCRIPT bash ARGUMENTS…`) inside `xvfb-run` on a 1024×768 screen, with
    /// windowEnvironment() and, when `timingReport`, the viewer's timing report on.
    func runUnderXvfb(_ xvfbRun: String, script: String, _ arguments: [String], timingReport: Bool = false) throws
        -> Outcome
    {
        var environment = windowEnvironment()
        if timingReport { environment[Viewer.timingReportVariable] = "1" }
        return try run(
            xvfbRun, ["-a", "-s", "-screen 0 1024x768x24", "bash", "-c", script, "bash"] + arguments,
            environment: environment)
    }

    /// Neither stream mentions the layer or a crash (the validation layer logs to stdout).
    func assertNoValidationMessages(_ outcome: Outcome, file: StaticString = #filePath, line: UInt = #line) {
        for marker in ["Validation", "VUID-", "SYNC-HAZARD", "VK_LAYER_KHRONOS", "vkCreate", "Segmentation", "Fatal error"] {
            for (name, text) in [("stdout", outcome.stdout), ("stderr", outcome.stderr)] {
                XCTAssertFalse(text.contains(marker), "\(name) mentions \(marker):\n\(text)", file: file, line: line)
            }
        }
    }

    /// Shell shared by the window scripts (they define `viewer`, the viewer's pid, and `fail`): wait for the viewer's
    /// window (its id in `window`), exiting with the viewer's status should it end first; then the functions the
    /// scripts wait with. Nothing waits a fixed time and then assumes: each wait polls its condition (the window, the
    /// title, a file, the exit) for up to 120 s, so a loaded machine is only slower. The title names the kernel frame
    /// on screen ("framepipe — plasma — frame 42 — …", Viewer's LoopState.title, set twice a second), " — paused"
    /// while paused and " — hidden" while unmapped.
    static let waitForWindow = #"""
    window=""
    for _ in $(seq 1 600); do
      window="$(xdotool search --name '^framepipe' 2>/dev/null | head -n 1)"
      [ -n "$window" ] && break
      kill -0 "$viewer" 2>/dev/null || { wait "$viewer"; exit $?; }
      sleep 0.2
    done
    [ -n "$window" ] || fail "no framepipe window appeared in 120 s"
    title() { xdotool getwindowname "$window" 2>/dev/null; }
    # The kernel frame on screen, from the title; -1 before the first frame.
    shown_frame() { local f; f="$(title | sed -n 's/.* — frame \([0-9]*\) — .*/\1/p')"; echo "${f:--1}"; }
    # wait_until DESCRIPTION COMMAND...: polls COMMAND every 0.1 s for 120 s; fails with DESCRIPTION and the title.
    wait_until() {
      local what="$1"; shift
      for _ in $(seq 1 1200); do
        "$@" && return 0
        kill -0 "$viewer" 2>/dev/null || { wait "$viewer"; echo "viewer exited while waiting for $what" >&2; exit 124; }
        sleep 0.1
      done
      fail "waited 120 s for $what (title: $(title))"
    }
    frame_at_least() { [ "$(shown_frame)" -ge "$1" ]; }
    # Until the title shows frame $1 or later.
    wait_for_frame() { wait_until "frame $1 in the title" frame_at_least "$1"; }
    # Until a newer frame than the one on screen now is shown (drawn after whatever the script just did).
    wait_for_next_frame() { wait_for_frame "$(( $(shown_frame) + 1 ))"; }
    png_in() { compgen -G "$1/*.png" >/dev/null; }   # quiet: the tests read the viewer's stdout after the script's
    title_has() { title | grep -q -- "$1"; }
    title_lacks() { ! title | grep -q -- "$1"; }
    """#

    /// Shell for the tests that read the screen (needs `shots`, a folder): `read_screen NAME` takes a screenshot of the X
    /// screen with ImageMagick's `import` (what a person sees), magnifies its top-left 512×512 px 3× and prints
    /// `ocr-NAME: TEXT`, the text tesseract reads there, on one line.
    static let readScreen = #"""
    read_screen() {
      import -window root "$shots/$1.png" || fail "import failed"
      convert "$shots/$1.png" -crop 512x512+0+0 -scale 300% "$shots/$1.big.png" || fail "convert failed"
      # One thread: tesseract's OpenMP threads spin against the viewer on 2 cores (10 s a read, against 1.3 s).
      echo "ocr-$1: $(OMP_THREAD_LIMIT=1 tesseract "$shots/$1.big.png" - 2>/dev/null | tr '\n' ' ')"
    }
    """#

    /// The text `read_screen NAME` printed, lower-cased.
    func screenText(_ outcome: Outcome, _ name: String) -> String {
        let prefix = "ocr-\(name): "
        return String(outcome.stdout.split(separator: "\n").first { $0.hasPrefix(prefix) }?.dropFirst(prefix.count) ?? "")
            .lowercased()
    }

    /// After Escape: exit with the viewer's status once it has quit, or fail after 120 s.
    static let waitForExit = #"""
    for _ in $(seq 1 1200); do
      kill -0 "$viewer" 2>/dev/null || { wait "$viewer"; exit $?; }
      sleep 0.1
    done
    fail "the viewer did not quit on Escape in 120 s"
    """#

    /// Drives `framepipe view` with real X events; run with `bash -c SCRIPT bash FRAMEPIPE KERNEL SCREENSHOT_DIR ENGINE`
    /// inside xvfb-run. Opens the viewer, waits for its window, resizes it, toggles the overlay, pauses and resumes, takes
    /// a screenshot (S), resizes again, then quits with Escape. Exits with the viewer's exit status (125 when the
    /// window never appeared or Escape did not end it); the viewer's stdout/stderr pass through. (Inline rather than a
    /// .sh file next to this one, which SwiftPM would warn about as an unhandled file of the test target.)
    static let xdotoolScript = #"""
    set -u
    bin="$1" kernel="$2" shots="$3" engine="$4"

    "$bin" view "$kernel" --size 64x64 --workers 1 --screenshot-dir "$shots" --engine "$engine" &
    viewer=$!

    fail() { echo "viewer-xdotool: $*" >&2; kill "$viewer" 2>/dev/null; wait "$viewer" 2>/dev/null; exit 125; }

    \#(ViewerTests.waitForWindow)

    wait_for_frame 3                                 # frames arrive
    xdotool windowsize --sync "$window" 400 300      # resize: the swapchain is rebuilt, aspect kept (pillarbox)
    wait_for_next_frame
    xdotool key --window "$window" h                 # overlay on: drawn from here on
    wait_for_next_frame
    wait_for_next_frame
    xdotool key --window "$window" space             # pause
    wait_until "the paused title" title_has " — paused"
    xdotool key --window "$window" space             # resume
    wait_until "the title without paused" title_lacks " — paused"
    wait_for_next_frame
    xdotool key --window "$window" s                 # screenshot: its path is printed once the PNG is in place
    wait_until "the screenshot in $shots" png_in "$shots"
    xdotool windowsize --sync "$window" 300 500      # another resize (letterbox), overlay still on
    wait_for_next_frame
    xdotool key --window "$window" h                 # overlay off
    wait_for_next_frame
    xdotool key --window "$window" Escape            # quit

    \#(ViewerTests.waitForExit)
    """#

    override func setUpWithError() throws {
        prepareEnvironment()
        try XCTSkipUnless(
            FileManager.default.isExecutableFile(atPath: executable.path), "framepipe not built at \(executable.path)")
    }

    /// The `view-timing:` line the viewer prints at exit when Viewer.timingReportVariable is set, parsed.
    struct TimingReport {
        var counts: [String: Int] = [:]
        /// Median stage durations in ms; nil for NA.
        var medians: [String: Double?] = [:]
        var clock = ""

        init?(_ stdout: String) {
            guard let line = stdout.split(separator: "\n").first(where: { $0.hasPrefix("view-timing: ") }) else {
                return nil
            }
            let body = line.dropFirst("view-timing: ".count)
            guard let clockStart = body.range(of: " clock=\"") else { return nil }
            clock = String(body[clockStart.upperBound...].dropLast())
            var inMedians = false
            for field in body[..<clockStart.lowerBound].split(separator: " ") {
                if field == "median_ms" {
                    inMedians = true
                    continue
                }
                let parts = field.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { return nil }
                if inMedians {
                    medians[parts[0]] = parts[1] == "NA" ? .some(nil) : Double(parts[1]).map { .some($0) }
                } else {
                    guard let value = Int(parts[1]) else { return nil }
                    counts[parts[0]] = value
                }
            }
        }

        func median(_ stage: String) -> Double? { medians[stage] ?? nil }
    }

    /// What every timing report must show: frames timed and presented, GPU times for each (lavapipe's queue has
    /// timestamps), no GPU start before its submit and no present before its GPU end beyond the viewer's slack
    /// (ViewerTimeline.orderSlackNanos), and plausible medians (every stage measured, none negative, none longer
    /// than a second). lavapipe's vkQueuePresentKHR returns only after the frame's GPU work, so with calibrated
    /// timestamps present >= GPU end holds for every frame. The fence-anchored fallback is biased late by up to the
    /// fence-polling delay (most on the first frames, before a quickly seen fence tightens the anchor), which can put
    /// a GPU end after the present: `fallback` allows that for a minority of frames.
    func checkTimingReport(
        _ report: TimingReport, minimumFrames: Int, fallback: Bool = false, file: StaticString = #filePath,
        line: UInt = #line
    ) {
        let frames = report.counts["frames"] ?? 0
        XCTAssertGreaterThanOrEqual(frames, minimumFrames, "\(report)", file: file, line: line)
        XCTAssertEqual(report.counts["gpu_timestamps"], frames, "\(report)", file: file, line: line)
        XCTAssertEqual(report.counts["gpu_start_before_submit"], 0, "\(report)", file: file, line: line)
        if fallback {
            XCTAssertLessThan(report.counts["present_before_gpu_end"] ?? .max, frames / 2, "\(report)", file: file, line: line)
        } else {
            XCTAssertEqual(report.counts["present_before_gpu_end"], 0, "\(report)", file: file, line: line)
        }
        XCTAssertGreaterThan(report.counts["presented"] ?? 0, 0, "\(report)", file: file, line: line)
        for stage in Stage.allCases.map(\.name) {
            let value = report.median(stage)
            // With the fence-anchored clock a frame's GPU end is the moment its fence was seen, which
            // can come after its present (the bias the clock's description states): the present stage
            // of the recent frames may then be unmeasurable, and NA is the honest report.
            if fallback && stage == "present" && value == nil { continue }
            XCTAssertNotNil(value, "\(stage) median is NA: \(report)", file: file, line: line)
            if let value {
                XCTAssertGreaterThanOrEqual(value, 0, stage, file: file, line: line)
                XCTAssertLessThan(value, 1000, stage, file: file, line: line)
            }
        }
        XCTAssertGreaterThan(report.median("gpu") ?? 0, 0, "the GPU takes some time to draw: \(report)", file: file, line: line)
        XCTAssertGreaterThan(report.median("compute") ?? 0, 0, "the kernel takes some time: \(report)", file: file, line: line)
    }

    /// Opens plasma in a window, resizes it twice, toggles the overlay (drawn for a few seconds) and pause, screenshots with
    /// S, quits with Esc — all through real X events — and checks exit 0, the PNG, a clean stderr (validation layer
    /// on) and the timing report: GPU timestamps on the CPU clock (calibrated where the device has
    /// VK_EXT_calibrated_timestamps) in order with submit and present.
    func testViewerWindowKeysResizeAndScreenshotUnderXvfb() throws {
        guard let xvfbRun = which("xvfb-run") else { throw XCTSkip("xvfb-run is not installed (scripts/setup.sh)") }
        XCTAssertNotNil(which("xdotool"), "xdotool is missing: run scripts/setup.sh")
        try TestEngines.forEach { engine in
            let shots = try temporaryDirectory()
            var environment = windowEnvironment()
            environment[Viewer.timingReportVariable] = "1"
            let outcome = try run(
                xvfbRun,
                [
                    "-a", "-s", "-screen 0 1024x768x24", "bash", "-c", Self.xdotoolScript, "bash", executable.path,
                    plasmaPath, shots, engine.rawValue,
                ],
                environment: environment)
            XCTAssertEqual(outcome.status, 0, "\(engine): stdout: \(outcome.stdout)\nstderr: \(outcome.stderr)")
            assertNoValidationMessages(outcome)

            let report = try XCTUnwrap(TimingReport(outcome.stdout), "\(engine): \(outcome.stdout)")
            let calibrated = report.clock.hasPrefix("VK_EXT_calibrated_timestamps")
            checkTimingReport(report, minimumFrames: 10, fallback: !calibrated)
            if calibrated {
                XCTAssertEqual(report.counts["calibrated"], report.counts["frames"], "\(engine): \(report)")
            } else {
                XCTAssertTrue(report.clock.hasPrefix("fence-anchored"), "\(engine): \(report.clock)")
                XCTAssertEqual(report.counts["calibrated"], 0, "\(engine): \(report)")
            }

            // S printed the path of the PNG: framepipe-plasma-<frame>.png in --screenshot-dir.
            let printed = outcome.stdout.split(separator: "\n").map(String.init).filter { $0.hasSuffix(".png") }
            XCTAssertEqual(printed.count, 1, "\(engine): \(outcome.stdout)")
            let path = try XCTUnwrap(printed.first, "\(engine)")
            XCTAssertTrue(path.hasPrefix(shots + "/framepipe-plasma-"), "\(engine): \(path)")
            let png = try OutputFiles.readPNG(path)
            XCTAssertEqual(png.width, 64, "\(engine)")
            XCTAssertEqual(png.height, 64, "\(engine)")
            // Not blank: plasma has many colours, and it is opaque.
            var colours = Set<UInt32>()
            var translucent = 0
            for i in stride(from: 0, to: png.pixels.count, by: 4) {
                colours.insert(
                    UInt32(png.pixels[i]) | UInt32(png.pixels[i + 1]) << 8 | UInt32(png.pixels[i + 2]) << 16)
                if png.pixels[i + 3] != 255 { translucent += 1 }
            }
            XCTAssertEqual(translucent, 0, "\(engine): pixels that are not opaque")
            XCTAssertGreaterThan(colours.count, 100, "\(engine): the screenshot looks blank")
            // No temporary file left behind (written atomically).
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: shots).filter { !$0.hasSuffix(".png") }
            XCTAssertEqual(leftovers, [], "\(engine)")

            // Reproducible: the PNG's tEXt chunks name the frame and its kernel time, and `capture` of that frame at
            // that time gives the very same pixels (plasma is stateless).
            let text = try pngTextChunks(path)
            XCTAssertEqual(text["framepipe.kernel"], plasmaPath, "\(engine): \(text)")
            XCTAssertEqual(text["framepipe.size"], "64x64", "\(engine): \(text)")
            let frame = try XCTUnwrap(text["framepipe.frame"], "\(engine): \(text)")
            let time = try XCTUnwrap(text["framepipe.time"], "\(engine): \(text)")
            XCTAssertTrue(path.hasSuffix("-\(frame).png"), "\(engine): \(path)")
            XCTAssertEqual(text["framepipe.reproduce"]?.contains("--time \(time)"), true, "\(engine): \(text)")
            XCTAssertGreaterThan(Double(time) ?? 0, 0, "\(engine): real time, not frame / 60: \(time)")
            let captured = shots + "/captured.png"
            let capture = try run(
                executable.path,
                [
                    "capture", plasmaPath, "--engine", engine.rawValue, "--frame", frame, "--time", time, "--size", "64x64",
                    "--out", captured,
                ],
                environment: windowEnvironment())
            XCTAssertEqual(capture.status, 0, "\(engine): \(capture.stderr)")
            XCTAssertEqual(try OutputFiles.readPNG(captured).pixels, png.pixels, "\(engine): capture --time differs from S")
        }
    }

    /// `capture` of the frame and time a screenshot's tEXt chunks name, with `--param` for each of `parameters`: the
    /// pixels it writes.
    func captureScreenshotsFrame(
        _ kernel: String, _ text: [String: String], engine: EngineUnderTest, size: String, parameters: [String], into folder: String,
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> [UInt8] {
        let frame = try XCTUnwrap(text["framepipe.frame"], "\(engine): \(text)", file: file, line: line)
        let time = try XCTUnwrap(text["framepipe.time"], "\(engine): \(text)", file: file, line: line)
        let out = folder + "/captured-\(UUID().uuidString).png"
        let capture = try run(
            executable.path,
            ["capture", kernel, "--engine", engine.rawValue, "--frame", frame, "--time", time, "--size", size, "--out", out]
                + parameters.flatMap { ["--param", $0] },
            environment: windowEnvironment())
        XCTAssertEqual(capture.status, 0, "\(engine): \(capture.stderr)", file: file, line: line)
        return try OutputFiles.readPNG(out).pixels
    }

    /// The tEXt chunks of a PNG (keyword → text), read straight from its bytes.
    func pngTextChunks(_ path: String) throws -> [String: String] {
        let bytes = [UInt8](try XCTUnwrap(FileManager.default.contents(atPath: path)))
        var chunks: [String: String] = [:]
        var at = 8  // the signature
        while at + 12 <= bytes.count {
            let length = bytes[at..<at + 4].reduce(0) { $0 << 8 | Int($1) }
            let type = String(decoding: bytes[at + 4..<at + 8], as: UTF8.self)
            guard at + 12 + length <= bytes.count else { break }
            if type == "tEXt" {
                let data = bytes[at + 8..<at + 8 + length]
                if let nul = data.firstIndex(of: 0) {
                    let key = String(decoding: data[..<nul], as: UTF8.self)
                    chunks[key] = String(data[(nul + 1)...].map { Character(Unicode.Scalar($0)) })  // Latin-1
                }
            }
            if type == "IEND" { break }
            at += 12 + length
        }
        return chunks
    }

    /// Every kernel format reaches the window (RGBA8, f32 field, points) in both upload modes — zero-copy (the GPU
    /// reads the ring slot in place) and copy (staging) —: N frames, then exit 0, the mode named on the startup line,
    /// no validation noise. With frames in flight the zero-copy loop holds ring slots until their fences signal, so
    /// running past a handful of frames also checks that the slots come back (the writer would starve otherwise).
    func testEveryFormatPresentsFramesInBothUploadModesUnderXvfb() throws {
        guard let xvfbRun = which("xvfb-run") else { throw XCTSkip("xvfb-run is not installed (scripts/setup.sh)") }
        try TestEngines.forEach { engine in
            for upload in ["zero-copy", "copy"] {
                for kernel in ["plasma", "grayscott", "particles"] {
                    let outcome = try run(
                        xvfbRun,
                        [
                            "-a", "-s", "-screen 0 1024x768x24", executable.path, "view",
                            repositoryRoot.appendingPathComponent("assets/kernels/\(kernel).wasm").path,
                            "--size", "48x32", "--workers", "1", "--exit-after-frames", "12", "--present-mode", "mailbox",
                            "--upload", upload,
                        ] + engine.arguments,
                        environment: windowEnvironment())
                    XCTAssertEqual(outcome.status, 0, "\(engine) \(kernel) \(upload): \(outcome.stderr)")
                    XCTAssertTrue(
                        outcome.stderr.contains("viewer: upload \(upload) (\(upload) requested)"),
                        "\(engine) \(kernel) \(upload): \(outcome.stderr)")
                    assertNoValidationMessages(outcome)
                }
            }
        }
    }

    /// Takes one screenshot (S) of a live viewer, then quits: `bash -c SCRIPT bash FRAMEPIPE KERNEL SHOTS UPLOAD ENGINE` inside
    /// xvfb-run. Exit status as in xdotoolScript.
    static let screenshotScript = #"""
    set -u
    bin="$1" kernel="$2" shots="$3" upload="$4" engine="$5"
    "$bin" view "$kernel" --size 48x32 --workers 1 --upload "$upload" --screenshot-dir "$shots" --engine "$engine" &
    viewer=$!
    fail() { echo "viewer-screenshot: $*" >&2; kill "$viewer" 2>/dev/null; wait "$viewer" 2>/dev/null; exit 125; }
    \#(ViewerTests.waitForWindow)
    wait_for_frame 10                         # past frame 2, and the ring slots have cycled through the GPU
    xdotool key --window "$window" s
    wait_until "the screenshot in $shots" png_in "$shots"
    xdotool key --window "$window" Escape
    \#(ViewerTests.waitForExit)
    """#

    /// Takes one screenshot (S) of a viewer started with extra `view` arguments, then quits:
    /// `bash -c SCRIPT bash FRAMEPIPE KERNEL SHOTS ENGINE ARGS...` inside xvfb-run. Exit status as in xdotoolScript.
    static let screenshotWithArgumentsScript = #"""
    set -u
    bin="$1" kernel="$2" shots="$3" engine="$4"
    shift 4
    "$bin" view "$kernel" --size 64x48 --workers 1 --screenshot-dir "$shots" --engine "$engine" "$@" &
    viewer=$!
    fail() { echo "viewer-screenshot: $*" >&2; kill "$viewer" 2>/dev/null; wait "$viewer" 2>/dev/null; exit 125; }
    \#(ViewerTests.waitForWindow)
    wait_for_frame 3
    xdotool key --window "$window" s
    wait_until "the screenshot in $shots" png_in "$shots"
    xdotool key --window "$window" Escape
    \#(ViewerTests.waitForExit)
    """#

    /// `view --param` starts the kernel with those values; S records them (`framepipe.parameters`, and as `--param` in
    /// the reproduce line), and `capture` with them and the recorded time gives the screenshot byte for byte, while
    /// `capture` at the initial values gives another frame.
    func testViewerParamsAreRecordedInTheScreenshotAndCaptureReproducesItUnderXvfb() throws {
        guard let xvfbRun = which("xvfb-run") else { throw XCTSkip("xvfb-run is not installed (scripts/setup.sh)") }
        let mandelbrot = repositoryRoot.appendingPathComponent("assets/kernels/mandelbrot.wasm").path
        try TestEngines.forEach { engine in
            let shots = try temporaryDirectory()
            let outcome = try run(
                xvfbRun,
                [
                    "-a", "-s", "-screen 0 1024x768x24", "bash", "-c", Self.screenshotWithArgumentsScript, "bash",
                    executable.path, mandelbrot, shots, engine.rawValue, "--param", "iterations=200", "--param", "color_drift=1.25",
                ],
                environment: windowEnvironment())
            XCTAssertEqual(outcome.status, 0, "\(engine): stdout: \(outcome.stdout)\nstderr: \(outcome.stderr)")
            assertNoValidationMessages(outcome)
            let path = try XCTUnwrap(outcome.stdout.split(separator: "\n").map(String.init).first { $0.hasSuffix(".png") }, "\(engine): \(outcome.stdout)")
            let text = try pngTextChunks(path)
            XCTAssertEqual(text["framepipe.parameters"], "iterations=200.0 zoom_period=12.0 color_drift=1.25", "\(engine): \(text)")
            let reproduce = try XCTUnwrap(text["framepipe.reproduce"], "\(engine): \(text)")
            XCTAssertTrue(reproduce.contains("--param iterations=200.0 --param zoom_period=12.0 --param color_drift=1.25"), "\(engine): \(reproduce)")
            let shot = try OutputFiles.readPNG(path).pixels
            let capture = { (parameters: [String]) in
                try self.captureScreenshotsFrame(mandelbrot, text, engine: engine, size: "64x48", parameters: parameters, into: shots)
            }
            XCTAssertEqual(try capture(["iterations=200.0", "zoom_period=12.0", "color_drift=1.25"]), shot, "\(engine): capture --param --time differs from S")
            XCTAssertNotEqual(try capture([]), shot, "\(engine): the parameters changed the frame")
        }
    }

    /// Drags mandelbrot's `color_drift` slider in the overlay to its right end with xdotool, then takes a
    /// screenshot (S): `bash -c SCRIPT bash FRAMEPIPE KERNEL SHOTS ENGINE` inside xvfb-run. The viewer reports where its
    /// sliders are (FRAMEPIPE_VIEW_SLIDER_REPORT) into SHOTS/viewer.err, which the script reads to aim and passes on to
    /// stderr at the end.
    static let sliderDragScript = #"""
    set -u
    bin="$1" kernel="$2" shots="$3" engine="$4"
    err="$shots/viewer.err"
    FRAMEPIPE_VIEW_SLIDER_REPORT=1 "$bin" view "$kernel" --size 160x120 --workers 1 --overlay --screenshot-dir "$shots" \
      --engine "$engine" --param iterations=24 --param zoom_period=60 2>"$err" &
    viewer=$!
    fail() { echo "viewer-slider: $*" >&2; cat "$err" >&2; kill "$viewer" 2>/dev/null; wait "$viewer" 2>/dev/null; exit 125; }
    \#(ViewerTests.waitForWindow)
    wait_for_frame 2
    wait_until "the slider report" grep -q "^viewer: slider color_drift at " "$err"
    read -r x0 y0 x1 y1 < <(sed -n 's/^viewer: slider color_drift at \([0-9]*\),\([0-9]*\) \([0-9]*\),\([0-9]*\)$/\1 \2 \3 \4/p' "$err" | tail -n 1)
    y=$(( (y0 + y1) / 2 ))
    xdotool mousemove --window "$window" $(( x0 + 4 )) "$y"
    wait_for_next_frame
    xdotool mousedown 1                                  # grab the slider near its left end
    wait_for_next_frame
    xdotool mousemove --window "$window" $(( (x0 + x1) / 2 )) "$y"
    wait_for_next_frame
    xdotool mousemove --window "$window" $(( x1 + 40 )) "$y"   # past the right end: the maximum
    wait_for_next_frame
    xdotool mouseup 1
    wait_until "the slider's change" grep -q "^viewer: parameters .*color_drift=2.0 from" "$err"
    xdotool mousemove --window "$window" 600 20          # off the overlay
    wait_for_next_frame
    wait_for_next_frame
    wait_for_next_frame
    xdotool key --window "$window" s
    wait_until "the screenshot in $shots" png_in "$shots"
    xdotool key --window "$window" Escape
    for _ in $(seq 1 1200); do
      if ! kill -0 "$viewer" 2>/dev/null; then wait "$viewer"; status=$?; cat "$err" >&2; exit $status; fi
      sleep 0.1
    done
    fail "the viewer did not quit on Escape in 120 s"
    """#

    /// Moving a parameter slider with the mouse (real X events: press, drag, release) changes what the kernel computes
    /// from the next frame on: the screenshot records the new value, and `capture` with it reproduces the frame, which
    /// differs from the one at the initial value. Mandelbrot at 24 iterations (a frame costs 3× less than at 64) with a
    /// 60 s zoom: every phase of the zoom still has escaping pixels (at 16 the frame turns flat 40 s in, where the
    /// colour drift could not change it).
    func testDraggingASliderChangesTheKernelsFramesUnderXvfb() throws {
        guard let xvfbRun = which("xvfb-run") else { throw XCTSkip("xvfb-run is not installed (scripts/setup.sh)") }
        let mandelbrot = repositoryRoot.appendingPathComponent("assets/kernels/mandelbrot.wasm").path
        try TestEngines.forEach { engine in
            let shots = try temporaryDirectory()
            let outcome = try run(
                xvfbRun,
                [
                    "-a", "-s", "-screen 0 1024x768x24", "bash", "-c", Self.sliderDragScript, "bash", executable.path,
                    mandelbrot, shots, engine.rawValue,
                ],
                environment: windowEnvironment())
            XCTAssertEqual(outcome.status, 0, "\(engine): stdout: \(outcome.stdout)\nstderr: \(outcome.stderr)")
            assertNoValidationMessages(outcome)
            XCTAssertTrue(
                outcome.stderr.contains("viewer: parameters iterations=24.0 zoom_period=60.0 color_drift=2.0 from the next frame"),
                "\(engine): \(outcome.stderr)")
            let path = try XCTUnwrap(outcome.stdout.split(separator: "\n").map(String.init).first { $0.hasSuffix(".png") }, "\(engine): \(outcome.stdout)")
            let text = try pngTextChunks(path)
            XCTAssertEqual(text["framepipe.parameters"], "iterations=24.0 zoom_period=60.0 color_drift=2.0", "\(engine): \(text)")
            let shot = try OutputFiles.readPNG(path).pixels
            let capture = { (parameters: [String]) in
                try self.captureScreenshotsFrame(mandelbrot, text, engine: engine, size: "160x120", parameters: parameters, into: shots)
            }
            XCTAssertEqual(try capture(["iterations=24", "zoom_period=60", "color_drift=2.0"]), shot, "\(engine): the dragged value reproduces the frame")
            XCTAssertNotEqual(try capture(["iterations=24", "zoom_period=60"]), shot, "\(engine): the slider changed the frame")
        }
    }

    /// Zero-copy draws the frame straight from its ring slot: a screenshot of the live viewer (S, kernel frame as
    /// drawn) equals, byte for byte, frame N of the kernel rendered by `capture` (which copies), N taken from the
    /// screenshot's name. Stateful kernels depend on the frame count only, not on the viewer's real time: life (RGBA8,
    /// the ring slot is copied to the texture on the GPU) and grayscott (f32 field, the compute shader reads the ring
    /// slot). A slot read at the wrong offset, a frame's slot reused while the GPU read it, or a stale descriptor set
    /// would all show up as differing bytes.
    func testZeroCopyScreenshotEqualsTheKernelsOwnFrameUnderXvfb() throws {
        guard let xvfbRun = which("xvfb-run") else { throw XCTSkip("xvfb-run is not installed (scripts/setup.sh)") }
        try TestEngines.forEach { engine in
            for kernel in ["life", "grayscott"] {
                let context = "\(engine) \(kernel)"
                let shots = try temporaryDirectory()
                let kernelPath = repositoryRoot.appendingPathComponent("assets/kernels/\(kernel).wasm").path
                let outcome = try run(
                    xvfbRun,
                    [
                        "-a", "-s", "-screen 0 1024x768x24", "bash", "-c", Self.screenshotScript, "bash", executable.path,
                        kernelPath, shots, "zero-copy", engine.rawValue,
                    ],
                    environment: windowEnvironment())
                XCTAssertEqual(outcome.status, 0, "\(context): stdout: \(outcome.stdout)\nstderr: \(outcome.stderr)")
                assertNoValidationMessages(outcome)
                XCTAssertTrue(outcome.stderr.contains("viewer: upload zero-copy"), "\(context): \(outcome.stderr)")

                let path = try XCTUnwrap(
                    outcome.stdout.split(separator: "\n").map(String.init).first { $0.hasSuffix(".png") },
                    "\(context): \(outcome.stdout)")
                let prefix = shots + "/framepipe-\(kernel)-"
                XCTAssertTrue(path.hasPrefix(prefix), "\(context): \(path)")
                let frame = try XCTUnwrap(Int32(path.dropFirst(prefix.count).dropLast(".png".count)), "\(context): \(path)")
                XCTAssertGreaterThan(frame, 2, "\(context): the screenshot should come from a running kernel, not frame \(frame)")
                let png = try OutputFiles.readPNG(path)
                XCTAssertEqual(png.width, 48, context)
                XCTAssertEqual(png.height, 32, context)
                // A real file: writes are temp + rename, which would replace /dev/null itself with a regular file.
                var options = Capture.Options(
                    kernelPath: kernelPath, frame: frame, width: 48, height: 32, outputPath: shots + "/capture.png")
                options.engine = engine.request()
                let expected = try Capture.run(options)
                XCTAssertEqual(png.pixels.count, expected.count, context)
                let differing = zip(png.pixels, expected).filter { $0 != $1 }.count
                XCTAssertEqual(differing, 0, "\(context) frame \(frame): bytes that differ from the kernel's own frame")
            }
        }
    }

    func testBadUploadModeIsAUsageError() throws {
        let outcome = try run(
            executable.path, ["view", plasmaPath, "--upload", "fast"], environment: ProcessInfo.processInfo.environment)
        XCTAssertEqual(outcome.status, 64, outcome.stderr)
        XCTAssertTrue(outcome.stderr.contains("upload"), outcome.stderr)
    }

    /// A kernel that fails every frame is disabled, but the viewer keeps running: it says why (the
    /// pool's line with the reason, then the viewer's), its loop goes on (the title shows the reason),
    /// and it quits on Escape with exit 0. Run with `bash -c SCRIPT bash FRAMEPIPE KERNEL ENGINE` inside
    /// xvfb-run. Every wait polls its condition for up to 120 s.
    static let disabledKernelScript = #"""
    set -u
    bin="$1" kernel="$2" engine="$3"
    log="$(mktemp)"
    "$bin" view "$kernel" --size 16x16 --workers 1 --max-failures 2 --engine "$engine" 2>"$log" &
    viewer=$!
    finish() { cat "$log" >&2; rm -f "$log"; exit "$1"; }
    for _ in $(seq 1 1200); do
      grep -q "the kernel is disabled" "$log" && break
      kill -0 "$viewer" 2>/dev/null || { wait "$viewer"; finish 124; }
      sleep 0.1
    done
    grep -q "the kernel is disabled" "$log" || { kill "$viewer"; finish 125; }
    window="$(xdotool search --name '^framepipe' 2>/dev/null | head -n 1)"
    [ -n "$window" ] || { kill "$viewer"; finish 125; }
    # Still running after the disable: its loop says so in the title (the reason is logged, the title stays short).
    for _ in $(seq 1 1200); do
      xdotool getwindowname "$window" 2>/dev/null | grep -q " — disabled$" && break
      kill -0 "$viewer" 2>/dev/null || { wait "$viewer"; finish 124; }
      sleep 0.1
    done
    xdotool getwindowname "$window" 2>/dev/null | grep -q " — disabled$" || { kill "$viewer"; finish 125; }
    xdotool key --window "$window" Escape
    for _ in $(seq 1 1200); do
      kill -0 "$viewer" 2>/dev/null || { wait "$viewer"; finish $?; }
      sleep 0.1
    done
    kill "$viewer"; finish 125
    """#

    func testDisabledKernelKeepsTheViewerRunning() throws {
        guard let xvfbRun = which("xvfb-run") else { throw XCTSkip("xvfb-run is not installed (scripts/setup.sh)") }
        try TestEngines.forEach { engine in
            let outcome = try run(
                xvfbRun,
                [
                    "-a", "-s", "-screen 0 1024x768x24", "bash", "-c", Self.disabledKernelScript, "bash", executable.path,
                    badModules.appendingPathComponent("traps.wasm").path, engine.rawValue,
                ],
                environment: windowEnvironment())
            XCTAssertEqual(
                outcome.status, 0,
                "\(engine): 124: the viewer exited by itself; 125: no window or no disabled line\n\(outcome.stderr)")
            XCTAssertTrue(
                outcome.stderr.contains("kernel disabled after 2 consecutive failed frames"), "\(engine): \(outcome.stderr)")
            XCTAssertTrue(outcome.stderr.contains("unreachable"), "\(engine): \(outcome.stderr)")
            assertNoValidationMessages(outcome)
        }
    }

    /// Paced compute (the default, `--compute-rate display`): a stateful kernel (life) advances exactly one step per
    /// frame the viewer shows. Over 300 presented frames the kernel computed as many frames as the viewer took, give or
    /// take the one computed while the last was on screen; unpaced, the same run computes as fast as the workers go.
    func testDisplayPacedStatefulKernelComputesOneFramePerShownFrameUnderXvfb() throws {
        guard let xvfbRun = which("xvfb-run") else { throw XCTSkip("xvfb-run is not installed (scripts/setup.sh)") }
        let life = repositoryRoot.appendingPathComponent("assets/kernels/life.wasm").path
        try TestEngines.forEach { engine in
            var environment = windowEnvironment()
            environment[Viewer.timingReportVariable] = "1"
            let outcome = try run(
                xvfbRun,
                [
                    "-a", "-s", "-screen 0 1024x768x24", executable.path, "view", life, "--size", "64x64",
                    "--workers", "2", "--engine", engine.rawValue, "--exit-after-frames", "300",
                ],
                environment: environment)
            XCTAssertEqual(outcome.status, 0, "\(engine): \(outcome.stderr)")
            assertNoValidationMessages(outcome)
            let report = try XCTUnwrap(TimingReport(outcome.stdout), "\(engine): \(outcome.stdout)")
            let computed = try XCTUnwrap(report.counts["computed"], "\(engine): \(report)")
            let taken = try XCTUnwrap(report.counts["taken"], "\(engine): \(report)")
            XCTAssertGreaterThanOrEqual(report.counts["presents_since_hidden"] ?? 0, 300, "\(engine): \(report)")
            // Every present but the first (black, before the first kernel frame) showed a new kernel frame.
            XCTAssertGreaterThanOrEqual(taken, 299, "\(engine): \(report)")
            XCTAssertLessThanOrEqual(abs(computed - taken), 1, "\(engine): computed \(computed), shown \(taken)")
        }
    }

    /// N and F through real X events: paused (Space), each N shows one more kernel frame and the title still says
    /// paused; F makes the window cover the screen, F again gives back its size. At exit, the frames computed are
    /// bounded by what pause and the steps allow (nothing computed on its own while paused).
    static let stepAndFullscreenScript = #"""
    set -u
    bin="$1" kernel="$2" engine="$3"
    "$bin" view "$kernel" --size 64x64 --workers 1 --engine "$engine" &
    viewer=$!
    fail() { echo "viewer-keys: $*" >&2; kill "$viewer" 2>/dev/null; wait "$viewer" 2>/dev/null; exit 125; }

    \#(ViewerTests.waitForWindow)

    geometry() { xdotool getwindowgeometry --shell "$window" | grep -E '^(WIDTH|HEIGHT)=' | tr '\n' ' '; }
    geometry_is() { [ "$(geometry)" = "$1" ]; }

    wait_for_frame 2
    xdotool key --window "$window" space
    wait_until "the paused title" title_has " — paused"
    paused_at="$(shown_frame)"
    echo "paused-at=$paused_at"
    for _ in 1 2 3; do xdotool key --window "$window" n; done
    # At most one frame was in flight at the pause (paced compute): frame paused_at + 3 needs two steps at least.
    wait_for_frame "$(( paused_at + 3 ))"
    title_has " — paused" || fail "N resumed the kernel (title: $(title))"

    windowed="$(geometry)"
    xdotool key --window "$window" f
    wait_until "the full-screen window" geometry_is "WIDTH=1024 HEIGHT=768 "
    xdotool key --window "$window" f
    wait_until "the window size from before F" geometry_is "$windowed"
    xdotool key --window "$window" Escape

    \#(ViewerTests.waitForExit)
    """#

    func testPauseStepAndFullscreenKeysUnderXvfb() throws {
        guard let xvfbRun = which("xvfb-run") else { throw XCTSkip("xvfb-run is not installed (scripts/setup.sh)") }
        try TestEngines.forEach { engine in
            let outcome = try runUnderXvfb(
                xvfbRun, script: Self.stepAndFullscreenScript, [executable.path, plasmaPath, engine.rawValue],
                timingReport: true)
            XCTAssertEqual(outcome.status, 0, "\(engine): 125: a wait failed\n\(outcome.stderr)")
            assertNoValidationMessages(outcome)
            let pausedAt = try XCTUnwrap(
                outcome.stdout.split(separator: "\n").first { $0.hasPrefix("paused-at=") }.flatMap { Int($0.dropFirst(10)) },
                "\(engine): \(outcome.stdout)")
            let report = try XCTUnwrap(TimingReport(outcome.stdout), "\(engine): \(outcome.stdout)")
            // Frames 0...pausedAt shown, one in flight at the pause, one more the gate let open, three steps.
            XCTAssertLessThanOrEqual(report.counts["computed"] ?? .max, pausedAt + 1 + 2 + 3, "\(engine): \(report)")
        }
    }

    /// The overlay draws text: a screenshot of the X screen (ImageMagick `import`, what a person sees) with the overlay
    /// shown, read by OCR (tesseract, the crop magnified 3×), names the overlay's labels; the same window after H hid
    /// the overlay shows none of them. Validation layer on.
    static let overlayTextScript = #"""
    set -u
    bin="$1" kernel="$2" engine="$3" shots="$4"
    "$bin" view "$kernel" --size 128x128 --workers 1 --engine "$engine" --overlay &
    viewer=$!
    fail() { echo "viewer-overlay: $*" >&2; kill "$viewer" 2>/dev/null; wait "$viewer" 2>/dev/null; exit 125; }

    \#(ViewerTests.waitForWindow)

    \#(ViewerTests.readScreen)
    wait_for_frame 3
    wait_for_next_frame                       # the overlay's numbers are filled in twice a second
    read_screen on
    xdotool key --window "$window" h
    wait_for_next_frame
    wait_for_next_frame
    read_screen off
    xdotool key --window "$window" Escape

    \#(ViewerTests.waitForExit)
    """#

    func testOverlayDrawsTextUnderXvfb() throws {
        guard let xvfbRun = which("xvfb-run") else { throw XCTSkip("xvfb-run is not installed (scripts/setup.sh)") }
        for tool in ["import", "convert", "tesseract"] {
            XCTAssertNotNil(which(tool), "\(tool) is missing: run scripts/setup.sh")
        }
        try TestEngines.forEach { engine in
            let shots = try temporaryDirectory()
            let outcome = try runUnderXvfb(
                xvfbRun, script: Self.overlayTextScript, [executable.path, plasmaPath, engine.rawValue, shots])
            XCTAssertEqual(outcome.status, 0, "\(engine): 125: a wait failed\n\(outcome.stderr)")
            assertNoValidationMessages(outcome)
            func words(_ name: String) -> Set<String> {
                Set(screenText(outcome, name).split { !$0.isLetter }.map(String.init))
            }
            let labels: Set<String> = ["fps", "interval", "compute", "upload", "gpu", "present", "kernel", "stage", "engine", "workers"]
            let on = words("on")
            let off = words("off")
            XCTAssertGreaterThanOrEqual(
                on.intersection(labels).count, 5, "\(engine): the overlay's labels, read back: \(on.sorted())")
            XCTAssertEqual(off.intersection(labels), [], "\(engine): text without the overlay: \(off.sorted())")
        }
    }

    /// Kernel state in the window: with --watch, a kernel file replaced by a broken one is refused — the title ends in
    /// " — reload failed" and the overlay shows the refusal (read back by OCR) — and replacing it with a good kernel
    /// clears both; the overlay then shows the good reload.
    static let reloadStateScript = #"""
    set -u
    bin="$1" good="$2" bad="$3" engine="$4" shots="$5"
    cp "$good" "$shots/kernel.wasm"
    "$bin" view "$shots/kernel.wasm" --size 128x128 --workers 1 --engine "$engine" --watch --overlay &
    viewer=$!
    fail() { echo "viewer-reload: $*" >&2; kill "$viewer" 2>/dev/null; wait "$viewer" 2>/dev/null; exit 125; }

    \#(ViewerTests.waitForWindow)

    \#(ViewerTests.readScreen)
    replace() { cp "$1" "$shots/next.wasm" && mv "$shots/next.wasm" "$shots/kernel.wasm"; }
    wait_for_frame 2
    replace "$bad"
    wait_until "the refused reload in the title" title_has " — reload failed"
    wait_for_next_frame                       # the old kernel goes on; the overlay is redrawn with the refusal
    wait_for_next_frame
    read_screen refused
    replace "$good"
    wait_until "the title without the refusal" title_lacks "reload failed"
    wait_for_next_frame
    wait_for_next_frame
    read_screen reloaded
    xdotool key --window "$window" Escape

    \#(ViewerTests.waitForExit)
    """#

    /// `view --watch --build CMD` on a project from `framepipe new`: a source saved with a syntax error reruns the build,
    /// whose compiler error shows in the overlay (read back by OCR) and the title (" — build failed") while the old kernel
    /// keeps running; fixing the source rebuilds, and the rebuilt .wasm is reloaded.
    static let buildOnSaveScript = #"""
    set -u
    bin="$1" engine="$2" shots="$3" project="$4"
    "$bin" view "$project/live.wasm" --size 128x128 --workers 1 --engine "$engine" --build "$project/build.sh" --overlay \
      2> >(tee "$shots/view.log" >&2) &
    viewer=$!
    logged() { grep -q -- "$1" "$shots/view.log"; }
    fail() { echo "viewer-build: $*" >&2; kill "$viewer" 2>/dev/null; wait "$viewer" 2>/dev/null; exit 125; }

    \#(ViewerTests.waitForWindow)

    \#(ViewerTests.readScreen)
    wait_for_frame 2
    cp "$project/live.c" "$shots/good.c"
    echo 'int broken_on_purpose = ;' >> "$project/live.c"
    wait_until "the failed build in the title" title_has " — build failed"
    wait_for_next_frame                       # the overlay is refilled twice a second
    wait_for_next_frame
    read_screen failed
    cp "$shots/good.c" "$project/live.c"
    wait_until "the title without the failed build" title_lacks "build failed"
    wait_until "the rebuilt kernel's reload" logged "reloaded from"
    xdotool key --window "$window" Escape

    \#(ViewerTests.waitForExit)
    """#

    func testBuildOnSaveShowsCompilerErrorsAndReloadsTheFixedKernelUnderXvfb() throws {
        guard let xvfbRun = which("xvfb-run") else { throw XCTSkip("xvfb-run is not installed (scripts/setup.sh)") }
        try TestEngines.forEach { engine in
            let shots = try temporaryDirectory()
            let made = try runProcess(executable, ["new", "live", "--lang", "c", "--in", shots])
            XCTAssertEqual(made.status, 0, made.stderr)
            let project = shots + "/live"
            let built = try runProcess(URL(fileURLWithPath: project + "/build.sh"), [], in: URL(fileURLWithPath: project))
            XCTAssertEqual(built.status, 0, built.stderr)
            let outcome = try runUnderXvfb(xvfbRun, script: Self.buildOnSaveScript, [executable.path, engine.rawValue, shots, project])
            XCTAssertEqual(outcome.status, 0, "\(engine): 125: a wait failed\n\(outcome.stderr)")
            assertNoValidationMessages(outcome)
            let failed = screenText(outcome, "failed")
            XCTAssertTrue(failed.contains("build failed"), "\(engine): the overlay shows the failed build: \(failed)")
            XCTAssertTrue(failed.contains("expected expression"), "\(engine): the overlay shows the compiler's error: \(failed)")
            XCTAssertTrue(outcome.stderr.contains("live.c:"), "\(engine): the compiler's lines are logged: \(outcome.stderr)")
            XCTAssertTrue(outcome.stderr.contains("build: ok"), "\(engine): the fixed source builds: \(outcome.stderr)")
            XCTAssertTrue(outcome.stderr.contains("kernel live: reloaded from"), "\(engine): the rebuilt kernel is reloaded: \(outcome.stderr)")
        }
    }

    func testRefusedReloadIsShownInTheWindowAndClearedByAGoodOneUnderXvfb() throws {
        guard let xvfbRun = which("xvfb-run") else { throw XCTSkip("xvfb-run is not installed (scripts/setup.sh)") }
        try TestEngines.forEach { engine in
            let shots = try temporaryDirectory()
            let outcome = try runUnderXvfb(
                xvfbRun, script: Self.reloadStateScript,
                [
                    executable.path, plasmaPath, badModules.appendingPathComponent("missing-fp-frame.wasm").path,
                    engine.rawValue, shots,
                ])
            XCTAssertEqual(outcome.status, 0, "\(engine): 125: a wait failed\n\(outcome.stderr)")
            assertNoValidationMessages(outcome)
            let refused = screenText(outcome, "refused")
            let reloaded = screenText(outcome, "reloaded")
            XCTAssertTrue(refused.contains("refused"), "\(engine): \(refused)")
            XCTAssertFalse(reloaded.contains("refused"), "\(engine): \(reloaded)")
            XCTAssertTrue(reloaded.contains("reloaded"), "\(engine): \(reloaded)")
            XCTAssertTrue(outcome.stderr.contains("fp_frame"), "\(engine): the refusal is logged: \(outcome.stderr)")
        }
    }

    /// The fallback GPU clock (forced with Viewer.fenceTimestampsVariable): GPU times still come back for every frame,
    /// none counted as calibrated, and they keep their order with submit and present.
    func testFenceAnchoredTimestampsFallbackUnderXvfb() throws {
        guard let xvfbRun = which("xvfb-run") else { throw XCTSkip("xvfb-run is not installed (scripts/setup.sh)") }
        try TestEngines.forEach { engine in
            var environment = windowEnvironment()
            environment[Viewer.timingReportVariable] = "1"
            environment[Viewer.fenceTimestampsVariable] = "1"
            let outcome = try run(
                xvfbRun,
                [
                    "-a", "-s", "-screen 0 1024x768x24", executable.path, "view", plasmaPath, "--size", "48x32",
                    "--workers", "1", "--exit-after-frames", "30",
                ] + engine.arguments,
                environment: environment)
            XCTAssertEqual(outcome.status, 0, "\(engine): \(outcome.stderr)")
            assertNoValidationMessages(outcome)
            let report = try XCTUnwrap(TimingReport(outcome.stdout), "\(engine): \(outcome.stdout)")
            checkTimingReport(report, minimumFrames: 20, fallback: true)
            XCTAssertEqual(report.counts["calibrated"], 0, "\(engine): \(report)")
            XCTAssertTrue(report.clock.hasPrefix("fence-anchored"), "\(engine): \(report.clock)")
        }
    }

    /// Minimise, as far as Xvfb allows: without a window manager, glfwIconifyWindow and `xdotool windowminimize` do
    /// nothing on X11 (iconifying is a request to the window manager, which then unmaps the window). So this does what
    /// the window manager would: unmaps the window, checks the viewer is still running, maps it again, and quits.
    /// Run with `bash -c SCRIPT bash FRAMEPIPE KERNEL ENGINE` inside xvfb-run.
    static let unmapScript = #"""
    set -u
    bin="$1" kernel="$2" engine="$3"
    "$bin" view "$kernel" --size 32x32 --workers 1 --engine "$engine" &
    viewer=$!
    fail() { echo "viewer-unmap: $*" >&2; kill "$viewer" 2>/dev/null; wait "$viewer" 2>/dev/null; exit 125; }
    \#(ViewerTests.waitForWindow)
    wait_for_frame 1
    xdotool windowunmap --sync "$window"      # what a window manager does to an iconified window
    wait_until "the hidden title" title_has " — hidden"   # set by the viewer's loop once it saw the unmap
    before="$(shown_frame)"                   # the frame kept while hidden
    xdotool windowmap --sync "$window"        # restored
    wait_for_frame "$(( before + 1 ))"        # a new frame drawn since
    xdotool key --window "$window" Escape
    \#(ViewerTests.waitForExit)
    """#

    /// The viewer stops drawing while its window is unmapped (minimised) and draws again once it is back.
    func testUnmappedWindowPausesDrawingAndRestoresUnderXvfb() throws {
        guard let xvfbRun = which("xvfb-run") else { throw XCTSkip("xvfb-run is not installed (scripts/setup.sh)") }
        try TestEngines.forEach { engine in
            let outcome = try runUnderXvfb(
                xvfbRun, script: Self.unmapScript, [executable.path, plasmaPath, engine.rawValue], timingReport: true)
            XCTAssertEqual(
                outcome.status, 0, "\(engine): 125: no window, died while unmapped, or no quit\n\(outcome.stderr)")
            assertNoValidationMessages(outcome)
            let report = try XCTUnwrap(TimingReport(outcome.stdout), "\(engine): \(outcome.stdout)")
            XCTAssertGreaterThan(
                report.counts["hidden_waits"] ?? 0, 0, "\(engine): the unmapped window was drawn into: \(report)")
            XCTAssertGreaterThan(
                report.counts["presents_since_hidden"] ?? 0, 0, "\(engine): nothing drawn once mapped again: \(report)")
        }
    }

    /// ViewerTimeline puts telemetry, the acquire stamp and the renderer's timing of one generation into one record,
    /// keeps frames apart by generation, and derives the overlay's stages (NA where a stamp is missing).
    /// The documented initial window size (docs/cli.md): the smallest whole factor that brings the longer side to at
    /// least 512 px, fitted into 1024 px when that overshoots; larger frames are scaled down to at most 1024.
    func testInitialWindowSizeRule() {
        let cases: [((Int, Int), (Int, Int))] = [
            ((512, 512), (512, 512)), ((64, 64), (512, 512)), ((100, 300), (200, 600)), ((1, 1), (512, 512)),
            ((300, 100), (600, 200)), ((3, 500), (6, 1000)), ((800, 600), (800, 600)), ((2048, 1024), (1024, 512)),
            ((511, 10), (1022, 20)), ((700, 5), (700, 5)),
        ]
        for ((width, height), expected) in cases {
            let size = Viewer.windowSize(width: width, height: height)
            XCTAssertEqual(size.0, expected.0, "\(width)x\(height)")
            XCTAssertEqual(size.1, expected.1, "\(width)x\(height)")
            XCTAssertGreaterThanOrEqual(max(size.0, size.1), 512, "\(width)x\(height)")
            XCTAssertLessThanOrEqual(max(size.0, size.1), 1024, "\(width)x\(height)")
        }
    }

    /// fp.input as the kernel sees it: x, y, buttons and "inside"; leaving keeps the position, clears inside.
    func testPointerInputSelectors() {
        let pointer = PointerInput()
        XCTAssertEqual((0...4).map { pointer.value(Int32($0)) }, [0, 0, 0, 0, 0])
        pointer.set(x: 0.25, y: 0.75, buttons: 0b101, inside: true)
        XCTAssertEqual((0...4).map { pointer.value(Int32($0)) }, [0.25, 0.75, 5, 1, 0])
        pointer.leave()
        XCTAssertEqual((0...3).map { pointer.value(Int32($0)) }, [0.25, 0.75, 5, 0])
        XCTAssertEqual(pointer.value(-1), 0)
    }

    func testComputeRateParsing() {
        XCTAssertEqual(ComputeRate("display"), .display)
        XCTAssertEqual(ComputeRate("unpaced"), .unpaced)
        XCTAssertEqual(ComputeRate("30"), .hz(30))
        XCTAssertEqual(ComputeRate("0.5").map { _ in true }, nil)
        for bad in ["0", "1001", "-5", "nan", "inf", "fast", ""] { XCTAssertNil(ComputeRate(bad), bad) }
        XCTAssertEqual(ComputeRate.hz(59.94).description, "59.94")
    }

    func testTimelineAssemblesFrameRecords() {
        var timeline = ViewerTimeline()
        func event(_ kind: ComputeEvent.Kind, _ generation: UInt64, tile: UInt16 = 0, _ start: UInt64, _ end: UInt64)
            -> ComputeEvent
        {
            ComputeEvent(
                kind: kind, worker: 0, tile: tile, tileCount: 2, frameIndex: Int32(generation) + 100,
                generation: generation, scheduleNanos: 1_000, startNanos: start, endNanos: end)
        }
        // Generation 7: two tiles, published, acquired, rendered.
        timeline.add(event(.tile, 7, tile: 1, 3_000, 5_000))
        timeline.add(event(.tile, 7, tile: 0, 2_000, 4_000))
        timeline.add(event(.published, 7, 6_000, 6_000))
        // Generation 8 (a dropped frame in between) must not leak into 7.
        timeline.add(event(.tile, 8, 6_500, 9_000))
        timeline.acquired(generation: 7, at: 10_000)
        XCTAssertEqual(timeline.frameIndex(of: 7), 107)
        XCTAssertNil(timeline.frameIndex(of: 9))
        let record = timeline.rendered(
            WindowFrameTiming(
                tag: 7, submitNanos: 12_000, gpuStartNanos: 13_000, gpuKernelEndNanos: 14_000, gpuEndNanos: 15_000,
                presentNanos: 16_000, fenceSeenNanos: 17_000, calibrated: true))
        XCTAssertEqual(record.generation, 7)
        XCTAssertEqual(record.outcome, .measured)
        XCTAssertEqual(record.scheduleNanos, 1_000)
        XCTAssertEqual(record.computeStartNanos, 2_000)
        XCTAssertEqual(record.computeEndNanos, 5_000)
        XCTAssertEqual(record.tilesRecorded, 2)
        XCTAssertEqual(record.tileCount, 2)
        XCTAssertEqual(record.publishNanos, 6_000)
        XCTAssertEqual(record.acquireNanos, 10_000)
        XCTAssertEqual(record.submitNanos, 12_000)
        XCTAssertEqual(record.gpuStartNanos, 13_000)
        XCTAssertEqual(record.gpuEndNanos, 15_000)
        XCTAssertEqual(record.presentNanos, 16_000)
        let stages = ViewerTimeline.hudStages(of: record)
        XCTAssertEqual(stages[.compute], 0.003)
        XCTAssertEqual(stages[.handoffWait], 0.004)
        XCTAssertEqual(stages[.upload], 0.002)
        XCTAssertEqual(stages[.gpu], 0.002)
        XCTAssertEqual(stages[.present], 0.001)
        XCTAssertEqual(timeline.calibratedFrames, 1)

        // Generation 8: no publish seen, no GPU times: those stages are NA, not 0; the order checks are not fooled.
        timeline.acquired(generation: 8, at: 20_000)
        let bare = timeline.rendered(
            WindowFrameTiming(
                tag: 8, submitNanos: 21_000, gpuStartNanos: nil, gpuKernelEndNanos: nil, gpuEndNanos: nil,
                presentNanos: 22_000, fenceSeenNanos: 23_000, calibrated: false))
        let bareStages = ViewerTimeline.hudStages(of: bare)
        XCTAssertEqual(bareStages[.compute], 0.0025)
        XCTAssertNil(bareStages[.handoffWait])
        XCTAssertNil(bareStages[.gpu])
        XCTAssertNil(bareStages[.present])
        XCTAssertEqual(timeline.gpuTimedFrames, 1)
        XCTAssertEqual(timeline.recent.map(\.generation), [7, 8])

        // Publish stamped after the acquire of a finished frame: handoff_wait is 0, and counted.
        timeline.add(event(.tile, 9, 30_000, 31_000))
        timeline.acquired(generation: 9, at: 32_000)
        timeline.add(event(.published, 9, 32_500, 32_500))
        let raced = timeline.rendered(
            WindowFrameTiming(
                tag: 9, submitNanos: 33_000, gpuStartNanos: 32_000, gpuKernelEndNanos: 34_000, gpuEndNanos: 35_000,
                presentNanos: 30_000, fenceSeenNanos: 36_000, calibrated: true))
        XCTAssertEqual(ViewerTimeline.hudStages(of: raced)[.handoffWait], 0)
        XCTAssertEqual(timeline.publishAfterAcquire, 1)
        // 1 µs early GPU start and a present before GPU end: within the slack, not counted; seconds off would be.
        XCTAssertEqual(timeline.gpuStartBeforeSubmit, 0)
        XCTAssertEqual(timeline.presentBeforeGpuEnd, 0)
        timeline.rendered(
            WindowFrameTiming(
                tag: 10, submitNanos: 5_000_000_000, gpuStartNanos: 1_000_000_000, gpuKernelEndNanos: nil,
                gpuEndNanos: 9_000_000_000, presentNanos: 6_000_000_000, fenceSeenNanos: 9_000_000_000, calibrated: true))
        XCTAssertEqual(timeline.gpuStartBeforeSubmit, 1)
        XCTAssertEqual(timeline.presentBeforeGpuEnd, 1)

        // The recent ring keeps the last 240, oldest first.
        for g in UInt64(100)..<400 {
            timeline.rendered(
                WindowFrameTiming(
                    tag: g, submitNanos: g, gpuStartNanos: nil, gpuKernelEndNanos: nil, gpuEndNanos: nil,
                    presentNanos: nil, fenceSeenNanos: g, calibrated: false))
        }
        XCTAssertEqual(timeline.recent.map(\.generation), Array(160..<400))
        XCTAssertTrue(timeline.report(calibration: "x").hasPrefix("view-timing: frames=304 "), timeline.report(calibration: "x"))
    }

    func testNoDisplayExitsSixWithOneLine() throws {
        var environment = ProcessInfo.processInfo.environment
        environment["DISPLAY"] = nil
        environment["WAYLAND_DISPLAY"] = nil
        let outcome = try run(executable.path, ["view", plasmaPath, "--size", "16x16"], environment: environment)
        XCTAssertEqual(outcome.status, 6, outcome.stderr)
        let lines = outcome.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, outcome.stderr)
        XCTAssertTrue(lines.first?.hasPrefix("framepipe: error: no display: ") ?? false, outcome.stderr)
        XCTAssertTrue(outcome.stderr.contains("xvfb-run"), outcome.stderr)
        XCTAssertTrue(outcome.stderr.contains("framepipe bench"), outcome.stderr)
    }

    func testBadPresentModeIsAUsageError() throws {
        let outcome = try run(
            executable.path, ["view", plasmaPath, "--present-mode", "vsync"],
            environment: ProcessInfo.processInfo.environment)
        XCTAssertEqual(outcome.status, 64, outcome.stderr)
    }
}
