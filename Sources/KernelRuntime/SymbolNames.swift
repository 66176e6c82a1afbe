/// Readable names for backtrace frames: the name section of a Rust or C++ kernel holds mangled symbols
/// (`_ZN3std9panicking20rust_panic_with_hook17h6ac9107c42850161E`, `_ZN12_GLOBAL__N_15Image9draw_rowsEffii`).
/// Both start with an Itanium nested name, which is decoded here far enough for a backtrace — the path of
/// the function, without its parameter types (C++), its hash (Rust's legacy mangling) or template arguments
/// (`f<…>`) — giving `std::panicking::rust_panic_with_hook` and `(anonymous namespace)::Image::draw_rows`. A
/// name this does not understand (Rust v0 `_R…`, substitutions) is kept as it is: never wrong, at worst
/// mangled.
enum SymbolNames {
    /// Longest name decoded; longer ones are kept mangled (the backtrace bounds their length anyway).
    static let maxLength = 1024

    static func readable(_ name: String) -> String {
        guard name.hasPrefix("_Z"), name.utf8.count <= maxLength else { return name }
        var reader = Reader(bytes: Array(name.utf8.dropFirst(2)))
        guard let parts = reader.name(), !parts.isEmpty else { return name }
        var components = parts
        // Rust's legacy mangling ends the path in its hash, h + 16 hex digits.
        if let last = components.last, last.count == 17, last.first == "h",
            last.dropFirst().allSatisfy({ $0.isHexDigit })
        {
            components.removeLast()
        }
        return components.map(unescapeRust).joined(separator: "::")
    }

    /// Rust's legacy escapes inside a path component: `$LT$` → `<`, `$u7b$` → `{`, `..` → `::`.
    static func unescapeRust(_ component: String) -> String {
        guard component.contains("$") || component.contains("..") else { return component }
        let named: [String: String] = [
            "SP": "@", "BP": "*", "RF": "&", "LT": "<", "GT": ">", "LP": "(", "RP": ")", "C": ",",
        ]
        var out = ""
        var rest = Substring(component.replacingOccurrences(of: "..", with: "::"))
        // A component that starts with an escape gets a leading `_` (an identifier cannot start with `$`).
        if rest.hasPrefix("_$") { rest = rest.dropFirst() }
        while let dollar = rest.firstIndex(of: "$") {
            out += rest[..<dollar]
            let after = rest.index(after: dollar)
            guard let close = rest[after...].firstIndex(of: "$") else {
                out += rest[dollar...]
                return out
            }
            let code = String(rest[after..<close])
            if let symbol = named[code] {
                out += symbol
            } else if code.hasPrefix("u"), let scalar = UInt32(code.dropFirst(), radix: 16).flatMap(Unicode.Scalar.init) {
                out.unicodeScalars.append(scalar)
            } else {
                out += rest[dollar...close]
            }
            rest = rest[rest.index(after: close)...]
        }
        return out + rest
    }

    /// The part of the Itanium grammar a function's name is made of: `N` <prefix>+ `E`, or one <source-name>.
    private struct Reader {
        let bytes: [UInt8]
        var position = 0

        mutating func name() -> [String]? {
            guard position < bytes.count else { return nil }
            if bytes[position] == UInt8(ascii: "N") {
                position += 1
                // CV and ref qualifiers of a member function.
                while position < bytes.count, [UInt8(ascii: "K"), UInt8(ascii: "V"), UInt8(ascii: "r"), UInt8(ascii: "R"), UInt8(ascii: "O")].contains(bytes[position]) {
                    position += 1
                }
                var parts: [String] = []
                while position < bytes.count, bytes[position] != UInt8(ascii: "E") {
                    if bytes[position] == UInt8(ascii: "I") {  // template arguments: shown as <…>
                        guard skipTemplateArguments(), let last = parts.popLast() else { return nil }
                        parts.append(last + "<…>")
                        continue
                    }
                    guard let part = sourceName() else { return nil }
                    parts.append(part)
                }
                guard position < bytes.count else { return nil }
                position += 1
                return parts
            }
            return sourceName().map { [$0] }
        }

        /// <length><identifier>; `_GLOBAL__N_1` is C++'s anonymous namespace.
        mutating func sourceName() -> String? {
            var length = 0
            let start = position
            while position < bytes.count, let digit = Self.digit(bytes[position]) {
                length = length * 10 + digit
                position += 1
                guard length <= Self.maxLengthOfOne else { return nil }
            }
            guard position > start, length > 0, position + length <= bytes.count else { return nil }
            let identifier = String(decoding: bytes[position..<(position + length)], as: UTF8.self)
            position += length
            return identifier == "_GLOBAL__N_1" ? "(anonymous namespace)" : identifier
        }

        /// Skips `I` … `E`, nested ones included.
        mutating func skipTemplateArguments() -> Bool {
            var depth = 0
            repeat {
                guard position < bytes.count else { return false }
                switch bytes[position] {
                case UInt8(ascii: "I"): depth += 1
                case UInt8(ascii: "E"): depth -= 1
                default: break
                }
                position += 1
            } while depth > 0
            return true
        }

        static let maxLengthOfOne = 512
        static func digit(_ byte: UInt8) -> Int? {
            byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? Int(byte - UInt8(ascii: "0")) : nil
        }
    }
}
