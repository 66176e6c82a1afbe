import Foundation
import Synchronization

/// Watches a kernel file and reloads it into a pool when it changes (`--watch`).
///
/// Polls the file's modification time, size and inode every `interval` (4 stat calls a second cost
/// nothing measurable, and polling also sees files replaced by rename, which is how most editors and
/// build scripts save). A change is acted on once the file has stopped changing for one interval, so
/// a build still writing it is not read half-done. The new kernel is compiled, instantiated and
/// checked on this watcher's thread, off the hot path; the pool swaps it in at a frame boundary. A bad
/// file is refused with one log line and the old kernel keeps running.
public final class KernelFileWatcher: Sendable {
    public let path: String
    private let engine: any KernelEngine
    private let pool: ComputePool
    private let interval: Duration
    private let log: @Sendable (String) -> Void
    private let stopRequested = Atomic<Bool>(false)
    private let exited = DispatchSemaphore(value: 0)
    private let startedFlag = Atomic<Bool>(false)
    /// The file as it was when the watcher was made (right after the running kernel was loaded from
    /// it), so a change made before the watching thread gets going is still seen.
    private let initialFingerprint: Fingerprint?

    public init(
        path: String, engine: any KernelEngine, pool: ComputePool, interval: Duration = .milliseconds(250),
        log: @escaping @Sendable (String) -> Void
    ) {
        self.path = path
        self.engine = engine
        self.pool = pool
        self.interval = interval
        self.log = log
        self.initialFingerprint = Self.fingerprint(path)
    }

    public struct Fingerprint: Equatable, Sendable {
        var modified: timespec
        var size: Int
        var inode: UInt64
        public static func == (a: Fingerprint, b: Fingerprint) -> Bool {
            a.modified.tv_sec == b.modified.tv_sec && a.modified.tv_nsec == b.modified.tv_nsec && a.size == b.size
                && a.inode == b.inode
        }
    }

    public static func fingerprint(_ path: String) -> Fingerprint? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Fingerprint(modified: info.st_mtim, size: Int(info.st_size), inode: UInt64(info.st_ino))
    }

    public func start() {
        guard !startedFlag.exchange(true, ordering: .relaxed) else { return }
        let thread = Thread { [self] in
            // Foundation on Linux applies a name only when the thread sets it on itself.
            Thread.current.name = "framepipe-watch"
            watch()
            exited.signal()
        }
        thread.start()
    }

    public func stop() {
        stopRequested.store(true, ordering: .relaxed)
        if startedFlag.load(ordering: .relaxed) {
            exited.wait()
            exited.signal()
        }
    }

    private func watch() {
        var loaded = initialFingerprint
        var candidate: Fingerprint?
        let (seconds, attoseconds) = interval.components
        let micros = UInt32(clamping: seconds * 1_000_000 + attoseconds / 1_000_000_000_000)
        while !stopRequested.load(ordering: .relaxed) {
            usleep(max(micros, 1000))
            let now = Self.fingerprint(path)
            guard let now, now != loaded else {
                candidate = nil
                continue
            }
            // Changed: wait one more interval for it to settle.
            guard candidate == now else {
                candidate = now
                continue
            }
            candidate = nil
            loaded = now
            do throws(KernelError) {
                try pool.reload(path: path, engine: engine)
            } catch {
                log("reload refused, the previous kernel keeps running: \(error.message)")
            }
        }
    }
}

extension ComputePool {
    /// Reads, compiles and validates the kernel at `path`, then swaps it in at the next frame
    /// boundary (see `reload(_:)`). Refusals are recorded in the report either way.
    public func reload(path: String, engine: any KernelEngine) throws(KernelError) {
        let kernel: any CompiledKernel
        do {
            kernel = try engine.load(path: path)
        } catch {
            recordRefusedReload(path: path, error)
            throw error
        }
        try reload(kernel)
    }
}
