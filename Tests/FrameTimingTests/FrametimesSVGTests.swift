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

    /// A paced run's target, p50 and p99 lie within a pixel of each other and on the data: their labels sit right of
    /// the plot, clear of every data point, and apart from one another.
    func testReferenceLabelsNeverCoverDataOrEachOther() throws {
        let log = steadyLog(frames: 200, period: 16.667)
        let svg = FrametimesSVG.render(log, title: "paced", targetIntervalMs: 16.667)
        func attribute(_ name: String, in element: Substring) -> Double? {
            guard let start = element.range(of: " \(name)=\"") else { return nil }
            let rest = element[start.upperBound...]
            return rest.firstIndex(of: "\"").flatMap { Double(rest[..<$0]) }
        }
        let marker = #"id="\#(FrametimesSVG.seriesID)""#
        let series = try XCTUnwrap(svg.range(of: marker).map { svg[$0.upperBound...] })
        let pointsStart = try XCTUnwrap(series.range(of: #"points=""#))
        let pointsText = series[pointsStart.upperBound...].prefix { $0 != "\"" }
        let rightmostPoint = try XCTUnwrap(pointsText.split(separator: " ").compactMap { Double($0.split(separator: ",")[0]) }.max())
        var labels: [(x: Double, y: Double)] = []
        for element in svg.components(separatedBy: "<text").dropFirst() {
            let text = Substring(element)
            guard let close = text.firstIndex(of: ">") else { continue }
            let content = text[text.index(after: close)...].prefix { $0 != "<" }
            guard content.hasPrefix("p50 ") || content.hasPrefix("p99 ") || content.hasPrefix("target ") else { continue }
            labels.append((try XCTUnwrap(attribute("x", in: text)), try XCTUnwrap(attribute("y", in: text))))
        }
        XCTAssertEqual(labels.count, 3)
        for label in labels { XCTAssertGreaterThan(label.x, rightmostPoint, "a label over the plot") }
        let ys = labels.map(\.y).sorted()
        for (a, b) in zip(ys, ys.dropFirst()) { XCTAssertGreaterThanOrEqual(b - a, 12.9, "labels overlap: \(ys)") }
        XCTAssertEqual(FrametimesSVG.spreadApart([10, 10, 10], gap: 13, within: 0...100), [10, 23, 36])
        XCTAssertEqual(FrametimesSVG.spreadApart([99, 100, 100], gap: 13, within: 0...100), [74, 87, 100])
        XCTAssertEqual(FrametimesSVG.spreadApart([50, 10], gap: 13, within: 0...100), [50, 10])
        _ = try rasterise(svg)
    }
}
