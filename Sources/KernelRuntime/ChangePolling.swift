import Foundation
import Synchronization

/// What `--watch` (KernelFileWatcher) and `view --build` (SourceRebuilder, in Framepipe) share: a thread of their
/// own that polls a snapshot of some files every interval, and a change acted on only once it has held for one
/// more interval, so a file an editor or a build is still writing is not read half-done.

/// A change of a polled snapshot, reported once it has held for one more poll.
public struct SettledChange<Snapshot: Equatable & Sendable>: Sendable {
    /// The snapshot last acted on.
    public var acted: Snapshot
    private var candidate: Snapshot?

    public init(_ acted: Snapshot) { self.acted = acted }

    /// `now` when it differs from `acted` and equals the previous poll's (then it becomes `acted`); nil otherwise.
    public mutating func observe(_ now: Snapshot) -> Snapshot? {
        guard now != acted else {
            candidate = nil
            return nil
        }
        guard candidate == now else {
            candidate = now
            return nil
        }
        candidate = nil
        acted = now
        return now
    }

    /// Forgets a change still settling (a poll that saw nothing usable).
    public mutating func reset() { candidate = nil }
}

/// A named thread that calls `poll` every `interval` until `stop()`; `stop` waits for a poll in progress to end.
public final class PollingThread: Sendable {
    private let name: String
    private let loop: @Sendable (_ stopRequested: @Sendable () -> Bool) -> Void
    private let stopRequested = Atomic<Bool>(false)
    private let startedFlag = Atomic<Bool>(false)
    private let exited = DispatchSemaphore(value: 0)

    /// `poll` runs on the thread only, with `state` kept there between polls.
    public init<State: Sendable>(
        name: String, interval: Duration, state: State, poll: @escaping @Sendable (inout State) -> Void
    ) {
        self.name = name
        let (seconds, attoseconds) = interval.components
        let micros = max(UInt32(clamping: seconds * 1_000_000 + attoseconds / 1_000_000_000_000), 1000)
        self.loop = { stopRequested in
            var state = state
            while !stopRequested() {
                usleep(micros)
                poll(&state)
            }
        }
    }

    public func start() {
        guard !startedFlag.exchange(true, ordering: .relaxed) else { return }
        let thread = Thread { [self] in
            // Foundation on Linux applies a name only when the thread sets it on itself.
            Thread.current.name = name
            loop { self.stopRequested.load(ordering: .relaxed) }
            exited.signal()
        }
        thread.start()
    }

    /// No poll starts after this; one in progress runs to its end.
    public func requestStop() { stopRequested.store(true, ordering: .relaxed) }

    public func stop() {
        requestStop()
        if startedFlag.load(ordering: .relaxed) {
            exited.wait()
            exited.signal()
        }
    }
}
