import Foundation

/// Text that comes from a kernel or an engine is data: before it reaches a terminal it is made one
/// bounded line with every control character escaped, so a kernel cannot forge host output (a
/// `framepipe: error:` line of its own, colour codes, a cleared screen) or flood a terminal with a
/// 300 kB backtrace. The rules (docs/kernel-abi.md, "Kernel text") are written here, once.
public enum KernelText {
    /// Longest error line, in characters, before it is cut.
    public static let maxErrorCharacters = 1000
    /// Longest `fp.log` line, in characters after escaping, before it is cut.
    public static let maxLogCharacters = 500
    /// Frames of a backtrace kept at each end once it is collapsed.
    static let backtraceHead = 6
    static let backtraceTail = 2

    /// `text` with control characters (C0, DEL, C1), line and paragraph separators and invisible
    /// format characters (bidirectional overrides, zero-width joiners) written as escapes: `\n`,
    /// `\t`, `\r`, `\\`, else `\u{1B}`. Invalid UTF-8 has already become U+FFFD when decoded.
    public static func escaped(_ text: some StringProtocol) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            case "\\": result += "\\\\"
            default:
                if needsEscape(scalar) {
                    result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result
    }

    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned: return true
        default: return false
        }
    }

    /// `text` cut to `limit` characters, saying how much was cut.
    public static func bounded(_ text: String, limit: Int) -> String {
        guard text.count > limit else { return text }
        let kept = text.prefix(limit)
        return "\(kept)… [\(text.count - kept.count) more characters cut]"
    }

    /// One line for an error message: lines joined with " | ", control characters escaped, host
    /// addresses and Swift debug spellings removed, at most `maxErrorCharacters`.
    public static func errorLine(_ message: String) -> String {
        let lines = message.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        var text = escaped(lines.filter { !$0.isEmpty }.joined(separator: " | "))
        text = scrubbed(text)
        return bounded(text, limit: maxErrorCharacters)
    }

    /// Removes what only the host's own debugging needs: host addresses (`(0x7ffc5d2eb758)`, bare
    /// 12-16 digit hex numbers), and Swift's debug spelling of WasmKit's parser messages
    /// (`"Message(text: "malformed section id: 14")"`).
    static func scrubbed(_ text: String) -> String {
        var text = text
        text = replacing(#"\"?Message\(text: \"(.*?)\"\)\"?"#, in: text, with: "$1")
        text = replacing(#"\s*\(0x[0-9a-fA-F]{8,16}\)"#, in: text, with: "")
        text = replacing(#"\b0x[0-9a-fA-F]{12,16}\b"#, in: text, with: "<address>")
        return bytesAsHex(text)
    }

    /// WasmKit's parser errors that print as a bare Swift enum case (WasmParser's `LEBError`), in words.
    public static let lebErrorWords: [String: String] = [
        "integerRepresentationTooLong": "a LEB128 integer is longer than its type allows",
        "insufficientBytes": "a LEB128 integer is cut short",
        "overflow": "a LEB128 integer overflows its type",
    ]

    /// Swift's spelling of a byte array (`[0, 2, 128, 128]`, from WasmKit's parser) as bytes: `00 02 80 80`.
    static func bytesAsHex(_ text: String) -> String {
        guard let expression = try? NSRegularExpression(pattern: #"\[(\d{1,3}(?:, \d{1,3})+)\]"#) else { return text }
        var result = text
        for match in expression.matches(in: text, range: NSRange(text.startIndex..., in: text)).reversed() {
            guard let whole = Range(match.range, in: text), let inner = Range(match.range(at: 1), in: text) else { continue }
            let values = text[inner].split(separator: ",").compactMap { UInt8($0.trimmingCharacters(in: .whitespaces)) }
            guard values.count == text[inner].split(separator: ",").count else { continue }
            result.replaceSubrange(whole, with: values.map { String(format: "%02x", $0) }.joined(separator: " "))
        }
        return result
    }

    private static func replacing(_ pattern: String, in text: String, with template: String) -> String {
        guard let expression = try? NSRegularExpression(pattern: pattern) else { return text }
        let range = NSRange(text.startIndex..., in: text)
        return expression.stringByReplacingMatches(in: text, range: range, withTemplate: template)
    }

    /// A backtrace as one bounded phrase, innermost first: runs of the same function collapsed
    /// ("f ×9998"), then only the first `backtraceHead` and last `backtraceTail` entries kept.
    public static func backtrace(_ names: [String]) -> String {
        backtrace(names.map { (name: $0, location: nil) })
    }

    /// A backtrace whose frames may carry a source location ("shade (blur.c:42)"). Runs collapse by
    /// function name alone, whatever the lines (a recursion calls itself from one line but traps on
    /// another): a run shows the location of its innermost frame ("recurse (k.c:10) ×240").
    public static func backtrace(_ frames: [(name: String, location: String?)]) -> String {
        var runs: [(name: String, location: String?, count: Int)] = []
        for frame in frames {
            if let last = runs.last, last.name == frame.name {
                runs[runs.count - 1].count += 1
            } else {
                runs.append((frame.name, frame.location, 1))
            }
        }
        func spelled(_ run: (name: String, location: String?, count: Int)) -> String {
            let named = run.location.map { "\(run.name) (\($0))" } ?? run.name
            return run.count == 1 ? named : "\(named) ×\(run.count)"
        }
        if runs.count <= backtraceHead + backtraceTail + 1 { return runs.map(spelled).joined(separator: " ← ") }
        let hidden = runs[backtraceHead..<(runs.count - backtraceTail)].reduce(0) { $0 + $1.count }
        return (runs.prefix(backtraceHead).map(spelled) + ["… \(hidden) more frames …"] + runs.suffix(backtraceTail).map(spelled))
            .joined(separator: " ← ")
    }
}
