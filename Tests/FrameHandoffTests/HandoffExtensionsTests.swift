import Foundation
import XCTest

@testable import FrameHandoff

final class FifoPolicyTests: XCTestCase {
    func testFramesAreReadInOrderAndNothingDrops() throws {
        let ring = try SlotRing(slotCount: 4, slotByteCount: 64, policy: .fifo)
        for _ in 0..<3 {
            let lease = try claim(ring)
            stamp(ring, lease)
            ring.publish(lease)
        }
        for expected in 1...3 {
            let lease = try XCTUnwrap(ring.acquire())
            XCTAssertEqual(lease.handle.generation, UInt64(expected))
            XCTAssertEqual(try tornWords(ring, lease), 0)
            try ring.release(lease)
        }
        XCTAssertNil(ring.acquire())
        XCTAssertEqual(ring.counters.dropped, 0)
    }

    func testReaderWaitsForAnOlderFrameStillBeingWritten() throws {
        let ring = try SlotRing(slotCount: 3, slotByteCount: 64, policy: .fifo)
        let older = try claim(ring)
        let newer = try claim(ring)
        ring.publish(newer)
        XCTAssertNil(ring.acquire(), "generation 2 must wait for generation 1")
        ring.publish(older)
        XCTAssertEqual(ring.acquire()?.handle.generation, 1)
        XCTAssertEqual(ring.acquire()?.handle.generation, 2)
    }

    func testCancelledOlderFrameDoesNotBlockNewerOnes() throws {
        let ring = try SlotRing(slotCount: 3, slotByteCount: 64, policy: .fifo)
        let older = try claim(ring)
        let newer = try claim(ring)
        ring.publish(newer)
        ring.cancel(older)
        XCTAssertEqual(ring.acquire()?.handle.generation, 2)
    }

    /// Backpressure: with every slot published and unread, the writer blocks until the reader
    /// releases one, and is woken by that release (futex), not by its timeout.
    func testWriterBlocksWhenFullAndWakesOnRelease() throws {
        let ring = try SlotRing(slotCount: 3, slotByteCount: 64, policy: .fifo)
        for _ in 0..<3 {
            let lease = try claim(ring)
            ring.publish(lease)
        }
        XCTAssertFalse(canClaim(ring, waitingNanos: 1_000_000), "no slot is free")

        let claimed = ClaimResult()
        let writer = Thread {
            let start = monotonicNanos()
            if let lease = ring.beginFrame(timeoutNanos: 20_000_000_000) {
                claimed.set(generation: lease.handle.generation, waitedNanos: monotonicNanos() - start)
                ring.cancel(lease)
            }
        }
        writer.start()
        // Wait until the writer sleeps in the backpressure wait (its flag is up), not a fixed time.
        let asleepBy = Date().addingTimeInterval(10)
        while !ring.isWriterWaiting && Date() < asleepBy { usleep(1000) }
        XCTAssertTrue(ring.isWriterWaiting, "the writer never started waiting for a free slot")
        XCTAssertNil(claimed.generation, "the writer must still be waiting")
        let first = try XCTUnwrap(ring.acquire())
        try ring.release(first)
        let deadline = Date().addingTimeInterval(10)
        while claimed.generation == nil && Date() < deadline { usleep(1000) }
        XCTAssertEqual(claimed.generation, 4)
        XCTAssertLessThan(claimed.waitedNanos, 10_000_000_000, "woken by the release, long before its timeout")
    }
}

final class ClaimResult: @unchecked Sendable {
    private let lock = NSLock()
    private var value: (UInt64, UInt64)?
    func set(generation: UInt64, waitedNanos: UInt64) { lock.withLock { value = (generation, waitedNanos) } }
    var generation: UInt64? { lock.withLock { value?.0 } }
    var waitedNanos: UInt64 { lock.withLock { value?.1 ?? .max } }
}

final class SharedFrameTests: XCTestCase {
    func testLastTilePublishesExactlyOnce() throws {
        let ring = try SlotRing(slotByteCount: 64)
        let frame = ring.share(try claim(ring), tiles: 3)
        XCTAssertEqual(ring.completeTile(frame), .pending)
        XCTAssertEqual(ring.completeTile(frame), .pending)
        XCTAssertNil(ring.acquire(), "not published before its last tile")
        XCTAssertEqual(ring.completeTile(frame), .published)
        XCTAssertEqual(ring.completeTile(frame), .stale, "a frame completes once")
        XCTAssertEqual(ring.acquire()?.handle, frame.handle)
        XCTAssertEqual(ring.counters.published, 1)
    }

    func testCancelledFrameReturnsItsSlotAfterItsLastTile() throws {
        let ring = try SlotRing(slotByteCount: 64)
        let frame = ring.share(try claim(ring), tiles: 2)
        XCTAssertEqual(ring.completeTile(frame), .pending)
        XCTAssertTrue(ring.cancel(frame))
        XCTAssertTrue(ring.isCancelled(frame))
        XCTAssertEqual(ring.completeTile(frame), .cancelled)
        XCTAssertNil(ring.acquire())
        XCTAssertEqual(ring.counters.published, 0)
        XCTAssertFalse(ring.cancel(frame), "stale after its slot was freed")
        for _ in 0..<3 { XCTAssertTrue(canClaim(ring)) }
    }

    /// Real threads fill disjoint tiles of each frame; whichever finishes last publishes it.
    func testConcurrentWorkersAssembleWholeFrames() throws {
        let tiles = 4
        let tileBytes = 64
        let frames = 2000
        let ring = try SlotRing(slotCount: 3, slotByteCount: tiles * tileBytes, policy: .fifo)
        let queues = (0..<tiles).map { _ in try? SPSCRing<SharedFrame>(capacity: 8) }.compactMap { $0 }
        XCTAssertEqual(queues.count, tiles)
        let workers = (0..<tiles).map { tile in
            Thread {
                var done = 0
                while done < frames {
                    // Four spinning workers on two cores: yield, or the scheduler starves the others.
                    guard let frame = queues[tile].pop() else {
                        sched_yield()
                        continue
                    }
                    let stamp = [UInt8](repeating: UInt8(truncatingIfNeeded: frame.handle.generation), count: tileBytes)
                    stamp.withUnsafeBytes { try? ring.write(frame, at: tile * tileBytes, from: $0) }
                    _ = ring.completeTile(frame)
                    done += 1
                }
            }
        }
        workers.forEach { $0.start() }
        var scheduled = 0
        var read = 0
        var torn = 0
        while read < frames {
            if scheduled < frames, let lease = ring.beginFrame() {
                let frame = ring.share(lease, tiles: tiles)
                for queue in queues { while !queue.push(frame) { sched_yield() } }
                scheduled += 1
            }
            guard let lease = ring.acquire() else {
                sched_yield()
                continue
            }
            do {
                XCTAssertEqual(lease.handle.generation, UInt64(read + 1), "fifo order")
                let expected = UInt8(truncatingIfNeeded: lease.handle.generation)
                torn += try ring.withReadableBytes(lease) { $0.filter { $0 != expected }.count }
                try ring.release(lease)
                read += 1
            }
        }
        XCTAssertEqual(torn, 0)
        XCTAssertEqual(ring.counters, HandoffCounters(published: UInt64(frames), dropped: 0, staleRejected: 0))
    }

    /// Under `latest`, frames that finish out of order never reach the reader out of order.
    func testOutOfOrderPublishersKeepGenerationsIncreasing() throws {
        let ring = try SlotRing(slotByteCount: 64)
        let first = ring.share(try claim(ring), tiles: 1)
        let second = ring.share(try claim(ring), tiles: 1)
        XCTAssertEqual(ring.completeTile(second), .published)
        XCTAssertEqual(ring.acquire()?.handle.generation, 2)
        XCTAssertEqual(ring.completeTile(first), .published)
        XCTAssertNil(ring.acquire(), "generation 1 arrived after 2 was read: dropped")
        XCTAssertEqual(ring.counters.dropped, 1)
    }
}

final class LentPayloadTests: XCTestCase {
    final class Buffer: @unchecked Sendable {
        let base: UnsafeMutableRawPointer
        let count: Int
        init(count: Int) {
            self.count = count
            base = UnsafeMutableRawPointer.allocate(byteCount: count, alignment: SlotRing.pageSize)
        }
        deinit { base.deallocate() }
    }

    func testRingWritesIntoMemoryTheCallerLends() throws {
        let needed = SlotRing.requiredPayloadBytes(slotCount: 3, slotByteCount: 100)
        let buffer = Buffer(count: needed)
        let ring = try SlotRing(
            slotCount: 3, slotByteCount: 100, payload: LentPayload(base: buffer.base, byteCount: needed, owner: buffer))
        let lease = try claim(ring)
        let slot = lease.handle.slot
        let bytes: [UInt8] = [1, 2, 3, 4]
        try bytes.withUnsafeBytes { try ring.write(lease, at: 10, from: $0) }
        ring.publish(lease)
        let start = buffer.base + slot * ring.slotStride + 10
        XCTAssertEqual((0..<4).map { start.load(fromByteOffset: $0, as: UInt8.self) }, bytes)
        XCTAssertThrowsError(
            try SlotRing(
                slotCount: 3, slotByteCount: 100,
                payload: LentPayload(base: buffer.base, byteCount: needed - 1, owner: buffer)))
        XCTAssertThrowsError(
            try SlotRing(
                slotCount: 3, slotByteCount: 10,
                payload: LentPayload(base: buffer.base + 8, byteCount: needed - 8, owner: buffer)))
    }
}

final class SPSCRingTests: XCTestCase {
    func testOrderFullAndEmpty() throws {
        XCTAssertThrowsError(try SPSCRing<Int>(capacity: 6))
        XCTAssertEqual(SPSCRing<Int>(roundingUpTo: 5).capacity, 8)
        XCTAssertEqual(SPSCRing<Int>(roundingUpTo: 8).capacity, 8)
        XCTAssertEqual(SPSCRing<Int>(roundingUpTo: 0).capacity, 2)
        let ring = try SPSCRing<Int>(capacity: 4)
        XCTAssertNil(ring.pop())
        for value in 0..<4 { XCTAssertTrue(ring.push(value)) }
        XCTAssertFalse(ring.push(99), "full: dropped, not blocked")
        XCTAssertEqual(ring.dropped, 1)
        XCTAssertEqual((0..<4).compactMap { _ in ring.pop() }, [0, 1, 2, 3])
        XCTAssertNil(ring.pop())
        for value in 10..<13 { ring.push(value) }
        var drained: [Int] = []
        ring.drain { drained.append($0) }
        XCTAssertEqual(drained, [10, 11, 12])
    }

    func testConcurrentProducerAndConsumerSeeEveryElementInOrder() throws {
        let ring = try SPSCRing<UInt64>(capacity: 64)
        let count: UInt64 = 200_000
        let producer = Thread {
            var next: UInt64 = 0
            while next < count {
                if ring.push(next) { next += 1 }
            }
        }
        producer.start()
        var expected: UInt64 = 0
        var mismatches = 0
        while expected < count {
            guard let value = ring.pop() else { continue }
            if value != expected { mismatches += 1 }
            expected += 1
        }
        XCTAssertEqual(mismatches, 0)
        XCTAssertNil(ring.pop())
    }
}

final class MutexBaselineTests: XCTestCase {
    func testBaselineFollowsTheSameProtocol() throws {
        let handoff = try MutexHandoff(slotByteCount: 64)
        for _ in 0..<3 {
            guard let lease = handoff.beginFrame() else { return XCTFail("no free slot") }
            handoff.publish(lease)
        }
        let read = try XCTUnwrap(handoff.acquireLatest())
        XCTAssertEqual(read.handle.generation, 3)
        XCTAssertNil(handoff.acquireLatest())
        try handoff.release(read)
        XCTAssertThrowsError(try handoff.release(read))
        XCTAssertEqual(handoff.counters, HandoffCounters(published: 3, dropped: 2, staleRejected: 1))
    }
}

final class RetireTests: XCTestCase {
    final class Owner: @unchecked Sendable {
        let base = UnsafeMutableRawPointer.allocate(
            byteCount: SlotRing.requiredPayloadBytes(slotCount: 3, slotByteCount: 64), alignment: SlotRing.pageSize)
        deinit { base.deallocate() }
    }

    /// The ring holds a lent payload's owner for as long as it can hand out a pointer into it, and lets
    /// it go in `retire`, on the retiring thread, not later in deinit.
    func testTheRingKeepsTheOwnerUntilRetireAndRetireEndsEveryUse() throws {
        weak var watched: Owner?
        let ring: SlotRing
        do {
            let owner = Owner()
            watched = owner
            ring = try SlotRing(
                slotCount: 3, slotByteCount: 64,
                payload: LentPayload(
                    base: owner.base, byteCount: SlotRing.requiredPayloadBytes(slotCount: 3, slotByteCount: 64),
                    owner: owner))
        }
        XCTAssertNotNil(watched, "the ring keeps the owner alive")
        let read = try claim(ring)
        ring.publish(read)
        let held = try XCTUnwrap(ring.acquire())
        XCTAssertFalse(ring.retire(), "a slot is still leased (reading)")
        XCTAssertNotNil(watched)
        try ring.release(held)
        let writing = try claim(ring)
        XCTAssertFalse(ring.retire(), "a slot is still leased (writing)")
        let published = writing.handle
        ring.publish(writing)  // published, never read: counted as dropped by retire

        XCTAssertTrue(ring.retire())
        XCTAssertNil(watched, "retire let the owner go")
        XCTAssertTrue(ring.isRetired)
        XCTAssertFalse(canClaim(ring), "nothing is claimed after retire")
        XCTAssertNil(ring.acquire(), "nothing is acquired after retire")
        XCTAssertFalse(ring.isValid(published))
        XCTAssertThrowsError(try ring.release(held))
        XCTAssertEqual(ring.counters.published, 2)
        XCTAssertEqual(ring.counters.dropped, 1)
        XCTAssertTrue(ring.retire(), "retiring again changes nothing")
    }
}
