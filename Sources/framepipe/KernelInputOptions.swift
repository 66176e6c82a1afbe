import ArgumentParser
import Foundation
import KernelRuntime

/// What a kernel may read (`--data`) and the seed of its random bytes (`--seed`): bench, capture and view.
/// The WASI functions behind them are in docs/kernel-abi.md ("WASI subset").
struct KernelInputOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "A directory the kernel may read (read-only, preopened as '.'; nothing outside it).", valueName: "dir"))
    var data: String?
    @Option(
        help: ArgumentHelp(
            "Seed of the kernel's random bytes (WASI random_get), 0-18446744073709551615 (default 1).", valueName: "n"))
    var seed: UInt64 = WASIOptions.defaultSeed

    func validate() throws {
        guard let data else { return }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: data, isDirectory: &isDirectory) else {
            throw ValidationError("--data \(data): no such directory; give the directory of the kernel's input files")
        }
        guard isDirectory.boolValue else {
            throw ValidationError("--data \(data) is a file; give the directory that holds it")
        }
        guard FileManager.default.isReadableFile(atPath: data) else {
            throw ValidationError("--data \(data): the directory is not readable")
        }
    }

    /// The options every kernel instance of the run gets (the directory made absolute: a reload reopens it).
    var wasi: WASIOptions {
        WASIOptions(
            dataDirectory: data.map { URL(fileURLWithPath: $0).standardizedFileURL.path }, seed: seed)
    }
}
