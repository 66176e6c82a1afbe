// Bounded lock-free single-producer single-consumer ring: control messages (UI → pipeline) and
// telemetry events (workers → timing).
//
// Unsafe pointer invariants of this file:
//   - `storage` holds `capacity` elements, allocated in init, deinitialised and freed in deinit; no
//     pointer into it escapes.
//   - element i is written only by the producer while `tail - head < capacity` says it is free, and
//     read only by the consumer while `head < tail` says it is filled. The producer's releasing store
//     of `tail` publishes the element; the consumer's releasing store of `head` returns its cell.
//   - `head` and `tail` live on separate 128-byte lines, each with the other side's cached index,
//     so in the common case each side touches only its own line.
//
// Debug builds check the single-producer, single-consumer roles (HandoffChecks.swift): two threads
// inside `push` at once, or inside `pop`/`drain` at once, is reported.
import Atomics

#if canImport(Glibc)
import Glibc
#endif

public final class SPSCRing<Element: BitwiseCopyable>: @unchecked Sendable {
    // @unchecked: the producer/consumer protocol above guards `storage`; indices are atomics.

    public let capacity: Int
    private let mask: Int
    private let storage: UnsafeMutablePointer<Element>
    private let lines: UnsafeMutableRawPointer

    // Producer line: tail (published count), cached head, dropped count.
    private let tail: UnsafeAtomic<Int>
    private let producerCachedHead: UnsafeMutablePointer<Int>
    private let droppedCount: UnsafeAtomic<UInt64>
    // Consumer line: head (consumed count), cached tail.
    private let head: UnsafeAtomic<Int>
    private let consumerCachedTail: UnsafeMutablePointer<Int>

    #if DEBUG
    /// Debug builds only (HandoffChecks.swift).
    let debugChecks = HandoffChecks()
    let producerRole = ThreadRole("the SPSC ring's producer (push)")
    let consumerRole = ThreadRole("the SPSC ring's consumer (pop, drain)")
    #endif

    public enum SetupError: Error, Equatable {
        case capacityNotPowerOfTwo(Int)
    }

    /// `capacity` must be a power of two (index wrap-around is a mask), 2...2^30.
    public convenience init(capacity: Int) throws(SetupError) {
        guard capacity >= 2, capacity.nonzeroBitCount == 1, capacity <= 1 << 30 else {
            throw .capacityNotPowerOfTwo(capacity)
        }
        self.init(roundingUpTo: capacity)
    }

    /// A ring of at least `minimumCapacity` elements: the next power of two, clamped to 2...2^30.
    public init(roundingUpTo minimumCapacity: Int) {
        let clamped = min(max(minimumCapacity, 2), 1 << 30)
        let capacity = 1 << (Int.bitWidth - (clamped - 1).leadingZeroBitCount)
        self.capacity = capacity
        self.mask = capacity - 1
        self.storage = UnsafeMutablePointer<Element>.allocate(capacity: capacity)
        let lines = UnsafeMutableRawPointer.allocate(byteCount: 256, alignment: 128)
        memset(lines, 0, 256)
        self.lines = lines
        func atomicInt(_ offset: Int) -> UnsafeAtomic<Int> {
            let cell = (lines + offset).bindMemory(to: UnsafeAtomic<Int>.Storage.self, capacity: 1)
            cell.initialize(to: .init(0))
            return UnsafeAtomic(at: cell)
        }
        tail = atomicInt(0)
        producerCachedHead = (lines + 8).bindMemory(to: Int.self, capacity: 1)
        let dropped = (lines + 16).bindMemory(to: UnsafeAtomic<UInt64>.Storage.self, capacity: 1)
        dropped.initialize(to: .init(0))
        droppedCount = UnsafeAtomic(at: dropped)
        head = atomicInt(128)
        consumerCachedTail = (lines + 136).bindMemory(to: Int.self, capacity: 1)
    }

    deinit {
        storage.deallocate()
        lines.deallocate()
    }

    /// Producer: appends `element`, or counts it as dropped and returns false when the ring is full.
    /// Never blocks, never allocates.
    @discardableResult
    public func push(_ element: Element) -> Bool {
        #if DEBUG
        let tookRole = producerRole.enter(debugChecks)
        defer { producerRole.leave(tookRole) }
        #endif
        let position = tail.load(ordering: .relaxed)
        if position - producerCachedHead.pointee >= capacity {
            producerCachedHead.pointee = head.load(ordering: .acquiring)
            if position - producerCachedHead.pointee >= capacity {
                droppedCount.store(droppedCount.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
                return false
            }
        }
        (storage + (position & mask)).initialize(to: element)
        tail.store(position &+ 1, ordering: .releasing)
        return true
    }

    /// Consumer: takes the oldest element, or nil when the ring is empty.
    public func pop() -> Element? {
        #if DEBUG
        let tookRole = consumerRole.enter(debugChecks)
        defer { consumerRole.leave(tookRole) }
        #endif
        let position = head.load(ordering: .relaxed)
        if position == consumerCachedTail.pointee {
            consumerCachedTail.pointee = tail.load(ordering: .acquiring)
            if position == consumerCachedTail.pointee { return nil }
        }
        let element = (storage + (position & mask)).move()
        head.store(position &+ 1, ordering: .releasing)
        return element
    }

    /// Consumer: takes everything available now, oldest first.
    public func drain(_ body: (Element) -> Void) {
        #if DEBUG
        let tookRole = consumerRole.enter(debugChecks)
        defer { consumerRole.leave(tookRole) }
        #endif
        while let element = pop() { body(element) }
    }

    /// Elements refused because the ring was full (producer-written, readable anywhere).
    public var dropped: UInt64 { droppedCount.load(ordering: .relaxed) }

    /// Elements waiting (approximate while both sides run).
    public var count: Int { tail.load(ordering: .relaxed) - head.load(ordering: .relaxed) }
}
