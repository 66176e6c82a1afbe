import ArgumentParser
import Framepipe
import Foundation

/// The CLI's view of the rules: a ValidationError with the library's words (OptionRules).
enum NumericFlags {
    static var allowed: [String: String] { OptionRules.allowed }
    static func refusal(_ flag: String) -> ValidationError { ValidationError(OptionRules.refusal(flag)) }
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
