import ArgumentParser
import Foundation

/// The allowed values of every numeric flag, written once: the refusals of `validate()` and the one-line error for a
/// value that is not a number both name them (docs/cli.md, "Errors").
enum NumericFlags {
    static let allowed: [String: String] = [
        "--frames": "an integer, at least 1",
        "--duration": "seconds, more than 0 and at most 86400",
        "--warmup": "an integer, 0 or more",
        "--target-hz": "frames per second, more than 0 and at most 10000",
        "--fail-on-regression": "a percentage, 0 or more",
        "--gpu": "a device index from `framepipe devices`, 0 or more",
        "--slots": "an integer, 3...8",
        "--workers": "an integer, 1...256",
        "--max-failures": "an integer, at least 1",
        "--tile-timeout": "milliseconds, 1...3600000",
        "--fuel": "an integer, at least 1",
        "--max-memory": "MiB, an integer 1...4096 (a wasm32 memory is at most 4 GiB)",
        "--frame": "an integer, 0 or more",
        "--time": "a finite number of seconds, 0 or more",
        "--exit-after-frames": "an integer, at least 1",
        "--size": "WIDTHxHEIGHT, each 1...16384",
    ]

    /// "FLAG must be ALLOWED".
    static func refusal(_ flag: String) -> ValidationError {
        ValidationError("\(flag) must be \(allowed[flag] ?? "valid")")
    }
}

/// Ends the process for an error out of parsing or running a command: argument errors as one line
/// `framepipe: error: …` on stderr with ArgumentParser's exit code (64 for bad arguments), not its multi-line
/// `Error:` + usage form; `--help` and `--version` as ArgumentParser prints them; an error a command has reported
/// already (ExitCode) with its code only.
func exitWithOneLineError(_ error: any Error, command: any ParsableCommand.Type) -> Never {
    if let exitCode = error as? ExitCode { exit(exitCode.rawValue) }
    let code = command.exitCode(for: error)
    if code == .success { command.exit(withError: error) }
    let text = command.message(for: error)
    var line = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.first { !$0.isEmpty } ?? ""
    if line.hasPrefix("Error: ") { line.removeFirst("Error: ".count) }
    if line.isEmpty { line = "bad arguments: see `framepipe --help`" }
    // A value that did not parse (`--frames abc`) or is missing: say what the flag takes.
    if line.hasPrefix("The value '") || line.hasPrefix("Missing value for '"), let flag = NumericFlags.allowed.keys.first(where: { line.contains("'\($0) <") }) {
        line += ": \(flag) takes \(NumericFlags.allowed[flag] ?? "")"
    }
    FileHandle.standardError.write(Data("framepipe: error: \(line)\n".utf8))
    exit(code.rawValue)
}
