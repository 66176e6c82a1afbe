import Foundation
import Glibc

/// What summary.json records about a run itself: which Framepipe ran, when, how it was invoked and on what host, so
/// that two summaries can be told apart (docs/benchmarking.md, "summary.json").
public struct RunMetadata: Codable, Sendable, Equatable {
    public struct Host: Codable, Sendable, Equatable {
        /// /proc/cpuinfo's first "model name" ("" where there is none).
        public var cpu_model: String
        /// CPUs this process may run on.
        public var cores: Int
        /// `uname -sr`, e.g. "Linux 6.1.0-27-amd64".
        public var kernel: String
        /// /etc/os-release's PRETTY_NAME, e.g. "Debian GNU/Linux 12 (bookworm)" ("" where there is none).
        public var distribution: String
    }
    /// FramepipeVersion.number.
    public var framepipe_version: String
    /// The git commit it was built from ("unknown" outside a checkout), and whether tracked files differed from it.
    public var commit: String
    public var modified: Bool
    /// When the run started, ISO 8601 in UTC (e.g. "2026-12-02T02:45:10Z").
    public var date: String
    /// The process's arguments, the executable first.
    public var command_line: [String]
    public var host: Host

    /// This process, started at `start`.
    static func current(startedAt start: Date) -> RunMetadata {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return RunMetadata(
            framepipe_version: FramepipeVersion.number, commit: FramepipeVersion.commit,
            modified: FramepipeVersion.treeDirty, date: formatter.string(from: start),
            command_line: CommandLine.arguments, host: .current)
    }
}

extension RunMetadata.Host {
    static var current: Self {
        var names = utsname()
        uname(&names)
        func text<T>(_ field: T) -> String {
            withUnsafeBytes(of: field) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        return Self(
            cpu_model: firstValue(of: "model name", in: "/proc/cpuinfo", separator: ":") ?? "",
            cores: ProcessInfo.processInfo.activeProcessorCount,
            kernel: "\(text(names.sysname)) \(text(names.release))",
            distribution: firstValue(of: "PRETTY_NAME", in: "/etc/os-release", separator: "=")
                .map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) } ?? "")
    }

    /// The value of the first `key SEPARATOR value` line of a small text file, trimmed.
    private static func firstValue(of key: String, in path: String, separator: Character) -> String? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") {
            guard let at = line.firstIndex(of: separator) else { continue }
            if line[..<at].trimmingCharacters(in: .whitespaces) == key {
                return line[line.index(after: at)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }
}
