import Foundation
import XCTest

@testable import FrameTiming

final class FrametimesSVGTests: XCTestCase {
    private static let rasteriser = "/usr/bin/rsvg-convert"

    /// Rasterises `svg` with rsvg-convert and returns the PNG's bytes (failing the test if it fails).
    private func rasterise(_ svg: String, file: StaticString = #filePath, line: UInt = #line) throws -> Data {
        guard FileManager.default.isExecutableFile(atPath: Self.rasteriser) else {
            XCTFail("\(Self.rasteriser) not found: install librsvg2-bin (scripts/setup.sh does)", file: file, line: line)
            return Data()
        }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("frametimes-svg-\(getpid())-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("frametimes.svg")
        let output = directory.appendingPathComponent("frametimes.png")
        try Data(svg.utf8).write(to: input)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.rasteriser)
        process.arguments = ["-o", output.path, input.path]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(
            process.terminationStatus, 0, "rsvg-convert: \(String(decoding: message, as: UTF8.self))", file: file, line: line)
        return (try? Data(contentsOf: output)) ?? Data()
    }

    private func pointCount(_ svg: String) throws -> Int {
        let marker = #"id="\#(FrametimesSVG.seriesID)""#
        let element = try XCTUnwrap(svg.range(of: marker).map { svg[$0.upperBound...] })
        let pointsStart = try XCTUnwrap(element.range(of: #"points=""#))
        let rest = element[pointsStart.upperBound...]
        let pointsEnd = try XCTUnwrap(rest.firstIndex(of: "\""))
        let pairs = rest[..<pointsEnd].split(separator: " ")
        for pair in pairs {
            let coordinates = pair.split(separator: ",")
            XCTAssertEqual(coordinates.count, 2)
            XCTAssertTrue(coordinates.allSatisfy { Double($0)?.isFinite == true }, "\(pair)")
        }
        return pairs.count
    }

    func testRendersWithOnePointPerIntervalAndRasterises() throws {
        var log = steadyLog(frames: 120, period: 16.7)
        // A few spikes and a dropped frame, as a real run has.
        log.records[30].gpuEndNanos += ms(12)
        log.records[60].gpuEndNanos += ms(30)  // done after frame 61: that pair is skipped
        log.records[80].outcome = .dropped
        let svg = FrametimesSVG.render(log, title: "plasma <512x512> & \"latest\"", targetIntervalMs: 16.667)
        let intervals = RunStatistics(log: log).frameInterval?.count ?? -1
        XCTAssertEqual(try pointCount(svg), intervals)
        // 119 measured frames, one pair skipped.
        XCTAssertEqual(intervals, 117)
        XCTAssertTrue(svg.contains("plasma &lt;512x512&gt; &amp; &quot;latest&quot;"))
        XCTAssertTrue(svg.contains(">p50 "))
        XCTAssertTrue(svg.contains(">p99 "))
        XCTAssertTrue(svg.contains(">target 16.67 ms<"))
        XCTAssertFalse(svg.contains("<script"))
        XCTAssertFalse(svg.contains("href"), "self-contained: no external references")
        // The histogram: every interval lands in one bin.
        let binTitles = svg.components(separatedBy: #"<rect class="bin""#).dropFirst()
        let binnedCount = binTitles.compactMap { chunk -> Int? in
            guard let close = chunk.range(of: "</title>") else { return nil }
            return Int(chunk[..<close.lowerBound].split(separator: " ").last ?? "")
        }.reduce(0, +)
        XCTAssertEqual(binnedCount, intervals)

        let png = try rasterise(svg)
        XCTAssertGreaterThan(png.count, 5_000, "a non-trivial image")
        XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        // IHDR: width and height, big-endian, at bytes 16 and 20.
        func bigEndian(_ offset: Int) -> Int { png.dropFirst(offset).prefix(4).reduce(0) { $0 << 8 | Int($1) } }
        XCTAssertEqual(bigEndian(16), 960)
        XCTAssertEqual(bigEndian(20), 680)
    }

    func testFewFramesStillRenders() throws {
        let empty = FrametimesSVG.render(steadyLog(frames: 1), title: "one frame", targetIntervalMs: nil)
        XCTAssertTrue(empty.contains("no frame intervals"))
        XCTAssertGreaterThan(try rasterise(empty).count, 1_000)

        let two = FrametimesSVG.render(steadyLog(frames: 2), title: "two frames", targetIntervalMs: nil)
        XCTAssertEqual(try pointCount(two), 1)
        XCTAssertFalse(two.contains(">target"))
        XCTAssertGreaterThan(try rasterise(two).count, 1_000)
    }

    func testNiceTicksCoverTheRangeWithRoundSteps() {
        let ticks = FrametimesSVG.niceTicks(0, 17.3, about: 6)
        XCTAssertEqual(ticks.first, 0)
        XCTAssertGreaterThanOrEqual(ticks.last ?? 0, 17.3)
        XCTAssertEqual(ticks[1] - ticks[0], 5, accuracy: 1e-12)
        let small = FrametimesSVG.niceTicks(0.0012, 0.0019, about: 4)
        XCTAssertLessThanOrEqual(small.first ?? 1, 0.0012)
        XCTAssertGreaterThanOrEqual(small.last ?? 0, 0.0019)
        XCTAssertEqual(small[1] - small[0], 0.0002, accuracy: 1e-12)
        XCTAssertEqual(FrametimesSVG.niceTicks(5, 5, about: 4), [5])
    }
}
