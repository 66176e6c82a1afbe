// Slot reuse under zero-copy upload: a fast writer thread against a deliberately slow render loop on a `latest` ring
// whose payload is the renderer's host-visible memory (real lavapipe). Proves handoff invariants 1 and 2 end to end:
// no slot is rewritten while a fence still covers it, and stale handles are rejected, counted and never read.
// Unsafe pointer use: the writer lends a Swift array to SlotRing.write via withUnsafeBytes for that call only.

import EngineTestSupport
import FrameHandoff
import Foundation
import VulkanRender
import XCTest

@testable import Framepipe

/// A value behind an NSLock (the test's own: KernelRuntime's is internal).
private final class LockedBox<Value>: @unchecked Sendable {
    // @unchecked: `value` is only touched between lock() and unlock().
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}

final class SlotReuseTests: XCTestCase {
    override class func setUp() {
        super.setUp()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("framepipe-reuse-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        setenv("XDG_RUNTIME_DIR", dir.path, 1)
    }

    /// Every pixel of generation g's frame: (g, g >> 8, g >> 16, 255) as RGBA8, i.e. this little-endian u32.
    private static func pixelWord(_ generation: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: generation & 0xFF_FFFF) | 0xFF00_0000
    }

    private struct Claim {
        let slot: Int
        let generation: UInt64
        let nanos: UInt64
    }

    private struct Held {
        let slot: Int
        let generation: UInt64
        let acquireNanos: UInt64
    }

    /// The writer: claims a slot as soon as one is free, stamps the claim, fills every pixel with its generation
    /// (pixelWord), publishes. Never waits for the reader (policy latest).
    private final class FastWriter: Sendable {
        private let stopped = LockedBox(false)
        private let recorded = LockedBox([Claim]())
        private let done = DispatchSemaphore(value: 0)
        private let joined = LockedBox(false)

        init(ring: SlotRing, words count: Int) {
            let (stopped, recorded, done) = (stopped, recorded, done)
            let thread = Thread {
                var words = [UInt32](repeating: 0, count: count)
                while !stopped.withLock({ $0 }) {
                    guard let lease = ring.beginFrame(timeoutNanos: 2_000_000) else { continue }
                    let claimed = monotonicNanos()
                    let handle = lease.handle
                    let word = SlotReuseTests.pixelWord(handle.generation)
                    for i in words.indices { words[i] = word }
                    do {
                        try words.withUnsafeBytes { try ring.write(lease, at: 0, from: $0) }
                    } catch {
                        ring.cancel(lease)
                        continue
                    }
                    recorded.withLock { $0.append(Claim(slot: handle.slot, generation: handle.generation, nanos: claimed)) }
                    ring.publish(lease)
                }
                done.signal()
            }
            thread.start()
        }

        /// Stops the thread and waits for it (idempotent).
        func stop() {
            stopped.withLock { $0 = true }
            let first = joined.withLock { was in
                defer { was = true }
                return !was
            }
            if first { done.wait() }
        }

        var claims: [Claim] { recorded.withLock { $0 } }
    }

    /// Every claim of a drawn frame's slot for a newer generation came after the host saw that frame's fence signalled.
    private func assertNoSlotClaimedBeforeItsFence(
        _ frames: [(tag: UInt64, slot: Int, fenceSeenNanos: UInt64)], claims: [Claim],
        file: StaticString = #filePath, line: UInt = #line
    ) {
        for frame in frames {
            guard let reuse = claims.first(where: { $0.slot == frame.slot && $0.generation > frame.tag }) else { continue }
            XCTAssertGreaterThan(
                reuse.nanos, frame.fenceSeenNanos,
                "slot \(frame.slot) was claimed for generation \(reuse.generation) before frame \(frame.tag)'s fence "
                    + "was seen signalled", file: file, line: line)
        }
    }

    func testSlowRendererFastWriterNeverRewritesAFencedSlot() throws {
        let (w, h) = (128, 96)
        let renderer = try HeadlessRenderer(width: w, height: h, content: .rgba8, framesInFlight: 2, upload: .zeroCopy)
        XCTAssertEqual(renderer.uploadMode, .zeroCopy)
        let slotCount = renderer.requiredRingSlotCount
        XCTAssertEqual(slotCount, 4)
        let frameBytes = w * h * 4
        let payload = try renderer.lentRingPayload(slotCount: slotCount, slotByteCount: frameBytes)
        let ring = try SlotRing(slotCount: slotCount, slotByteCount: frameBytes, policy: .latest, payload: payload)
        let feed = try RenderFeed(ring: ring, renderer: renderer)
        XCTAssertEqual(feed.uploadMode, .zeroCopy)

        let writer = FastWriter(ring: ring, words: w * h)
        defer { writer.stop() }

        // The slow reader: one frame at a time through the feed, pixels read back with each frame (pipelined), and after
        // each submit it waits until the writer has published two newer frames, so the writer laps it (the first of
        // them is dropped for the second) while fences are pending, however the threads are scheduled.
        var held: [UInt64: Held] = [:]
        var finished: [(frame: CompletedFrame, held: Held)] = []
        func absorb(_ frames: [CompletedFrame]) {
            for f in frames {
                guard let h = held.removeValue(forKey: f.tag) else {
                    XCTFail("completed frame \(f.tag) was never submitted")
                    continue
                }
                finished.append((f, h))
            }
        }
        let frameCount = 24
        while finished.count + held.count < frameCount {
            try feed.reserveFrameSlot()
            absorb(try feed.collectCompleted())
            guard let lease = ring.waitForFrame(timeoutNanos: 60_000_000_000) else {
                XCTFail("the writer published nothing for 60 s")
                break
            }
            let acquired = monotonicNanos()
            let submitted = try feed.submit(lease, readBack: true)
            XCTAssertNotNil(submitted, "a fresh lease must not be stale")
            held[lease.handle.generation] = Held(
                slot: lease.handle.slot, generation: lease.handle.generation, acquireNanos: acquired)
            XCTAssertLessThanOrEqual(feed.heldHandles.count, renderer.framesInFlight)
            let lapped = ring.counters.published + 2
            let deadline = monotonicNanos() + 60_000_000_000
            while ring.counters.published < lapped, monotonicNanos() < deadline { usleep(500) }
            XCTAssertGreaterThanOrEqual(ring.counters.published, lapped, "the writer published nothing newer in 60 s")
            absorb(try feed.collectCompleted())
        }
        absorb(try feed.finish())
        XCTAssertTrue(feed.heldHandles.isEmpty, "finish must release every lease")
        writer.stop()

        // (a) Each frame shows exactly the generation submitted: had the writer rewritten its slot while the GPU read
        // it, other generations' pixels would show.
        XCTAssertEqual(finished.count, frameCount)
        for (frame, _) in finished {
            let pixels = try XCTUnwrap(frame.pixels, "frame \(frame.tag) came back without pixels")
            XCTAssertEqual(pixels.count, frameBytes)
            let word = Self.pixelWord(frame.tag)
            let want: [UInt8] = [0, 8, 16, 24].map { UInt8(truncatingIfNeeded: word >> UInt32($0)) }
            var wrong = 0
            for i in stride(from: 0, to: pixels.count, by: 4)
            where pixels[i] != want[0] || pixels[i + 1] != want[1] || pixels[i + 2] != want[2] || pixels[i + 3] != want[3] {
                wrong += 1
            }
            XCTAssertEqual(wrong, 0, "frame \(frame.tag): \(wrong) pixels are not of its generation")
        }

        // (b) The writer never got a slot the renderer still held: every later claim of a frame's slot came after
        // the host saw that frame's fence signalled (the lease is released only after that).
        assertNoSlotClaimedBeforeItsFence(
            finished.map { (tag: $0.frame.tag, slot: $0.held.slot, fenceSeenNanos: $0.frame.completeNanos) },
            claims: writer.claims)
        let counters = ring.counters
        XCTAssertGreaterThan(counters.dropped, 0, "a slow renderer under `latest` must see drops")
        XCTAssertEqual(counters.staleRejected, 0, "no stale handle so far")

        // Staleness, provoked (the writer has stopped): a lease that went through the feed, released by it when its
        // frame completed, is stale from then on.
        if let w = ring.beginFrame() { ring.publish(w) }
        let oldLease = try XCTUnwrap(ring.acquire())
        XCTAssertNotNil(try feed.submit(oldLease))
        XCTAssertEqual(feed.heldHandles, [oldLease.handle])
        XCTAssertEqual(try feed.finish().map(\.tag), [oldLease.handle.generation])
        XCTAssertTrue(feed.heldHandles.isEmpty)
        let staleBefore = ring.counters.staleRejected
        // 1. Releasing it a second time: rejected, counted.
        XCTAssertThrowsError(try ring.release(oldLease))
        // 2. Its slot is reused by the writer side, then the old handle is submitted: rejected before binding.
        var reused = false
        for _ in 0..<(2 * slotCount) {
            guard let w = ring.beginFrame() else { break }
            let slot = w.handle.slot
            ring.publish(w)
            if slot == oldLease.handle.slot {
                reused = true
                break
            }
        }
        XCTAssertTrue(reused, "the old lease's slot was never reused")
        XCTAssertFalse(ring.isValid(oldLease.handle))
        let pendingBefore = renderer.uncollectedFrameCount
        XCTAssertNil(try feed.submit(oldLease), "a stale lease must not be submitted")
        XCTAssertEqual(renderer.uncollectedFrameCount, pendingBefore, "nothing was submitted for the stale lease")
        // 3. Validating the old handle directly.
        XCTAssertFalse(ring.validate(oldLease.handle))
        XCTAssertEqual(ring.counters.staleRejected - staleBefore, 3, "each stale use counted exactly once")
    }

    /// The viewer's path: the same feed over WindowRenderer (zero-copy, a real window on a private Xvfb display) holds
    /// every ring slot until the fence of the frame that drew it was seen, however fast the writer laps the reader.
    func testWindowFeedHoldsEveryZeroCopySlotUntilItsFence() throws {
        try XCTSkipUnless(XvfbDisplay.isInstalled, "Xvfb is not installed (scripts/setup.sh)")
        let display = try XvfbDisplay()
        defer {
            ViewerWindow.terminate()
            display.stop()
        }
        let (w, h) = (128, 96)
        let window = try ViewerWindow(width: w, height: h, title: "framepipe-window-feed-test")
        let renderer = try WindowRenderer(
            window: window, width: w, height: h, content: .rgba8, presentMode: "fifo", upload: .zeroCopy)
        let slotCount = renderer.requiredRingSlotCount
        let payload = try renderer.lentRingPayload(slotCount: slotCount, slotByteCount: w * h * 4)
        let ring = try SlotRing(slotCount: slotCount, slotByteCount: w * h * 4, policy: .latest, payload: payload)
        let feed = try RenderFeed(ring: ring, renderer: renderer)
        let writer = FastWriter(ring: ring, words: w * h)
        defer {
            writer.stop()
            feed.close()
            ring.retire()  // the Vulkan objects go with the renderer, on this thread
        }

        var slotOf: [UInt64: Int] = [:]
        var fenceSeen: [UInt64: UInt64] = [:]
        func collectTimings() throws { try renderer.collectTimings { fenceSeen[$0.tag] = $0.fenceSeenNanos } }
        let frameCount = 24
        for _ in 0..<frameCount {
            try feed.reserveFrameSlot()
            try collectTimings()
            let lease = try XCTUnwrap(ring.waitForFrame(timeoutNanos: 60_000_000_000), "the writer published nothing for 60 s")
            slotOf[lease.handle.generation] = lease.handle.slot
            XCTAssertNotNil(try feed.draw(lease, hud: nil), "a fresh lease must not be stale")
            XCTAssertLessThanOrEqual(feed.heldHandles.count, renderer.framesInFlight)
            // Let the writer lap the reader while the frame may still be on the GPU.
            let lapped = ring.counters.published + 2
            let deadline = monotonicNanos() + 60_000_000_000
            while ring.counters.published < lapped, monotonicNanos() < deadline { usleep(500) }
            XCTAssertGreaterThanOrEqual(ring.counters.published, lapped, "the writer published nothing newer in 60 s")
            try feed.releaseFinished()
            try collectTimings()
        }
        feed.close()
        XCTAssertTrue(feed.heldHandles.isEmpty, "close must give back every lease")
        try collectTimings()  // the device is idle: every timed frame is back
        writer.stop()

        // A frame drawn while the swapchain was rebuilt has no timing; every other one does (lavapipe has timestamps).
        XCTAssertGreaterThanOrEqual(fenceSeen.count, frameCount - 2, "frames without a timing: \(frameCount - fenceSeen.count)")
        assertNoSlotClaimedBeforeItsFence(
            fenceSeen.compactMap { tag, seen in slotOf[tag].map { (tag: tag, slot: $0, fenceSeenNanos: seen) } },
            claims: writer.claims)
        XCTAssertGreaterThan(ring.counters.dropped, 0, "a slow reader under `latest` must see drops")
        XCTAssertEqual(ring.counters.staleRejected, 0)
    }
}
