import Foundation
import XCTest

/// One USDT probe site as `readelf -n` prints it from the `.note.stapsdt` section.
struct StapsdtNote: Equatable {
    var provider: String
    var name: String
    /// One operand per argument, `SIZE@LOCATION`: size in bytes, negative = signed (`8@%rdi`, `-4@%esi`).
    var arguments: [String]
}

/// The USDT probes perf sees as `sdt_framepipe:NAME` are in the built `framepipe` binary, with the
/// generation (8 bytes) first (docs/profiling.md).
final class ProbeTests: XCTestCase {
    /// Probe name → argument count (generation first, then the frame index or worker and tile).
    static let expectedProbes: [String: Int] = [
        "schedule": 2, "tile_start": 3, "tile_end": 3, "publish": 2,
        "acquire": 1, "submit": 1, "complete": 1, "present": 1,
    ]

    func testEveryFrameProbeIsInTheBinaryWithTheGenerationFirst() throws {
        let binary = framepipeExecutable.path
        XCTAssertTrue(
            FileManager.default.isExecutableFile(atPath: binary), "framepipe not built at \(binary): run `swift build`")
        let notes = try Self.stapsdtNotes(of: binary).filter { $0.provider == "framepipe" }
        for (name, argumentCount) in Self.expectedProbes.sorted(by: { $0.key < $1.key }) {
            let sites = notes.filter { $0.name == name }
            XCTAssertFalse(sites.isEmpty, "no sdt_framepipe:\(name) probe in \(binary)")
            for site in sites {
                XCTAssertEqual(site.arguments.count, argumentCount, "\(name): \(site.arguments)")
                XCTAssertTrue(
                    site.arguments.first?.hasPrefix("8@") ?? false,
                    "\(name): the first argument (generation) must be an unsigned 8-byte value, got \(site.arguments)")
            }
        }
        let unexpected = Set(notes.map(\.name)).subtracting(Self.expectedProbes.keys)
        XCTAssertEqual(unexpected, [], "framepipe probes not documented in docs/profiling.md")
    }

    /// Runs `readelf -n` (binutils) on `path` and parses its `stapsdt` notes.
    static func stapsdtNotes(of path: String) throws -> [StapsdtNote] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["readelf", "-n", "--wide", path]
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ReadelfFailed(
                message: "readelf -n \(path) exited \(process.terminationStatus) (apt-get install binutils): "
                    + String(decoding: stderr, as: UTF8.self))
        }
        return parseStapsdtNotes(String(decoding: stdout, as: UTF8.self))
    }

    /// Each note's `Provider:` line starts a probe; its `Name:` and `Arguments:` lines follow.
    static func parseStapsdtNotes(_ text: String) -> [StapsdtNote] {
        var notes: [StapsdtNote] = []
        for line in text.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if let provider = trimmed.value(after: "Provider:") {
                notes.append(StapsdtNote(provider: provider, name: "", arguments: []))
            } else if let name = trimmed.value(after: "Name:"), !notes.isEmpty {
                notes[notes.count - 1].name = name
            } else if let arguments = trimmed.value(after: "Arguments:"), !notes.isEmpty {
                notes[notes.count - 1].arguments = arguments.split(separator: " ").map(String.init)
            }
        }
        return notes
    }

    func testTheNoteParserReadsReadelfOutput() {
        let sample = """
            Displaying notes found in: .note.stapsdt
              Owner                Data size \tDescription
              stapsdt              0x00000044\tNT_STAPSDT (SystemTap probe descriptors)
                Provider: framepipe
                Name: schedule
                Location: 0x0000000000000019, Base: 0x0000000000000000, Semaphore: 0x0000000000000000
                Arguments: 8@%rdi -4@%esi
              stapsdt              0x00000036\tNT_STAPSDT (SystemTap probe descriptors)
                Provider: other
                Name: acquire
                Location: 0x00000000000000b0, Base: 0x0000000000000000, Semaphore: 0x0000000000000000
                Arguments:
            """
        XCTAssertEqual(
            Self.parseStapsdtNotes(sample),
            [
                StapsdtNote(provider: "framepipe", name: "schedule", arguments: ["8@%rdi", "-4@%esi"]),
                StapsdtNote(provider: "other", name: "acquire", arguments: []),
            ])
    }
}

struct ReadelfFailed: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

extension String {
    /// The rest of the line after `prefix`, trimmed; nil when the line does not start with it.
    fileprivate func value(after prefix: String) -> String? {
        guard hasPrefix(prefix) else { return nil }
        return dropFirst(prefix.count).trimmingCharacters(in: .whitespaces)
    }
}
