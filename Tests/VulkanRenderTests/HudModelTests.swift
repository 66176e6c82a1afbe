// The overlay's plot model (HudHistory, HudOverlay, the stage list and colours): pure Swift, checked without a window.

import FrameTiming
import XCTest

@testable import VulkanRender

final class HudModelTests: XCTestCase {
    private func frame(_ c: Double?, _ h: Double?, _ u: Double?, _ g: Double?, _ p: Double?) -> HudFrameStages {
        var stages = HudFrameStages()
        for (stage, ms) in zip(Stage.allCases, [c, h, u, g, p]) { stages[stage] = ms }
        return stages
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
        let colours = Stage.allCases.map { [$0.colour.r, $0.colour.g, $0.colour.b] }
        XCTAssertEqual(Set(colours).count, Stage.allCases.count)
        // 0xAARRGGBB for the overlay: compute is (0, 114, 178), opaque.
        XCTAssertEqual(Stage.compute.colour.argb, 0xFF00_72B2)
    }

    /// The one stage list (FrameTiming.Stage) is the contract every report names: its names, its order, and the index
    /// the fixed-size per-stage storage uses.
    func testTheStageListIsTheOneEveryReportUses() {
        XCTAssertEqual(Stage.allCases.map(\.name), ["compute", "handoff_wait", "upload", "gpu", "present"])
        XCTAssertEqual(Stage.allCases.map(\.index), Array(0..<Stage.allCases.count))
        var stages = HudFrameStages()
        for stage in Stage.allCases { stages[stage] = Double(stage.index + 1) }
        XCTAssertEqual(Stage.allCases.map { stages[$0] }, [1, 2, 3, 4, 5])
        XCTAssertEqual(HudFrameStages([.gpu: 2, .present: 0.5]).totalMs, 2.5)
    }
}
