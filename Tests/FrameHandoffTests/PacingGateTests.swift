import Foundation
import XCTest

@testable import FrameHandoff

/// PacingGate: the producer may open frame n only while n < settled + lookahead.
final class PacingGateTests: XCTestCase {
    func testOpensOneFrameBeyondTheSettledOnes() {
        let gate = PacingGate(lookahead: 1)
        XCTAssertTrue(gate.mayOpen(0))
        XCTAssertFalse(gate.mayOpen(1))
        gate.settle()
        XCTAssertTrue(gate.mayOpen(1))
        XCTAssertFalse(gate.mayOpen(2))
        XCTAssertTrue(gate.wait(toOpen: 1, timeoutNanos: 0))
        XCTAssertFalse(gate.wait(toOpen: 2, timeoutNanos: 1_000))

        let wider = PacingGate(lookahead: 3)
        XCTAssertTrue(wider.mayOpen(2))
        XCTAssertFalse(wider.mayOpen(3))
    }

    /// The counts wrap at 2³²: the comparison is on the difference, so frame 2³² − 1 and frame 0 (its successor)
    /// behave like any other neighbours.
    func testWrapsAround() {
        let gate = PacingGate(lookahead: 1)
        for _ in 0..<3 { gate.settle() }
        XCTAssertTrue(gate.mayOpen(3))
        XCTAssertFalse(gate.mayOpen(4))
        XCTAssertTrue(gate.mayOpen(UInt32.max))  // long behind: open
    }

    /// A producer thread waiting on the gate opens exactly as many frames as the consumer settles (+ lookahead), and
    /// wakes for each settle (it would time out otherwise: each wait here is up to 10 s).
    func testWaitingProducerFollowsTheConsumer() {
        let gate = PacingGate(lookahead: 1)
        let opened = ManagedCounter()
        let done = DispatchSemaphore(value: 0)
        let frames: UInt32 = 200
        Thread {
            var next: UInt32 = 0
            while next < frames {
                if gate.wait(toOpen: next, timeoutNanos: 10_000_000_000) {
                    next += 1
                    opened.set(Int(next))
                }
            }
            done.signal()
        }.start()
        for settled in 0..<Int(frames) {
            // Opened never runs more than one ahead of what was settled.
            XCTAssertTrue(opened.waitFor(atLeast: settled + 1, seconds: 60), "frame \(settled) never opened")
            XCTAssertLessThanOrEqual(opened.value, settled + 1)
            gate.settle()
        }
        XCTAssertEqual(done.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(opened.value, Int(frames))
    }
}

/// An Int shared between the test and one producer thread, with a wait for a value.
private final class ManagedCounter: @unchecked Sendable {
    private let condition = NSCondition()
    private var current = 0

    var value: Int {
        condition.lock()
        defer { condition.unlock() }
        return current
    }

    func set(_ value: Int) {
        condition.lock()
        current = value
        condition.broadcast()
        condition.unlock()
    }

    func waitFor(atLeast target: Int, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        condition.lock()
        defer { condition.unlock() }
        while current < target {
            if !condition.wait(until: deadline) { return current >= target }
        }
        return true
    }
}
