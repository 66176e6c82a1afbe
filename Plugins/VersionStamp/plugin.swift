// VersionStamp: before every build of the Framepipe target, writes the git commit of the checkout being built into a
// generated Swift file (scripts/version-stamp.sh), so `framepipe --version` and summary.json name the exact source.
// A checkout without git (a source tarball) gets "unknown".

import Foundation
import PackagePlugin

@main
struct VersionStamp: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let generated = context.pluginWorkDirectoryURL.appending(path: "generated")
        return [
            .prebuildCommand(
                displayName: "Stamping the git commit into \(target.name)",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: [
                    context.package.directoryURL.appending(path: "scripts/version-stamp.sh").path,
                    context.package.directoryURL.path, generated.path,
                ],
                outputFilesDirectory: generated)
        ]
    }
}
