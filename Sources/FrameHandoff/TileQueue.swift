// TileQueue: hands the tiles of successive frames to a pool of workers without locks.
//
// One 64-bit `cursor` word says what can be taken next:
//     sequence (32 bits) | tileCount (16 bits) | nextTile (16 bits)
// A worker takes work with a single fetch-add of 1 (acquiring) and looks at the tile it got:
//   tile <  tileCount   it computes that tile of job `sequence` (fast workers simply come back sooner
//                       and take more tiles);
//   tile == tileCount   every tile of the job is taken: this worker, and only this one, becomes the
//                       opener of job `sequence + 1` (it claims a slot, fills the job record and
//                       stores the next cursor). Job `sequence`'s tiles may still be running
//                       meanwhile, so frames overlap: g + 1 starts while g finishes;
//   tile >  tileCount   nothing to take until the opener has opened the next job: wait for
//                       `openedSequence` to change (brief spin, then futex).
// Job 0 is an empty job (tileCount 0), so the first worker to arrive opens job 1.
//
// Job records live in a ring of `jobCapacity` cells; job s uses cell s % jobCapacity. The opener of
// job s reuses that cell only after every tile of job s − jobCapacity has been finished (its
// `remaining` count reached 0), and a worker reads a record only while it holds one of its tiles, so
// a record is never rewritten under a reader. `open(inOrder: true)` also waits for the previous job
// to finish: jobs then run strictly one after another (stateful kernels).
//
// Memory ordering:
//   - the opener writes the record with plain stores, then stores the cursor with release; a
//     worker's acquiring fetch-add that returns the new sequence therefore sees the record;
//   - a worker's releasing decrement of `remaining` (after its last read of the record) pairs with
//     the opener's acquiring load before it rewrites the cell;
//   - `openedSequence` and the waiter count use Dekker's pattern (sequentially consistent store,
//     then load of the other side's word) so a waiting worker is never left asleep.
// Overshoot: a worker that got tile > tileCount waits instead of taking again, so at most one
// overshoot per worker lands on a job: tileCount ≤ 32767 and workers ≤ 1024 keep `nextTile` below
// 2^16, and a carry never reaches `tileCount`.
//
// Unsafe pointer invariants of this file:
//   - `lines` (the cursor line, the waiter line and one line per record) and `records` are
//     allocated in init and freed in deinit; no pointer into them escapes.
//   - a record cell is written only by the current opener (one thread at a time, by construction
//     above), and read only by holders of one of its tiles (or by the opener).
//
// Debug builds also check the protocol (HandoffChecks.swift): `open` only by the thread `take`
// gave the duty to, and only for that job; each ticket finished once, while its job is in the cell.
import Atomics
import CSystemShim

#if canImport(Glibc)
import Glibc
#endif

/// One taken tile: which job, which tile of how many. Hand it back to `finish` when done.
public struct TileTicket: Sendable, Hashable, BitwiseCopyable {
    public let sequence: UInt32
    public let tile: Int
    public let tileCount: Int
}

/// What `take` gave a worker.
public enum TileWork<Job: BitwiseCopyable>: @unchecked Sendable {
    /// Compute `ticket.tile` of `job`, then call `finish(ticket)`.
    case tile(TileTicket, Job)
    /// Every tile of job `after` is taken: open the next job with `open(_:tileCount:)`, or `stop()`.
    case open(after: UInt32)
    /// The queue was stopped.
    case stopped
}

public final class TileQueue<Job: BitwiseCopyable>: @unchecked Sendable {
    // @unchecked: the protocol above guards the records; everything else is atomics.

    public enum SetupError: Error, Equatable, CustomStringConvertible {
        case badJobCapacity(Int)
        public var description: String {
            switch self {
            case .badJobCapacity(let count): return "job capacity \(count) is outside 2...64"
            }
        }
    }

    /// Most tiles one job may have (the cursor's 16-bit field, with room for overshoot).
    public static var maxTileCount: Int { 32767 }
    public let jobCapacity: Int

    private static var lineBytes: Int { 128 }
    private let lines: UnsafeMutableRawPointer
    private let records: UnsafeMutablePointer<Job>

    private let cursor: UnsafeAtomic<UInt64>  // line 0
    private let openedSequence: UnsafeAtomic<UInt32>  // line 1: futex word of waiting workers
    private var openedSequenceWord: UnsafePointer<UInt32> {
        UnsafePointer((lines + Self.lineBytes).assumingMemoryBound(to: UInt32.self))
    }
    private let waiters: UnsafeAtomic<UInt32>  // line 1
    private let stopped: UnsafeAtomic<UInt32>  // line 1

    #if DEBUG
    /// Debug builds only (HandoffChecks.swift).
    let debugChecks = HandoffChecks()
    /// The open duty `take` handed out: `after + 1` of `.open(after:)`, and the thread it went to
    /// (0 while none is outstanding).
    private let debugOpenDuty = ManagedAtomic<UInt64>(0)
    private let debugOpener = ManagedAtomic<UInt>(0)
    /// Per cell: the job sequence it holds, and one bit per tile, set by `finish`.
    private let debugCellSequence: [ManagedAtomic<UInt32>]
    private let debugFinishedTiles: UnsafeMutablePointer<UnsafeAtomic<UInt64>.Storage>
    private static var debugTileWordsPerCell: Int { (maxTileCount + 63) / 64 }

    private func debugFinishedWord(_ cell: Int, tile: Int) -> UnsafeAtomic<UInt64> {
        UnsafeAtomic(at: debugFinishedTiles + cell * Self.debugTileWordsPerCell + tile / 64)
    }

    /// Checks that `ticket` names the job now in its cell; `unfinished`: and a tile not finished yet.
    private func requireHeld(_ ticket: TileTicket, _ action: String, unfinished: Bool = true) {
        let target = cell(of: ticket.sequence)
        let held = debugCellSequence[target].load(ordering: .relaxed)
        debugChecks.require(
            held == ticket.sequence && (0..<ticket.tileCount).contains(ticket.tile),
            "\(action) tile \(ticket.tile) of job \(ticket.sequence): its cell holds job \(held) now")
        guard unfinished, (0..<Self.maxTileCount).contains(ticket.tile) else { return }
        let bit: UInt64 = 1 << UInt64(ticket.tile % 64)
        debugChecks.require(
            debugFinishedWord(target, tile: ticket.tile).load(ordering: .relaxed) & bit == 0,
            "\(action) tile \(ticket.tile) of job \(ticket.sequence): that ticket was already finished")
    }
    #endif

    public init(jobCapacity: Int = 8) throws(SetupError) {
        guard (2...64).contains(jobCapacity) else { throw .badJobCapacity(jobCapacity) }
        self.jobCapacity = jobCapacity
        let lineCount = 2 + jobCapacity
        let lineBytes = Self.lineBytes
        let lines = UnsafeMutableRawPointer.allocate(byteCount: lineCount * lineBytes, alignment: lineBytes)
        memset(lines, 0, lineCount * lineBytes)
        self.lines = lines
        records = UnsafeMutablePointer<Job>.allocate(capacity: jobCapacity)
        func atomic<Value: AtomicValue>(_ line: Int, _ word: Int, _ initial: Value) -> UnsafeAtomic<Value> {
            let cell = (lines + line * lineBytes + word * 8).bindMemory(to: UnsafeAtomic<Value>.Storage.self, capacity: 1)
            cell.initialize(to: .init(initial))
            return UnsafeAtomic(at: cell)
        }
        cursor = atomic(0, 0, UInt64(0))  // job 0, no tiles: the first taker opens job 1
        openedSequence = atomic(1, 0, UInt32(0))
        waiters = atomic(1, 1, UInt32(0))
        stopped = atomic(1, 2, UInt32(0))
        #if DEBUG
        debugCellSequence = (0..<jobCapacity).map { _ in ManagedAtomic<UInt32>(0) }
        let words = jobCapacity * Self.debugTileWordsPerCell
        debugFinishedTiles = .allocate(capacity: words)
        debugFinishedTiles.initialize(repeating: .init(0), count: words)
        #endif
        for cell in 0..<jobCapacity {
            _ = atomic(2 + cell, 0, UInt32(0))  // remaining tiles of the job in this cell (a futex word)
            _ = atomic(2 + cell, 1, UInt32(0))  // failed flag
            _ = atomic(2 + cell, 2, UInt32(0))  // someone waits for `remaining` to reach 0
        }
    }

    deinit {
        #if DEBUG
        debugFinishedTiles.deallocate()
        #endif
        records.deallocate()
        lines.deallocate()
    }

    @inline(__always)
    private func cellWord(_ cell: Int, _ word: Int) -> UnsafeAtomic<UInt32> {
        UnsafeAtomic(
            at: (lines + (2 + cell) * Self.lineBytes + word * 8).assumingMemoryBound(to: UnsafeAtomic<UInt32>.Storage.self))
    }
    @inline(__always)
    private func remaining(_ cell: Int) -> UnsafeAtomic<UInt32> { cellWord(cell, 0) }
    @inline(__always)
    private func failedFlag(_ cell: Int) -> UnsafeAtomic<UInt32> { cellWord(cell, 1) }
    @inline(__always)
    private func finishWaiter(_ cell: Int) -> UnsafeAtomic<UInt32> { cellWord(cell, 2) }
    private func remainingWord(_ cell: Int) -> UnsafePointer<UInt32> {
        UnsafePointer((lines + (2 + cell) * Self.lineBytes).assumingMemoryBound(to: UInt32.self))
    }
    @inline(__always)
    private func cell(of sequence: UInt32) -> Int { Int(sequence % UInt32(jobCapacity)) }

    /// Takes the next tile, or the duty to open the next job, waiting while neither exists. Returns
    /// `.stopped` once `stop()` was called; `stopCheckNanos` bounds one futex sleep, a backstop only
    /// (`stop` wakes sleepers itself).
    public func take(stopCheckNanos: UInt64 = 50_000_000) -> TileWork<Job> {
        while true {
            if stopped.load(ordering: .relaxed) != 0 { return .stopped }
            let word = cursor.loadThenWrappingIncrement(ordering: .acquiring)
            let sequence = UInt32(truncatingIfNeeded: word >> 32)
            let tileCount = Int((word >> 16) & 0xffff)
            let tile = Int(word & 0xffff)
            if tile < tileCount {
                let ticket = TileTicket(sequence: sequence, tile: tile, tileCount: tileCount)
                return .tile(ticket, records[cell(of: sequence)])
            }
            if tile == tileCount {
                #if DEBUG
                debugOpener.store(currentThreadID(), ordering: .relaxed)
                debugOpenDuty.store(UInt64(sequence) &+ 1, ordering: .relaxed)
                #endif
                return .open(after: sequence)
            }
            waitForOpen(after: sequence, stopCheckNanos: stopCheckNanos)
        }
    }

    private func waitForOpen(after sequence: UInt32, stopCheckNanos: UInt64) {
        // The opener usually needs well under a microsecond (a free slot is claimed without waiting):
        // spin a little before paying for a futex sleep and wake.
        for _ in 0..<256 {
            if openedSequence.load(ordering: .acquiring) != sequence || stopped.load(ordering: .relaxed) != 0 {
                return
            }
            fp_cpu_relax()
        }
        waiters.wrappingIncrement(ordering: .sequentiallyConsistent)
        if openedSequence.load(ordering: .sequentiallyConsistent) == sequence, stopped.load(ordering: .relaxed) == 0 {
            fp_futex_wait_timeout(openedSequenceWord, sequence, stopCheckNanos)
        }
        waiters.wrappingDecrement(ordering: .relaxed)
    }

    /// Opens job `after + 1` with `tileCount` tiles (1...maxTileCount). Only the worker that `take`
    /// answered `.open(after:)` may call it. With `inOrder`, it first waits until every tile of job
    /// `after` is finished, so jobs run one after another (stateful kernels); otherwise they overlap.
    /// Returns the new job's sequence.
    @discardableResult
    public func open(_ job: Job, tileCount: Int, after sequence: UInt32, inOrder: Bool = false) -> UInt32 {
        let tiles = min(max(tileCount, 1), Self.maxTileCount)
        let next = sequence &+ 1
        let target = cell(of: next)
        #if DEBUG
        let duty = debugOpenDuty.exchange(0, ordering: .relaxed)
        debugChecks.require(
            duty == UInt64(next) && debugOpener.load(ordering: .relaxed) == currentThreadID(),
            "open(after: \(sequence)) by a thread that take did not answer .open(after: \(sequence))")
        #endif
        if inOrder { waitUntilFinished(cell: cell(of: sequence)) }
        // The cell's previous job (next − jobCapacity) must be finished by every tile holder before
        // its record is rewritten. It nearly always is already.
        waitUntilFinished(cell: target)
        records[target] = job
        #if DEBUG
        // Before the releasing cursor store, like the record: a taker of the new job sees both.
        debugCellSequence[target].store(next, ordering: .relaxed)
        for word in 0..<(tiles + 63) / 64 { debugFinishedWord(target, tile: word * 64).store(0, ordering: .relaxed) }
        #endif
        failedFlag(target).store(0, ordering: .relaxed)
        remaining(target).store(UInt32(tiles), ordering: .relaxed)
        cursor.store(UInt64(next) << 32 | UInt64(tiles) << 16, ordering: .releasing)
        wakeWaiters(opened: next)
        return next
    }

    private func wakeWaiters(opened sequence: UInt32) {
        openedSequence.store(sequence, ordering: .sequentiallyConsistent)
        if waiters.load(ordering: .sequentiallyConsistent) != 0 {
            fp_futex_wake_all(openedSequenceWord)
        }
    }

    /// Waits until every tile of the job in `cell` is finished: a short spin, then futex sleeps.
    private func waitUntilFinished(cell: Int) {
        for _ in 0..<256 {
            if remaining(cell).load(ordering: .acquiring) == 0 { return }
            fp_cpu_relax()
        }
        while true {
            finishWaiter(cell).store(1, ordering: .sequentiallyConsistent)
            let left = remaining(cell).load(ordering: .sequentiallyConsistent)
            if left == 0 { break }
            fp_futex_wait_timeout(remainingWord(cell), left, 50_000_000)
        }
        finishWaiter(cell).store(0, ordering: .relaxed)
    }

    /// Marks a tile done. Returns true for the last tile of its job.
    @discardableResult
    public func finish(_ ticket: TileTicket) -> Bool {
        let target = cell(of: ticket.sequence)
        #if DEBUG
        requireHeld(ticket, "finish of", unfinished: false)
        // Before the decrement that lets the opener reuse the cell (and clear these bits).
        if (0..<Self.maxTileCount).contains(ticket.tile) {
            let bit: UInt64 = 1 << UInt64(ticket.tile % 64)
            let before = debugFinishedWord(target, tile: ticket.tile).loadThenBitwiseOr(with: bit, ordering: .relaxed)
            debugChecks.require(
                before & bit == 0, "finish of tile \(ticket.tile) of job \(ticket.sequence): finished twice")
        }
        #endif
        // Releasing (the holder's reads of the record come first) and sequentially consistent (Dekker
        // with `waitUntilFinished`'s flag store): a waiter either sees 0 or is seen and woken.
        let previousRemaining = remaining(target).loadThenWrappingDecrement(ordering: .sequentiallyConsistent)
        #if DEBUG
        debugChecks.require(
            previousRemaining > 0, "finish of job \(ticket.sequence): more tiles finished than it has")
        #endif
        let last = previousRemaining == 1
        if last, finishWaiter(target).load(ordering: .sequentiallyConsistent) != 0 {
            fp_futex_wake_all(remainingWord(target))
        }
        return last
    }

    /// Marks the ticket's job as failed (read back with `jobFailed` by any holder of one of its tiles).
    public func markFailed(_ ticket: TileTicket) {
        #if DEBUG
        requireHeld(ticket, "markFailed of")
        #endif
        failedFlag(cell(of: ticket.sequence)).store(1, ordering: .releasing)
    }

    /// Whether a tile of this job failed. Valid while the caller holds `ticket` (before `finish`).
    public func jobFailed(_ ticket: TileTicket) -> Bool {
        #if DEBUG
        requireHeld(ticket, "jobFailed of")
        #endif
        return failedFlag(cell(of: ticket.sequence)).load(ordering: .acquiring) != 0
    }

    /// The record of a job whose tile the caller holds, or that the caller (the opener) opened.
    public func job(_ sequence: UInt32) -> Job { records[cell(of: sequence)] }

    /// Ends the queue: every `take` returns `.stopped` from now on, waiting workers are woken.
    public func stop() {
        stopped.store(1, ordering: .sequentiallyConsistent)
        fp_futex_wake_all(openedSequenceWord)
    }

    public var isStopped: Bool { stopped.load(ordering: .relaxed) != 0 }

    /// Workers past their spin, waiting on the futex for the next job (tests wait for them).
    var waitingWorkerCount: Int { Int(waiters.load(ordering: .sequentiallyConsistent)) }
}

