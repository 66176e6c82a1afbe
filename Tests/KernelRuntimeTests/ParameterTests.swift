import EngineTestSupport
import FrameHandoff
import Foundation
import XCTest

@testable import KernelRuntime

/// Kernel parameters (docs/kernel-abi.md, "Parameters"): the table, `fp.param`, the values a frame opens with, and
/// `--param`'s checks. good-params.wat writes `fp.param(x mod 4)` into pixel (x, y), so a frame shows its values.
final class ParameterTests: XCTestCase {
    private let declared = [
        KernelParameter(name: "gain", minimum: 0, maximum: 4, initial: 1),
        KernelParameter(name: "offset", minimum: -1, maximum: 1, initial: 0),
        KernelParameter(name: "mix", minimum: 0, maximum: 1, initial: 0.5),
    ]

    private func floats(_ bytes: [UInt8]) -> [Float] {
        stride(from: 0, to: bytes.count, by: 4).map { i in
            Float(bitPattern: UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24)
        }
    }

    func testTheTableIsReadAndFpParamAnswersTheValuesOfTheFrame() throws {
        try TestEngines.forEach { which in
            let instance = try instantiate(corpus("good-params.wasm"), on: try which.make(), width: 8, height: 2)
            XCTAssertEqual(instance.parameters, declared, "\(which)")
            try instance.run(frame: 0, time: 0, units: 0..<2)
            XCTAssertEqual(floats(try instance.outputBytes()), [1, 0, 0.5, 0, 1, 0, 0.5, 0] + [1, 0, 0.5, 0, 1, 0, 0.5, 0], "\(which): initial values; index 3 reads 0")
            instance.parameterValues = KernelParameterValues([2, -0.5, 1])
            try instance.run(frame: 1, time: 1.0 / 60, units: 0..<1)
            XCTAssertEqual(Array(floats(try instance.outputBytes()).prefix(8)), [2, -0.5, 1, 0, 2, -0.5, 1, 0], "\(which): set values")
        }
    }

    func testStartingValuesComeFromTheHostClampedAndUnknownNamesAreIgnored() throws {
        try TestEngines.forEach { which in
            var host = KernelHost.headless
            host.parameterOverrides = ["gain": 9, "offset": -0.25, "nonexistent": 1]
            let instance = try instantiate(corpus("good-params.wasm"), on: try which.make(), width: 4, height: 1, host: host)
            XCTAssertEqual(instance.parameterValues.array, [4, -0.25, 0.5], "\(which): gain clamped to its maximum")
            try instance.run(frame: 0, time: 0, units: 0..<1)
            XCTAssertEqual(floats(try instance.outputBytes()), [4, -0.25, 0.5, 0], "\(which)")
        }
    }

    func testGalleryKernelsDeclareTheirParameters() throws {
        let expected: [String: [String]] = [
            "mandelbrot": ["iterations", "zoom_period", "color_drift"], "grayscott": ["feed", "kill"],
            "particles": ["twist", "star_size", "pointer_push"], "plasma": [], "life": [],
            "cells": ["speed", "lead"], "ripples": [],
        ]
        try TestEngines.forEach { which in
            let engine = try which.make()
            for (name, names) in expected {
                let instance = try instantiate(gallery("\(name).wasm"), on: engine, width: 64, height: 64)
                XCTAssertEqual(instance.parameters.map(\.name), names, "\(which): \(name)")
                for parameter in instance.parameters {
                    XCTAssertTrue(parameter.minimum < parameter.maximum && (parameter.minimum...parameter.maximum).contains(parameter.initial), "\(which): \(name).\(parameter.name)")
                }
            }
        }
    }

    /// A gallery kernel run with other values computes another frame; back at the initial values, the same one.
    func testAParameterChangesAGalleryKernelsOutput() throws {
        try TestEngines.forEach { which in
            let engine = try which.make()
            let instance = try instantiate(gallery("mandelbrot.wasm"), on: engine, width: 64, height: 64)
            try instance.run(frame: 90, time: 1.5, units: 0..<64)
            let initial = try instance.outputBytes()
            instance.parameterValues = KernelParameterValues([256, 12, 0.5])
            try instance.run(frame: 90, time: 1.5, units: 0..<64)
            XCTAssertNotEqual(try instance.outputBytes(), initial, "\(which): iterations 256 draws more of the set")
            instance.parameterValues = KernelParameterValues(instance.parameters)
            try instance.run(frame: 90, time: 1.5, units: 0..<64)
            XCTAssertEqual(try instance.outputBytes(), initial, "\(which)")
        }
    }

    /// Workers compute a frame's tiles with the values it opened with; a change applies from a later frame on, and the
    /// frame's events name the revision whose values it had.
    func testFramesComputeWithTheValuesTheyOpenedWith() throws {
        try TestEngines.forEach { which in
            let engine = try which.make()
            let kernel = try engine.load(path: corpus("good-params.wasm"))
            let (width, height) = (8, 16)
            let ring = try SlotRing(slotCount: 4, slotByteCount: width * height * 4, policy: .fifo)
            let pool = try ComputePool(
                kernel: kernel,
                settings: ComputeSettings(width: width, height: height, workers: 2, tilesPerWorker: 4), ring: ring)
            XCTAssertEqual(pool.parameters, declared)
            pool.start()
            defer { _ = pool.stop() }
            var seen: [UInt64: [Float]] = [:]
            var changedAt: Int?
            var framesAfterTheChange = 0
            let deadline = Date().addingTimeInterval(120)
            while Date() < deadline {
                guard let lease = ring.waitForFrame(timeoutNanos: 100_000_000) else { continue }
                let values = floats(try ring.withReadableBytes(lease) { [UInt8]($0) })
                seen[lease.handle.generation] = values
                try ring.release(lease)
                // Every row (tiles on two workers) shows the same values.
                XCTAssertEqual(Set(stride(from: 0, to: values.count, by: width).map { Array(values[$0..<$0 + width]) }).count, 1)
                if seen.count == 3 {
                    pool.setParameter(0, to: 3)
                    pool.setParameter(1, to: -7)  // clamped to -1
                    changedAt = seen.count
                }
                if values.prefix(3) == [3, -1, 0.5] { framesAfterTheChange += 1 }
                if framesAfterTheChange == 3 { break }
            }
            _ = pool.stop()  // every event pushed
            XCTAssertNotNil(changedAt, "\(which): frames came")
            XCTAssertEqual(pool.parameterValues.values.array, [3, -1, 0.5], "\(which)")
            XCTAssertEqual(pool.parameterValues.revision, 2, "\(which): two changes, two revisions")
            var events: [ComputeEvent] = []
            pool.drainTelemetry { events.append($0) }
            var checked = 0
            for event in events where event.kind == .published {
                guard let values = seen[event.generation], let revision = pool.parameterValues(revision: event.parameterRevision) else { continue }
                XCTAssertEqual(Array(values.prefix(3)), revision.array, "\(which): frame \(event.frameIndex) revision \(event.parameterRevision)")
                checked += 1
            }
            XCTAssertGreaterThanOrEqual(checked, 6, "\(which): frames before and after the change")
            XCTAssertTrue(seen.values.contains { $0.prefix(3) == [3, -1, 0.5] }, "\(which): the change reached a frame")
        }
    }

    func testAReloadKeepsTheValuesByName() throws {
        try TestEngines.forEach { which in
            let engine = try which.make()
            let kernel = try engine.load(path: corpus("good-params.wasm"))
            let ring = try SlotRing(slotCount: 3, slotByteCount: 4 * 4 * 4, policy: .latest)
            let pool = try ComputePool(kernel: kernel, settings: ComputeSettings(width: 4, height: 4), ring: ring)
            pool.start()
            defer { _ = pool.stop() }
            pool.setParameter(2, to: 0.75)
            try pool.reload(try engine.load(path: corpus("good-params.wasm")))
            let deadline = Date().addingTimeInterval(120)
            while pool.lastReload.event?.firstFrame == nil, Date() < deadline {
                if let lease = ring.waitForFrame(timeoutNanos: 50_000_000) { try ring.release(lease) }
            }
            XCTAssertNotNil(pool.lastReload.event?.firstFrame, "\(which): the reload applied")
            XCTAssertEqual(pool.parameterValues.values.array, [1, 0, 0.75], "\(which)")
        }
    }

    func testParameterAssignmentsAreParsedAndChecked() {
        XCTAssertEqual(ParameterAssignment(parsing: "iterations=128"), ParameterAssignment(name: "iterations", value: 128))
        XCTAssertEqual(ParameterAssignment(parsing: "feed=0.0545")?.value, 0.0545)
        for bad in ["iterations", "=1", "two words=1", "x=", "x=abc", "x=inf", "x=nan", "\(String(repeating: "n", count: 32))=1"] {
            XCTAssertNil(ParameterAssignment(parsing: bad), bad)
        }
        func message(_ assignments: [ParameterAssignment]) -> String? {
            if case .failure(let error) = ParameterAssignment.overrides(assignments, for: declared, kernel: "good-params") {
                return error.message
            }
            return nil
        }
        XCTAssertNil(message([.init(name: "gain", value: 4), .init(name: "offset", value: -1)]))
        XCTAssertEqual(
            message([.init(name: "gian", value: 1)]),
            "--param gian: kernel good-params has no parameter gian; it declares gain, offset, mix (framepipe inspect lists them)")
        XCTAssertEqual(message([.init(name: "gain", value: 5)]), "--param gain=5.0: outside the parameter's range 0.0...4.0")
        XCTAssertEqual(
            message([.init(name: "mix", value: 1), .init(name: "mix", value: 0)]), "--param mix is given twice; give each parameter once")
        if case .success(let overrides) = ParameterAssignment.overrides([.init(name: "mix", value: 0.25)], for: declared, kernel: "k") {
            XCTAssertEqual(overrides, ["mix": 0.25])
        } else {
            XCTFail("a good assignment was refused")
        }
    }
}
