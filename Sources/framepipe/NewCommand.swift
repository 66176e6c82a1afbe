import ArgumentParser
import Foundation
import Framepipe

extension KernelProject.Language: ExpressibleByArgument {}
extension KernelProject.Format: ExpressibleByArgument {}

/// `framepipe new NAME --lang c|cpp|rust [--format rgba|field|points]`: a kernel project to start from
/// (docs/kernel-abi.md, "framepipe new").
struct NewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "new",
        abstract: "Write a kernel project (source, SDK, build.sh, README) that builds outside this repository.",
        discussion: "Writes the folder NAME (in --in, default the current folder); then `cd NAME && ./build.sh`. "
            + "Exit code 73: the folder exists already or cannot be written (nothing is written then).")

    @Argument(help: "The kernel's name: its folder, source file and NAME.wasm (a letter, then letters, digits, _ or -).")
    var name: String
    @Option(help: ArgumentHelp("The kernel's language: c (with libc), cpp (with libc++) or rust (with std).", valueName: "lang"))
    var lang: KernelProject.Language
    @Option(
        help: ArgumentHelp(
            "Output format: rgba (an image), field (floats the host colours) or points (sprites).", valueName: "format"))
    var format: KernelProject.Format = .rgba
    @Option(name: .customLong("in"), help: ArgumentHelp("The folder to create the project in.", valueName: "dir"))
    var parent = "."

    func validate() throws {
        if let problem = KernelProject.checkName(name) { throw ValidationError(problem) }
    }

    func run() throws {
        try reportingErrors { () throws(FramepipeError) in
            let folder = try KernelProject.create(name: name, language: lang, format: format, in: parent)
            let shown = parent == "." ? name : folder
            print("framepipe new: wrote \(shown)/ (\(lang.rawValue), \(format.rawValue)): \(name).\(lang.sourceExtension), build.sh, README.md and the SDK")
            print("next: cd \(shown) && ./build.sh && framepipe view \(name).wasm --watch --build ./build.sh")
        }
    }
}
