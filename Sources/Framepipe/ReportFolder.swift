// Unsafe code here: one unsafeBitCast of the `renameat2` symbol dlsym finds in libc to its C function
// type (invariant: that symbol is the glibc function `int renameat2(int, const char *, int, const char *,
// unsigned int)`); nothing else.
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A report folder (`bench --out DIR`) that holds one run's files, never a mix of two runs.
///
/// The run writes every report into a fresh staging folder beside DIR (`.DIR.framepipe-new-PID`, on the
/// same file system, so renames are atomic); at the end `commit` puts the whole set in place:
/// - DIR absent: the staging folder is renamed to DIR.
/// - DIR holding only framepipe's files (the report names, and temporaries of killed runs): one atomic
///   exchange of the two folders (Linux `renameat2(RENAME_EXCHANGE)`; elsewhere, or on a file system
///   without it, two renames with DIR briefly absent), then the old set is deleted.
/// - DIR holding anything else (the user's own folder): those files are left alone; the old report
///   files are removed (summary.json first) and the new ones renamed in, summary.json last, so a
///   summary.json always sits beside its own run's files.
/// A run that fails or is interrupted before any frame discards its staging folder: DIR keeps the
/// previous set untouched. Staging folders and `.NAME.tmp-PID` files left by killed runs (their PID no
/// longer alive) are deleted by the next run into the same DIR — only framepipe's own names, never
/// anything else.
struct ReportFolder {
    /// DIR as given.
    let destination: String
    /// The staging folder: every report is written here during the run.
    let staging: String
    /// The file names a run may write (a file of that name in DIR is framepipe's).
    let reportNames: Set<String>

    static let stagingMarker = ".framepipe-new-"
    static let retiredMarker = ".framepipe-old-"

    /// Creates the staging folder (and DIR's parent); cleans what killed runs left behind.
    init(destination: String, reportNames: Set<String>) throws(FramepipeError) {
        self.destination = destination
        self.reportNames = reportNames
        let url = URL(fileURLWithPath: destination).standardizedFileURL
        let name = url.lastPathComponent
        let parent = url.deletingLastPathComponent().path
        guard !name.isEmpty, name != "/", name != ".", name != ".." else {
            throw FramepipeError(.usage, "--out \(destination): give a directory below the current one or a path with a name")
        }
        try OutputFiles.createDirectory(parent)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw FramepipeError(.usage, "--out \(destination) is a file, not a directory")
        }
        Self.removeStale(in: parent, named: name, reportNames: reportNames)
        staging = (parent as NSString).appendingPathComponent(".\(name)\(Self.stagingMarker)\(getpid())")
        Self.removeFolder(staging, reportNames: reportNames)  // a dead run's, whose PID this process reuses
        guard mkdir(staging, 0o755) == 0 else {
            throw FramepipeError(.failure, "cannot create \(staging): \(String(cString: strerror(errno)))")
        }
    }

    func path(_ name: String) -> String { (staging as NSString).appendingPathComponent(name) }
    func finalPath(_ name: String) -> String { (destination as NSString).appendingPathComponent(name) }

    /// Deletes the staging folder and what is in it (a failed run: DIR keeps its previous set).
    func discard() { Self.removeFolder(staging, reportNames: reportNames) }

    /// Puts the staged set in DIR, replacing the previous run's set as a whole.
    func commit() throws(FramepipeError) {
        if rename(staging, destination) == 0 { return }  // DIR did not exist (or was an empty folder)
        guard errno == EEXIST || errno == ENOTEMPTY else { throw failure("cannot move the reports into \(destination)") }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: destination)) ?? []
        if entries.allSatisfy({ reportNames.contains($0) || Self.isTemporary($0) }) {
            try exchangeWholeFolder()
        } else {
            try replaceFileByFile()
        }
    }

    private func exchangeWholeFolder() throws(FramepipeError) {
        if Self.exchange(staging, destination) {
            // staging now holds the previous run's set.
            Self.removeFolder(staging, reportNames: reportNames)
            return
        }
        let url = URL(fileURLWithPath: destination).standardizedFileURL
        let retired = (url.deletingLastPathComponent().path as NSString)
            .appendingPathComponent(".\(url.lastPathComponent)\(Self.retiredMarker)\(getpid())")
        guard rename(destination, retired) == 0 else { throw failure("cannot replace \(destination)") }
        guard rename(staging, destination) == 0 else {
            let error = failure("cannot move the reports into \(destination)")
            _ = rename(retired, destination)
            throw error
        }
        Self.removeFolder(retired, reportNames: reportNames)
    }

    private func replaceFileByFile() throws(FramepipeError) {
        let staged = Set((try? FileManager.default.contentsOfDirectory(atPath: staging)) ?? [])
        let summary = BenchReports.summaryName
        unlink(finalPath(summary))
        for name in reportNames where !staged.contains(name) { unlink(finalPath(name)) }
        for name in staged.sorted() where name != summary {
            guard rename(path(name), finalPath(name)) == 0 else { throw failure("cannot write \(finalPath(name))") }
        }
        if staged.contains(summary), rename(path(summary), finalPath(summary)) != 0 {
            throw failure("cannot write \(finalPath(summary))")
        }
        Self.removeFolder(staging, reportNames: reportNames)
    }

    private func failure(_ what: String) -> FramepipeError {
        FramepipeError(.failure, "\(what): \(String(cString: strerror(errno)))")
    }

    // MARK: Names and clean-up

    /// `.NAME.tmp-PID`: OutputFiles' temporary file.
    static func isTemporary(_ name: String) -> Bool { temporaryOwner(name) != nil }

    /// The PID in a `.NAME.tmp-PID` name, nil for any other name.
    static func temporaryOwner(_ name: String) -> pid_t? {
        guard name.hasPrefix("."), let range = name.range(of: ".tmp-", options: .backwards) else { return nil }
        return pid_t(name[range.upperBound...])
    }

    /// Whether a process with this PID exists (EPERM: it does, owned by someone else).
    static func isAlive(_ pid: pid_t) -> Bool { pid > 0 && (kill(pid, 0) == 0 || errno == EPERM) }

    /// Staging and retired folders of DIR whose run is dead, and dead runs' temporaries inside DIR.
    static func removeStale(in parent: String, named name: String, reportNames: Set<String>) {
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? [] {
            for marker in [stagingMarker, retiredMarker] where entry.hasPrefix(".\(name)\(marker)") {
                guard let pid = pid_t(entry.dropFirst(name.count + 1 + marker.count)), !isAlive(pid) else { continue }
                removeFolder((parent as NSString).appendingPathComponent(entry), reportNames: reportNames)
            }
        }
        let directory = (parent as NSString).appendingPathComponent(name)
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            if let pid = temporaryOwner(entry), !isAlive(pid) {
                unlink((directory as NSString).appendingPathComponent(entry))
            }
        }
    }

    /// Deletes framepipe's files in `folder` (report names and temporaries), then the folder if that
    /// emptied it: never a file framepipe did not name.
    static func removeFolder(_ folder: String, reportNames: Set<String>) {
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        where reportNames.contains(entry) || isTemporary(entry) {
            unlink((folder as NSString).appendingPathComponent(entry))
        }
        rmdir(folder)
    }

    // MARK: Atomic exchange

    /// renameat2 is in glibc ≥ 2.28 but not in Swift's Glibc module (it needs _GNU_SOURCE): looked up
    /// once by name. The pointer dlsym returns is the libc function of this exact C signature, or nil.
    private typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
    private static let renameat2: RenameAt2? = {
        #if os(Linux)
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "renameat2") else { return nil }
            return unsafeBitCast(symbol, to: RenameAt2.self)
        #else
            return nil
        #endif
    }()

    /// Swaps two directories in one step; false where the system or file system cannot.
    static func exchange(_ a: String, _ b: String) -> Bool {
        guard let renameat2 else { return false }
        let renameExchange: UInt32 = 1 << 1  // RENAME_EXCHANGE, linux/fs.h
        return renameat2(AT_FDCWD, a, AT_FDCWD, b, renameExchange) == 0
    }
}
