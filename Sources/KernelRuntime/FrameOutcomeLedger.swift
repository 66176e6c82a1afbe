/// Counts consecutive failed frames in frame order, whatever order the workers finish them in.
///
/// With several workers, frame g + 1 may finish before frame g. Counting failures as frames finish
/// would make "fails every other frame" look like two failures in a row whenever two failed frames
/// happen to finish back to back; so outcomes that arrive early wait here until every earlier
/// frame is in, and the run of failures is counted over frames 0, 1, 2, … in that order.
///
/// Not thread-safe: the pool holds it in a lock, taken once per finished frame (never per tile).
struct FrameOutcomeLedger {
    enum Outcome {
        case published
        case failed
        /// Cancelled by a reload: neither breaks nor extends a run of failures.
        case cancelled
    }

    /// The first frame whose outcome has not been counted yet.
    private(set) var nextFrame: Int32 = 0
    /// Outcomes of frames after `nextFrame`, waiting for the frames before them.
    private var early: [Int32: Outcome] = [:]
    /// The first failure of each failed frame not yet counted, and of the last counted one.
    private var failures: [Int32: KernelError] = [:]
    /// Frames before this one belong to a kernel that was replaced: counted, but never as failures.
    private var countingFrom: Int32 = 0
    private(set) var consecutiveFailures = 0
    /// The failure of the last failed frame counted in frame order.
    private(set) var lastFailure: KernelError?
    /// Consecutive failed frames that disable the kernel (`--max-failures`).
    let limit: Int
    /// Set when a run of failures first reached `limit`: the failure of the frame that reached it.
    private var trip: KernelError??

    init(limit: Int = 3) { self.limit = max(1, limit) }

    /// The failure that made a run of failures reach `limit`, once (nil: not reached). One fold may
    /// count several frames, so a run can reach the limit and be broken by a later frame in the
    /// same call: the trip is kept, not the count at the end.
    mutating func takeTrip() -> KernelError?? {
        defer { trip = nil }
        return trip
    }

    /// Frames finish at most this far apart (the tile queue holds 16 jobs); an outcome further ahead
    /// means a frame never reported, and counting skips it rather than stalling for ever.
    static let window: Int32 = 64

    /// Notes the first failure of `frame` (later tiles of the same frame may fail too).
    mutating func noteFailure(of frame: Int32, _ error: KernelError) {
        if failures[frame] == nil { failures[frame] = error }
    }

    /// Records how `frame` ended and counts every frame that is now complete in order; returns the
    /// consecutive failures after that.
    mutating func record(_ outcome: Outcome, of frame: Int32) -> Int {
        guard frame >= nextFrame else { return consecutiveFailures }
        early[frame] = outcome
        while let outcome = early.removeValue(forKey: nextFrame) {
            count(outcome, of: nextFrame)
            nextFrame &+= 1
        }
        if let furthest = early.keys.max(), furthest - nextFrame > Self.window {
            nextFrame = early.keys.min() ?? nextFrame
            while let outcome = early.removeValue(forKey: nextFrame) {
                count(outcome, of: nextFrame)
                nextFrame &+= 1
            }
        }
        return consecutiveFailures
    }

    /// A new kernel runs from `frame` on: the run of failures starts again from zero.
    mutating func restart(countingFrom frame: Int32) {
        countingFrom = frame
        consecutiveFailures = 0
        trip = nil
    }

    private mutating func count(_ outcome: Outcome, of frame: Int32) {
        let failure = failures.removeValue(forKey: frame)
        guard frame >= countingFrom else { return }
        switch outcome {
        case .published:
            consecutiveFailures = 0
        case .failed:
            consecutiveFailures += 1
            lastFailure = failure ?? lastFailure
            if consecutiveFailures == limit { trip = .some(lastFailure) }
        case .cancelled:
            break
        }
    }
}
