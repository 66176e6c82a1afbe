import Foundation

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
    private let thread: PollingThread

    public init(
        path: String, engine: any KernelEngine, pool: ComputePool, interval: Duration = .milliseconds(250),
        log: @escaping @Sendable (String) -> Void
    ) {
        self.path = path
        // Starts from the file as it is now (right after the running kernel was loaded from it), so a change made
        // before the thread gets going is still seen.
        thread = PollingThread(name: "framepipe-watch", interval: interval, state: SettledChange(Self.fingerprint(path))) {
            change in
            // A missing file (a build between removing and writing it) is no change to act on.
            guard let now = Self.fingerprint(path) else { return change.reset() }
            guard change.observe(now) != nil else { return }
            do throws(KernelError) {
                try pool.reload(path: path, engine: engine)
            } catch {
                log("reload refused, the previous kernel keeps running: \(error.message)")
            }
        }
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

    public func start() { thread.start() }

    public func stop() { thread.stop() }
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
