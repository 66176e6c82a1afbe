// Source locations of a kernel built with -g: the DWARF line table (`.debug_line`) of a wasm module,
// with the code section's function bodies and the name section's function names, read straight from
// the module's bytes for the backtraces of docs/kernel-abi.md ("Backtraces").
//
// Invariants (this file reads untrusted bytes; it is pure safe Swift over [UInt8], no pointers):
// 1. Every read goes through `ByteReader`, which checks its bound first and answers nil past it; a
//    reader never leaves the slice [start, end) it was made for (a section, a unit, a string table).
// 2. No arithmetic on values read from the bytes can trap: LEB128s are at most 10 bytes and kept as
//    UInt64/Int64, sums and products of read values wrap (&+, &*), and they become Int only through
//    `Int(exactly:)` (nil when out of range). A line-range of 0 (a division by zero) is malformed.
// 3. Work is bounded: a `.debug_line` over `maxDebugLineBytes` is not read, at most `maxRows` rows
//    are kept, and every loop consumes at least one byte per turn, so parsing ends.
// 4. Anything malformed in `.debug_line` (a cut unit, an unknown form, a bad version) makes the whole
//    table nil: no locations rather than wrong ones. The sections of the module itself are read as far
//    as they are well-formed (the engine refuses a malformed module anyway).

/// Where an instruction came from: a file (its last path component) and a 1-based line.
public struct SourceLocation: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int

    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    /// `blur.c:42`.
    public var description: String { "\(file):\(line)" }
}

/// A module's code layout, function names and DWARF line table, built once at load.
public struct WasmSourceMap: Sendable {
    /// `.debug_line` sections larger than this are not read (invariant 3).
    static let maxDebugLineBytes = 16 << 20
    /// Rows kept at most, over all units (invariant 3).
    static let maxRows = 2_000_000

    /// Module offset of the code section's contents: DWARF addresses in wasm are relative to it.
    let codeStart: Int
    /// Each defined function's body as module offsets (from its locals to its end), by position;
    /// its function index is `importedFunctions + position`.
    let bodies: [Range<Int>]
    let importedFunctions: Int
    /// Name-section name → function index, for the names given to one function only.
    let indexByName: [String: UInt32]
    /// The line table's sequences, sorted by start address.
    let sequences: [LineSequence]

    struct Row: Sendable, Equatable {
        var address: UInt64
        var file: String?
        var line: Int
    }

    /// The rows of one DWARF sequence, sorted by address, covering [start, end).
    struct LineSequence: Sendable {
        var rows: [Row]
        var end: UInt64
        var start: UInt64 { rows.first?.address ?? end }
    }

    /// The module's source map, or nil when it has no code section or no readable `.debug_line`.
    public init?(module bytes: [UInt8]) {
        guard let layout = ModuleLayout(bytes), let debugLine = layout.custom[".debug_line"], let code = layout.code
        else { return nil }
        let strings = DebugStrings(
            lineStr: layout.custom[".debug_line_str"].map { Array(bytes[$0]) },
            str: layout.custom[".debug_str"].map { Array(bytes[$0]) })
        guard let sequences = DebugLine.parse(Array(bytes[debugLine]), strings: strings) else { return nil }
        self.codeStart = code.lowerBound
        self.bodies = layout.bodies
        self.importedFunctions = layout.importedFunctions
        self.indexByName = layout.indexByName
        self.sequences = sequences
    }

    /// Whether the module has a `.debug_line` section at all (cheap: only the section headers are read).
    public static func hasDebugLine(_ bytes: [UInt8]) -> Bool {
        var found = false
        ModuleLayout.forEachSection(bytes) { id, reader in
            guard id == 0, !found, let name = reader.name() else { return }
            found = name == ".debug_line"
        }
        return found
    }

    /// The function index of the one function the name section gives `name`, if any.
    public func functionIndex(named name: String) -> UInt32? { indexByName[name] }

    /// The row covering the instruction at `moduleOffset` (an offset in the module's bytes): the last
    /// row at or before it in the sequence that contains it. A row of line 0 (code the compiler could
    /// not attribute) gives the nearest earlier row of the same function that has a line.
    public func location(moduleOffset: Int) -> SourceLocation? {
        guard moduleOffset >= codeStart, let body = body(containing: moduleOffset) else { return nil }
        let address = UInt64(moduleOffset - codeStart)
        let bodyStart = UInt64(body.lowerBound - codeStart)
        // Sequences are few (one per function or per unit); a linear scan keeps this simple.
        for sequence in sequences where sequence.start <= address && address < sequence.end {
            var low = 0
            var high = sequence.rows.count
            while low < high {  // first row with address > `address`
                let mid = (low + high) / 2
                if sequence.rows[mid].address <= address { low = mid + 1 } else { high = mid }
            }
            var index = low - 1
            while index >= 0, sequence.rows[index].address >= bodyStart {
                let row = sequence.rows[index]
                if row.line > 0, let file = row.file { return SourceLocation(file: file, line: row.line) }
                index -= 1
            }
        }
        return nil
    }

    /// The function body that holds `moduleOffset` (bodies lie in order in the code section).
    private func body(containing moduleOffset: Int) -> Range<Int>? {
        var low = 0
        var high = bodies.count
        while low < high {  // first body that ends past `moduleOffset`
            let mid = (low + high) / 2
            if bodies[mid].upperBound <= moduleOffset { low = mid + 1 } else { high = mid }
        }
        return low < bodies.count && bodies[low].contains(moduleOffset) ? bodies[low] : nil
    }

    /// Where function `functionIndex` starts: the first row with a line inside its body.
    public func location(functionIndex: UInt32) -> SourceLocation? {
        guard Int(functionIndex) >= importedFunctions, Int(functionIndex) - importedFunctions < bodies.count else {
            return nil
        }
        let body = bodies[Int(functionIndex) - importedFunctions]
        let start = UInt64(body.lowerBound - codeStart)
        let end = UInt64(body.upperBound - codeStart)
        var best: Row?
        for sequence in sequences where sequence.start < end && start < sequence.end {
            for row in sequence.rows where row.address >= start && row.address < end && row.line > 0 && row.file != nil {
                if best.map({ row.address < $0.address }) ?? true { best = row }
                break
            }
        }
        return best.flatMap { row in row.file.map { SourceLocation(file: $0, line: row.line) } }
    }
}

/// The sections of a module that a source map needs (invariant 4: read as far as well-formed).
struct ModuleLayout {
    var custom: [String: Range<Int>] = [:]
    var code: Range<Int>?
    var bodies: [Range<Int>] = []
    var importedFunctions = 0
    var indexByName: [String: UInt32] = [:]

    init?(_ bytes: [UInt8]) {
        var names: [String: UInt32] = [:]
        var ambiguous: Set<String> = []
        var layout = self
        let intact = Self.forEachSection(bytes) { id, reader in
            switch id {
            case 0:
                guard let name = reader.name() else { return }
                if layout.custom[name] == nil { layout.custom[name] = reader.position..<reader.end }
                if name == "name" { Self.readFunctionNames(&reader, into: &names, ambiguous: &ambiguous) }
            case 2: layout.importedFunctions = Self.importedFunctionCount(&reader)
            case 10:
                layout.code = reader.position..<reader.end
                layout.bodies = Self.functionBodies(&reader)
            default: break
            }
        }
        guard intact || layout.code != nil else { return nil }
        for name in ambiguous { names[name] = nil }
        layout.indexByName = names
        self = layout
    }

    /// Calls `body` with each section in order (id, a reader over its contents); false when a
    /// section is cut short or the header is not wasm's.
    @discardableResult
    static func forEachSection(_ bytes: [UInt8], _ body: (UInt8, inout ByteReader) -> Void) -> Bool {
        guard bytes.count >= 8, bytes[0..<4].elementsEqual([0, 0x61, 0x73, 0x6D]) else { return false }
        var reader = ByteReader(bytes, from: 8, to: bytes.count)
        while let id = reader.u8() {
            guard let size = reader.uleb().flatMap({ Int(exactly: $0) }), size <= reader.remaining else { return false }
            let start = reader.position
            var section = ByteReader(bytes, from: start, to: start + size)
            body(id, &section)
            reader.position = start + size
        }
        return true
    }

    private static func importedFunctionCount(_ reader: inout ByteReader) -> Int {
        guard let count = reader.uleb() else { return 0 }
        var functions = 0
        var entry: UInt64 = 0
        while entry < count {
            entry += 1
            guard reader.name() != nil, reader.name() != nil, let kind = reader.u8() else { return functions }
            switch kind {
            case 0:
                guard reader.uleb() != nil else { return functions }
                functions += 1
            case 1:
                guard reader.u8() != nil, reader.limits() else { return functions }
            case 2:
                guard reader.limits() else { return functions }
            case 3:
                guard reader.u8() != nil, reader.u8() != nil else { return functions }
            case 4:
                guard reader.u8() != nil, reader.uleb() != nil else { return functions }
            default: return functions
            }
        }
        return functions
    }

    private static func functionBodies(_ reader: inout ByteReader) -> [Range<Int>] {
        guard let count = reader.uleb() else { return [] }
        var bodies: [Range<Int>] = []
        var entry: UInt64 = 0
        while entry < count {
            entry += 1
            guard let size = reader.uleb().flatMap({ Int(exactly: $0) }), size <= reader.remaining else { return bodies }
            bodies.append(reader.position..<reader.position + size)
            reader.position += size
        }
        return bodies
    }

    /// Subsection 1 of the name section: function index → name, noted here as name → index.
    private static func readFunctionNames(
        _ reader: inout ByteReader, into names: inout [String: UInt32], ambiguous: inout Set<String>
    ) {
        while let id = reader.u8() {
            guard let size = reader.uleb().flatMap({ Int(exactly: $0) }), size <= reader.remaining else { return }
            let end = reader.position + size
            defer { reader.position = end }
            guard id == 1 else { continue }
            var sub = ByteReader(reader.bytes, from: reader.position, to: end)
            guard let count = sub.uleb() else { return }
            var entry: UInt64 = 0
            while entry < count {
                entry += 1
                guard let index = sub.uleb().flatMap({ UInt32(exactly: $0) }), let name = sub.name() else { return }
                if let other = names[name], other != index { ambiguous.insert(name) } else { names[name] = index }
            }
        }
    }
}

/// The string sections `.debug_line` may point into (DW_FORM_line_strp, DW_FORM_strp).
struct DebugStrings {
    var lineStr: [UInt8]?
    var str: [UInt8]?

    static func string(in table: [UInt8]?, at offset: UInt64) -> String? {
        guard let table, let start = Int(exactly: offset), start < table.count else { return nil }
        var reader = ByteReader(table, from: start, to: table.count)
        return reader.cString()
    }
}

/// DWARF 2–5 line-number programs (DWARF 5 §6.2), every unit of a `.debug_line` section.
enum DebugLine {
    // Forms of DWARF 5 directory and file entries.
    static let formBlock: UInt64 = 0x09, formData1: UInt64 = 0x0b, formData2: UInt64 = 0x05
    static let formData4: UInt64 = 0x06, formData8: UInt64 = 0x07, formData16: UInt64 = 0x1e
    static let formString: UInt64 = 0x08, formLineStrp: UInt64 = 0x1f, formStrp: UInt64 = 0x0e
    static let formUdata: UInt64 = 0x0f
    // Content types of DWARF 5 entries.
    static let contentPath: UInt64 = 1, contentDirectoryIndex: UInt64 = 2

    /// The sequences of every unit, sorted by start address, or nil when anything is malformed.
    static func parse(_ section: [UInt8], strings: DebugStrings) -> [WasmSourceMap.LineSequence]? {
        guard section.count <= WasmSourceMap.maxDebugLineBytes else { return nil }
        var reader = ByteReader(section, from: 0, to: section.count)
        var sequences: [WasmSourceMap.LineSequence] = []
        var rows = 0
        while reader.remaining > 0 {
            guard let unit = parseUnit(&reader, strings: strings, rowBudget: WasmSourceMap.maxRows - rows) else { return nil }
            rows += unit.reduce(0) { $0 + $1.rows.count }
            sequences += unit
        }
        return sequences.sorted { $0.start < $1.start }
    }

    private struct Header {
        var version: UInt16 = 0
        var offsetSize = 4
        var minimumInstructionLength: UInt64 = 1
        var maximumOperationsPerInstruction: UInt64 = 1
        var defaultIsStatement = true
        var lineBase: Int64 = 0
        var lineRange: UInt64 = 1
        var opcodeBase: UInt8 = 1
        var standardOpcodeLengths: [UInt8] = []
        /// File names by the index the program uses (1-based before DWARF 5, 0-based from 5).
        var files: [String?] = []
    }

    /// One unit at `reader`'s position; the reader then stands past it.
    private static func parseUnit(_ reader: inout ByteReader, strings: DebugStrings, rowBudget: Int)
        -> [WasmSourceMap.LineSequence]?
    {
        var header = Header()
        guard var length = reader.u32().map(UInt64.init) else { return nil }
        if length == 0xFFFF_FFFF {
            guard let long = reader.u64() else { return nil }
            length = long
            header.offsetSize = 8
        } else if length >= 0xFFFF_FFF0 {
            return nil  // reserved values
        }
        guard let unitLength = Int(exactly: length), unitLength <= reader.remaining else { return nil }
        let unitEnd = reader.position + unitLength
        var unit = ByteReader(reader.bytes, from: reader.position, to: unitEnd)
        reader.position = unitEnd

        guard let version = unit.u16(), (2...5).contains(version) else { return nil }
        header.version = version
        if version >= 5 {
            guard let addressSize = unit.u8(), addressSize == 4 || addressSize == 8, unit.u8() != nil else { return nil }
        }
        guard let headerLength = unit.offset(size: header.offsetSize).flatMap({ Int(exactly: $0) }),
            headerLength <= unit.remaining
        else { return nil }
        let programStart = unit.position + headerLength
        var fields = ByteReader(unit.bytes, from: unit.position, to: programStart)
        guard let minimum = fields.u8() else { return nil }
        header.minimumInstructionLength = UInt64(minimum)
        if version >= 4 {
            guard let maximum = fields.u8(), maximum > 0 else { return nil }
            header.maximumOperationsPerInstruction = UInt64(maximum)
        }
        guard let isStatement = fields.u8(), let lineBase = fields.u8(), let lineRange = fields.u8(), lineRange > 0,
            let opcodeBase = fields.u8(), opcodeBase > 0
        else { return nil }
        header.defaultIsStatement = isStatement != 0
        header.lineBase = Int64(Int8(bitPattern: lineBase))
        header.lineRange = UInt64(lineRange)
        header.opcodeBase = opcodeBase
        for _ in 1..<Int(opcodeBase) {
            guard let count = fields.u8() else { return nil }
            header.standardOpcodeLengths.append(count)
        }
        if version >= 5 {
            guard parseEntries(&fields, header: header, strings: strings, files: false) != nil,
                let files = parseEntries(&fields, header: header, strings: strings, files: true)
            else { return nil }
            header.files = files
        } else {
            while true {  // include_directories: strings up to an empty one (not needed: names are last components)
                guard let directory = fields.cString() else { return nil }
                if directory.isEmpty { break }
            }
            header.files = [nil]  // index 0 is no file before DWARF 5
            while true {
                guard let name = fields.cString() else { return nil }
                if name.isEmpty { break }
                guard fields.uleb() != nil, fields.uleb() != nil, fields.uleb() != nil else { return nil }
                header.files.append(lastComponent(name))
            }
        }
        var program = ByteReader(unit.bytes, from: programStart, to: unitEnd)
        return run(&program, header: &header, rowBudget: rowBudget)
    }

    /// DWARF 5 directory or file entries: a format (content type, form pairs), then the entries.
    /// Answers each entry's path (last component), nil where it has none.
    private static func parseEntries(_ reader: inout ByteReader, header: Header, strings: DebugStrings, files: Bool)
        -> [String?]?
    {
        guard let formatCount = reader.u8() else { return nil }
        var format: [(content: UInt64, form: UInt64)] = []
        for _ in 0..<formatCount {
            guard let content = reader.uleb(), let form = reader.uleb() else { return nil }
            format.append((content, form))
        }
        // Every known form takes at least one byte, so only an empty format could make a huge count
        // spin without reading: it is capped (invariant 3).
        guard let count = reader.uleb(), !format.isEmpty || count <= 1 << 16 else { return nil }
        var entries: [String?] = []
        var entry: UInt64 = 0
        while entry < count {
            entry += 1
            var path: String?
            for (content, form) in format {
                var text: String?
                switch form {
                case formString: guard let value = reader.cString() else { return nil }; text = value
                case formLineStrp:
                    guard let offset = reader.offset(size: header.offsetSize) else { return nil }
                    text = DebugStrings.string(in: strings.lineStr, at: offset)
                case formStrp:
                    guard let offset = reader.offset(size: header.offsetSize) else { return nil }
                    text = DebugStrings.string(in: strings.str, at: offset)
                case formUdata: guard reader.uleb() != nil else { return nil }
                case formData1: guard reader.skip(1) else { return nil }
                case formData2: guard reader.skip(2) else { return nil }
                case formData4: guard reader.skip(4) else { return nil }
                case formData8: guard reader.skip(8) else { return nil }
                case formData16: guard reader.skip(16) else { return nil }
                case formBlock:
                    guard let size = reader.uleb().flatMap({ Int(exactly: $0) }), reader.skip(size) else { return nil }
                default: return nil  // a form this reader does not know: the entry's size is unknown
                }
                if content == contentPath, let text { path = lastComponent(text) }
            }
            if files { entries.append(path) }
        }
        return entries
    }

    /// Runs a line-number program, returning its finished sequences.
    private static func run(_ program: inout ByteReader, header: inout Header, rowBudget: Int)
        -> [WasmSourceMap.LineSequence]?
    {
        var sequences: [WasmSourceMap.LineSequence] = []
        var rows: [WasmSourceMap.Row] = []
        var kept = 0
        let firstFile: UInt64 = 1
        var address: UInt64 = 0
        var opIndex: UInt64 = 0
        var file = firstFile
        var line: Int64 = 1

        func reset() {
            address = 0
            opIndex = 0
            file = firstFile
            line = 1
        }
        func fileName() -> String? {
            guard let index = Int(exactly: file), index < header.files.count else { return nil }
            return header.files[index]
        }
        func emit() -> Bool {
            guard kept < rowBudget else { return false }
            kept += 1
            // A line past Int32 is no real line: kept as 0 ("no line") rather than trusted.
            let number = (1...Int64(Int32.max)).contains(line) ? Int(line) : 0
            rows.append(WasmSourceMap.Row(address: address, file: fileName(), line: number))
            return true
        }
        func advance(_ operationAdvance: UInt64) {
            let ops = header.maximumOperationsPerInstruction
            let total = opIndex &+ operationAdvance
            address = address &+ header.minimumInstructionLength &* (total / ops)
            opIndex = total % ops
        }

        while let opcode = program.u8() {
            if opcode >= header.opcodeBase {  // special opcode
                let adjusted = UInt64(opcode - header.opcodeBase)
                advance(adjusted / header.lineRange)
                line = line &+ header.lineBase &+ Int64(adjusted % header.lineRange)
                guard emit() else { return nil }
                continue
            }
            switch opcode {
            case 0:  // extended opcode
                guard let size = program.uleb().flatMap({ Int(exactly: $0) }), size >= 1, size <= program.remaining,
                    let sub = program.u8()
                else { return nil }
                let next = program.position + size - 1
                switch sub {
                case 1:  // DW_LNE_end_sequence
                    guard emit() else { return nil }
                    if let end = rows.last?.address {
                        rows.removeLast()
                        if !rows.isEmpty { sequences.append(WasmSourceMap.LineSequence(rows: rows, end: end)) }
                    }
                    rows = []
                    reset()
                case 2:  // DW_LNE_set_address
                    guard let value = program.unsigned(size: size - 1) else { return nil }
                    address = value
                    opIndex = 0
                case 3:  // DW_LNE_define_file (before DWARF 5)
                    guard let name = program.cString() else { return nil }
                    header.files.append(lastComponent(name))
                default: break  // DW_LNE_set_discriminator and vendor opcodes: skipped by their size
                }
                guard program.position <= next else { return nil }
                program.position = next
            case 1:  // DW_LNS_copy
                guard emit() else { return nil }
            case 2:  // DW_LNS_advance_pc
                guard let value = program.uleb() else { return nil }
                advance(value)
            case 3:  // DW_LNS_advance_line
                guard let value = program.sleb() else { return nil }
                line = line &+ value
            case 4:  // DW_LNS_set_file
                guard let value = program.uleb() else { return nil }
                file = value
            case 9:  // DW_LNS_fixed_advance_pc
                guard let value = program.u16() else { return nil }
                address = address &+ UInt64(value)
                opIndex = 0
            case 8:  // DW_LNS_const_add_pc
                advance(UInt64(255 - header.opcodeBase) / header.lineRange)
            default:  // set_column, negate_stmt, set_basic_block, prologue/epilogue, set_isa, unknown: skip operands
                let index = Int(opcode) - 1
                guard index < header.standardOpcodeLengths.count else { return nil }
                for _ in 0..<header.standardOpcodeLengths[index] {
                    guard program.uleb() != nil else { return nil }
                }
            }
        }
        // A program may end without end_sequence: its open rows are dropped (no known end).
        return sequences
    }

    /// The last path component of a DWARF file or directory name (either separator).
    static func lastComponent(_ path: String) -> String {
        let parts = path.split(whereSeparator: { $0 == "/" || $0 == "\\" })
        return parts.last.map(String.init) ?? path
    }
}

/// A bounded reader over `bytes[position..<end]` (invariant 1).
struct ByteReader {
    let bytes: [UInt8]
    var position: Int
    let end: Int

    /// A reader of `bytes[from..<to]`, clamped to the array.
    init(_ bytes: [UInt8], from: Int, to: Int) {
        self.bytes = bytes
        self.end = max(0, min(to, bytes.count))
        self.position = max(0, min(from, end))
    }

    var remaining: Int { end - position }

    mutating func u8() -> UInt8? {
        guard position < end else { return nil }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func skip(_ count: Int) -> Bool {
        guard count >= 0, count <= remaining else { return false }
        position += count
        return true
    }

    /// A little-endian unsigned integer of `size` bytes (1...8).
    mutating func unsigned(size: Int) -> UInt64? {
        guard (1...8).contains(size), size <= remaining else { return nil }
        var value: UInt64 = 0
        for shift in 0..<size { value |= UInt64(bytes[position + shift]) << UInt64(8 * shift) }
        position += size
        return value
    }

    mutating func u16() -> UInt16? { unsigned(size: 2).map { UInt16(truncatingIfNeeded: $0) } }
    mutating func u32() -> UInt32? { unsigned(size: 4).map { UInt32(truncatingIfNeeded: $0) } }
    mutating func u64() -> UInt64? { unsigned(size: 8) }
    /// A section offset: 4 bytes in 32-bit DWARF, 8 in 64-bit.
    mutating func offset(size: Int) -> UInt64? { unsigned(size: size) }

    /// An unsigned LEB128 of at most 10 bytes; bits past 64 are dropped.
    mutating func uleb() -> UInt64? {
        var result: UInt64 = 0
        for shift in stride(from: 0, to: 70, by: 7) {
            guard let byte = u8() else { return nil }
            if shift < 64 { result |= UInt64(byte & 0x7F) << UInt64(shift) }
            if byte & 0x80 == 0 { return result }
        }
        return nil
    }

    /// A signed LEB128 of at most 10 bytes; bits past 64 are dropped.
    mutating func sleb() -> Int64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while shift < 70 {
            guard let byte = u8() else { return nil }
            if shift < 64 { result |= UInt64(byte & 0x7F) << shift }
            shift += 7
            if byte & 0x80 == 0 {
                if shift < 64, byte & 0x40 != 0 { result |= ~0 << shift }
                return Int64(bitPattern: result)
            }
        }
        return nil
    }

    /// A NUL-terminated string (invalid UTF-8 becomes U+FFFD); nil when no NUL comes before the end.
    mutating func cString() -> String? {
        guard let nul = bytes[position..<end].firstIndex(of: 0) else { return nil }
        defer { position = nul + 1 }
        return String(decoding: bytes[position..<nul], as: UTF8.self)
    }

    /// A wasm name: a LEB128 length, then that many bytes of UTF-8.
    mutating func name() -> String? {
        guard let length = uleb().flatMap({ Int(exactly: $0) }), length <= remaining else { return nil }
        defer { position += length }
        return String(decoding: bytes[position..<position + length], as: UTF8.self)
    }

    /// Limits of a table or memory (flags bit 0: a maximum follows; 64-bit and shared forms read alike).
    mutating func limits() -> Bool {
        guard let flags = u8(), flags <= 7, uleb() != nil else { return false }
        return flags & 1 == 0 || uleb() != nil
    }
}
