import EngineTestSupport
import FrameHandoff
import Foundation
import XCTest

@testable import KernelRuntime

/// The worker pool with real threads, real engine instances (WasmKit and wasmtime) and the real slot ring.
final class ComputePoolTests: XCTestCase {
    /// Runs `path` on a pool of `workers` into a `fifo` ring (nothing drops) and returns the first
    /// `frames` frames as the reader got them, keyed by frame index (from the pool's telemetry).
    private func collectFrames(
        _ path: String, on engine: any KernelEngine, workers: Int, width: Int, height: Int, frames: Int,
        tilesPerWorker: Int = 8, limits: KernelLimits = KernelLimits(), maxFailures: Int = 3,
        diagnostics: LockedLines = LockedLines(), recordTelemetry: Bool = true
    ) throws -> (frames: [Int32: [UInt8]], report: ComputeReport, events: [ComputeEvent]) {
        let kernel = try engine.load(path: path)
        let probe = try kernel.instantiate(width: width, height: height, limits: limits, host: .headless)
        let ring = try SlotRing(slotCount: 4, slotByteCount: probe.outputByteCount, policy: .fifo)
        let pool = try ComputePool(
            kernel: kernel,
            settings: ComputeSettings(
                width: width, height: height, limits: limits, maxConsecutiveFailures: maxFailures, workers: workers,
                tilesPerWorker: tilesPerWorker, recordTelemetry: recordTelemetry),
            ring: ring, diagnostics: { diagnostics.append($0) })
        pool.start()
        var byGeneration: [UInt64: [UInt8]] = [:]
        var events: [ComputeEvent] = []
        let deadline = Date().addingTimeInterval(120)
        while byGeneration.count < frames, Date() < deadline {
            guard let lease = ring.waitForFrame(timeoutNanos: 100_000_000) else { continue }
            byGeneration[lease.handle.generation] = try ring.withReadableBytes(lease) { [UInt8]($0) }
            try ring.release(lease)
        }
        let report = pool.stop()
        pool.drainTelemetry { events.append($0) }
        XCTAssertEqual(byGeneration.count, frames, "\(engine.identity.name) \(path): timed out waiting for frames")
        var byFrame: [Int32: [UInt8]] = [:]
        for event in events where event.kind == .published {
            if let bytes = byGeneration[event.generation] { byFrame[event.frameIndex] = bytes }
        }
        return (byFrame, report, events)
    }

    /// The frame as one instance computes it, whole, in one call.
    private func reference(_ instance: any KernelInstance, frame: Int32) throws -> [UInt8] {
        try instance.run(frame: frame, time: Double(frame) / 60, units: 0..<instance.unitCount)
        return try instance.outputBytes()
    }

    /// Stateless kernels give byte-identical frames whether one worker computes a frame or three share
    /// it tile by tile (and frames overlap).
    func testMultiWorkerOutputEqualsSingleWorkerForStatelessKernels() throws {
        let kernels = statelessGalleryKernels() + [corpus("good-gradient.wasm")]
        try TestEngines.forEach { which in
            let engine = try which.make()
            var workersSeen = Set<UInt16>()
            for path in kernels {
                let context = "\(which): \(path)"
                let (width, height) = (24, 20)
                let single = try collectFrames(path, on: engine, workers: 1, width: width, height: height, frames: 4)
                let multi = try collectFrames(
                    path, on: engine, workers: 3, width: width, height: height, frames: 8, tilesPerWorker: 3)
                XCTAssertEqual(single.report.failedFrames, 0, context)
                XCTAssertEqual(multi.report.failedFrames, 0, context)
                let tiled = multi.events.filter { $0.kind == .tile && $0.tileCount > 1 }
                XCTAssertFalse(tiled.isEmpty, "\(context): 3 workers must split frames into tiles")
                workersSeen.formUnion(tiled.map(\.worker))
                // One instance computes the reference frames in turn (stateless: each frame is whole in itself), so
                // the kernel is compiled once for them rather than once a frame.
                let referenceInstance = try instantiate(path, on: engine, width: width, height: height)
                for frame in Int32(0)..<4 {
                    let expected = try reference(referenceInstance, frame: frame)
                    XCTAssertEqual(single.frames[frame], expected, "\(context) frame \(frame), 1 worker")
                    XCTAssertEqual(multi.frames[frame], expected, "\(context) frame \(frame), 3 workers")
                }
            }
            // Tiles of tiny frames may all land on one worker (on wasmtime a 24x20 frame takes
            // microseconds, less than waking another worker): so more frames are computed until a second
            // worker has taken a tile, with a generous deadline. Never, unless the pool runs one worker.
            let deadline = Date().addingTimeInterval(60)
            while workersSeen.count < 2, Date() < deadline, let path = kernels.first {
                let more = try collectFrames(
                    path, on: engine, workers: 3, width: 64, height: 64, frames: 32, tilesPerWorker: 3)
                workersSeen.formUnion(more.events.filter { $0.kind == .tile && $0.tileCount > 1 }.map(\.worker))
            }
            XCTAssertGreaterThan(workersSeen.count, 1, "\(which): tiles must run on several workers")
        }
    }

    /// With telemetry off (`bench --no-record`) frames still flow and the workers push no events.
    func testTelemetryOffPublishesFramesWithoutEvents() throws {
        try TestEngines.forEach { which in
            let run = try collectFrames(
                corpus("good-gradient.wasm"), on: try which.make(), workers: 2, width: 16, height: 8, frames: 5,
                recordTelemetry: false)
            XCTAssertEqual(run.report.failedFrames, 0, "\(which)")
            XCTAssertTrue(run.events.isEmpty, "\(which): \(run.events.count) events with telemetry off")
        }
    }

    /// Gallery kernels that are stateless (plasma always; the others once the gallery has them).
    /// Not edges, which needs the data directory: EngineEquivalenceTests tiles it.
    private func statelessGalleryKernels() -> [String] {
        ["plasma", "mandelbrot", "particles", "ripples", "cells"].map {
            repositoryRoot.appendingPathComponent("assets/kernels/\($0).wasm").path
        }.filter { FileManager.default.fileExists(atPath: $0) }
    }

    /// A stateful kernel runs on one instance, one call per frame, in frame order — even with several
    /// workers, any of which may take the frame.
    func testStatefulKernelRunsInOrderOnOneInstance() throws {
        let path = corpus("good-stateful-counter.wasm")
        try TestEngines.forEach { which in
            let result = try collectFrames(path, on: try which.make(), workers: 3, width: 8, height: 4, frames: 12)
            for frame in Int32(0)..<12 {
                let bytes = try XCTUnwrap(result.frames[frame], "\(which): frame \(frame)")
                XCTAssertEqual(
                    bytes[0], UInt8((frame + 1) & 255), "\(which): frame \(frame) must be the instance's call \(frame + 1)")
                XCTAssertEqual(bytes[1], UInt8(frame & 255), "\(which): frame \(frame)")
            }
            XCTAssertTrue(result.events.filter { $0.kind == .tile }.allSatisfy { $0.tileCount == 1 }, "\(which)")
        }
    }

    /// Every run-time fault fails its frame with one log line naming kernel, frame, tile and reason;
    /// the worker's instance is rebuilt and the frames after it are published. wasmtime meters fuel
    /// here (as with `--fuel`), so fault-fuel is stopped by fuel on both engines; on wasmtime it is
    /// also run without fuel, where its wall-clock deadline (200 ms) stops it.
    func testEachFaultIsLoggedAndThePipelineContinues() throws {
        let limits = KernelLimits(fuelPerTile: 5_000_000, maxMemoryBytes: 4 << 20)
        let cases: [(String, KernelError.Fault, String)] = [
            ("fault-trap", .trap, "trapped: unreachable"),
            ("fault-fuel", .fuelExhausted, "ran out of fuel"),
            ("fault-memory", .memoryRefused, "over the limit of 4 MiB"),
            ("fault-error-code", .errorCode, "returned error code 9"),
            ("fault-output", .outputOutsideMemory, "lies outside the kernel's"),
        ]
        try TestEngines.forEach { which in
            let metered = try which.make(meterFuel: true)
            var runs: [(engine: any KernelEngine, limits: KernelLimits, name: String, fault: KernelError.Fault, text: String)] =
                cases.map { (metered, limits, $0.0, $0.1, $0.2) }
            if which == .wasmtime {
                var deadline = limits
                deadline.tileTimeoutNanos = 200_000_000
                runs.append((try which.make(), deadline, "fault-fuel", .timeout, "ran past its deadline of 200 ms"))
            }
            for (engine, limits, name, fault, text) in runs {
                for workers in [1, 2] {
                    let lines = LockedLines()
                    let result = try collectFrames(
                        corpus("\(name).wasm"), on: engine, workers: workers, width: 8, height: 6, frames: 5,
                        limits: limits, diagnostics: lines)
                    let context = "\(which): \(name) [\(fault.rawValue)], \(workers) worker(s)"
                    XCTAssertEqual(result.report.failedFrames, 1, context)
                    XCTAssertNil(result.report.disabledBecause, context)
                    XCTAssertEqual(result.report.failures.first?.fault, fault, context)
                    XCTAssertNil(result.frames[2], "\(context): the failed frame is never published")
                    XCTAssertNotNil(result.frames[3], "\(context): the frame after the fault is published")
                    XCTAssertEqual(result.frames[4]?[2], 4, "\(context): later frames are the kernel's")
                    let failureLines = lines.all.filter { $0.contains("failed") }
                    XCTAssertFalse(failureLines.isEmpty, context)
                    for line in failureLines {
                        XCTAssertFalse(line.contains("\n"), context)
                        XCTAssertTrue(line.hasPrefix("kernel \(name): frame 2 tile "), "\(context): «\(line)»")
                        XCTAssertTrue(line.contains("[\(fault.rawValue)]") && line.contains(text), "\(context): «\(line)»")
                        XCTAssertTrue(line.contains("fp_frame(frame 2, rows "), "\(context): «\(line)»")
                        if fault == .trap {
                            XCTAssertTrue(line.contains("backtrace: explode ← fp_frame"), "\(context): «\(line)»")
                        }
                    }
                    XCTAssertTrue(result.events.contains { $0.kind == .failed && $0.frameIndex == 2 }, context)
                }
            }
        }
    }

    /// Failures are counted per frame in frame order across workers: a kernel failing every other
    /// frame, or 2 frames of every 3, is never disabled under --max-failures 3, however the two
    /// workers' frames interleave (six runs of each, many tiles per frame to shuffle the order).
    func testFailuresOnAlternateFramesNeverDisableWithTwoWorkers() throws {
        for (name, failing) in [("fault-alternate", { (f: Int32) in f % 2 == 1 }), ("fault-two-of-three", { (f: Int32) in f % 3 != 0 })] {
            try TestEngines.forEach { which in
                let engine = try which.make()
                for round in 0..<6 {
                    let result = try collectFrames(
                        corpus("\(name).wasm"), on: engine, workers: 2, width: 8, height: 8, frames: 10, tilesPerWorker: 4)
                    let context = "\(which): \(name), round \(round)"
                    XCTAssertNil(result.report.disabledBecause, "\(context): \(result.report.disabledBecause?.message ?? "")")
                    XCTAssertGreaterThan(result.report.failedFrames, 0, context)
                    for frame in result.frames.keys { XCTAssertFalse(failing(frame), "\(context): frame \(frame) must fail") }
                }
            }
        }
    }

    /// `.consumer` pacing (the viewer's default): the pool never has more than one frame open beyond those the
    /// reader took, frames keep coming as it takes them, and a frame that fails (never shown, so never taken) does not
    /// stall it: fault-alternate fails every odd frame.
    func testConsumerPacingOpensOneFramePerFrameTaken() throws {
        try TestEngines.forEach { which in
            let engine = try which.make()
            for (path, workers) in [(gallery("life.wasm"), 2), (gallery("plasma.wasm"), 2), (corpus("fault-alternate.wasm"), 2)] {
                let context = "\(which): \(path)"
                let kernel = try engine.load(path: path)
                let probe = try kernel.instantiate(width: 16, height: 16, limits: KernelLimits(), host: .headless)
                let ring = try SlotRing(slotCount: 4, slotByteCount: probe.outputByteCount, policy: .latest)
                var settings = ComputeSettings(width: 16, height: 16, maxConsecutiveFailures: 1000, workers: workers)
                settings.pacing = .consumer
                let pool = try ComputePool(kernel: kernel, settings: settings, ring: ring)
                pool.start()
                var taken = 0
                let deadline = Date().addingTimeInterval(120)
                while taken < 40, Date() < deadline {
                    guard let lease = ring.waitForFrame(timeoutNanos: 100_000_000) else { continue }
                    try ring.release(lease)
                    taken += 1
                    // Taken frames, failed or cancelled ones (each settles the gate too) and the one open now; the
                    // opened count is read first, the settled ones only grow.
                    let opened = pool.framesOpened
                    XCTAssertLessThanOrEqual(
                        opened, taken + pool.framesSettledUnshown + 1, "\(context): after \(taken) frames taken")
                    pool.frameTaken()
                }
                let report = pool.stop()
                XCTAssertEqual(taken, 40, "\(context): frames stopped coming")
                XCTAssertLessThanOrEqual(pool.framesOpened, taken + report.failedFrames + report.cancelledFrames + 1, context)
            }
        }
    }

    /// A kernel that faults on every frame is disabled after --max-failures consecutive failures.
    func testKernelIsDisabledAfterConsecutiveFailures() throws {
        try TestEngines.forEach { which in
            let kernel = try which.make().load(path: corpus("traps.wasm"))
            let ring = try SlotRing(slotByteCount: 8 * 8 * 4)
            let lines = LockedLines()
            let pool = try ComputePool(
                kernel: kernel,
                settings: ComputeSettings(width: 8, height: 8, maxConsecutiveFailures: 3, workers: 2),
                ring: ring, diagnostics: { lines.append($0) })
            pool.start()
            let deadline = Date().addingTimeInterval(30)
            while !pool.isDisabled && Date() < deadline { usleep(1000) }
            XCTAssertTrue(pool.isDisabled, "\(which)")
            usleep(50_000)  // a window in which no new frame may start (not a wait for anything)
            let report = pool.stop()
            // Frames already in flight when the third failure is counted (in frame order, so it may be
            // counted after later frames finished) may fail too: at most the tile queue's 16 jobs.
            XCTAssertGreaterThanOrEqual(report.failedFrames, 3, "\(which)")
            XCTAssertLessThanOrEqual(report.failedFrames, 3 + 16, "\(which)")
            let reason = report.disabledBecause?.message ?? ""
            XCTAssertTrue(reason.contains("disabled after 3 consecutive failed frames"), "\(which): \(reason)")
            XCTAssertTrue(reason.contains("unreachable"), "\(which): \(reason)")
            XCTAssertTrue(lines.all.contains { $0.hasPrefix("kernel disabled after 3") }, "\(which): \(lines.all)")
            XCTAssertNil(ring.acquireLatest(), "\(which): failed frames are never published")
        }
    }

    /// Reload swaps the kernel at a frame boundary; a bad file is refused and the old one keeps
    /// running; a reload also revives a disabled kernel.
    func testReloadSwapsKernelsAndRefusesBadOnes() throws {
        try TestEngines.forEach { which in
            let engine = try which.make()
            let (width, height) = (16, 8)
            let ring = try SlotRing(slotCount: 4, slotByteCount: width * height * 4)
            let pool = try ComputePool(
                kernel: try engine.load(path: corpus("traps.wasm")),
                settings: ComputeSettings(width: width, height: height, maxConsecutiveFailures: 2, workers: 2),
                ring: ring)
            pool.start()
            defer { _ = pool.stop() }
            let deadline = Date().addingTimeInterval(30)
            while !pool.isDisabled && Date() < deadline { usleep(1000) }
            XCTAssertTrue(pool.isDisabled, "\(which): traps.wasm must be disabled first")

            // A bad file: refused, nothing changes.
            XCTAssertThrowsError(try pool.reload(path: corpus("wrong-abi-version.wasm"), engine: engine), "\(which)")
            XCTAssertThrowsError(try pool.reload(path: corpus("init-fails.wasm"), engine: engine), "\(which)")
            XCTAssertTrue(pool.isDisabled, "\(which)")

            // A good one: frames flow again, and they are the new kernel's.
            try pool.reload(path: corpus("good-gradient.wasm"), engine: engine)
            let frame = try XCTUnwrap(waitForPublished(ring, seconds: 30), "\(which)")
            XCTAssertFalse(pool.isDisabled, "\(which)")
            XCTAssertEqual(Array(frame.prefix(4)), [0, 0, frame[2], 255], "\(which): good-gradient's first pixel")

            // Then plasma; a bad replacement afterwards leaves plasma running.
            try pool.reload(path: plasmaPath, engine: engine)
            XCTAssertThrowsError(try pool.reload(path: corpus("truncated.wasm"), engine: engine), "\(which)") { error in
                XCTAssertTrue("\(error)".contains("invalid or truncated"), "\(which): \(error)")
            }
            var plasmaFrames = 0
            var events: [ComputeEvent] = []
            while plasmaFrames < 3, Date() < deadline {
                guard let lease = ring.waitForFrame(timeoutNanos: 100_000_000) else { continue }
                let bytes = try ring.withReadableBytes(lease) { [UInt8]($0) }
                try ring.release(lease)
                pool.drainTelemetry { events.append($0) }
                guard
                    let index = events.last(where: { $0.kind == .published && $0.generation == lease.handle.generation })?
                        .frameIndex
                else { continue }
                if let instance = try? instantiate(plasmaPath, on: engine, width: width, height: height),
                    bytes == (try? reference(instance, frame: index))
                {
                    plasmaFrames += 1
                }
            }
            XCTAssertEqual(plasmaFrames, 3, "\(which): plasma frames must follow the reload, the bad file changing nothing")
            let report = pool.stop()
            XCTAssertEqual(
                report.reloads.filter { $0.error == nil }.map { URL(fileURLWithPath: $0.path).lastPathComponent },
                ["good-gradient.wasm", "plasma.wasm"], "\(which)")
            XCTAssertEqual(report.reloads.filter { $0.error != nil }.count, 3, "\(which)")
            XCTAssertNil(report.disabledBecause, "\(which): a successful reload clears the disabled state")
        }
    }

    /// Reloading to another format is refused (the renderer was set up for the first).
    func testReloadToAnotherFormatIsRefused() throws {
        let particles = repositoryRoot.appendingPathComponent("assets/kernels/particles.wasm").path
        try XCTSkipUnless(FileManager.default.fileExists(atPath: particles), "gallery particles kernel not built yet")
        try TestEngines.forEach { which in
            let engine = try which.make()
            let ring = try SlotRing(slotByteCount: 16 * 8 * 4)
            let pool = try ComputePool(
                kernel: try engine.load(path: corpus("good-gradient.wasm")),
                settings: ComputeSettings(width: 16, height: 8), ring: ring)
            XCTAssertThrowsError(try pool.reload(path: particles, engine: engine), "\(which)") { error in
                XCTAssertTrue("\(error)".contains("restart to change formats"), "\(which): \(error)")
            }
        }
    }

    /// The file watcher notices a replaced file and the pool swaps it in.
    func testWatcherReloadsAReplacedFile() throws {
        try TestEngines.forEach { which in
            let engine = try which.make()
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "fp-watch-\(getpid())-\(which.rawValue)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let path = directory.appendingPathComponent("kernel.wasm").path
            try? FileManager.default.removeItem(atPath: path)
            try FileManager.default.copyItem(atPath: corpus("good-gradient.wasm"), toPath: path)
            let (width, height) = (16, 8)
            let ring = try SlotRing(slotByteCount: width * height * 4)
            let pool = try ComputePool(
                kernel: try engine.load(path: path), settings: ComputeSettings(width: width, height: height), ring: ring)
            let lines = LockedLines()
            let watcher = KernelFileWatcher(
                path: path, engine: engine, pool: pool, interval: .milliseconds(20), log: { lines.append($0) })
            pool.start()
            watcher.start()
            XCTAssertNotNil(waitForPublished(ring, seconds: 30), "\(which)")
            // Replace it the way editors and build scripts do: write beside it, then rename over it.
            try replace(path, with: corpus("not-wasm.txt"))
            let refusalDeadline = Date().addingTimeInterval(30)
            while !lines.all.contains(where: { $0.contains("reload refused") }) && Date() < refusalDeadline { usleep(5000) }
            XCTAssertTrue(
                lines.all.contains { $0.contains("reload refused") && $0.contains("not a WebAssembly module") },
                "\(which): \(lines.all)")
            try replace(path, with: plasmaPath)
            let deadline = Date().addingTimeInterval(30)
            while pool.reloads.allSatisfy({ $0.firstFrame == nil }) && Date() < deadline {
                _ = waitForPublished(ring, seconds: 0.1)  // keep the ring moving so frames open
            }
            watcher.stop()
            let report = pool.stop()
            XCTAssertEqual(report.reloads.compactMap(\.firstFrame).count, 1, "\(which): \(report.reloads)")
            XCTAssertEqual(report.reloads.first?.error?.contains("not a WebAssembly module"), true, "\(which)")
        }
    }

    private func replace(_ path: String, with source: String) throws {
        let temporary = path + ".tmp"
        try? FileManager.default.removeItem(atPath: temporary)
        try FileManager.default.copyItem(atPath: source, toPath: temporary)
        guard rename(temporary, path) == 0 else { throw CocoaError(.fileWriteUnknown) }
    }

    private func waitForPublished(_ ring: SlotRing, seconds: Double) -> [UInt8]? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            guard let lease = ring.waitForFrame(timeoutNanos: 50_000_000) else { continue }
            let bytes = try? ring.withReadableBytes(lease) { [UInt8]($0) }
            try? ring.release(lease)
            return bytes
        }
        return nil
    }

    /// One worker per CPU on 1 or 2 CPUs; with 3 or more the render thread keeps one.
    func testDefaultWorkerCountFollowsTheMeasuredRule() {
        XCTAssertEqual((1...5).map { ThreadPlacement.defaultWorkerCount(cpus: $0) }, [1, 2, 2, 3, 4])
        XCTAssertEqual(ThreadPlacement.defaultWorkerCount(cpus: 0), 1)
    }

    func testCPUListParsing() {
        XCTAssertEqual(try ThreadPlacement.parseCPUList("0-3,6").get(), [0, 1, 2, 3, 6])
        XCTAssertEqual(try ThreadPlacement.parseCPUList("2").get(), [2])
        XCTAssertEqual(try ThreadPlacement.parseCPUList("1,1,0").get(), [1, 0])
        for bad in ["", "a", "3-1", "-1", "0-", "1,,2", "5000"] {
            XCTAssertThrowsError(try ThreadPlacement.parseCPUList(bad).get(), bad)
        }
        XCTAssertEqual(ThreadPlacement.automatic(available: [0, 1]), ThreadPlacement())
        XCTAssertEqual(
            ThreadPlacement.automatic(available: [0, 1, 2, 3]),
            ThreadPlacement(computeCPUs: [0, 1, 2], renderCPUs: [3]))
        XCTAssertEqual(ThreadPlacement(computeCPUs: [4, 5]).cpus(forWorker: 3), [5])
    }
}

