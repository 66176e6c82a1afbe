import Foundation
import KernelRuntime
import Synchronization

/// `view --watch --build CMD`: reruns the kernel's build when one of its source files changes, so that the file
/// watcher (KernelFileWatcher) reloads the rebuilt .wasm, and keeps the last build's outcome for the window (title
/// and overlay) and the log. A failed build leaves the running kernel alone.
///
/// Polls as KernelFileWatcher does, with the same PollingThread and SettledChange (ChangePolling.swift): the
/// modification time, size and inode of every source file, four times a second, acting once nothing has changed
/// for one interval; a source file is one whose name `isSource` accepts, found
/// under `sourceFolder` at most `maxDepth` folders down, hidden folders and build-output folders skipped, at most
/// `maxFiles` files. The command runs in the viewer's current folder through /bin/sh, its output kept (the last
/// `keptLines` lines); one that runs past `timeout` is killed and counts as failed.
public final class SourceRebuilder: Sendable {
    public enum Outcome: Sendable, Equatable {
        case running
        case succeeded(seconds: Double)
        /// `status`: the exit status (or the signal, negated); `lines`: the command's output, last lines kept.
        case failed(status: Int32, seconds: Double, lines: [String])
    }

    public let command: String
    public let sourceFolder: String
    private let timeout: Duration
    private let log: @Sendable (String) -> Void
    private let state = Mutex<(outcome: Outcome?, builds: Int, process: Process?)>((nil, 0, nil))
    /// Set once, at the end of init: its poll calls back into this object (weakly: the object owns the thread).
    private let thread = Mutex<PollingThread?>(nil)

    static let maxDepth = 4
    static let maxFiles = 2000
    static let keptLines = 40
    static let skippedFolders: Set<String> = ["target", "build", "node_modules", "__pycache__"]
    static let sourceExtensions: Set<String> = [
        "c", "h", "cc", "cpp", "cxx", "hpp", "hh", "hxx", "inc", "rs", "toml", "wat", "zig", "mk", "sh", "S",
    ]

    public init(
        command: String, sourceFolder: String, interval: Duration = .milliseconds(250), timeout: Duration = .seconds(300),
        log: @escaping @Sendable (String) -> Void
    ) {
        self.command = command
        self.sourceFolder = sourceFolder
        self.timeout = timeout
        self.log = log
        let polling = PollingThread(
            name: "framepipe-build", interval: interval, state: SettledChange(Self.fingerprints(of: sourceFolder))
        ) { [weak self] change in
            guard let self else { return }
            let before = change.acted
            guard let now = change.observe(Self.fingerprints(of: sourceFolder)) else { return }
            let changed = now.keys.filter { now[$0] != before[$0] }.sorted() + before.keys.filter { now[$0] == nil }.sorted()
            build(because: changed.map { ($0 as NSString).lastPathComponent })
            // What the build itself wrote into the sources (generated headers, formatting) is not a new change.
            change.acted = Self.fingerprints(of: sourceFolder)
        }
        thread.withLock { $0 = polling }
    }

    /// The last build's outcome (nil before the first) and how many builds have started.
    public var status: (outcome: Outcome?, builds: Int) { state.withLock { ($0.outcome, $0.builds) } }

    /// Source files by their names: build outputs (.wasm, objects, temporaries) never count, or every build would
    /// start the next.
    static func isSource(_ name: String) -> Bool {
        if name == "Makefile" || name == "makefile" || name == "CMakeLists.txt" { return true }
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return false }
        return sourceExtensions.contains(String(name[name.index(after: dot)...]))
    }

    static func fingerprints(of folder: String) -> [String: KernelFileWatcher.Fingerprint] {
        var found: [String: KernelFileWatcher.Fingerprint] = [:]
        func walk(_ path: String, depth: Int) {
            guard depth <= maxDepth, let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { return }
            for name in names.sorted() where !name.hasPrefix(".") {
                guard found.count < maxFiles else { return }
                let child = (path as NSString).appendingPathComponent(name)
                var info = stat()
                guard lstat(child, &info) == 0 else { continue }
                if info.st_mode & S_IFMT == S_IFDIR {
                    if !skippedFolders.contains(name) { walk(child, depth: depth + 1) }
                } else if isSource(name), let fingerprint = KernelFileWatcher.fingerprint(child) {
                    found[child] = fingerprint
                }
            }
        }
        walk(folder, depth: 0)
        return found
    }

    public func start() { thread.withLock { $0 }?.start() }

    /// Stops watching and ends a build that is running (SIGTERM to its process group), then waits for the thread.
    public func stop() {
        let polling = thread.withLock { $0 }
        polling?.requestStop()  // first: no new build may start once the running one is stopped
        state.withLock { state in
            if let process = state.process, process.isRunning { Self.stopGroup(of: process) }
        }
        polling?.stop()
    }

    private func build(because changed: [String]) {
        let shown = changed.prefix(3).joined(separator: ", ") + (changed.count > 3 ? " and \(changed.count - 3) more" : "")
        log("build: \(shown) changed; running \(command)")
        let outcome = Self.run(command, timeout: timeout, log: log) { process in
            state.withLock {
                $0.process = process
                $0.outcome = .running
                $0.builds += 1
            }
        }
        state.withLock {
            $0.outcome = outcome
            $0.process = nil
        }
        if case .failed = outcome { log("build: the running kernel stays") }
    }

    /// SIGTERM to the build's process group — the shell and the compiler it started: Foundation starts a child in a
    /// process group of its own (which also keeps a Ctrl-C meant for the viewer from reaching it) — or to the shell
    /// alone where it shares ours.
    static func stopGroup(of process: Process) {
        let pid = process.processIdentifier
        if pid > 0, getpgid(pid) == pid { kill(-pid, SIGTERM) } else { process.terminate() }
    }

    /// Runs `command` through /bin/sh to its end (stopped past `timeout`), logging its output as `build| …` lines
    /// and one verdict line. `started` gets the process once it runs (to stop it from another thread).
    public static func run(
        _ command: String, timeout: Duration = .seconds(300), log: @Sendable (String) -> Void,
        started: (Process) -> Void = { _ in }
    ) -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.standardInput = FileHandle.nullDevice
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let begin = ContinuousClock.now
        do {
            try process.run()
        } catch {
            let line = "cannot run /bin/sh: \(error.localizedDescription)"
            log("build: failed: \(line)")
            return .failed(status: 127, seconds: 0, lines: [line])
        }
        started(process)
        let reader = OutputTail(keeping: keptLines)
        let done = DispatchSemaphore(value: 0)
        let handle = output.fileHandleForReading
        Thread.detachNewThread {
            while case let chunk = handle.availableData, !chunk.isEmpty { reader.append(chunk) }
            done.signal()
        }
        var killed = false
        while process.isRunning {
            if !killed, ContinuousClock.now - begin > timeout {
                killed = true
                log("build: \(command) ran past \(timeout.components.seconds) s; stopping it")
                stopGroup(of: process)
            }
            usleep(20_000)
        }
        process.waitUntilExit()
        // The pipe ends when every process holding it has exited (a compiler the shell started, too).
        _ = done.wait(timeout: .now() + 5)
        let elapsed = ContinuousClock.now - begin
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let status = process.terminationReason == .uncaughtSignal ? -process.terminationStatus : process.terminationStatus
        let lines = reader.lines
        for line in lines { log("build| \(line)") }
        if status == 0 && !killed {
            log(String(format: "build: ok in %.1f s", seconds))
            return .succeeded(seconds: seconds)
        }
        let first = lines.first { $0.contains("error") } ?? lines.last ?? "no output"
        log(String(format: "build: failed (exit %d) in %.1f s: ", status, seconds) + first)
        return .failed(status: status, seconds: seconds, lines: lines)
    }
}

/// The last lines of a command's output, as it arrives in chunks; long lines cut (KernelText.bounded).
private final class OutputTail: Sendable {
    private let keeping: Int
    private let state = Mutex<(lines: [String], partial: [UInt8])>(([], []))

    init(keeping: Int) { self.keeping = keeping }

    func append(_ chunk: Data) {
        state.withLock { state in
            for byte in chunk {
                if byte == UInt8(ascii: "\n") {
                    state.lines.append(KernelText.bounded(String(decoding: state.partial, as: UTF8.self), limit: 400))
                    state.partial.removeAll(keepingCapacity: true)
                    if state.lines.count > keeping { state.lines.removeFirst(state.lines.count - keeping) }
                } else if state.partial.count < 4096 {
                    state.partial.append(byte)
                }
            }
        }
    }

    var lines: [String] {
        state.withLock { state in
            state.partial.isEmpty ? state.lines : state.lines + [String(decoding: state.partial, as: UTF8.self)]
        }
    }
}
