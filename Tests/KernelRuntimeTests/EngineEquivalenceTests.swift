import EngineTestSupport
import Foundation
import XCTest

@testable import KernelRuntime

/// WasmKit (interpreter) and wasmtime (Cranelift) run the same kernels to the same bytes, and refuse
/// the same bad modules the same way. Frame sizes are small and odd (37×23: no power-of-two row or
/// tile luck) because WasmKit is slow in debug builds.
final class EngineEquivalenceTests: XCTestCase {
    static let (width, height) = (37, 23)
    static let frameCount: Int32 = 6

    /// The gallery's MVP builds (`assets/kernels/NAME.wasm`, not the `.simd.wasm` beside them).
    static var galleryKernels: [String] {
        let folder = repositoryRoot.appendingPathComponent("assets/kernels")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasSuffix(".wasm") && !$0.hasSuffix(".simd.wasm") }.sorted()
            .map { folder.appendingPathComponent($0).path }
    }

    /// What the gallery runs with: the data directory `assets/data` (edges.wasm reads its image
    /// there in fp_init, as `--data assets/data` gives it; the other kernels never open a file).
    static var galleryHost: KernelHost {
        var host = KernelHost.headless
        host.wasi = WASIOptions(dataDirectory: repositoryRoot.appendingPathComponent("assets/data").path)
        return host
    }

    static var simdKernels: [String] {
        let folder = repositoryRoot.appendingPathComponent("assets/kernels")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasSuffix(".simd.wasm") }.sorted().map { folder.appendingPathComponent($0).path }
    }

    /// Every file of the corpus, by name.
    static var corpusFiles: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: badModules.path)) ?? [])
            .filter { $0.hasSuffix(".wasm") || $0.hasSuffix(".txt") }.sorted()
    }

    /// Frames 0..<count on one instance, in order (as the pool runs a stateful kernel; a stateless
    /// one gives the same frames either way), each whole frame in one call.
    func frames(
        _ path: String, on engine: any KernelEngine, count: Int32 = frameCount, host: KernelHost = .headless
    ) throws -> [[UInt8]] {
        let instance = try instantiate(path, on: engine, width: Self.width, height: Self.height, host: host)
        return try (0..<count).map { frame in
            try instance.run(frame: frame, time: Double(frame) / 60, units: 0..<instance.unitCount)
            return try instance.outputBytes()
        }
    }

    func assertSameFrames(
        _ expected: [[UInt8]], _ actual: [[UInt8]], _ context: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(expected.count, actual.count, context, file: file, line: line)
        for (frame, (a, b)) in zip(expected, actual).enumerated() {
            XCTAssertEqual(a.count, b.count, "\(context) frame \(frame): output sizes", file: file, line: line)
            let differing = zip(a, b).filter { $0 != $1 }.count
            XCTAssertEqual(differing, 0, "\(context) frame \(frame): bytes that differ", file: file, line: line)
        }
    }

    func testGalleryKernelsGiveTheSameBytesOnBothEngines() throws {
        let kernels = Self.galleryKernels
        XCTAssertTrue(
            Set(kernels.map { URL(fileURLWithPath: $0).lastPathComponent }).isSuperset(of: [
                "plasma.wasm", "mandelbrot.wasm", "life.wasm", "grayscott.wasm", "particles.wasm",
                "ripples.wasm", "cells.wasm", "edges.wasm",
            ]), "\(kernels)")
        let wasmKit = WasmKitEngine()
        let wasmtime = try EngineUnderTest.wasmtime.make()
        for path in kernels {
            let name = URL(fileURLWithPath: path).lastPathComponent
            let interpreted = try frames(path, on: wasmKit, host: Self.galleryHost)
            let compiled = try frames(path, on: wasmtime, host: Self.galleryHost)
            assertSameFrames(interpreted, compiled, "\(name): WasmKit vs wasmtime")
            XCTAssertNotEqual(interpreted.first, interpreted.last, "\(name): frames should change over time")

            // Stateless kernels: wasmtime computing each frame in tiles, out of order, on one
            // instance gives WasmKit's whole frames too.
            let tiled = try instantiate(path, on: wasmtime, width: Self.width, height: Self.height, host: Self.galleryHost)
            guard !tiled.isStateful else { continue }
            let units = tiled.unitCount
            for frame in Int32(0)..<Self.frameCount {
                for tile in [units / 2..<units, 0..<units / 3, units / 3..<units / 2] where !tile.isEmpty {
                    try tiled.run(frame: frame, time: Double(frame) / 60, units: tile)
                }
                XCTAssertEqual(try tiled.outputBytes(), interpreted[Int(frame)], "\(name) frame \(frame): wasmtime in tiles")
            }
        }
    }

    /// `NAME.simd.wasm` (what `--kernel-build auto` loads on wasmtime) gives the MVP build's bytes.
    func testSIMDBuildsOnWasmtimeEqualTheMVPBuildsOnWasmKit() throws {
        let builds = Self.simdKernels
        XCTAssertFalse(builds.isEmpty, "no assets/kernels/*.simd.wasm")
        let wasmtime = try EngineUnderTest.wasmtime.make()
        for simd in builds {
            let mvp = String(simd.dropLast(".simd.wasm".count)) + ".wasm"
            let name = URL(fileURLWithPath: simd).lastPathComponent
            assertSameFrames(try frames(mvp, on: WasmKitEngine()), try frames(simd, on: wasmtime), "\(name) vs MVP on WasmKit")
        }
    }

    func testGoodCorpusKernelsGiveTheSameBytesOnBothEngines() throws {
        let good = Self.corpusFiles.filter { $0.hasPrefix("good-") }
        XCTAssertGreaterThanOrEqual(good.count, 4, "\(good)")
        let wasmtime = try EngineUnderTest.wasmtime.make()
        for name in good {
            assertSameFrames(
                try frames(corpus(name), on: WasmKitEngine()), try frames(corpus(name), on: wasmtime),
                "\(name): WasmKit vs wasmtime")
        }
    }

    /// How a module fails on `engine`: loaded, instantiated at 16×16 and run for frames 0...3 (the
    /// corpus' run-time faults hit on frame 2); nil when nothing failed.
    func failure(of name: String, on engine: any KernelEngine) -> KernelError? {
        kernelError {
            let instance = try instantiate(
                corpus(name), on: engine, width: 16, height: 16, limits: KernelLimits(fuelPerTile: 5_000_000, maxMemoryBytes: 4 << 20))
            for frame in Int32(0)...3 {
                try instance.run(frame: frame, time: Double(frame) / 60, units: 0..<instance.unitCount)
            }
        }
    }

    /// The message with what only one engine can say cut out: the engine's own reason a module does
    /// not parse or validate ("invalid or truncated WebAssembly module: REASON; rebuild it …"), and
    /// the backtrace where it depends on the engine: where a runaway call was stopped (fuel or time
    /// is checked at different places) and how deep the stack was when it was exhausted.
    static func engineNeutral(_ message: String) -> String {
        var message = message
        let stoppedAnywhere = ["ran out of fuel", "ran past its deadline", "used up its time budget", "call stack exhausted"]
        if stoppedAnywhere.contains(where: message.contains), let backtrace = message.range(of: "; backtrace: ") {
            message = String(message[..<backtrace.lowerBound])
        }
        // The same time bound, kept by interruption (wasmtime) or by fuel (WasmKit).
        for phrase in ["ran past its deadline", "used up its time budget"] {
            if let start = message.range(of: phrase) { message = message[..<start.lowerBound] + "stopped at its time bound" }
        }
        let marker = "invalid or truncated WebAssembly module: "
        guard let start = message.range(of: marker), let end = message.range(of: "; rebuild it", range: start.upperBound..<message.endIndex)
        else { return message }
        return message.replacingCharacters(in: start.upperBound..<end.lowerBound, with: "…")
    }

    /// Every module of the corpus fails with the same kind, fault and message on both engines
    /// (wasmtime metering fuel, so runaway loops are stopped by fuel on both).
    func testEveryCorpusModuleFailsTheSameWayOnBothEngines() throws {
        let wasmtime = try EngineUnderTest.wasmtime.make(meterFuel: true)
        var failing = 0
        for name in Self.corpusFiles {
            let interpreted = failure(of: name, on: WasmKitEngine())
            let compiled = failure(of: name, on: wasmtime)
            XCTAssertEqual(interpreted?.kind, compiled?.kind, "\(name): kind")
            XCTAssertEqual(interpreted?.fault, compiled?.fault, "\(name): fault")
            XCTAssertEqual(
                interpreted.map { Self.engineNeutral($0.message) }, compiled.map { Self.engineNeutral($0.message) },
                "\(name): message")
            if name.hasPrefix("good-") || name.hasPrefix("initial-memory") || name.hasPrefix("log-") {
                XCTAssertNil(interpreted, "\(name) is a good kernel")
            } else {
                XCTAssertNotNil(interpreted, "\(name) must fail")
                failing += 1
            }
        }
        XCTAssertGreaterThanOrEqual(failing, 18, "the corpus' bad modules")
    }
}
