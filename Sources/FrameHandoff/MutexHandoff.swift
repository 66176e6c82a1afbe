// The same handoff protocol as `SlotRing` (policy `latest`) behind one mutex. Kept only as the
// baseline the benchmark compares the lock-free ring against; nothing in the pipeline uses it.
//
// Unsafe pointer invariants of this file: `payload` holds `slotCount` slots of `slotStride` bytes,
// allocated in init and freed in deinit; slot bytes are exposed only to the holder of a lease,
// whose state the mutex-protected table confirms.
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

public final class MutexHandoff: Sendable {
    private struct Table {
        var states: [SlotState]
        var generations: [UInt64]
        var latest: FrameHandle?
        var nextGeneration: UInt64 = 1
        var published: UInt64 = 0
        var dropped: UInt64 = 0
        var staleRejected: UInt64 = 0
    }

    public let slotCount: Int
    public let slotByteCount: Int
    private let slotStride: Int
    private nonisolated(unsafe) let payload: UnsafeMutableRawPointer
    private let table: Mutex<Table>

    public init(slotCount: Int = 3, slotByteCount: Int) throws(SlotRing.SetupError) {
        guard (3...8).contains(slotCount) else { throw .badSlotCount(slotCount) }
        guard slotByteCount > 0 else { throw .badSlotSize(slotByteCount) }
        let page = SlotRing.pageSize
        self.slotCount = slotCount
        self.slotByteCount = slotByteCount
        self.slotStride = (slotByteCount + page - 1) / page * page
        self.payload = UnsafeMutableRawPointer.allocate(byteCount: slotStride * slotCount, alignment: page)
        self.table = Mutex(
            Table(states: Array(repeating: .free, count: slotCount), generations: Array(repeating: 0, count: slotCount)))
    }

    deinit { payload.deallocate() }

    public func beginFrame() -> WriteLease? {
        table.withLock { table in
            guard let slot = table.states.firstIndex(of: .free) else { return nil }
            let generation = table.nextGeneration
            table.nextGeneration += 1
            table.states[slot] = .writing
            table.generations[slot] = generation
            return WriteLease(handle: FrameHandle(slot: slot, generation: generation))
        }
    }

    public func withWritableBytes<Result>(
        _ lease: borrowing WriteLease, _ body: (UnsafeMutableRawBufferPointer) throws -> Result
    ) rethrows -> Result {
        try body(UnsafeMutableRawBufferPointer(start: payload + lease.handle.slot * slotStride, count: slotByteCount))
    }

    @discardableResult
    public func publish(_ lease: consuming WriteLease) -> FrameHandle? {
        let handle = lease.handle
        return table.withLock { table in
            table.states[handle.slot] = .ready
            table.published += 1
            let replaced = table.latest
            if let replaced {
                table.states[replaced.slot] = .free
                table.dropped += 1
            }
            table.latest = handle
            return replaced
        }
    }

    public func acquireLatest() -> ReadLease? {
        table.withLock { table in
            guard let handle = table.latest else { return nil }
            table.latest = nil
            table.states[handle.slot] = .reading
            return ReadLease(handle: handle)
        }
    }

    public func withReadableBytes<Result>(
        _ lease: ReadLease, _ body: (UnsafeRawBufferPointer) throws -> Result
    ) throws -> Result {
        let current = table.withLock { table in
            table.states[lease.handle.slot] == .reading && table.generations[lease.handle.slot] == lease.handle.generation
        }
        guard current else { throw HandoffError.stale(lease.handle) }
        return try body(UnsafeRawBufferPointer(start: payload + lease.handle.slot * slotStride, count: slotByteCount))
    }

    public func release(_ lease: ReadLease) throws(HandoffError) {
        let released = table.withLock { table in
            guard table.states[lease.handle.slot] == .reading,
                table.generations[lease.handle.slot] == lease.handle.generation
            else {
                table.staleRejected += 1
                return false
            }
            table.states[lease.handle.slot] = .free
            return true
        }
        guard released else { throw .stale(lease.handle) }
    }

    public var counters: HandoffCounters {
        table.withLock { HandoffCounters(published: $0.published, dropped: $0.dropped, staleRejected: $0.staleRejected) }
    }
}
