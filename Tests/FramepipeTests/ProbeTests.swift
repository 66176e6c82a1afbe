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
        let readelf = try runProcess(URL(fileURLWithPath: "/usr/bin/env"), ["readelf", "-n", path])
        guard readelf.status == 0 else {
            throw ReadelfFailed(
                message: "readelf -n \(path) exited \(readelf.status) (apt-get install binutils): \(readelf.stderr)")
        }
        return parseStapsdtNotes(readelf.stdout)
    }

    /// Within the `.note.stapsdt` section, each note's `Provider:` starts a probe (on its own line, or
    /// at the end of the owner line with `--wide`); its `Name:` and `Arguments:` lines follow.
    static func parseStapsdtNotes(_ text: String) -> [StapsdtNote] {
        var notes: [StapsdtNote] = []
        var inStapsdtSection = false
        for line in text.split(separator: "\n").map(String.init) {
            if let section = line.value(after: "Displaying notes found in:") {
                inStapsdtSection = section == ".note.stapsdt"
                continue
            }
            guard inStapsdtSection else { continue }
            if let provider = line.value(after: "Provider:") {
                notes.append(StapsdtNote(provider: provider, name: "", arguments: []))
            } else if let name = line.value(after: "Name:"), !notes.isEmpty {
                notes[notes.count - 1].name = name
            } else if let arguments = line.value(after: "Arguments:"), !notes.isEmpty {
                notes[notes.count - 1].arguments = arguments.split(separator: " ").map(String.init)
            }
        }
        return notes
    }

    func testTheNoteParserReadsReadelfOutput() {
        let sample = """
            Displaying notes found in: .note.gnu.build-id
              Owner                Data size \tDescription
              GNU                  0x00000014\tNT_GNU_BUILD_ID (unique build ID bitstring)
                Build ID: 5298832438d1add951ca99fdfb2fd74e9ca5cbb3

            Displaying notes found in: .note.stapsdt
              Owner                Data size \tDescription
              stapsdt              0x00000044\tNT_STAPSDT (SystemTap probe descriptors)
                Provider: framepipe
                Name: schedule
                Location: 0x0000000000000019, Base: 0x0000000000000000, Semaphore: 0x0000000000000000
                Arguments: 8@%rdi -4@%esi
              stapsdt              0x00000036\tNT_STAPSDT (SystemTap probe descriptors)\t    Provider: other
                Name: acquire
                Location: 0x00000000000000b0, Base: 0x0000000000000000, Semaphore: 0x0000000000000000
                Arguments:

            Displaying notes found in: .note.other
                Provider: not-a-probe
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
    /// What follows `key` on the line, trimmed; nil when the line does not contain it.
    fileprivate func value(after key: String) -> String? {
        guard let found = range(of: key) else { return nil }
        return self[found.upperBound...].trimmingCharacters(in: .whitespaces)
    }
}
