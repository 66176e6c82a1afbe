// Debug-build checks of the handoff's rules: slot state transitions, tile tickets, and the thread
// roles the lock-free types are written for (one scheduler, one reader, one opener, one producer,
// one consumer at a time). Everything here, and every call to it, is compiled only with DEBUG, so a
// release build runs the hot path exactly as written (docs/performance.md has the A/B figures).
// docs/architecture.md lists what each type checks.
#if DEBUG
import Atomics

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a debug check does when a rule is broken: stops the process (`assertionFailure`) unless a
/// test installed a recorder. One per ring or queue; set `onViolation` before the object is shared.
final class HandoffChecks: @unchecked Sendable {
    // @unchecked: `onViolation` is set once, before other threads see the object (tests only).
    var onViolation: @Sendable (String) -> Void = { assertionFailure("handoff rule broken: \($0)") }

    @inline(__always)
    func require(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { onViolation(message()) }
    }
}

/// A role that at most one thread plays at a time (the design's "one thread at a time": the role may
/// move between threads, never be played by two at once). A call of the role `enter`s it and `leave`s
/// it on return; a nested call by the same thread (e.g. `waitForFrame` → `acquire`) is allowed.
final class ThreadRole: Sendable {
    let name: String
    /// The thread playing the role now (`currentThreadID`), 0 while nobody does.
    private let occupant = ManagedAtomic<UInt>(0)

    init(_ name: String) { self.name = name }

    /// Takes the role for the calling thread. Returns true when this call took it (and must `leave`),
    /// false for a nested call or a violation (reported to `checks`).
    func enter(_ checks: HandoffChecks) -> Bool {
        let me = currentThreadID()
        let (taken, holder) = occupant.compareExchange(expected: 0, desired: me, ordering: .acquiring)
        if taken { return true }
        checks.require(holder == me, "two threads act as \(name) at once (threads \(holder) and \(me))")
        return false
    }

    /// Whether some thread plays the role now.
    var isPlayed: Bool { occupant.load(ordering: .acquiring) != 0 }

    func leave(_ took: Bool) {
        if took { occupant.store(0, ordering: .releasing) }
    }
}

/// A non-zero identity of the calling thread.
@inline(__always)
func currentThreadID() -> UInt {
    #if canImport(Glibc)
    return UInt(pthread_self())
    #else
    return UInt(bitPattern: Int(bitPattern: pthread_self()))
    #endif
}
#endif
