import EngineTestSupport
import Foundation
import KernelRuntime
import Synchronization
import VulkanRender
import XCTest

@testable import Framepipe

func corpusKernel(_ name: String) -> String { badModules.appendingPathComponent(name).path }

/// Every kernel format end to end on each engine: worker pool → slot ring → headless Vulkan → PNG
/// on disk, compared with what the kernel computes directly on that engine.
final class PipelineFormatTests: XCTestCase {
    override func setUp() { prepareEnvironment() }

    /// Runs a 2-worker bench and returns the last frame's PNG pixels and its frame index.
    private func bench(
        _ kernel: String, on which: EngineUnderTest, width: Int, height: Int, colormap: Colormap = .viridis
    ) throws -> (pixels: [UInt8], frame: Int32, summary: BenchSummary) {
        var options = BenchOptions(kernelPath: kernel)
        options.width = width
        options.height = height
        options.frames = 6
        options.warmup = 1
        options.workers = 2
        options.colormap = colormap
        options.wasi = galleryWASI
        options.engine = which.request()
        options.outputDirectory = try temporaryDirectory() + "/report"
        let result = try Bench.run(options)
        XCTAssertEqual(result.summary.frames.failed, 0, "\(which): \(kernel)")
        XCTAssertEqual(result.summary.engine.name, which.description)
        let png = try OutputFiles.readPNG(result.lastFramePath)
        XCTAssertEqual(png.width, width, "\(which): \(kernel)")
        XCTAssertEqual(png.height, height, "\(which): \(kernel)")
        return (png.pixels, result.summary.last_frame.frame, result.summary)
    }

    private func direct(_ kernel: String, on which: EngineUnderTest, frame: Int32, width: Int, height: Int) throws
        -> [UInt8]
    {
        var options = Capture.Options(kernelPath: kernel, frame: frame, width: width, height: height, outputPath: "/dev/null")
        options.wasi = galleryWASI
        options.engine = which.request()
        return try Capture.computeDirectly(options).bytes
    }

    /// Format 1: the image is the kernel's bytes exactly (tolerance 0).
    func testRGBA8EndToEnd() throws {
        let kernel = corpusKernel("good-gradient.wasm")
        try TestEngines.forEach { which in
            let (pixels, frame, summary) = try bench(kernel, on: which, width: 24, height: 20)
            XCTAssertEqual(summary.format, "rgba8", "\(which)")
            XCTAssertEqual(pixels, try direct(kernel, on: which, frame: frame, width: 24, height: 20), "\(which)")
            // 2 workers ask for 16 tiles; 20 rows make equal tiles of 2 rows: 10 tiles.
            XCTAssertEqual(summary.tiles_per_frame, 10, "\(which)")
        }
    }

    /// Format 2: each pixel is the colour map's entry for the kernel's value (tolerance 0: the GPU
    /// does the same nearest table lookup as `Colormap.rgba8`).
    func testF32FieldEndToEndInEveryColormap() throws {
        let kernel = corpusKernel("good-field.wasm")
        let (width, height) = (23, 17)
        try TestEngines.forEach { which in
            for colormap in Colormap.allCases {
                let (pixels, frame, summary) = try bench(kernel, on: which, width: width, height: height, colormap: colormap)
                XCTAssertEqual(summary.format, "f32-field", "\(which)")
                let values = try direct(kernel, on: which, frame: frame, width: width, height: height).withUnsafeBytes {
                    Array($0.bindMemory(to: Float.self))
                }
                XCTAssertEqual(values.count, width * height, "\(which)")
                let expected = values.flatMap { value -> [UInt8] in
                    let (r, g, b, a) = colormap.rgba8(value)
                    return [r, g, b, a]
                }
                let differing = zip(pixels, expected).filter { $0 != $1 }.count
                XCTAssertEqual(differing, 0, "\(which) \(colormap): bytes that differ from the CPU colour map")
            }
        }
    }

    /// Format 3: 12 opaque 3×3 squares on black; colours within ±1 (float → UNORM rounding).
    func testPointsEndToEnd() throws {
        let kernel = corpusKernel("good-points.wasm")
        let (width, height) = (24, 16)
        try TestEngines.forEach { which in
            let (pixels, frame, summary) = try bench(kernel, on: which, width: width, height: height)
            XCTAssertEqual(summary.format, "points", "\(which)")
            var expected = [UInt8](repeating: 0, count: width * height * 4)
            for pixel in 0..<(width * height) { expected[pixel * 4 + 3] = 255 }
            for k in 0..<12 {
                let (cx, cy) = (2 + 5 * (k % 4), 2 + 5 * (k / 4))
                for y in (cy - 1)...(cy + 1) {
                    for x in (cx - 1)...(cx + 1) {
                        let at = (y * width + x) * 4
                        expected[at] = UInt8(20 * k)
                        expected[at + 1] = UInt8(255 - 20 * k)
                        expected[at + 2] = UInt8(frame & 255)
                    }
                }
            }
            let worst = zip(pixels, expected).map { abs(Int($0) - Int($1)) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst, 1, "\(which): largest channel difference from the expected squares")
        }
    }

    /// `capture` draws every format too, the same on both engines.
    func testCaptureOfEveryFormat() throws {
        var captured: [String: [UInt8]] = [:]
        try TestEngines.forEach { which in
            let directory = try temporaryDirectory()
            for name in ["good-gradient.wasm", "good-field.wasm", "good-points.wasm"] {
                let png = directory + "/\(name).png"
                var options = Capture.Options(kernelPath: corpusKernel(name), frame: 3, width: 24, height: 16, outputPath: png)
                options.engine = which.request()
                let pixels = try Capture.run(options)
                XCTAssertEqual(pixels.count, 24 * 16 * 4, "\(which): \(name)")
                XCTAssertEqual(try OutputFiles.readPNG(png).pixels, pixels, "\(which): \(name)")
                XCTAssertTrue(pixels.contains { $0 != pixels[0] }, "\(which): \(name): not a flat image")
                if let other = captured[name] {
                    XCTAssertEqual(pixels, other, "\(name): the same capture on both engines")
                }
                captured[name] = pixels
            }
        }
    }

    /// A multi-worker bench's last frame equals the single-instance frame for every gallery kernel
    /// (tiles from different workers assemble into the same bytes; stateful kernels stepped in order).
    func testGalleryKernelsThroughThePipeline() throws {
        try TestEngines.forEach { which in
            for name in ["plasma", "mandelbrot", "particles", "life", "grayscott", "ripples", "cells", "edges"] {
                let kernel = repositoryRoot.appendingPathComponent("assets/kernels/\(name).wasm").path
                guard FileManager.default.fileExists(atPath: kernel) else { continue }
                let (pixels, frame, summary) = try bench(kernel, on: which, width: 32, height: 24)
                XCTAssertTrue(pixels.contains { $0 != pixels[0] }, "\(which): \(name): not a flat image")
                if summary.format == "rgba8" {
                    XCTAssertEqual(pixels, try direct(kernel, on: which, frame: frame, width: 32, height: 24), "\(which): \(name)")
                }
            }
        }
    }
}

/// Hot reload while `bench --frames` runs: a bad replacement is refused and the old kernel keeps
/// running; a good one is swapped in at a frame boundary and the frames after it are its own.
final class HotReloadBenchTests: XCTestCase {
    override func setUp() { prepareEnvironment() }

    final class Script: @unchecked Sendable {
        enum Phase { case warming, waitingForRefusal, waitingForReload, running(since: Int), done }
        let lock = NSLock()
        var phase = Phase.warming
        var renderedAtRefusal = 0
        var renderedAfterRefusal = 0
        var lines: [String] = []
        func log(_ line: String) { lock.withLock { lines.append(line) } }
    }

    private static func replace(_ path: String, with source: String) {
        let temporary = path + ".new"
        try? FileManager.default.removeItem(atPath: temporary)
        try? FileManager.default.copyItem(atPath: source, toPath: temporary)
        rename(temporary, path)
    }

    func testReloadDuringBench() throws {
        try TestEngines.forEach { which in try reloadDuringBench(on: which) }
    }

    private func reloadDuringBench(on which: EngineUnderTest) throws {
        let directory = try temporaryDirectory()
        let kernel = directory + "/kernel.wasm"
        try FileManager.default.copyItem(atPath: plasmaPath, toPath: kernel)
        let script = Script()
        let stop = BenchStopRequest()
        var options = BenchOptions(kernelPath: kernel)
        options.width = 16
        options.height = 8
        options.frames = 1_000_000  // ended by the script below, or by the 10 000-frame guard
        options.warmup = 0
        options.workers = 2
        options.watch = true
        options.stop = stop
        options.outputDirectory = directory + "/report"
        options.engine = which.request()
        options.log = { script.log($0) }
        let notWasm = corpusKernel("not-wasm.txt")
        let gradient = corpusKernel("good-gradient.wasm")
        options.progress = { rendered, _ in
            script.lock.withLock {
                switch script.phase {
                case .warming where rendered >= 10:
                    Self.replace(kernel, with: notWasm)
                    script.phase = .waitingForRefusal
                case .waitingForRefusal where script.lines.contains { $0.contains("reload refused") }:
                    script.renderedAtRefusal = rendered
                    script.phase = .waitingForReload
                case .waitingForReload where rendered >= script.renderedAtRefusal + 10 && script.renderedAfterRefusal == 0:
                    // The old kernel kept running after the refusal: now the good replacement.
                    script.renderedAfterRefusal = rendered
                    Self.replace(kernel, with: gradient)
                case .waitingForReload where script.lines.contains { $0.contains("reloaded") }:
                    script.phase = .running(since: rendered)
                case .running(let since) where rendered >= since + 20:
                    script.phase = .done
                    stop.request()
                default:
                    if rendered >= 10_000 { stop.request() }
                }
            }
        }
        let result = try Bench.run(options)
        let lines = script.lock.withLock { script.lines }
        guard case .done = script.lock.withLock({ script.phase }) else {
            return XCTFail("\(which): the script did not finish: \(lines)")
        }
        let summary = result.summary
        XCTAssertEqual(summary.frames.failed, 0, "\(which)")
        XCTAssertEqual(summary.reloads.count, 2, "\(which): \(summary.reloads)")
        XCTAssertNotNil(summary.reloads.first?.error, "\(which): the bad file is refused")
        XCTAssertTrue(summary.reloads.first?.error?.contains("not a WebAssembly module") ?? false, "\(which)")
        let applied = try XCTUnwrap(summary.reloads.last?.first_frame, "\(which): the good file is applied")
        XCTAssertGreaterThan(summary.last_frame.frame, applied, "\(which)")
        // The last frame is good-gradient's own frame for that frame number.
        let png = try OutputFiles.readPNG(result.lastFramePath)
        var direct = Capture.Options(
            kernelPath: gradient, frame: summary.last_frame.frame, width: 16, height: 8, outputPath: "/dev/null")
        direct.engine = which.request()
        XCTAssertEqual(png.pixels, try Capture.computeDirectly(direct).bytes, "\(which)")
        XCTAssertTrue(lines.contains { $0.contains("reload refused, the previous kernel keeps running") }, "\(which)")
    }
}
