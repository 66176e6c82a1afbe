// The slot ring: the one place compute workers hand finished frames to the renderer.
//
// Memory layout (one page-aligned metadata block; payload in a page-aligned block of its own):
//   metadata line 0      `latest`: newest published, not yet acquired frame (0 = none), policy `latest`;
//                        `publishSequence`: bumped per publish, policy `fifo` (the reader's futex word)
//   metadata line 1      scheduler side: next generation, writer-waiting flag
//   metadata line 2      reader side: stale rejections, reader-waiting flag, last acquired generation,
//                        release sequence (the blocked writer's futex word)
//   metadata line 3 + i  slot i: state word `(generation << 3) | SlotState`, tile countdown, and
//                        published / dropped counts written only by the slot's current owner
//   payload              N slots of `slotByteCount` bytes, each starting on a page boundary; owned
//                        by the ring, or lent by the caller (e.g. host-visible Vulkan memory)
// Each group sits on its own 128-byte line (two 64-byte lines: adjacent-line prefetch), so the
// publisher and the reader never false-share.
//
// Ownership of a slot's payload, by state (docs/architecture.md has the full state machine):
//   free     nobody reads or writes it; the scheduler may claim it (free → writing)
//   writing  only the holders of its WriteLease / SharedFrame write it (disjoint tiles)
//   ready    nobody writes it. `latest`: owned by whoever takes it out of `latest` by exchange (the
//            reader acquires it, or a newer publish takes it back as dropped). `fifo`: the reader's.
//   reading  only the reader reads it, until `release`
//   retired  nobody, ever again (`retire`, once nothing is leased; a lent payload's owner goes then)
//
// Unsafe pointer invariants of this file:
//   - `metadata` and the payload live from init to deinit (a lent payload: the ring holds its
//     owner, the object that owns the memory, until deinit, or until `retire` has made every slot
//     `retired`, after which no call hands out a pointer into the payload); no pointer into them
//     escapes a lease-checked call or closure.
//
// Debug builds also check each call's slot state and thread role (HandoffChecks.swift); release
// builds compile those checks out.
//   - every atomic lives in `metadata` at a fixed offset and is initialised before the ring is shared.
//   - payload bytes are exposed only after checking the lease against the slot's state word.
import Atomics
import CSystemShim

#if canImport(Glibc)
import Glibc
#endif

/// What happens when the writer publishes while earlier frames are still unread.
public enum HandoffPolicy: String, Sendable, CaseIterable {
    /// The writer never blocks; an unread frame that is replaced is counted as dropped.
    case latest
    /// Every published frame is read, in order; the writer waits for a free slot (backpressure).
    case fifo
}

/// A frame's identity across the handoff: which slot, and which generation it carried.
public struct FrameHandle: Hashable, Sendable, BitwiseCopyable, CustomStringConvertible {
    public let slot: Int
    public let generation: UInt64
    public var description: String { "(slot \(slot), generation \(generation))" }
}

/// The writer's right to fill one slot with one generation. Not copyable: a lease ends exactly once,
/// by `publish`, `cancel` or `share`; a second publish of the same lease does not compile.
public struct WriteLease: ~Copyable, Sendable {
    public let handle: FrameHandle
}

/// A frame being filled by several workers, tile by tile. Copyable, so each worker holds one; the
/// worker whose `completeTile` brings the countdown to zero publishes it.
public struct SharedFrame: Hashable, Sendable, BitwiseCopyable {
    public let handle: FrameHandle
    public let tileCount: Int
}

/// What `completeTile` did.
public enum TileOutcome: Equatable, Sendable {
    /// Other tiles are still being computed.
    case pending
    /// This was the last tile: the frame is published.
    case published
    /// This was the last tile of a cancelled frame: its slot is free again, nothing was published.
    case cancelled
    /// The frame handle does not name a frame being written (misuse); nothing changed.
    case stale
}

/// The reader's right to read one published frame until `release`.
public struct ReadLease: Sendable, Hashable, BitwiseCopyable {
    public let handle: FrameHandle
}

public enum HandoffError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The slot no longer carries this handle's generation in the expected state.
    case stale(FrameHandle)
    /// A byte range outside the slot was asked for.
    case outOfBounds(offset: Int, count: Int, slotByteCount: Int)

    public var description: String {
        switch self {
        case .stale(let handle): return "stale frame handle \(handle)"
        case .outOfBounds(let offset, let count, let size):
            return "byte range \(offset)..<\(offset + count) lies outside a \(size)-byte slot"
        }
    }
}

/// Counters readable at any time (relaxed: statistics, not synchronisation).
public struct HandoffCounters: Sendable, Equatable {
    public var published: UInt64
    public var dropped: UInt64
    public var staleRejected: UInt64

    public init(published: UInt64, dropped: UInt64, staleRejected: UInt64) {
        self.published = published
        self.dropped = dropped
        self.staleRejected = staleRejected
    }
}

/// Payload memory lent by the caller: `byteCount` ≥ `SlotRing.requiredPayloadBytes(...)`, aligned to
/// a page. `owner` is the object that owns the memory (the renderer's `ZeroCopyRingMemory`, a test's
/// buffer): the memory must stay valid as long as `owner` lives. The ring keeps `owner` for its own
/// whole life, so the memory outlives every pointer the ring hands out.
public struct LentPayload: @unchecked Sendable {
    // @unchecked: `base` is a raw pointer; what may touch the memory is the ring's state machine.
    public let base: UnsafeMutableRawPointer
    public let byteCount: Int
    public let owner: any AnyObject & Sendable

    public init(base: UnsafeMutableRawPointer, byteCount: Int, owner: any AnyObject & Sendable) {
        self.base = base
        self.byteCount = byteCount
        self.owner = owner
    }
}

enum SlotState: UInt64 {
    case free = 0, writing = 1, ready = 2, reading = 3
    /// After `retire`: never claimed, published or acquired again.
    case retired = 4
}

/// Slot ring with generational handles. Threads:
/// - the scheduler (one thread at a time) claims slots: `beginFrame`;
/// - publishers fill and publish them: `publish`, `share`/`completeTile`/`cancel`, `write`. With
///   tiles, any worker may be the one that publishes; concurrent publishers are safe;
/// - the reader (one thread at a time): `acquire`, `waitForFrame`, `withReadableBytes`, `release`;
/// - anyone: `isValid`, `validate`, `counters`.
public final class SlotRing: @unchecked Sendable {
    // @unchecked: shared mutable state is only in `metadata` (atomics) and the payload (guarded by
    // the slot state machine above).

    public let slotCount: Int
    public let slotByteCount: Int
    public let policy: HandoffPolicy
    /// Distance between the starts of two slots: `slotByteCount` rounded up to a page.
    public let slotStride: Int

    static let lineBytes = 128
    static let stateShift: UInt64 = 3
    static let stateMask: UInt64 = 0b111
    static let cancelledBit: UInt64 = 1 << 63

    private let metadata: UnsafeMutableRawPointer
    private let payload: UnsafeMutableRawPointer
    private let ownsPayload: Bool
    /// A lent payload's owner, held until `retire` or deinit (written only by `retire`).
    private var payloadOwner: (any AnyObject & Sendable)?

    // Line 0.
    private let latest: UnsafeAtomic<UInt64>
    private let publishSequence: UnsafeAtomic<UInt32>
    // Line 1: publisher side.
    private let nextGeneration: UnsafeAtomic<UInt64>
    private let writerWaiting: UnsafeAtomic<UInt32>
    // Line 2: reader side.
    private let staleCount: UnsafeAtomic<UInt64>
    private let readerWaiting: UnsafeAtomic<UInt32>
    private let lastAcquired: UnsafeAtomic<UInt64>
    private let releaseSequence: UnsafeAtomic<UInt32>

    #if DEBUG
    /// Debug builds only (HandoffChecks.swift): the state each call needs its slot in, and the
    /// one-thread-at-a-time roles of the class comment.
    let debugChecks = HandoffChecks()
    let schedulerRole = ThreadRole("the slot ring's scheduler (beginFrame)")
    let readerRole = ThreadRole("the slot ring's reader (acquire, waitForFrame, withReadableBytes, release)")

    /// Checks that `handle`'s slot carries its generation in `state` before `action` uses it.
    func requireState(_ handle: FrameHandle, _ state: SlotState, _ action: String) {
        guard (0..<slotCount).contains(handle.slot) else {
            return debugChecks.require(false, "\(action) \(handle): no such slot")
        }
        let word = slotState(handle.slot).load(ordering: .relaxed)
        debugChecks.require(
            word == Self.stateWord(handle.generation, state),
            "\(action) \(handle): its slot is \(Self.describe(word)), not \(state) generation \(handle.generation)")
    }

    static func describe(_ word: UInt64) -> String {
        let state = SlotState(rawValue: word & stateMask).map { "\($0)" } ?? "state \(word & stateMask)"
        return "\(state) generation \(word >> stateShift)"
    }
    #endif

    public enum SetupError: Error, Equatable, CustomStringConvertible {
        case badSlotCount(Int)
        case badSlotSize(Int)
        case outOfMemory(Int)
        case lentPayloadTooSmall(needed: Int, given: Int)
        case lentPayloadMisaligned
        public var description: String {
            switch self {
            case .badSlotCount(let n): return "slot count \(n) is outside 3...8"
            case .badSlotSize(let n): return "slot size \(n) bytes must be positive"
            case .outOfMemory(let n): return "cannot allocate \(n) bytes for the slot ring"
            case .lentPayloadTooSmall(let needed, let given):
                return "lent payload memory has \(given) bytes, the ring needs \(needed)"
            case .lentPayloadMisaligned: return "lent payload memory must start on a page boundary"
            }
        }
    }

    public static var pageSize: Int { max(Int(sysconf(Int32(_SC_PAGESIZE))), 4096) }

    /// Bytes of payload memory a ring of this shape needs (for callers that lend it).
    public static func requiredPayloadBytes(slotCount: Int, slotByteCount: Int) -> Int {
        let page = pageSize
        return (slotByteCount + page - 1) / page * page * slotCount
    }

    public init(
        slotCount: Int = 3, slotByteCount: Int, policy: HandoffPolicy = .latest, payload lent: LentPayload? = nil
    ) throws(SetupError) {
        guard (3...8).contains(slotCount) else { throw .badSlotCount(slotCount) }
        guard slotByteCount > 0, slotByteCount < Int.max / 16 else { throw .badSlotSize(slotByteCount) }
        let page = Self.pageSize
        self.slotCount = slotCount
        self.slotByteCount = slotByteCount
        self.policy = policy
        self.slotStride = (slotByteCount + page - 1) / page * page
        let (payloadBytes, overflow) = slotStride.multipliedReportingOverflow(by: slotCount)
        guard !overflow else { throw .outOfMemory(Int.max) }

        if let lent {
            guard lent.byteCount >= payloadBytes else {
                throw .lentPayloadTooSmall(needed: payloadBytes, given: lent.byteCount)
            }
            guard Int(bitPattern: lent.base) % page == 0 else { throw .lentPayloadMisaligned }
        }
        let metadataBytes = (3 + slotCount) * Self.lineBytes
        var metadataMemory: UnsafeMutableRawPointer?
        guard posix_memalign(&metadataMemory, page, metadataBytes) == 0, let metadataMemory else {
            throw .outOfMemory(metadataBytes)
        }
        memset(metadataMemory, 0, metadataBytes)
        if let lent {
            self.payload = lent.base
            self.ownsPayload = false
            self.payloadOwner = lent.owner
        } else {
            var payloadMemory: UnsafeMutableRawPointer?
            guard posix_memalign(&payloadMemory, page, payloadBytes) == 0, let payloadMemory else {
                free(metadataMemory)
                throw .outOfMemory(payloadBytes)
            }
            memset(payloadMemory, 0, payloadBytes)
            self.payload = payloadMemory
            self.ownsPayload = true
            self.payloadOwner = nil
        }
        self.metadata = metadataMemory

        func atomic64(_ position: MetadataWord) -> UnsafeAtomic<UInt64> {
            let storage = (metadataMemory + position.offset).bindMemory(to: UnsafeAtomic<UInt64>.Storage.self, capacity: 1)
            storage.initialize(to: .init(0))
            return UnsafeAtomic(at: storage)
        }
        func atomic32(_ position: MetadataWord) -> UnsafeAtomic<UInt32> {
            let storage = (metadataMemory + position.offset).bindMemory(to: UnsafeAtomic<UInt32>.Storage.self, capacity: 1)
            storage.initialize(to: .init(0))
            return UnsafeAtomic(at: storage)
        }
        latest = atomic64(.latest)
        publishSequence = atomic32(.publishSequence)
        nextGeneration = atomic64(.nextGeneration)
        writerWaiting = atomic32(.writerWaiting)
        staleCount = atomic64(.staleCount)
        readerWaiting = atomic32(.readerWaiting)
        lastAcquired = atomic64(.lastAcquired)
        releaseSequence = atomic32(.releaseSequence)
        for slot in 0..<slotCount {
            for word in SlotWord.allCases { _ = atomic64(.slot(slot, word)) }
        }
        // Generation 0 means "never written", so the first frame is generation 1.
        nextGeneration.store(1, ordering: .relaxed)
    }

    deinit {
        if ownsPayload { free(payload) }
        free(metadata)
    }

    // MARK: Layout helpers

    /// Where each metadata word lives: (128-byte line, 8-byte word). The single source of the layout
    /// drawn at the top of this file, for the atomics and for the futex addresses alike.
    enum MetadataWord {
        case latest, publishSequence  // line 0
        case nextGeneration, writerWaiting  // line 1: scheduler side
        case staleCount, readerWaiting, lastAcquired, releaseSequence  // line 2: reader side
        case slot(Int, SlotWord)  // line 3 + slot

        var offset: Int {
            let (line, word): (Int, Int)
            switch self {
            case .latest: (line, word) = (0, 0)
            case .publishSequence: (line, word) = (0, 1)
            case .nextGeneration: (line, word) = (1, 0)
            case .writerWaiting: (line, word) = (1, 1)
            case .staleCount: (line, word) = (2, 0)
            case .readerWaiting: (line, word) = (2, 1)
            case .lastAcquired: (line, word) = (2, 2)
            case .releaseSequence: (line, word) = (2, 3)
            case .slot(let slot, let slotWord): (line, word) = (3 + slot, slotWord.rawValue)
            }
            return line * SlotRing.lineBytes + word * 8
        }
    }

    /// The words of a slot's line. `published` and `dropped` are bumped only by the slot's current
    /// owner (the publisher that holds it, or the side that exchanged it out of `latest`), so a plain
    /// load and store is race-free: ownership passes by release/acquire, which orders successive
    /// bumps. Their sums are exact once threads are idle.
    enum SlotWord: Int, CaseIterable { case state = 0, tileCountdown, published, dropped }

    @inline(__always)
    private func slotWord(_ slot: Int, _ word: SlotWord) -> UnsafeAtomic<UInt64> {
        UnsafeAtomic(
            at: (metadata + MetadataWord.slot(slot, word).offset)
                .assumingMemoryBound(to: UnsafeAtomic<UInt64>.Storage.self))
    }

    @inline(__always)
    private func slotState(_ slot: Int) -> UnsafeAtomic<UInt64> { slotWord(slot, .state) }

    @inline(__always)
    private func tileCountdown(_ slot: Int) -> UnsafeAtomic<UInt64> { slotWord(slot, .tileCountdown) }

    @inline(__always)
    private func bump(_ counter: SlotWord, _ slot: Int) {
        let cell = slotWord(slot, counter)
        cell.store(cell.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
    }

    private func total(_ counter: SlotWord) -> UInt64 {
        (0..<slotCount).reduce(0) { $0 &+ slotWord($1, counter).load(ordering: .relaxed) }
    }

    /// A 32-bit futex word. `latest`'s is its low half: non-zero exactly when a frame waits (slot + 1 ≥ 1).
    private func futexWord(_ position: MetadataWord) -> UnsafePointer<UInt32> {
        UnsafePointer((metadata + position.offset).assumingMemoryBound(to: UInt32.self))
    }
    private var latestLowWord: UnsafePointer<UInt32> { futexWord(.latest) }
    private var publishSequenceWord: UnsafePointer<UInt32> { futexWord(.publishSequence) }
    private var releaseSequenceWord: UnsafePointer<UInt32> { futexWord(.releaseSequence) }

    @inline(__always)
    static func stateWord(_ generation: UInt64, _ state: SlotState) -> UInt64 {
        generation << stateShift | state.rawValue
    }

    @inline(__always)
    static func latestWord(_ handle: FrameHandle) -> UInt64 {
        handle.generation << 8 | UInt64(handle.slot + 1)
    }

    @inline(__always)
    static func handle(fromLatest word: UInt64) -> FrameHandle {
        FrameHandle(slot: Int(word & 0xff) - 1, generation: word >> 8)
    }

    // MARK: Scheduler: claiming slots

    /// Claims a free slot for the next generation, or nil when none is free. Never blocks.
    public func beginFrame() -> WriteLease? {
        #if DEBUG
        let tookRole = schedulerRole.enter(debugChecks)
        defer { schedulerRole.leave(tookRole) }
        #endif
        for slot in 0..<slotCount {
            let state = slotState(slot)
            // Acquiring: pairs with the releasing store that freed it, so the reader's last reads
            // of this payload happen-before the writes that follow.
            let word = state.load(ordering: .acquiring)
            guard word & Self.stateMask == SlotState.free.rawValue else { continue }
            // Only the scheduler moves a slot out of `free` and only it advances the generation:
            // plain stores suffice, no read-modify-write.
            let generation = nextGeneration.load(ordering: .relaxed)
            #if DEBUG
            debugChecks.require(
                generation > word >> Self.stateShift,
                "beginFrame: generation \(generation) for slot \(slot), which carried generation \(word >> Self.stateShift)")
            #endif
            nextGeneration.store(generation &+ 1, ordering: .relaxed)
            state.store(Self.stateWord(generation, .writing), ordering: .relaxed)
            return WriteLease(handle: FrameHandle(slot: slot, generation: generation))
        }
        return nil
    }

    /// Claims a free slot, waiting (futex, no polling) up to `timeoutNanos` for the reader to release
    /// one. This is the `fifo` backpressure; under `latest` a slot is free unless the reader holds
    /// all but one.
    public func beginFrame(timeoutNanos: UInt64) -> WriteLease? {
        #if DEBUG
        let tookRole = schedulerRole.enter(debugChecks)
        defer { schedulerRole.leave(tookRole) }
        #endif
        if let lease = beginFrame() { return lease }
        return block(
            until: monotonicNanos() &+ timeoutNanos, flag: writerWaiting,
            longestSleepNanos: policy == .latest ? Self.latestWriterRecheckNanos : .max,
            futex: { (releaseSequenceWord, releaseSequence.load(ordering: .sequentiallyConsistent)) },
            attempt: { beginFrame() })
    }

    /// The one waiting protocol of both sides: read the futex word's value, raise our flag, re-try,
    /// and sleep only if the value is unchanged. The other side changes the word, then wakes us only
    /// if it sees the flag — so a side nobody waits for never makes a syscall.
    private func block<Value: ~Copyable>(
        until deadline: UInt64, flag: UnsafeAtomic<UInt32>, longestSleepNanos: UInt64,
        futex: () -> (word: UnsafePointer<UInt32>, expected: UInt32), attempt: () -> Value?
    ) -> Value? {
        while true {
            let (word, expected) = futex()
            flag.store(1, ordering: .sequentiallyConsistent)
            // `attempt` loads with acquire only; the fence makes flag-store → re-try a sequentially
            // consistent pair, as Dekker's pattern needs (waiting path only).
            atomicMemoryFence(ordering: .sequentiallyConsistent)
            if let value = attempt() {
                flag.store(0, ordering: .relaxed)
                return value
            }
            let now = monotonicNanos()
            guard now < deadline else {
                flag.store(0, ordering: .relaxed)
                return nil
            }
            fp_futex_wait_timeout(word, expected, min(deadline - now, longestSleepNanos))
            flag.store(0, ordering: .relaxed)
            if let value = attempt() { return value }
        }
    }

    // MARK: Publishers

    /// Gives the lease holder its slot's bytes.
    public func withWritableBytes<Result>(
        _ lease: borrowing WriteLease, _ body: (UnsafeMutableRawBufferPointer) throws -> Result
    ) rethrows -> Result {
        #if DEBUG
        requireState(lease.handle, .writing, "withWritableBytes of")
        #endif
        return try body(UnsafeMutableRawBufferPointer(start: payload + lease.handle.slot * slotStride, count: slotByteCount))
    }

    /// Copies `bytes` into the leased slot at `offset`, after checking the range lies inside it.
    public func write(
        _ lease: borrowing WriteLease, at offset: Int, from bytes: UnsafeRawBufferPointer
    ) throws(HandoffError) {
        #if DEBUG
        requireState(lease.handle, .writing, "write into")
        #endif
        try copy(into: lease.handle, at: offset, from: bytes)
    }

    /// Copies one tile's bytes into a shared frame, after checking the frame is still being written
    /// and the range lies inside the slot.
    public func write(_ frame: SharedFrame, at offset: Int, from bytes: UnsafeRawBufferPointer) throws(HandoffError) {
        guard slotState(frame.handle.slot).load(ordering: .relaxed) == Self.stateWord(frame.handle.generation, .writing)
        else {
            staleCount.wrappingIncrement(ordering: .relaxed)
            throw .stale(frame.handle)
        }
        try copy(into: frame.handle, at: offset, from: bytes)
    }

    private func copy(into handle: FrameHandle, at offset: Int, from bytes: UnsafeRawBufferPointer) throws(HandoffError) {
        guard offset >= 0, bytes.count <= slotByteCount, offset <= slotByteCount - bytes.count else {
            throw .outOfBounds(offset: offset, count: bytes.count, slotByteCount: slotByteCount)
        }
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        (payload + handle.slot * slotStride + offset).copyMemory(from: source, byteCount: bytes.count)
    }

    /// Publishes a frame written by one thread. Under `latest`, returns the handle of the unread
    /// frame it replaced (dropped), if any.
    @discardableResult
    public func publish(_ lease: consuming WriteLease) -> FrameHandle? {
        publishSlot(lease.handle)
    }

    /// Ends a lease without publishing (superseded, kernel reloaded, failed compute).
    public func cancel(_ lease: consuming WriteLease) {
        let handle = lease.handle
        #if DEBUG
        requireState(handle, .writing, "cancel of")
        #endif
        freeSlot(handle)
    }

    /// Turns a lease into a frame that `tileCount` workers fill; the last `completeTile` publishes it.
    public func share(_ lease: consuming WriteLease, tiles tileCount: Int) -> SharedFrame {
        let handle = lease.handle
        #if DEBUG
        requireState(handle, .writing, "share of")
        #endif
        let tiles = max(1, tileCount)
        // Relaxed: the frame reaches the workers through whatever hands them work, which orders this.
        tileCountdown(handle.slot).store(UInt64(tiles), ordering: .relaxed)
        return SharedFrame(handle: handle, tileCount: tiles)
    }

    /// Marks one tile done. The call that completes the last tile publishes the frame (or frees its
    /// slot if the frame was cancelled).
    public func completeTile(_ frame: SharedFrame) -> TileOutcome {
        guard slotState(frame.handle.slot).load(ordering: .relaxed) == Self.stateWord(frame.handle.generation, .writing)
        else {
            staleCount.wrappingIncrement(ordering: .relaxed)
            return .stale
        }
        // Acquiring-and-releasing: every worker's tile writes happen-before the last decrement, whose
        // thread then publishes them all.
        let previous = tileCountdown(frame.handle.slot).loadThenWrappingDecrement(ordering: .acquiringAndReleasing)
        #if DEBUG
        debugChecks.require(
            (1...UInt64(frame.tileCount)).contains(previous & ~Self.cancelledBit),
            "completeTile \(frame.handle): more tiles completed than its \(frame.tileCount)")
        #endif
        let remaining = (previous & ~Self.cancelledBit) &- 1
        guard remaining == 0 else { return .pending }
        if previous & Self.cancelledBit != 0 {
            freeSlot(frame.handle)
            return .cancelled
        }
        _ = publishSlot(frame.handle)
        return .published
    }

    /// Cancels a shared frame: workers should stop computing its tiles (`isCancelled`), and the last
    /// `completeTile` frees the slot instead of publishing. Returns false when the frame was already
    /// complete (published) or is stale.
    @discardableResult
    public func cancel(_ frame: SharedFrame) -> Bool {
        guard slotState(frame.handle.slot).load(ordering: .relaxed) == Self.stateWord(frame.handle.generation, .writing)
        else { return false }
        let previous = tileCountdown(frame.handle.slot).loadThenBitwiseOr(
            with: Self.cancelledBit, ordering: .acquiringAndReleasing)
        return previous & ~Self.cancelledBit != 0
    }

    /// Whether remaining tiles of this frame can be skipped (they must still be completed).
    public func isCancelled(_ frame: SharedFrame) -> Bool {
        tileCountdown(frame.handle.slot).load(ordering: .relaxed) & Self.cancelledBit != 0
    }

    /// Returns a slot to the scheduler and wakes a writer blocked on backpressure.
    ///
    /// `fifo`: the writer blocks by design, so the free store is sequentially consistent: with the
    /// writer's sequentially consistent flag store this is Dekker's pattern, and no wake-up is lost.
    /// `latest`: the writer blocks only when the reader holds all but one slot, so the hot path keeps
    /// a plain releasing store; a blocked `latest` writer re-checks every millisecond instead.
    @inline(__always)
    private func freeSlot(_ handle: FrameHandle) {
        let word = Self.stateWord(handle.generation, .free)
        switch policy {
        case .fifo: slotState(handle.slot).store(word, ordering: .sequentiallyConsistent)
        case .latest: slotState(handle.slot).store(word, ordering: .releasing)
        }
        if writerWaiting.load(ordering: .sequentiallyConsistent) != 0 {
            releaseSequence.wrappingIncrement(ordering: .sequentiallyConsistent)
            fp_futex_wake_all(releaseSequenceWord)
        }
    }

    /// Longest single futex sleep of a blocked writer under `latest` (see `freeSlot`).
    static let latestWriterRecheckNanos: UInt64 = 1_000_000

    private func publishSlot(_ handle: FrameHandle) -> FrameHandle? {
        #if DEBUG
        requireState(handle, .writing, "publish of")
        #endif
        bump(.published, handle.slot)
        switch policy {
        case .latest:
            slotState(handle.slot).store(Self.stateWord(handle.generation, .ready), ordering: .relaxed)
            // Releasing: the payload happens-before the reader's acquiring exchange of this value.
            // Sequentially consistent so that it orders against the reader-waiting check below.
            let previous = latest.exchange(Self.latestWord(handle), ordering: .sequentiallyConsistent)
            var dropped: FrameHandle?
            if previous != 0 {
                // The reader never saw it and never will: this exchange made us its owner.
                let replaced = Self.handle(fromLatest: previous)
                #if DEBUG
                requireState(replaced, .ready, "dropping the replaced")
                #endif
                bump(.dropped, replaced.slot)
                freeSlot(replaced)
                dropped = replaced
            }
            // Dekker with `waitForFrame`: the exchange above and this load are sequentially
            // consistent, so either the reader's re-check sees the frame or we see its flag.
            if readerWaiting.load(ordering: .sequentiallyConsistent) != 0 {
                fp_futex_wake_all(latestLowWord)
            }
            return dropped
        case .fifo:
            // Releasing: the payload happens-before the reader's acquiring load of the state word.
            slotState(handle.slot).store(Self.stateWord(handle.generation, .ready), ordering: .releasing)
            publishSequence.wrappingIncrement(ordering: .sequentiallyConsistent)
            if readerWaiting.load(ordering: .sequentiallyConsistent) != 0 {
                fp_futex_wake_all(publishSequenceWord)
            }
            return nil
        }
    }

    // MARK: Reader

    /// Takes the next frame for this policy: the newest published one (`latest`) or the oldest
    /// unread one (`fifo`); nil when there is none.
    public func acquire() -> ReadLease? {
        #if DEBUG
        let tookRole = readerRole.enter(debugChecks)
        defer { readerRole.leave(tookRole) }
        #endif
        switch policy {
        case .latest: return acquireLatest()
        case .fifo: return acquireOldest()
        }
    }

    /// `latest`: the newest published frame, or nil when nothing new was published.
    public func acquireLatest() -> ReadLease? {
        #if DEBUG
        let tookRole = readerRole.enter(debugChecks)
        defer { readerRole.leave(tookRole) }
        #endif
        while true {
            // A plain load first: an empty check must not take the cache line from the publisher.
            guard latest.load(ordering: .relaxed) != 0 else { return nil }
            let word = latest.exchange(0, ordering: .acquiringAndReleasing)
            guard word != 0 else { return nil }
            let handle = Self.handle(fromLatest: word)
            // Tiled frames may finish out of order; the reader keeps generations strictly increasing
            // by dropping a frame older than one it already took.
            guard handle.generation > lastAcquired.load(ordering: .relaxed) else {
                #if DEBUG
                requireState(handle, .ready, "dropping the out-of-order")
                #endif
                bump(.dropped, handle.slot)
                freeSlot(handle)
                continue
            }
            return take(handle)
        }
    }

    /// `fifo`: the oldest published, unread frame — unless an older frame is still being written,
    /// in which case the reader waits for it (nil), so frames are read in generation order.
    func acquireOldest() -> ReadLease? {
        #if DEBUG
        let tookRole = readerRole.enter(debugChecks)
        defer { readerRole.leave(tookRole) }
        #endif
        let after = lastAcquired.load(ordering: .relaxed)
        var candidate: FrameHandle?
        for slot in 0..<slotCount {
            let word = slotState(slot).load(ordering: .acquiring)
            let generation = word >> Self.stateShift
            if word & Self.stateMask == SlotState.ready.rawValue, generation > after,
                generation < candidate?.generation ?? .max
            {
                candidate = FrameHandle(slot: slot, generation: generation)
            }
        }
        guard let candidate else { return nil }
        // Second pass, after the acquiring load that saw the candidate ready: any older frame claimed
        // before it is visible now, and must be published first.
        for slot in 0..<slotCount where slot != candidate.slot {
            let word = slotState(slot).load(ordering: .acquiring)
            let generation = word >> Self.stateShift
            let state = word & Self.stateMask
            if generation > after, generation < candidate.generation,
                state == SlotState.writing.rawValue || state == SlotState.ready.rawValue
            {
                return nil
            }
        }
        return take(candidate)
    }

    @inline(__always)
    private func take(_ handle: FrameHandle) -> ReadLease {
        #if DEBUG
        requireState(handle, .ready, "acquiring")
        let last = lastAcquired.load(ordering: .relaxed)
        debugChecks.require(
            handle.generation > last, "acquiring \(handle) after generation \(last): generations must increase")
        #endif
        // The reader owns this slot now; mark it for `isValid` and `release`.
        slotState(handle.slot).store(Self.stateWord(handle.generation, .reading), ordering: .relaxed)
        lastAcquired.store(handle.generation, ordering: .relaxed)
        return ReadLease(handle: handle)
    }

    /// Waits until a frame can be acquired (futex, no polling) or `timeoutNanos` passes.
    public func waitForFrame(timeoutNanos: UInt64) -> ReadLease? {
        #if DEBUG
        let tookRole = readerRole.enter(debugChecks)
        defer { readerRole.leave(tookRole) }
        #endif
        if let lease = acquire() { return lease }
        return block(
            until: monotonicNanos() &+ timeoutNanos, flag: readerWaiting, longestSleepNanos: .max,
            futex: {
                switch policy {
                // The low half of `latest` is 0 exactly while no frame waits.
                case .latest: return (latestLowWord, 0)
                case .fifo: return (publishSequenceWord, publishSequence.load(ordering: .sequentiallyConsistent))
                }
            },
            attempt: { acquire() })
    }

    /// Gives the reader an acquired slot's bytes, after checking the lease is current.
    public func withReadableBytes<Result>(
        _ lease: ReadLease, _ body: (UnsafeRawBufferPointer) throws -> Result
    ) throws -> Result {
        #if DEBUG
        let tookRole = readerRole.enter(debugChecks)
        defer { readerRole.leave(tookRole) }
        #endif
        guard slotState(lease.handle.slot).load(ordering: .relaxed) == Self.stateWord(lease.handle.generation, .reading)
        else {
            staleCount.wrappingIncrement(ordering: .relaxed)
            throw HandoffError.stale(lease.handle)
        }
        return try body(
            UnsafeRawBufferPointer(start: payload + lease.handle.slot * slotStride, count: slotByteCount))
    }

    /// Returns the slot to the writer (may be called later, e.g. from a GPU fence callback, on the
    /// reader's side). A lease released twice, or otherwise stale, is rejected and counted.
    public func release(_ lease: ReadLease) throws(HandoffError) {
        #if DEBUG
        let tookRole = readerRole.enter(debugChecks)
        defer { readerRole.leave(tookRole) }
        #endif
        let state = slotState(lease.handle.slot)
        // No read-modify-write needed: while a slot is `reading`, only the reader changes its word.
        guard state.load(ordering: .relaxed) == Self.stateWord(lease.handle.generation, .reading) else {
            staleCount.wrappingIncrement(ordering: .relaxed)
            throw .stale(lease.handle)
        }
        freeSlot(lease.handle)
    }

    // MARK: Anyone

    /// True while the slot still carries this handle's generation in a published state.
    public func isValid(_ handle: FrameHandle) -> Bool {
        guard (0..<slotCount).contains(handle.slot) else { return false }
        let word = slotState(handle.slot).load(ordering: .acquiring)
        return word == Self.stateWord(handle.generation, .ready) || word == Self.stateWord(handle.generation, .reading)
    }

    /// Checks a handle before use (e.g. before binding it for the GPU), counting it when stale.
    public func validate(_ handle: FrameHandle) -> Bool {
        if isValid(handle) { return true }
        staleCount.wrappingIncrement(ordering: .relaxed)
        return false
    }

    /// Whether a writer is inside `beginFrame(timeoutNanos:)`'s wait for a free slot (tests wait for it).
    var isWriterWaiting: Bool { writerWaiting.load(ordering: .sequentiallyConsistent) != 0 }

    /// Ends the ring's use of its payload: every slot becomes `retired` (never claimed, published or
    /// acquired again; old handles are stale) and a lent payload's owner is let go here, on the calling
    /// thread, so the owner's teardown (the renderer's Vulkan objects) runs on the thread that chose
    /// it, not on whichever thread drops the ring last. Call it from the reader's thread once the
    /// compute side has stopped (no scheduler or publisher call runs or follows). Returns false, and
    /// changes nothing, while a slot is still leased (`writing` or `reading`): the ring then keeps the
    /// owner until deinit. Frames published and never read count as dropped.
    @discardableResult
    public func retire() -> Bool {
        #if DEBUG
        let tookReader = readerRole.enter(debugChecks)
        let tookScheduler = schedulerRole.enter(debugChecks)
        defer {
            schedulerRole.leave(tookScheduler)
            readerRole.leave(tookReader)
        }
        #endif
        for slot in 0..<slotCount {
            let state = slotState(slot).load(ordering: .acquiring) & Self.stateMask
            if state == SlotState.writing.rawValue || state == SlotState.reading.rawValue { return false }
        }
        latest.store(0, ordering: .relaxed)
        for slot in 0..<slotCount {
            let word = slotState(slot).load(ordering: .relaxed)
            if word & Self.stateMask == SlotState.ready.rawValue { bump(.dropped, slot) }
            // Releasing: whoever sees `retired` also sees everything before it.
            slotState(slot).store(Self.stateWord(word >> Self.stateShift, .retired), ordering: .releasing)
        }
        payloadOwner = nil
        return true
    }

    /// Whether `retire` has ended the ring.
    var isRetired: Bool {
        slotState(0).load(ordering: .acquiring) & Self.stateMask == SlotState.retired.rawValue
    }

    public var counters: HandoffCounters {
        HandoffCounters(
            published: total(.published), dropped: total(.dropped),
            staleRejected: staleCount.load(ordering: .relaxed))
    }
}

/// The calling thread's CPU time in nanoseconds (CLOCK_THREAD_CPUTIME_ID): time it ran, not time it waited or was
/// preempted. A system call, not a vDSO read: about 1 µs here, so it is read only where that is negligible.
public func threadCPUNanos() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
    return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
}

/// CLOCK_MONOTONIC in nanoseconds: the clock every Framepipe timestamp uses.
@inline(__always)
public func monotonicNanos() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
}
