// Text formatting shared by the report exporters. Reports must read the same on every machine, so
// numbers are formatted here by integer arithmetic: "." as decimal separator whatever the locale,
// a fixed number of decimals, no exponent notation.

enum ReportFormatting {
    /// `value` with exactly `decimals` decimals (0...9), rounded half away from zero; "NA" when not finite.
    static func fixed(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return "NA" }
        let digits = Swift.min(Swift.max(decimals, 0), 9)
        var scale: Int64 = 1
        for _ in 0..<digits { scale *= 10 }
        let scaled = (value.magnitude * Double(scale)).rounded()
        // Beyond Int64 the value is far outside anything a frame report holds; Swift's own rendering
        // is locale-independent too, only not fixed-width.
        guard scaled < 9.0e18 else { return String(value) }
        let units = Int64(scaled)
        let sign = value < 0 && units != 0 ? "-" : ""
        let whole = units / scale
        guard digits > 0 else { return sign + String(whole) }
        let fraction = String(units % scale)
        return sign + String(whole) + "." + String(repeating: "0", count: digits - fraction.count) + fraction
    }

    /// Nanoseconds as microseconds with three decimals, exactly (no floating point): "1234.567".
    static func microseconds(nanoseconds: UInt64) -> String {
        let fraction = String(nanoseconds % 1000)
        return String(nanoseconds / 1000) + "." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    /// `b − a` in milliseconds (may be negative), or nil when either timestamp was not recorded.
    static func signedMilliseconds(from origin: UInt64, to timestamp: UInt64) -> Double? {
        guard timestamp != 0 else { return nil }
        return timestamp >= origin
            ? Double(timestamp - origin) / 1e6
            : -Double(origin - timestamp) / 1e6
    }

    /// A JSON string literal, quotes included (RFC 8259 escaping).
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// Text for XML character data and attribute values.
    static func xmlEscaped(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default:
                // XML 1.0 forbids most control characters even as references.
                if scalar.value < 0x20 && scalar != "\n" && scalar != "\t" && scalar != "\r" {
                    out += " "
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}

extension FrameOutcome {
    /// The outcome as written in reports: "measured", "warmup", "dropped", "failed", "cancelled", "unfinished".
    public var reportName: String {
        switch self {
        case .measured: "measured"
        case .warmup: "warmup"
        case .dropped: "dropped"
        case .failed: "failed"
        case .cancelled: "cancelled"
        case .unfinished: "unfinished"
        }
    }
}

/// A plain-text table for terminals: columns padded to their widest cell and separated by two
/// spaces; text columns (`leftAligned`) padded on the right, numbers on the left; no trailing spaces.
public enum TextTable {
    public static func render(_ rows: [[String]], leftAligned: Set<Int> = [0], indent: String = "") -> String {
        let columns = rows.map(\.count).max() ?? 0
        var widths = Array(repeating: 0, count: columns)
        for row in rows { for (column, cell) in row.enumerated() { widths[column] = max(widths[column], cell.count) } }
        return rows.map { row in
            let line = row.enumerated().map { column, cell in
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return leftAligned.contains(column) ? cell + padding : padding + cell
            }.joined(separator: "  ")
            return indent + String(line.reversed().drop { $0 == " " }.reversed())
        }.joined(separator: "\n")
    }
}
