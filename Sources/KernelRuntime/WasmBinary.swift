/// Reads what the ABI layer needs straight from a module's bytes, whatever the engine: the exported
/// function names by function index (to name backtrace frames of modules without a name section)
/// and the function names of the name section. Only well-formed sections are read; anything
/// malformed gives what was read so far (the engine refuses such a module anyway).
enum WasmBinary {
    /// Function index → export name (the first export of each function).
    static func exportedFunctionNames(_ bytes: [UInt8]) -> [UInt32: String] {
        var names: [UInt32: String] = [:]
        forEachSection(bytes) { id, reader in
            guard id == 7, let count = reader.leb() else { return }
            for _ in 0..<count {
                guard let name = reader.name(), let kind = reader.byte(), let index = reader.leb() else { return }
                if kind == 0, names[index] == nil { names[index] = name }
            }
        }
        return names
    }

    /// The module's imports and exports as its own sections say, read without any engine, or nil
    /// when a section holds something this reader does not know (then only the engine judges).
    /// The ABI checks on them run before any engine compiles the module, so a kernel that breaks
    /// the ABI and also has an invalid body gets the same first error on every engine.
    static func interface(_ bytes: [UInt8]) -> (imports: [ModuleImport], exports: [ModuleExport])? {
        var imports: [ModuleImport] = []
        var exports: [ModuleExport] = []
        var understood = true
        let intact = forEachSection(bytes) { id, reader in
            guard understood, id == 2 || id == 7 else { return }
            guard let count = reader.leb() else { return understood = false }
            for _ in 0..<count {
                guard let module = id == 2 ? reader.name() : "", let name = reader.name(), let kind = reader.byte()
                else { return understood = false }
                if id == 7 {
                    guard reader.leb() != nil, let kind = externKind(kind) else { return understood = false }
                    exports.append(ModuleExport(name: name, kind: kind))
                    continue
                }
                switch kind {
                case 0:  // function: a type index
                    guard reader.leb() != nil else { return understood = false }
                case 1:  // table: funcref or externref, then limits
                    guard let type = reader.byte(), type == 0x70 || type == 0x6F, reader.limits() else { return understood = false }
                case 2:  // memory: limits
                    guard reader.limits() else { return understood = false }
                case 3:  // global: a number or reference type, then mutability
                    guard let type = reader.byte(), (0x6F...0x7F).contains(type), let mutability = reader.byte(), mutability <= 1
                    else { return understood = false }
                default:
                    return understood = false
                }
                guard let kind = externKind(kind) else { return understood = false }
                imports.append(ModuleImport(module: module, name: name, kind: kind))
            }
        }
        return understood && intact ? (imports, exports) : nil
    }

    /// The declared type of each imported function, by module and name, as the type and import sections say
    /// (an import whose type this reader does not understand is left out: the engine judges it).
    static func importedFunctionTypes(_ bytes: [UInt8]) -> [(module: String, name: String, type: WasmFunctionType)] {
        var types: [WasmFunctionType?] = []
        var found: [(module: String, name: String, type: WasmFunctionType)] = []
        forEachSection(bytes) { id, reader in
            guard id == 1 || id == 2, let count = reader.leb() else { return }
            for _ in 0..<count {
                if id == 1 {
                    // 0x60 params results; anything else (GC rec groups) ends the walk: no types known from here on.
                    guard reader.byte() == 0x60, let parameters = reader.valueTypes(), let results = reader.valueTypes() else {
                        return
                    }
                    let known = !parameters.contains(nil) && !results.contains(nil)
                    types.append(known ? WasmFunctionType(parameters.compactMap { $0 }, results.compactMap { $0 }) : nil)
                    continue
                }
                guard let module = reader.name(), let name = reader.name(), let kind = reader.byte() else { return }
                switch kind {
                case 0:
                    guard let index = reader.leb() else { return }
                    if Int(index) < types.count, let type = types[Int(index)] { found.append((module, name, type)) }
                case 1:
                    guard reader.byte() != nil, reader.limits() else { return }
                case 2:
                    guard reader.limits() else { return }
                case 3:
                    guard reader.byte() != nil, reader.byte() != nil else { return }
                default:
                    return
                }
            }
        }
        return found
    }

    private static func externKind(_ byte: UInt8) -> ExternKind? {
        switch byte {
        case 0: return .function
        case 1: return .table
        case 2: return .memory
        case 3: return .global
        case 4: return .tag
        default: return nil
        }
    }

    /// The most value slots one call of any function needs for its parameters and declared locals
    /// (an upper bound: the largest parameter list of any type plus the most locals of any body).
    /// WasmKit zeroes a callee's locals on every call for one unit of fuel, so this bounds what a
    /// call can cost (WasmKitEngine.worstNanosPerFuel). Saturates instead of overflowing.
    static func largestCallFrame(_ bytes: [UInt8]) -> Int {
        var mostParameters = 0
        var mostLocals = 0
        forEachSection(bytes) { id, reader in
            guard id == 1 || id == 10, let count = reader.leb() else { return }
            for _ in 0..<count {
                if id == 1 {
                    // A function type (0x60, params, results); anything else (GC rec groups) ends the walk.
                    guard reader.byte() == 0x60, let parameters = reader.leb(), Int(parameters) <= reader.end - reader.position
                    else { return }
                    mostParameters = max(mostParameters, Int(parameters))
                    reader.position += Int(parameters)
                    guard let results = reader.leb(), Int(results) <= reader.end - reader.position else { return }
                    reader.position += Int(results)
                } else {
                    guard let size = reader.leb(), Int(size) <= reader.end - reader.position else { return }
                    let next = reader.position + Int(size)
                    var locals = 0
                    if let groups = reader.leb() {
                        for _ in 0..<groups {
                            guard let group = reader.leb(), reader.byte() != nil else { break }
                            locals = min(locals + Int(group), 1 << 40)
                        }
                    }
                    mostLocals = max(mostLocals, locals)
                    reader.position = next
                }
            }
        }
        return mostParameters + mostLocals
    }

    /// Calls `body` with each section in order; true when the sections exactly fill the module
    /// (version 1, no section cut short).
    @discardableResult
    private static func forEachSection(_ bytes: [UInt8], _ body: (UInt8, inout Reader) -> Void) -> Bool {
        guard bytes.count >= 8, bytes[0..<4].elementsEqual([0, 0x61, 0x73, 0x6D]) else { return false }
        var reader = Reader(bytes: bytes, position: 8, end: bytes.count)
        while let id = reader.byte() {
            guard let size = reader.leb(), Int(size) <= reader.end - reader.position else { return false }
            let start = reader.position
            var section = Reader(bytes: bytes, position: start, end: start + Int(size))
            body(id, &section)
            reader.position = start + Int(size)
        }
        return bytes[4..<8].elementsEqual([1, 0, 0, 0])
    }

    struct Reader {
        let bytes: [UInt8]
        var position: Int
        let end: Int

        mutating func byte() -> UInt8? {
            guard position < end else { return nil }
            defer { position += 1 }
            return bytes[position]
        }

        /// An unsigned LEB128 of at most 32 bits.
        mutating func leb() -> UInt32? {
            var result: UInt32 = 0
            for shift in stride(from: 0, to: 35, by: 7) {
                guard let byte = byte() else { return nil }
                result |= UInt32(byte & 0x7F) << UInt32(shift)
                if byte & 0x80 == 0 { return result }
            }
            return nil
        }

        /// A vector of value types; nil when cut short, an element nil for a type byte not known here.
        mutating func valueTypes() -> [WasmValueType?]? {
            guard let count = leb(), Int(count) <= end - position else { return nil }
            return (0..<count).map { _ in
                switch byte() {
                case 0x7F: .i32
                case 0x7E: .i64
                case 0x7D: .f32
                case 0x7C: .f64
                case 0x7B: .v128
                case 0x70, 0x6F: .reference
                default: nil
                }
            }
        }

        /// Limits of a table or memory: flags 0 (min) or 1 (min, max); others (shared, 64-bit) are not read.
        mutating func limits() -> Bool {
            guard let flags = byte(), flags <= 1, leb() != nil else { return false }
            return flags == 0 || leb() != nil
        }

        mutating func name() -> String? {
            guard let length = leb(), Int(length) <= end - position else { return nil }
            defer { position += Int(length) }
            return String(decoding: bytes[position..<position + Int(length)], as: UTF8.self)
        }
    }
}
