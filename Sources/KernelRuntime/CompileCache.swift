import Foundation

/// wasmtime's compiled modules on disk, so a kernel is compiled once per (module bytes, wasmtime
/// version, engine configuration) instead of at every start (5–9 ms per gallery kernel; a
/// deserialize takes 0.05–0.08 ms).
///
/// wasmtime deserializes whatever it is given as trusted machine code — a serialized module with a
/// flipped byte was accepted here — so every entry carries the SHA-256 of its payload and the inputs
/// of its key, and is verified before use: a corrupt, truncated or stale entry is recompiled and
/// rewritten, never loaded. Entries are written to a temporary file and renamed, so a reader never
/// sees half an entry. The cache protects against corruption, not against someone who can write to
/// the cache folder (as with wasmtime's own cache).
///
/// Entry: "FPWTC1\n" magic, one header line `key version configuration length sha256`, then the payload.
final class CompileCache: Sendable {
    let directory: String
    static let magic = "FPWTC1\n"

    init(directory: String) { self.directory = directory }

    struct Key: Sendable, Equatable {
        var digest: String
        var engineVersion: String
        var configuration: String
    }

    static func key(module: [UInt8], engineVersion: String, configuration: String) -> Key {
        var hash = SHA256()
        hash.update(module)
        hash.update("\0wasmtime \(engineVersion)\0\(configuration)")
        return Key(
            digest: SHA256.hex(digest: hash.finalize()), engineVersion: engineVersion,
            configuration: configuration)
    }

    func path(for key: Key) -> String { "\(directory)/\(key.digest).cwasm" }

    /// What became of the last lookup (for tests and `inspect`).
    enum Outcome: Sendable, Equatable { case hit, miss, corrupt, stale }
    private let lastOutcome = Locked<Outcome?>(nil)
    var outcomeOfLastLookup: Outcome? { lastOutcome.withLock { $0 } }

    /// The verified payload of `key`'s entry, or nil (missing, corrupt or stale: compile again).
    func lookup(key: Key) -> [UInt8]? {
        let (payload, outcome) = read(key: key)
        lastOutcome.withLock { $0 = outcome }
        return payload
    }

    private func read(key: Key) -> ([UInt8]?, Outcome) {
        guard let data = FileManager.default.contents(atPath: path(for: key)) else { return (nil, .miss) }
        let bytes = [UInt8](data)
        let magic = Array(Self.magic.utf8)
        guard bytes.count > magic.count, bytes.starts(with: magic),
            let newline = bytes[magic.count...].firstIndex(of: 0x0A)
        else { return (nil, .corrupt) }
        let fields = String(decoding: bytes[magic.count..<newline], as: UTF8.self).split(separator: " ").map(String.init)
        guard fields.count == 5, let length = Int(fields[3]) else { return (nil, .corrupt) }
        guard fields[0] == key.digest, fields[1] == key.engineVersion, fields[2] == key.configuration else {
            return (nil, .stale)
        }
        let payload = Array(bytes[(newline + 1)...])
        guard payload.count == length, SHA256.hex(payload) == fields[4] else { return (nil, .corrupt) }
        return (payload, .hit)
    }

    /// Writes `key`'s entry (best effort: a cache that cannot be written only costs a compile).
    func store(key: Key, payload: UnsafeRawBufferPointer) {
        let header = "\(key.digest) \(key.engineVersion) \(key.configuration) \(payload.count) \(SHA256.hex(payload))\n"
        var entry = Data(Self.magic.utf8)
        entry.append(Data(header.utf8))
        entry.append(contentsOf: payload)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let temporary = "\(path(for: key)).tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
            try entry.write(to: URL(fileURLWithPath: temporary))
            if rename(temporary, path(for: key)) != 0 { try? FileManager.default.removeItem(atPath: temporary) }
        } catch {
            return
        }
    }
}
