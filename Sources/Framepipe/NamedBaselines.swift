import Foundation

/// Named baselines (`bench --save-baseline NAME`, `--baseline NAME`): an earlier run's summary.json kept under a name in
/// one folder, so a regression gate has a stable reference that a later `--out` cannot overwrite. The folder is
/// `$FRAMEPIPE_BASELINES`, else `$XDG_DATA_HOME/framepipe/baselines`, else `~/.local/share/framepipe/baselines`
/// (docs/benchmarking.md, "Comparing with a baseline").
public enum NamedBaselines {
    public static var folder: String {
        let environment = ProcessInfo.processInfo.environment
        if let folder = environment["FRAMEPIPE_BASELINES"], !folder.isEmpty { return folder }
        let data = environment["XDG_DATA_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (NSHomeDirectory() as NSString).appendingPathComponent(".local/share")
        return (data as NSString).appendingPathComponent("framepipe/baselines")
    }

    /// 1–64 of letters, digits, `.`, `_`, `-`, not starting with `.` or `-`.
    public static func check(name: String) throws(FramepipeError) {
        let allowed = name.unicodeScalars.allSatisfy {
            ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || "._-".unicodeScalars.contains($0)
        }
        guard (1...64).contains(name.count), allowed, !name.hasPrefix("."), !name.hasPrefix("-") else {
            throw FramepipeError(
                .usage, "baseline name '\(name)' is invalid: use 1 to 64 letters, digits, '.', '_' or '-', not starting with '.' or '-'")
        }
    }

    public static func directory(of name: String) -> String { (folder as NSString).appendingPathComponent(name) }

    /// `--baseline VALUE`: a directory when VALUE names one (or contains a `/`), else a named baseline, which must exist.
    static func resolve(_ value: String) throws(FramepipeError) -> String {
        var isDirectory: ObjCBool = false
        if value.contains("/") || (FileManager.default.fileExists(atPath: value, isDirectory: &isDirectory) && isDirectory.boolValue) {
            return value
        }
        try check(name: value)
        let directory = directory(of: value)
        guard FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent(BenchReports.summaryName))
        else {
            throw FramepipeError(
                .usage, "--baseline \(value): no such directory and no baseline named \(value) in \(folder) "
                    + "(save one with --save-baseline \(value))")
        }
        return directory
    }

    /// Keeps `summaryPath` (a finished run's summary.json) as baseline `name`, replacing an older one of that name:
    /// written to a temporary file beside it and renamed, so a reader never sees half of one.
    static func save(summaryAt summaryPath: String, as name: String) throws(FramepipeError) -> String {
        try check(name: name)
        let directory = directory(of: name)
        let target = (directory as NSString).appendingPathComponent(BenchReports.summaryName)
        let temporary = (directory as NSString).appendingPathComponent(".\(BenchReports.summaryName).tmp-\(getpid())")
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try Data(contentsOf: URL(fileURLWithPath: summaryPath)).write(to: URL(fileURLWithPath: temporary))
            guard rename(temporary, target) == 0 else { throw CocoaError(.fileWriteUnknown) }
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw FramepipeError(.failure, "--save-baseline \(name): cannot write \(target): \(error.localizedDescription)")
        }
        return target
    }

    /// Whether two paths name the same folder (after `.`/`..` and symbolic links).
    static func sameFolder(_ a: String, _ b: String) -> Bool {
        func canonical(_ path: String) -> String {
            URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
        }
        return canonical(a) == canonical(b)
    }
}
