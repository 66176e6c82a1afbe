import Foundation

/// A value behind a pthread mutex (`NSLock`). Used instead of the standard library's
/// `Synchronization.Mutex` for one reason: on Linux `Mutex` locks with raw futex calls inside the
/// (uninstrumented) standard library, so ThreadSanitizer cannot see its happens-before edges and
/// reports every access under it as a race; `pthread_mutex_*` is intercepted by TSan. Only the
/// pool's rare paths (reload, faults, the report) take these locks — never a tile.
final class Locked<Value>: @unchecked Sendable {
    // @unchecked: `value` is only touched between lock() and unlock().
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure) -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
