// The slot ring: the one place compute workers hand finished frames to the renderer.
//
// Memory layout (one page-aligned metadata block, then one page-aligned payload block):
//   metadata line 0      `latest`: the newest published, not yet acquired frame (0 = none)
//   metadata line 1      writer side: next generation, frames published, frames dropped, publish sequence
//   metadata line 2      reader side: stale rejections, release sequence, waiter flags
//   metadata line 3 + i  state word of slot i: (generation << 3) | SlotState
//   payload              N slots of `slotByteCount` bytes, each starting on a page boundary
// Each group above sits on its own 128-byte line (two 64-byte lines: adjacent-line prefetch) so that
// the writer and the reader never false-share.
//
// Ownership — who may touch a slot's payload, by state:
//   free     the writer may claim it (free → writing); nobody reads or writes its bytes
//   writing  only the writer (the lease holder) writes its bytes
//   ready    nobody writes; it is owned by whoever takes it out of `latest` by an atomic exchange:
//            the reader (acquire) or the writer (replaced by a newer publish: dropped → free)
//   reading  only the reader reads its bytes, until it releases the lease (ready → free)
// Each published `latest` value is taken by exactly one exchange, so a slot has exactly one owner.
//
// Unsafe pointer invariants of this file:
//   - `metadata` and `payload` are allocated in init and freed in deinit; no pointer into them escapes
//     a lease-scoped closure (`withWritableBytes`, `withReadableBytes`), and a lease is checked
//     against its slot's state word before its bytes are exposed.
//   - every atomic lives in `metadata` at a fixed offset and is initialised before the ring is shared.
import Atomics
import CSystemShim

#if canImport(Glibc)
import Glibc
#endif

/// What happens when the writer publishes while the previous frame is still unread.
public enum HandoffPolicy: String, Sendable, CaseIterable {
    /// The writer never blocks; an unread frame that is replaced is counted as dropped.
    case latest
}

/// A frame's identity across the handoff: which slot, and which generation it carried.
public struct FrameHandle: Hashable, Sendable, CustomStringConvertible {
    public let slot: Int
    public let generation: UInt64
    public var description: String { "(slot \(slot), generation \(generation))" }
}

/// The writer's right to fill one slot with one generation. Not copyable: a lease is ended exactly
/// once, by `publish` or `cancel`.
public struct WriteLease: ~Copyable, Sendable {
    public let handle: FrameHandle
}

/// The reader's right to read one published frame until `release`.
public struct ReadLease: Sendable, Hashable {
    public let handle: FrameHandle
}

/// Result of operations that take a handle which may have gone stale.
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

/// Counters a caller can read at any time (relaxed: they are statistics, not synchronisation).
public struct HandoffCounters: Sendable, Equatable {
    public var published: UInt64
    public var dropped: UInt64
    public var staleRejected: UInt64
}

enum SlotState: UInt64 {
    case free = 0, writing = 1, ready = 2, reading = 3
}

/// Single writer, single reader slot ring (policy `latest`). The writer side (`beginFrame`,
/// `publish`, `cancel`, `withWritableBytes`) must be used from one thread at a time; so must the
/// reader side (`acquireLatest`, `waitForFrame`, `release`, `withReadableBytes`). `isValid` and the
/// counters may be called from anywhere.
public final class SlotRing: @unchecked Sendable {
    // @unchecked: all shared mutable state is in `metadata` and accessed only through atomics; the
    // payload is guarded by the slot state machine described at the top of this file.

    public let slotCount: Int
    public let slotByteCount: Int
    public let policy: HandoffPolicy
    /// Distance between the starts of two slots: `slotByteCount` rounded up to a page.
    public let slotStride: Int

    static let lineBytes = 128
    static let stateShift: UInt64 = 3
    static let stateMask: UInt64 = 0b111

    private let metadata: UnsafeMutableRawPointer
    private let payload: UnsafeMutableRawPointer

    // Line 0.
    private let latest: UnsafeAtomic<UInt64>
    // Line 1 (writer side).
    private let nextGeneration: UnsafeAtomic<UInt64>
    private let publishedCount: UnsafeAtomic<UInt64>
    private let droppedCount: UnsafeAtomic<UInt64>
    private let publishSequence: UnsafeAtomic<UInt32>
    // Line 2 (reader side).
    private let staleCount: UnsafeAtomic<UInt64>
    private let readerWaiting: UnsafeAtomic<UInt32>

    public enum SetupError: Error, Equatable, CustomStringConvertible {
        case badSlotCount(Int)
        case badSlotSize(Int)
        case outOfMemory(Int)
        public var description: String {
            switch self {
            case .badSlotCount(let n): return "slot count \(n) is outside 3...8"
            case .badSlotSize(let n): return "slot size \(n) bytes must be positive"
            case .outOfMemory(let n): return "cannot allocate \(n) bytes for the slot ring"
            }
        }
    }

    public init(slotCount: Int = 3, slotByteCount: Int, policy: HandoffPolicy = .latest) throws(SetupError) {
        guard (3...8).contains(slotCount) else { throw .badSlotCount(slotCount) }
        guard slotByteCount > 0 else { throw .badSlotSize(slotByteCount) }
        let page = max(Int(sysconf(Int32(_SC_PAGESIZE))), 4096)
        self.slotCount = slotCount
        self.slotByteCount = slotByteCount
        self.policy = policy
        self.slotStride = (slotByteCount + page - 1) / page * page

        let metadataBytes = (3 + slotCount) * Self.lineBytes
        var metadataMemory: UnsafeMutableRawPointer?
        guard posix_memalign(&metadataMemory, page, metadataBytes) == 0, let metadataMemory else {
            throw .outOfMemory(metadataBytes)
        }
        let (payloadBytes, overflow) = slotStride.multipliedReportingOverflow(by: slotCount)
        var payloadMemory: UnsafeMutableRawPointer?
        guard !overflow, posix_memalign(&payloadMemory, page, payloadBytes) == 0, let payloadMemory else {
            free(metadataMemory)
            throw .outOfMemory(payloadBytes)
        }
        memset(payloadMemory, 0, payloadBytes)
        memset(metadataMemory, 0, metadataBytes)
        self.metadata = metadataMemory
        self.payload = payloadMemory

        func atomic64(line: Int, word: Int) -> UnsafeAtomic<UInt64> {
            let storage = (metadataMemory + line * Self.lineBytes + word * 8)
                .bindMemory(to: UnsafeAtomic<UInt64>.Storage.self, capacity: 1)
            storage.initialize(to: .init(0))
            return UnsafeAtomic(at: storage)
        }
        func atomic32(line: Int, word: Int) -> UnsafeAtomic<UInt32> {
            let storage = (metadataMemory + line * Self.lineBytes + word * 8)
                .bindMemory(to: UnsafeAtomic<UInt32>.Storage.self, capacity: 1)
            storage.initialize(to: .init(0))
            return UnsafeAtomic(at: storage)
        }
        latest = atomic64(line: 0, word: 0)
        nextGeneration = atomic64(line: 1, word: 0)
        publishedCount = atomic64(line: 1, word: 1)
        droppedCount = atomic64(line: 1, word: 2)
        publishSequence = atomic32(line: 1, word: 3)
        staleCount = atomic64(line: 2, word: 0)
        readerWaiting = atomic32(line: 2, word: 1)
        for slot in 0..<slotCount { _ = atomic64(line: 3 + slot, word: 0) }
        // Generation 0 is reserved for "never written", so the first frame is generation 1.
        nextGeneration.store(1, ordering: .relaxed)
    }

    deinit {
        free(payload)
        free(metadata)
    }

    private func slotState(_ slot: Int) -> UnsafeAtomic<UInt64> {
        UnsafeAtomic(
            at: (metadata + (3 + slot) * Self.lineBytes)
                .assumingMemoryBound(to: UnsafeAtomic<UInt64>.Storage.self))
    }

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

    // MARK: Writer side

    /// Claims a free slot for the next generation, or returns nil when every slot is held (the
    /// reader holds all but the one in `latest`). Under `latest` the writer never blocks.
    public func beginFrame() -> WriteLease? {
        for slot in 0..<slotCount {
            let state = slotState(slot)
            let word = state.load(ordering: .acquiring)  // pairs with the reader's releasing `release`
            guard word & Self.stateMask == SlotState.free.rawValue else { continue }
            // Only the writer moves a slot out of `free`, so no compare-and-swap is needed.
            let generation = nextGeneration.loadThenWrappingIncrement(ordering: .relaxed)
            state.store(Self.stateWord(generation, .writing), ordering: .relaxed)
            return WriteLease(handle: FrameHandle(slot: slot, generation: generation))
        }
        return nil
    }

    /// Gives the writer access to its slot's bytes.
    public func withWritableBytes<Result>(
        _ lease: borrowing WriteLease, _ body: (UnsafeMutableRawBufferPointer) throws -> Result
    ) rethrows -> Result {
        let start = payload + lease.handle.slot * slotStride
        return try body(UnsafeMutableRawBufferPointer(start: start, count: slotByteCount))
    }

    /// Copies `bytes` into the leased slot at `offset`, after checking the range lies inside it.
    public func write(
        _ lease: borrowing WriteLease, at offset: Int, from bytes: UnsafeRawBufferPointer
    ) throws(HandoffError) {
        guard offset >= 0, bytes.count <= slotByteCount, offset <= slotByteCount - bytes.count else {
            throw .outOfBounds(offset: offset, count: bytes.count, slotByteCount: slotByteCount)
        }
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        (payload + lease.handle.slot * slotStride + offset).copyMemory(from: source, byteCount: bytes.count)
    }

    /// Publishes the frame; a still-unread previous frame is reclaimed and counted as dropped.
    /// Returns the handle of the dropped frame, if any.
    @discardableResult
    public func publish(_ lease: consuming WriteLease) -> FrameHandle? {
        let handle = lease.handle
        slotState(handle.slot).store(Self.stateWord(handle.generation, .ready), ordering: .relaxed)
        // Releasing: the payload bytes happen-before the reader's acquiring exchange of this value.
        let previous = latest.exchange(Self.latestWord(handle), ordering: .acquiringAndReleasing)
        publishedCount.wrappingIncrement(ordering: .relaxed)
        var dropped: FrameHandle?
        if previous != 0 {
            // The reader never saw it, and never will: this exchange made the writer its owner.
            let replaced = Self.handle(fromLatest: previous)
            slotState(replaced.slot).store(Self.stateWord(replaced.generation, .free), ordering: .releasing)
            droppedCount.wrappingIncrement(ordering: .relaxed)
            dropped = replaced
        }
        // Dekker with `waitForFrame`: the sequence bump and the waiter check are sequentially
        // consistent, so either the reader's re-check sees the frame or we see its flag and wake it.
        publishSequence.wrappingIncrement(ordering: .sequentiallyConsistent)
        if readerWaiting.load(ordering: .sequentiallyConsistent) != 0 {
            fp_futex_wake_all(publishSequenceAddress)
        }
        return dropped
    }

    /// Ends a lease without publishing (superseded frame, kernel reloaded, failed compute).
    public func cancel(_ lease: consuming WriteLease) {
        let handle = lease.handle
        slotState(handle.slot).store(Self.stateWord(handle.generation, .free), ordering: .releasing)
    }

    // MARK: Reader side

    /// Takes the newest published frame, or nil when nothing new was published since the last one.
    public func acquireLatest() -> ReadLease? {
        // A plain load first: an empty check must not take the cache line away from the writer.
        guard latest.load(ordering: .relaxed) != 0 else { return nil }
        let word = latest.exchange(0, ordering: .acquiringAndReleasing)
        guard word != 0 else { return nil }
        let handle = Self.handle(fromLatest: word)
        // The reader owns this slot now (it took the only reference); mark it for `isValid`.
        slotState(handle.slot).store(Self.stateWord(handle.generation, .reading), ordering: .relaxed)
        return ReadLease(handle: handle)
    }

    /// Waits until a frame is published (futex, no polling) or `timeoutNanos` passes.
    public func waitForFrame(timeoutNanos: UInt64) -> ReadLease? {
        if let lease = acquireLatest() { return lease }
        let deadline = monotonicNanos() &+ timeoutNanos
        while true {
            let sequence = publishSequence.load(ordering: .sequentiallyConsistent)
            readerWaiting.store(1, ordering: .sequentiallyConsistent)
            if let lease = acquireLatest() {
                readerWaiting.store(0, ordering: .relaxed)
                return lease
            }
            let now = monotonicNanos()
            if now >= deadline {
                readerWaiting.store(0, ordering: .relaxed)
                return nil
            }
            fp_futex_wait_timeout(publishSequenceAddress, sequence, deadline - now)
            readerWaiting.store(0, ordering: .relaxed)
            if let lease = acquireLatest() { return lease }
        }
    }

    /// Gives the reader access to an acquired slot's bytes, after checking the lease is current.
    public func withReadableBytes<Result>(
        _ lease: ReadLease, _ body: (UnsafeRawBufferPointer) throws -> Result
    ) throws -> Result {
        guard slotState(lease.handle.slot).load(ordering: .relaxed)
            == Self.stateWord(lease.handle.generation, .reading)
        else {
            staleCount.wrappingIncrement(ordering: .relaxed)
            throw HandoffError.stale(lease.handle)
        }
        let start = UnsafeRawPointer(payload + lease.handle.slot * slotStride)
        return try body(UnsafeRawBufferPointer(start: start, count: slotByteCount))
    }

    /// Returns the slot to the writer. A lease released twice, or otherwise stale, is rejected and
    /// counted; the slot is left untouched.
    public func release(_ lease: ReadLease) throws(HandoffError) {
        let state = slotState(lease.handle.slot)
        let expected = Self.stateWord(lease.handle.generation, .reading)
        // Releasing: the reader's reads of the payload happen-before the writer's next claim.
        let (exchanged, _) = state.compareExchange(
            expected: expected, desired: Self.stateWord(lease.handle.generation, .free),
            ordering: .releasing)
        guard exchanged else {
            staleCount.wrappingIncrement(ordering: .relaxed)
            throw .stale(lease.handle)
        }
    }

    // MARK: Anywhere

    /// True while the slot still carries this handle's generation in a published state.
    public func isValid(_ handle: FrameHandle) -> Bool {
        guard (0..<slotCount).contains(handle.slot) else { return false }
        let word = slotState(handle.slot).load(ordering: .acquiring)
        return word == Self.stateWord(handle.generation, .ready)
            || word == Self.stateWord(handle.generation, .reading)
    }

    /// Checks a handle for use and counts it when it is stale.
    public func validate(_ handle: FrameHandle) -> Bool {
        if isValid(handle) { return true }
        staleCount.wrappingIncrement(ordering: .relaxed)
        return false
    }

    public var counters: HandoffCounters {
        HandoffCounters(
            published: publishedCount.load(ordering: .relaxed),
            dropped: droppedCount.load(ordering: .relaxed),
            staleRejected: staleCount.load(ordering: .relaxed))
    }

    private var publishSequenceAddress: UnsafePointer<UInt32> {
        UnsafePointer((metadata + 1 * Self.lineBytes + 3 * 8).assumingMemoryBound(to: UInt32.self))
    }
}

/// CLOCK_MONOTONIC in nanoseconds: the clock every Framepipe timestamp uses.
@inline(__always)
public func monotonicNanos() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
}
