// The viewer HUD's geometry (HudGeometry, HudHistory, HudOverlay): pure functions, checked without a window.
// Unsafe pointer use: vertex output goes into a Swift array lent with withUnsafeMutableBufferPointer for one call.

import XCTest

@testable import VulkanRender

final class HudGeometryTests: XCTestCase {
    private let panel = HudRect(x: 8, y: 8, width: 248, height: 104)
    private var graph: HudRect { HudGeometry.graphRect(in: panel) }

    private func quads(
        _ frames: [HudFrameStages], targetMs: Double = 16.7, topMs: Double = 40, panel: HudRect? = nil
    ) -> [HudQuad] {
        var out: [HudQuad] = []
        HudGeometry.quads(frames: frames, targetMs: targetMs, topMs: topMs, panel: panel ?? self.panel) {
            out.append($0)
        }
        return out
    }

    private func segments(_ quads: [HudQuad], bar: Int) -> [(HudStage, HudRect)] {
        quads.compactMap {
            if case .segment(let b, let stage) = $0.role, b == bar { return (stage, $0.rect) }
            return nil
        }
    }

    private func frame(_ c: Double?, _ h: Double?, _ u: Double?, _ g: Double?, _ p: Double?) -> HudFrameStages {
        HudFrameStages(compute: c, handoffWait: h, upload: u, gpu: g, present: p)
    }

    func testSegmentHeightsAreProportionalAndStackedInStageOrder() {
        let f = frame(4, 1, 2, 8, 3)
        let q = quads([f], topMs: 40)
        let segs = segments(q, bar: 0)
        XCTAssertEqual(segs.map { $0.0 }, HudStage.allCases)
        let pixelsPerMs = graph.height / 40
        var expectedBottom = graph.maxY
        for (stage, rect) in segs {
            XCTAssertEqual(rect.height, Float(f[stage]!) * pixelsPerMs, accuracy: 1e-3, "\(stage)")
            // Each segment sits directly on the one below it (the first on the graph's baseline).
            XCTAssertEqual(rect.maxY, expectedBottom, accuracy: 1e-3, "\(stage)")
            expectedBottom = rect.y
            XCTAssertEqual(q.first { $0.role == .segment(bar: 0, stage: stage) }?.colour, stage.colour)
        }
        // 18 ms of 40: the bar's top is 18/40 of the graph above the baseline.
        XCTAssertEqual(graph.maxY - expectedBottom, 18 * pixelsPerMs, accuracy: 1e-3)
    }

    func testMissingStageLeavesAGapInsteadOfStackingAsZero() {
        let q = quads([frame(4, nil, 2, 8, nil)], topMs: 40)
        let segs = segments(q, bar: 0)
        XCTAssertEqual(segs.map { $0.0 }, [.compute, .upload, .gpu], "a missing stage draws nothing")
        let compute = segs[0].1
        let upload = segs[1].1
        // The upload segment starts a gap above compute: not on top of it as if handoff_wait were 0 ms.
        XCTAssertEqual(compute.y - upload.maxY, HudGeometry.missingStageGap, accuracy: 1e-3)
        XCTAssertEqual(segs[2].1.maxY, upload.y, accuracy: 1e-3)
        // A trailing missing stage (present) changes nothing below it.
        let complete = segments(quads([frame(4, nil, 2, 8, 5)], topMs: 40), bar: 0)
        XCTAssertEqual(complete[2].1, segs[2].1)
    }

    func testTargetLineIsAtTheTargetsHeight() {
        let q = quads([frame(1, 1, 1, 1, 1)], targetMs: 10, topMs: 40)
        let line = try? XCTUnwrap(q.first { $0.role == .targetLine })
        XCTAssertNotNil(line)
        guard let line else { return }
        let y = graph.maxY - 10 * graph.height / 40
        XCTAssertEqual(line.rect.y + line.rect.height / 2, y, accuracy: 1e-3)
        XCTAssertEqual(line.rect.x, graph.x)
        XCTAssertEqual(line.rect.width, graph.width)
        XCTAssertEqual(line.colour, .target)
    }

    func testBarCountIsCappedAndTheNewestIsRightmost() {
        // 300 frames whose compute time encodes their index: only the last 240 are drawn, oldest left.
        let frames = (0..<300).map { frame(Double($0 % 7 + 1), 0, 0, 0, 0) }
        let q = quads(frames)
        let bars = Set(q.compactMap { if case .segment(let b, _) = $0.role { return b } else { return nil } })
        XCTAssertEqual(bars.count, HudHistory.capacity)
        XCTAssertEqual(bars.max(), HudHistory.capacity - 1)
        let last = segments(q, bar: HudHistory.capacity - 1)
        XCTAssertEqual(last.first?.1.maxX ?? 0, graph.maxX, accuracy: 1e-3)
        XCTAssertEqual(last.first?.1.height ?? 0, Float(299 % 7 + 1) * graph.height / 40, accuracy: 1e-3)
        // Fewer frames than bar slots: right-aligned too.
        let few = quads([frame(1, nil, nil, nil, nil), frame(2, nil, nil, nil, nil)])
        XCTAssertEqual(segments(few, bar: 1).first?.1.maxX ?? 0, graph.maxX, accuracy: 1e-3)
        XCTAssertEqual(
            segments(few, bar: 0).first?.1.maxX ?? 0, graph.maxX - graph.width / Float(HudHistory.capacity),
            accuracy: 1e-3)
    }

    func testNothingIsDrawnOutsideThePanel() {
        // Spikes far above the scale, negative and non-finite values, tiny panels.
        let frames: [HudFrameStages] = (0..<260).map { (i: Int) -> HudFrameStages in
            let handoff: Double = i % 3 == 0 ? -5 : 2
            let gpu: Double = i % 5 == 0 ? .nan : 50
            return frame(Double(i) * 3, handoff, .infinity, gpu, 500)
        }
        for p in [panel, HudRect(x: 100, y: 50, width: 70, height: 30), HudRect(x: 0, y: 0, width: 12, height: 12)] {
            let q = quads(frames, targetMs: 16.7, topMs: 20, panel: p)
            XCTAssertFalse(q.isEmpty)
            for quad in q {
                XCTAssertTrue(p.contains(quad.rect), "\(quad.role) at \(quad.rect) leaves \(p)")
                XCTAssertGreaterThanOrEqual(quad.rect.height, 0)
            }
        }
        // Legend: one square per stage, in stacking order, in the stage's colour, below the graph.
        let legend = quads(frames).compactMap { q -> (HudStage, HudQuad)? in
            if case .legend(let s) = q.role { return (s, q) } else { return nil }
        }
        XCTAssertEqual(legend.map { $0.0 }, HudStage.allCases)
        for (stage, q) in legend {
            XCTAssertEqual(q.colour, stage.colour)
            XCTAssertGreaterThanOrEqual(q.rect.y, graph.maxY)
        }
    }

    func testVerticesAreTheQuadsInClipSpace() {
        let frames = [frame(4, 1, 2, 8, 3), frame(1, nil, 1, 1, 1)]
        let extent = (width: 640, height: 480)
        var floats = [Float](repeating: .nan, count: HudGeometry.maxVertices * HudGeometry.floatsPerVertex)
        let n = floats.withUnsafeMutableBufferPointer {
            HudGeometry.vertices(frames: frames, targetMs: 16.7, topMs: 40, panel: panel, extent: extent, into: $0)
        }
        let q = quads(frames)
        XCTAssertEqual(n, q.count * 6)
        for (k, quad) in q.enumerated() {
            let v = floats[(k * 6 * 6)..<((k + 1) * 6 * 6)]
            let xs = stride(from: v.startIndex, to: v.endIndex, by: 6).map { v[$0] }
            let ys = stride(from: v.startIndex + 1, to: v.endIndex, by: 6).map { v[$0] }
            XCTAssertEqual(xs.min() ?? 0, quad.rect.x / 320 - 1, accuracy: 1e-5)
            XCTAssertEqual(xs.max() ?? 0, quad.rect.maxX / 320 - 1, accuracy: 1e-5)
            XCTAssertEqual(ys.min() ?? 0, quad.rect.y / 240 - 1, accuracy: 1e-5)
            XCTAssertEqual(ys.max() ?? 0, quad.rect.maxY / 240 - 1, accuracy: 1e-5)
            XCTAssertEqual(v[v.startIndex + 2], quad.colour.r)
            XCTAssertEqual(v[v.startIndex + 5], quad.colour.a)
        }
        // Untouched beyond the count; and a buffer too small is never overrun.
        XCTAssertTrue(floats[n * 6].isNaN)
        var small = [Float](repeating: .nan, count: 6 * 6 * 2 + 3)
        let m = small.withUnsafeMutableBufferPointer {
            HudGeometry.vertices(frames: frames, targetMs: 16.7, topMs: 40, panel: panel, extent: extent, into: $0)
        }
        XCTAssertEqual(m, 12)
        XCTAssertTrue(small[72].isNaN)
    }

    func testWorstCaseFitsTheVertexCapacity() {
        let full = (0..<HudHistory.capacity).map { _ in frame(1, 1, 1, 1, 1) }
        XCTAssertEqual(quads(full, targetMs: 5, topMs: 40).count, HudGeometry.maxQuads)
    }

    func testPanelFitsTheWindow() {
        XCTAssertNil(HudGeometry.panel(framebufferWidth: 40, height: 40))
        for (w, h) in [(64, 64), (300, 500), (400, 300), (1280, 720)] {
            let p = HudGeometry.panel(framebufferWidth: w, height: h)
            XCTAssertNotNil(p)
            if let p { XCTAssertTrue(HudRect(x: 0, y: 0, width: Float(w), height: Float(h)).contains(p), "\(w)x\(h)") }
        }
    }

    func testHistoryKeepsTheLast240InOrder() {
        var history = HudHistory()
        for i in 0..<500 { history.append(frame(Double(i), nil, nil, nil, nil)) }
        XCTAssertEqual(history.count, HudHistory.capacity)
        XCTAssertEqual(history.first?[.compute], 260)
        XCTAssertEqual(history.last?[.compute], 499)
        XCTAssertEqual(history.map { $0[.compute]! }, (260..<500).map(Double.init))
    }

    func testScaleRisesAtOnceFallsSlowlyAndStaysAboveTheTarget() {
        var overlay = HudOverlay(targetMs: 10)
        XCTAssertEqual(overlay.topMs, 15)
        for _ in 0..<10 { overlay.append(frame(2, 0, 0, 1, 0)) }
        XCTAssertEqual(overlay.topMs, 15, "never below 1.5 × target")
        for _ in 0..<10 { overlay.append(frame(30, 0, 0, 10, 0)) }  // 40 ms frames: half the history
        XCTAssertEqual(overlay.topMs, 40, accuracy: 1e-9)
        for _ in 0..<500 { overlay.append(frame(5, 0, 0, 1, 0)) }  // the spikes leave the history, then settle
        let afterOne = HudOverlay.nextTopMs(current: 40, p99Ms: 6, targetMs: 10)
        XCTAssertLessThan(afterOne, 40)
        XCTAssertGreaterThan(afterOne, 35, "falls slowly")
        XCTAssertLessThan(overlay.topMs, 16, "settled near 1.5 × target")
        XCTAssertGreaterThanOrEqual(overlay.topMs, 15)
        XCTAssertEqual(HudOverlay(targetMs: .nan).targetMs, 1000.0 / 60.0, accuracy: 1e-9)
    }

    func testStageColoursAreDistinct() {
        let colours = HudStage.allCases.map { [$0.colour.r, $0.colour.g, $0.colour.b] }
        XCTAssertEqual(Set(colours).count, HudStage.allCases.count)
        XCTAssertEqual(HudStage.allCases.map(\.name), ["compute", "handoff_wait", "upload", "gpu", "present"])
    }
}
