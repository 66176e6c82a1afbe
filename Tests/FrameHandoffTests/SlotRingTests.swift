import Foundation
import XCTest

@testable import FrameHandoff

/// Stamps every byte of the leased slot with the low byte pattern of its generation.
func stamp(_ ring: SlotRing, _ lease: borrowing WriteLease) {
    let word = lease.handle.generation &* 0x0101_0101_0101_0101
    ring.withWritableBytes(lease) { bytes in
        for offset in stride(from: 0, to: bytes.count, by: 8) {
            bytes.storeBytes(of: word, toByteOffset: offset, as: UInt64.self)
        }
    }
}

/// Number of 8-byte words in the slot that do not carry `generation`'s stamp.
func tornWords(_ ring: SlotRing, _ lease: ReadLease) throws -> Int {
    let expected = lease.handle.generation &* 0x0101_0101_0101_0101
    return try ring.withReadableBytes(lease) { bytes in
        var torn = 0
        for offset in stride(from: 0, to: bytes.count, by: 8)
        where bytes.load(fromByteOffset: offset, as: UInt64.self) != expected {
            torn += 1
        }
        return torn
    }
}

struct NoFreeSlot: Error {}

/// `XCTUnwrap` for a non-copyable lease.
func claim(_ ring: SlotRing) throws -> WriteLease {
    guard let lease = ring.beginFrame() else { throw NoFreeSlot() }
    return lease
}

/// Whether the writer could claim a slot (waiting up to `waitingNanos`); the claim is cancelled again.
func canClaim(_ ring: SlotRing, waitingNanos: UInt64 = 0) -> Bool {
    guard let lease = ring.beginFrame(timeoutNanos: waitingNanos) else { return false }
    ring.cancel(lease)
    return true
}

final class SlotRingSequentialTests: XCTestCase {
    func testLayoutIsPageAlignedAndConfigurable() throws {
        let ring = try SlotRing(slotCount: 5, slotByteCount: 5000)
        XCTAssertEqual(ring.slotCount, 5)
        XCTAssertEqual(ring.slotStride % 4096, 0)
        XCTAssertGreaterThanOrEqual(ring.slotStride, 5000)
        XCTAssertThrowsError(try SlotRing(slotCount: 2, slotByteCount: 64))
        XCTAssertThrowsError(try SlotRing(slotCount: 9, slotByteCount: 64))
        XCTAssertThrowsError(try SlotRing(slotCount: 3, slotByteCount: 0))
    }

    func testAcquireWithNothingPublishedIsNil() throws {
        let ring = try SlotRing(slotByteCount: 64)
        XCTAssertNil(ring.acquireLatest())
        XCTAssertNil(ring.waitForFrame(timeoutNanos: 1_000_000))
    }

    func testPublishAcquireReleaseRoundTrip() throws {
        let ring = try SlotRing(slotByteCount: 64)
        let lease = try claim(ring)
        let handle = lease.handle
        XCTAssertEqual(handle.generation, 1)
        XCTAssertFalse(ring.isValid(handle), "a frame being written is not valid for readers")
        stamp(ring, lease)
        let dropped = ring.publish(lease)
        XCTAssertNil(dropped)
        XCTAssertTrue(ring.isValid(handle))
        let read = try XCTUnwrap(ring.acquireLatest())
        XCTAssertEqual(read.handle, handle)
        XCTAssertEqual(try tornWords(ring, read), 0)
        XCTAssertNil(ring.acquireLatest(), "the same frame is handed out once")
        try ring.release(read)
        XCTAssertFalse(ring.isValid(handle))
        XCTAssertEqual(ring.counters, HandoffCounters(published: 1, dropped: 0, staleRejected: 0))
    }

    func testReplacedUnreadFrameIsDroppedAndNewestWins() throws {
        let ring = try SlotRing(slotByteCount: 64)
        for _ in 0..<5 {
            let lease = try claim(ring)
            stamp(ring, lease)
            ring.publish(lease)
        }
        let read = try XCTUnwrap(ring.acquireLatest())
        XCTAssertEqual(read.handle.generation, 5)
        XCTAssertEqual(ring.counters.dropped, 4)
        XCTAssertEqual(try tornWords(ring, read), 0)
    }

    func testDoubleReleaseIsRejectedAndCounted() throws {
        let ring = try SlotRing(slotByteCount: 64)
        let lease = try claim(ring)
        ring.publish(lease)
        let read = try XCTUnwrap(ring.acquireLatest())
        try ring.release(read)
        XCTAssertThrowsError(try ring.release(read)) { error in
            XCTAssertEqual(error as? HandoffError, .stale(read.handle))
        }
        XCTAssertThrowsError(try ring.withReadableBytes(read) { _ in () }, "a released lease cannot read")
        XCTAssertEqual(ring.counters.staleRejected, 2)
    }

    func testStaleHandleAfterSlotReuseIsRejected() throws {
        let ring = try SlotRing(slotByteCount: 64)
        let first = try claim(ring)
        let oldHandle = first.handle
        ring.publish(first)
        // Publishing twice more recycles the first slot (dropped) for a newer generation.
        for _ in 0..<3 {
            let lease = try claim(ring)
            ring.publish(lease)
        }
        XCTAssertFalse(ring.isValid(oldHandle))
        XCTAssertFalse(ring.validate(oldHandle))
        XCTAssertFalse(ring.isValid(FrameHandle(slot: 42, generation: 1)), "out-of-range slot")
        XCTAssertEqual(ring.counters.staleRejected, 1)
    }

    func testCancelledFrameReturnsItsSlotWithoutPublishing() throws {
        let ring = try SlotRing(slotByteCount: 64)
        for _ in 0..<10 {
            let lease = try claim(ring)
            ring.cancel(lease)
        }
        XCTAssertNil(ring.acquireLatest())
        XCTAssertEqual(ring.counters.published, 0)
    }

    func testHeldSlotsAreNeverRewrittenAndWriterGetsNilWhenAllAreHeld() throws {
        let ring = try SlotRing(slotCount: 3, slotByteCount: 256)
        func publishStamped() throws {
            let lease = try claim(ring)
            stamp(ring, lease)
            ring.publish(lease)
        }
        try publishStamped()
        let held = try XCTUnwrap(ring.acquireLatest())
        for _ in 0..<50 { try publishStamped() }
        XCTAssertEqual(try tornWords(ring, held), 0, "the writer wrote into a slot the reader holds")
        let secondHeld = try XCTUnwrap(ring.acquireLatest())
        try publishStamped()  // fills the last free slot; it sits in `latest`
        XCTAssertFalse(canClaim(ring), "reader holds two slots, one is published: nothing is free")
        XCTAssertEqual(try tornWords(ring, held), 0)
        XCTAssertEqual(try tornWords(ring, secondHeld), 0)
        try ring.release(held)
        XCTAssertTrue(canClaim(ring))
    }

    func testWriteOutsideTheSlotIsRefused() throws {
        let ring = try SlotRing(slotByteCount: 16)
        let lease = try claim(ring)
        let bytes = [UInt8](repeating: 7, count: 8)
        try bytes.withUnsafeBytes { try ring.write(lease, at: 8, from: $0) }
        XCTAssertThrowsError(try bytes.withUnsafeBytes { try ring.write(lease, at: 9, from: $0) })
        XCTAssertThrowsError(try bytes.withUnsafeBytes { try ring.write(lease, at: -1, from: $0) })
        ring.cancel(lease)
    }
}

/// Real threads (not concurrentPerform, whose iterations may share a thread and hide races from TSan).
final class SlotRingConcurrencyTests: XCTestCase {
    func testConcurrentHandoffsAreNeverTornOrOutOfOrder() throws {
        let handoffs = 100_000
        let ring = try SlotRing(slotCount: 3, slotByteCount: 512)
        let writerDone = DispatchSemaphore(value: 0)
        let writer = Thread {
            var published = 0
            while published < handoffs {
                guard let lease = ring.beginFrame() else { continue }
                stamp(ring, lease)
                ring.publish(lease)
                published += 1
            }
            writerDone.signal()
        }
        writer.start()

        var acquired = 0
        var torn = 0
        var outOfOrder = 0
        var lastGeneration: UInt64 = 0
        while lastGeneration < UInt64(handoffs) {
            guard let lease = ring.waitForFrame(timeoutNanos: 5_000_000_000) else {
                XCTFail("no frame for 5 s after generation \(lastGeneration)")
                break
            }
            if lease.handle.generation <= lastGeneration { outOfOrder += 1 }
            lastGeneration = lease.handle.generation
            torn += try tornWords(ring, lease)
            try ring.release(lease)
            acquired += 1
        }
        writerDone.wait()
        XCTAssertEqual(torn, 0, "torn words")
        XCTAssertEqual(outOfOrder, 0, "generations must strictly increase")
        XCTAssertGreaterThan(acquired, 0)
        let counters = ring.counters
        XCTAssertEqual(counters.published, UInt64(handoffs))
        XCTAssertEqual(counters.dropped + UInt64(acquired), counters.published, "every frame is read or dropped")
        XCTAssertEqual(counters.staleRejected, 0)
    }
}
