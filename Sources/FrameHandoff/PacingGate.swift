// PacingGate: keeps a producer at most `lookahead` frames ahead of what its consumer has dealt with
// (the viewer's paced compute: one kernel frame per shown frame, docs/cli.md "view").
//
// The producer opens frames 0, 1, 2, … and may open frame n only while n < settled + lookahead,
// where `settled` counts the frames it opened that no longer need waiting for: each one the
// consumer took, and each one that failed or was cancelled (it will never be shown). Every opened
// frame is settled exactly once, so the producer never waits for a frame that cannot come.
//
// Memory ordering: `settled` is the only shared word. `settle()` increments it (releasing) and
// wakes the waiters; `mayOpen` loads it (acquiring). Nothing else is published through it, so the
// orderings only keep the count monotonic as each thread sees it; wrap-around is harmless because
// every comparison is on the 32-bit difference.
//
// Unsafe pointer invariants: `word` is storage this object allocates in init and frees in deinit;
// the futex calls get its address only from methods of this object, so it is alive while they run.
import Atomics
import CSystemShim

/// `@unchecked Sendable`: the only state shared between threads is the atomic word (invariants above).
public final class PacingGate: @unchecked Sendable {
    /// How many frames the producer may have opened beyond the settled ones (≥ 1).
    public let lookahead: UInt32
    private let word: UnsafeMutablePointer<UnsafeAtomic<UInt32>.Storage>
    private var settled: UnsafeAtomic<UInt32> { UnsafeAtomic(at: word) }
    private var futexWord: UnsafePointer<UInt32> { UnsafeRawPointer(word).assumingMemoryBound(to: UInt32.self) }

    public init(lookahead: UInt32 = 1) {
        precondition(lookahead >= 1, "a pacing gate with lookahead 0 would never open a frame")
        precondition(MemoryLayout<UnsafeAtomic<UInt32>.Storage>.size == MemoryLayout<UInt32>.size)
        self.lookahead = lookahead
        word = UnsafeMutablePointer<UnsafeAtomic<UInt32>.Storage>.allocate(capacity: 1)
        word.initialize(to: .init(0))
    }

    deinit {
        _ = word.move()
        word.deallocate()
    }

    /// Frames settled so far (wraps at 2³²).
    public var settledCount: UInt32 { settled.load(ordering: .acquiring) }

    /// Whether frame `opened` (the count of frames opened before it) may open now.
    public func mayOpen(_ opened: UInt32) -> Bool {
        Int32(bitPattern: settledCount &+ lookahead &- opened) > 0
    }

    /// One opened frame needs no more waiting for: the consumer took it, or it failed or was cancelled.
    public func settle() {
        settled.wrappingIncrement(ordering: .releasing)
        fp_futex_wake_all(futexWord)
    }

    /// Waits until frame `opened` may open or `timeoutNanos` pass; returns whether it may. The caller
    /// re-checks its own stop conditions between waits (short timeouts keep it responsive).
    public func wait(toOpen opened: UInt32, timeoutNanos: UInt64) -> Bool {
        let seen = settledCount
        if Int32(bitPattern: seen &+ lookahead &- opened) > 0 { return true }
        // Sleeps only while `settled` still equals `seen`: a settle() between the load and the wait
        // changes the word, and the futex returns at once.
        fp_futex_wait_timeout(futexWord, seen, timeoutNanos)
        return mayOpen(opened)
    }
}
