// The debug-build checks of HandoffChecks.swift are there and fire: each test breaks one rule on a
// real ring or queue, with a recorder in place of the assertion that would stop the process, and
// checks the report. Release builds have no checks, so these tests exist only in debug builds.
#if DEBUG
import Foundation
import XCTest

@testable import FrameHandoff

/// Collects the debug checks' reports instead of stopping the process.
final class ViolationLog: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [String] = []

    init(_ checks: HandoffChecks...) {
        for check in checks { check.onViolation = { [self] message in lock.withLock { messages.append(message) } } }
    }
    var all: [String] { lock.withLock { messages } }

    func contains(_ part: String) -> Bool { all.contains { $0.contains(part) } }
}

/// Waits (polling, generous timeout) until `condition` holds; returns whether it did.
func eventually(within seconds: TimeInterval = 10, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while !condition() {
        if Date() >= deadline { return false }
        usleep(1000)
    }
    return true
}

/// Runs `body` on a thread of its own and waits for it.
func onAnotherThread(_ body: @escaping @Sendable () -> Void) {
    let done = DispatchSemaphore(value: 0)
    Thread {
        body()
        done.signal()
    }.start()
    XCTAssertEqual(done.wait(timeout: .now() + 30), .success, "the other thread did not finish")
}

final class SlotRingChecksTests: XCTestCase {
    func testLegalUseReportsNothing() throws {
        for policy in HandoffPolicy.allCases {
            let ring = try SlotRing(slotCount: 4, slotByteCount: 64, policy: policy)
            let log = ViolationLog(ring.debugChecks)
            for _ in 0..<6 {
                let lease = try claim(ring)
                try [UInt8](repeating: 1, count: 8).withUnsafeBytes { try ring.write(lease, at: 0, from: $0) }
                stamp(ring, lease)
                ring.publish(lease)
                if let read = ring.waitForFrame(timeoutNanos: 1_000_000) {  // waitForFrame → acquire: nested
                    _ = try tornWords(ring, read)
                    try ring.release(read)
                }
            }
            ring.cancel(try claim(ring))
            let frame = ring.share(try claim(ring), tiles: 2)
            XCTAssertEqual(ring.completeTile(frame), .pending)
            XCTAssertEqual(ring.completeTile(frame), .published)
            let cancelled = ring.share(try claim(ring), tiles: 1)
            XCTAssertTrue(ring.cancel(cancelled))
            XCTAssertEqual(ring.completeTile(cancelled), .cancelled)
            if let read = ring.acquire() { try ring.release(read) }
            XCTAssertEqual(log.all, [], "\(policy)")
        }
    }

    /// "Only the writer publishes a slot it holds": a lease for a slot that is not `writing` with its
    /// generation (forged here; in real code, one kept past its end) is reported by every call.
    func testUsingALeaseWhoseSlotItDoesNotHoldIsReported() throws {
        let ring = try SlotRing(slotByteCount: 64)
        let log = ViolationLog(ring.debugChecks)
        let held = try claim(ring)
        let handle = held.handle
        ring.publish(held)  // the slot is `ready` now
        ring.withWritableBytes(WriteLease(handle: handle)) { _ in }
        try [UInt8](repeating: 1, count: 4).withUnsafeBytes { try ring.write(WriteLease(handle: handle), at: 0, from: $0) }
        _ = ring.share(WriteLease(handle: handle), tiles: 2)
        ring.cancel(WriteLease(handle: handle))  // frees the slot
        ring.publish(WriteLease(handle: handle))
        for action in ["withWritableBytes of", "write into", "share of", "cancel of", "publish of"] {
            XCTAssertTrue(log.contains("\(action) \(handle)"), "\(action): \(log.all)")
        }
        XCTAssertTrue(log.contains("its slot is ready generation 1, not writing generation 1"), "\(log.all)")
        XCTAssertTrue(log.contains("its slot is free generation 1"), "\(log.all)")
    }

    func testCompletingMoreTilesThanTheFrameHasIsReported() throws {
        let ring = try SlotRing(slotByteCount: 64)
        let log = ViolationLog(ring.debugChecks)
        let frame = ring.share(try claim(ring), tiles: 3)
        // A handle that claims fewer tiles than were shared: its countdown is above its tile count.
        XCTAssertEqual(ring.completeTile(SharedFrame(handle: frame.handle, tileCount: 1)), .pending)
        XCTAssertTrue(log.contains("completeTile \(frame.handle): more tiles completed than its 1"), "\(log.all)")
    }

    func testAcquiringASlotThatIsNotReadyIsReported() throws {
        let ring = try SlotRing(slotByteCount: 64)
        let log = ViolationLog(ring.debugChecks)
        let lease = try claim(ring)
        ring.requireState(lease.handle, .ready, "acquiring")  // the check `take` makes
        XCTAssertTrue(log.contains("acquiring \(lease.handle): its slot is writing generation 1, not ready"), "\(log.all)")
        ring.requireState(FrameHandle(slot: 9, generation: 1), .ready, "acquiring")
        XCTAssertTrue(log.contains("no such slot"), "\(log.all)")
        ring.cancel(lease)
    }

    /// Two readers at once: this thread holds the reader role (as if inside `acquire`), another acquires.
    func testTwoReadersAtOnceAreReported() throws {
        let ring = try SlotRing(slotByteCount: 64)
        let log = ViolationLog(ring.debugChecks)
        let took = ring.readerRole.enter(ring.debugChecks)
        XCTAssertTrue(took)
        onAnotherThread { _ = ring.acquire() }
        ring.readerRole.leave(took)
        XCTAssertTrue(log.contains("two threads act as the slot ring's reader"), "\(log.all)")
        XCTAssertFalse(ring.readerRole.isPlayed, "every call left the role")
        let before = log.all.count
        onAnotherThread { _ = ring.acquire() }  // one at a time, on another thread: allowed
        XCTAssertEqual(log.all.count, before)
    }

    /// Two schedulers at once, for real: one writer blocks in `beginFrame(timeoutNanos:)` on a full
    /// `fifo` ring while a second thread claims.
    func testTwoSchedulersAtOnceAreReported() throws {
        let ring = try SlotRing(slotCount: 3, slotByteCount: 64, policy: .fifo)
        let log = ViolationLog(ring.debugChecks)
        for _ in 0..<3 { ring.publish(try claim(ring)) }
        let writerDone = DispatchSemaphore(value: 0)
        Thread {
            if let lease = ring.beginFrame(timeoutNanos: 30_000_000_000) { ring.cancel(lease) }
            writerDone.signal()
        }.start()
        XCTAssertTrue(eventually { ring.isWriterWaiting }, "the writer never waited")
        // A second scheduler while the first waits (plain beginFrame: it leaves the writer's flag alone).
        if let lease = ring.beginFrame() {
            XCTFail("no slot is free")
            ring.cancel(lease)
        }
        XCTAssertTrue(log.contains("two threads act as the slot ring's scheduler"), "\(log.all)")
        let read = try XCTUnwrap(ring.acquire())
        try ring.release(read)  // frees a slot: the waiting writer takes it
        XCTAssertEqual(writerDone.wait(timeout: .now() + 30), .success)
        XCTAssertFalse(ring.schedulerRole.isPlayed)
    }
}

final class TileQueueChecksTests: XCTestCase {
    struct Job: BitwiseCopyable { var number: Int }

    /// Opens the next job with `tiles` tiles (this thread takes the open duty) and takes all its tiles.
    private func openAndTake(_ queue: TileQueue<Job>, tiles: Int) throws -> [TileTicket] {
        guard case .open(let after) = queue.take() else { throw NoFreeSlot() }
        queue.open(Job(number: Int(after) + 1), tileCount: tiles, after: after)
        return try (0..<tiles).map { _ in
            guard case .tile(let ticket, _) = queue.take() else { throw NoFreeSlot() }
            return ticket
        }
    }

    func testLegalUseReportsNothing() throws {
        let queue = try TileQueue<Job>(jobCapacity: 2)
        let log = ViolationLog(queue.debugChecks)
        for job in 0..<5 {
            let tickets = try openAndTake(queue, tiles: 1 + job % 3)
            queue.markFailed(tickets[0])
            XCTAssertTrue(queue.jobFailed(tickets[0]))
            for ticket in tickets { queue.finish(ticket) }
        }
        XCTAssertEqual(log.all, [])
    }

    func testFinishingATicketTwiceIsReported() throws {
        let queue = try TileQueue<Job>(jobCapacity: 2)
        let log = ViolationLog(queue.debugChecks)
        let tickets = try openAndTake(queue, tiles: 2)
        queue.finish(tickets[0])
        XCTAssertTrue(log.all.isEmpty)
        _ = queue.jobFailed(tickets[0])
        XCTAssertTrue(log.contains("jobFailed of tile 0 of job 1: that ticket was already finished"), "\(log.all)")
        queue.finish(tickets[0])
        XCTAssertTrue(log.contains("finish of tile 0 of job 1: finished twice"), "\(log.all)")
        queue.finish(tickets[1])
        XCTAssertTrue(log.contains("finish of job 1: more tiles finished than it has"), "\(log.all)")
    }

    func testFinishingATicketOfAJobWhoseCellWasReusedIsReported() throws {
        let queue = try TileQueue<Job>(jobCapacity: 2)
        let log = ViolationLog(queue.debugChecks)
        let old = try openAndTake(queue, tiles: 1)[0]  // job 1, cell 1
        queue.finish(old)
        queue.finish(try openAndTake(queue, tiles: 1)[0])  // job 2, cell 0
        let current = try openAndTake(queue, tiles: 1)[0]  // job 3, cell 1 again
        queue.markFailed(old)
        XCTAssertTrue(log.contains("markFailed of tile 0 of job 1: its cell holds job 3 now"), "\(log.all)")
        queue.finish(current)
    }

    func testOpeningWithoutTheDutyIsReported() throws {
        let queue = try TileQueue<Job>(jobCapacity: 2)
        let log = ViolationLog(queue.debugChecks)
        guard case .open(let after) = queue.take() else { return XCTFail("the first take must be .open") }
        onAnotherThread { queue.open(Job(number: 1), tileCount: 1, after: after) }  // the duty is this thread's
        XCTAssertTrue(log.contains("open(after: 0) by a thread that take did not answer .open(after: 0)"), "\(log.all)")
        guard case .tile(let ticket, _) = queue.take() else { return XCTFail("job 1 was opened") }
        queue.finish(ticket)
        queue.open(Job(number: 2), tileCount: 1, after: 7)  // nobody was told to open after 7
        XCTAssertTrue(log.contains("open(after: 7)"), "\(log.all)")
    }
}

final class SPSCRingChecksTests: XCTestCase {
    /// A second consumer pops while the first is inside `drain` (its body runs with the role held).
    func testTwoConsumersAtOnceAreReported() throws {
        let ring = try SPSCRing<Int>(capacity: 8)
        let log = ViolationLog(ring.debugChecks)
        for value in 0..<3 { ring.push(value) }
        var drained: [Int] = []
        ring.drain { value in
            drained.append(value)
            if value == 0 { onAnotherThread { _ = ring.pop() } }
        }
        XCTAssertTrue(log.contains("two threads act as the SPSC ring's consumer"), "\(log.all)")
        XCTAssertFalse(ring.consumerRole.isPlayed, "drain left the role")
        XCTAssertEqual(drained.count + ring.count, 2, "the second consumer took one element")
    }

    func testTwoProducersAtOnceAreReported() throws {
        let ring = try SPSCRing<Int>(capacity: 8)
        let log = ViolationLog(ring.debugChecks)
        let took = ring.producerRole.enter(ring.debugChecks)  // as if this thread were inside `push`
        onAnotherThread { ring.push(1) }
        ring.producerRole.leave(took)
        XCTAssertTrue(log.contains("two threads act as the SPSC ring's producer"), "\(log.all)")
        let before = log.all.count
        onAnotherThread { ring.push(2) }  // the producer may move to another thread, one at a time
        ring.push(3)
        XCTAssertEqual(log.all.count, before)
    }
}
#endif
