import Foundation
import XCTest

@testable import Framepipe

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
        process.waitUntilExit()
        try out.close()
        try err.close()
        return Outcome(
            status: process.terminationStatus,
            stdout: String(decoding: FileManager.default.contents(atPath: outPath) ?? Data(), as: UTF8.self),
            stderr: String(decoding: FileManager.default.contents(atPath: errPath) ?? Data(), as: UTF8.self))
    }

    /// The environment for a window test: validation on (when installed), a private XDG_RUNTIME_DIR.
    func windowEnvironment() -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        if hasValidationLayer { environment["VK_INSTANCE_LAYERS"] = "VK_LAYER_KHRONOS_validation" }
        return environment
    }

    func assertNoValidationMessages(_ stderr: String, file: StaticString = #filePath, line: UInt = #line) {
        for marker in ["Validation", "VUID-", "VK_LAYER_KHRONOS", "vkCreate", "Segmentation", "Fatal error"] {
            XCTAssertFalse(stderr.contains(marker), "stderr mentions \(marker):\n\(stderr)", file: file, line: line)
        }
    }

    /// Drives `framepipe view` with real X events; run with `bash -c SCRIPT bash FRAMEPIPE KERNEL SCREENSHOT_DIR`
    /// inside xvfb-run. Opens the viewer, waits for its window, resizes it, toggles the HUD, pauses and resumes, takes
    /// a screenshot (S), resizes again, then quits with Escape. Exits with the viewer's exit status (125 when the
    /// window never appeared or Escape did not end it); the viewer's stdout/stderr pass through. (Inline rather than a
    /// .sh file next to this one, which SwiftPM would warn about as an unhandled file of the test target.)
    static let xdotoolScript = #"""
    set -u
    bin="$1" kernel="$2" shots="$3"

    "$bin" view "$kernel" --size 64x64 --workers 1 --screenshot-dir "$shots" &
    viewer=$!

    fail() { echo "viewer-xdotool: $*" >&2; kill "$viewer" 2>/dev/null; wait "$viewer" 2>/dev/null; exit 125; }

    window=""
    for _ in $(seq 1 100); do
      window="$(xdotool search --name '^framepipe' 2>/dev/null | head -n 1)"
      [ -n "$window" ] && break
      kill -0 "$viewer" 2>/dev/null || { wait "$viewer"; exit $?; }
      sleep 0.2
    done
    [ -n "$window" ] || fail "no framepipe window appeared"

    sleep 1                                   # let frames arrive
    xdotool windowsize "$window" 400 300      # resize: the swapchain is rebuilt, aspect kept (pillarbox)
    sleep 1
    xdotool key --window "$window" h          # HUD on
    sleep 0.5
    xdotool key --window "$window" space      # pause
    sleep 0.3
    xdotool key --window "$window" space      # resume
    sleep 0.5
    xdotool key --window "$window" s          # screenshot
    sleep 1
    xdotool windowsize "$window" 300 500      # another resize (letterbox)
    sleep 0.5
    xdotool key --window "$window" Escape     # quit

    for _ in $(seq 1 100); do
      kill -0 "$viewer" 2>/dev/null || { wait "$viewer"; exit $?; }
      sleep 0.1
    done
    fail "the viewer did not quit on Escape"
    """#

    override func setUpWithError() throws {
        prepareEnvironment()
        try XCTSkipUnless(
            FileManager.default.isExecutableFile(atPath: executable.path), "framepipe not built at \(executable.path)")
    }

    /// Opens plasma in a window, resizes it twice, toggles HUD and pause, screenshots with S, quits with Esc — all
    /// through real X events — and checks exit 0, the PNG and a clean stderr (validation layer on).
    func testViewerWindowKeysResizeAndScreenshotUnderXvfb() throws {
        guard let xvfbRun = which("xvfb-run") else { throw XCTSkip("xvfb-run is not installed (scripts/setup.sh)") }
        XCTAssertNotNil(which("xdotool"), "xdotool is missing: run scripts/setup.sh")
        let shots = try temporaryDirectory()
        let outcome = try run(
            xvfbRun,
            ["-a", "-s", "-screen 0 1024x768x24", "bash", "-c", Self.xdotoolScript, "bash", executable.path, plasmaPath, shots],
            environment: windowEnvironment())
        XCTAssertEqual(outcome.status, 0, "stdout: \(outcome.stdout)\nstderr: \(outcome.stderr)")
        assertNoValidationMessages(outcome.stderr)

        // S printed the path of the PNG: framepipe-plasma-<frame>.png in --screenshot-dir.
        let printed = outcome.stdout.split(separator: "\n").map(String.init).filter { $0.hasSuffix(".png") }
        XCTAssertEqual(printed.count, 1, outcome.stdout)
        let path = try XCTUnwrap(printed.first)
        XCTAssertTrue(path.hasPrefix(shots + "/framepipe-plasma-"), path)
        let png = try OutputFiles.readPNG(path)
        XCTAssertEqual(png.width, 64)
        XCTAssertEqual(png.height, 64)
        // Not blank: plasma has many colours, and it is opaque.
        var colours = Set<UInt32>()
        for i in stride(from: 0, to: png.pixels.count, by: 4) {
            colours.insert(
                UInt32(png.pixels[i]) | UInt32(png.pixels[i + 1]) << 8 | UInt32(png.pixels[i + 2]) << 16)
            XCTAssertEqual(png.pixels[i + 3], 255)
        }
        XCTAssertGreaterThan(colours.count, 100, "the screenshot looks blank")
        // No temporary file left behind (written atomically).
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: shots).filter { !$0.hasSuffix(".png") }
        XCTAssertEqual(leftovers, [])
    }

    /// Every kernel format reaches the window (RGBA8, f32 field, points): N frames, then exit 0, no validation noise.
    func testEveryFormatPresentsFramesUnderXvfb() throws {
        guard let xvfbRun = which("xvfb-run") else { throw XCTSkip("xvfb-run is not installed (scripts/setup.sh)") }
        for kernel in ["plasma", "grayscott", "particles"] {
            let outcome = try run(
                xvfbRun,
                [
                    "-a", "-s", "-screen 0 1024x768x24", executable.path, "view",
                    repositoryRoot.appendingPathComponent("assets/kernels/\(kernel).wasm").path,
                    "--size", "48x32", "--workers", "1", "--exit-after-frames", "4", "--present-mode", "mailbox",
                ],
                environment: windowEnvironment())
            XCTAssertEqual(outcome.status, 0, "\(kernel): \(outcome.stderr)")
            assertNoValidationMessages(outcome.stderr)
        }
    }

    /// A kernel that fails every frame is disabled, but the viewer keeps running: it says why (the
    /// pool's line with the reason, then the viewer's), is still alive a second later, and quits on
    /// Escape with exit 0. Run with `bash -c SCRIPT bash FRAMEPIPE KERNEL` inside xvfb-run.
    static let disabledKernelScript = #"""
    set -u
    bin="$1" kernel="$2"
    log="$(mktemp)"
    "$bin" view "$kernel" --size 16x16 --workers 1 --max-failures 2 2>"$log" &
    viewer=$!
    finish() { cat "$log" >&2; rm -f "$log"; exit "$1"; }
    for _ in $(seq 1 150); do
      grep -q "the kernel is disabled" "$log" && break
      kill -0 "$viewer" 2>/dev/null || { wait "$viewer"; finish 124; }
      sleep 0.1
    done
    grep -q "the kernel is disabled" "$log" || { kill "$viewer"; finish 125; }
    sleep 1
    kill -0 "$viewer" 2>/dev/null || { wait "$viewer"; finish 124; }   # must still be running
    window="$(xdotool search --name '^framepipe' 2>/dev/null | head -n 1)"
    [ -n "$window" ] || { kill "$viewer"; finish 125; }
    xdotool key --window "$window" Escape
    for _ in $(seq 1 100); do
      kill -0 "$viewer" 2>/dev/null || { wait "$viewer"; finish $?; }
      sleep 0.1
    done
    kill "$viewer"; finish 125
    """#

    func testDisabledKernelKeepsTheViewerRunning() throws {
        guard let xvfbRun = which("xvfb-run") else { throw XCTSkip("xvfb-run is not installed (scripts/setup.sh)") }
        let outcome = try run(
            xvfbRun,
            [
                "-a", "-s", "-screen 0 1024x768x24", "bash", "-c", Self.disabledKernelScript, "bash", executable.path,
                badModules.appendingPathComponent("traps.wasm").path,
            ],
            environment: windowEnvironment())
        XCTAssertEqual(outcome.status, 0, "124: the viewer exited by itself; 125: no window or no disabled line\n\(outcome.stderr)")
        XCTAssertTrue(outcome.stderr.contains("kernel disabled after 2 consecutive failed frames"), outcome.stderr)
        XCTAssertTrue(outcome.stderr.contains("unreachable"), outcome.stderr)
        assertNoValidationMessages(outcome.stderr)
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
