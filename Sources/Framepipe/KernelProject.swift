import Foundation

/// `framepipe new`: a kernel project that builds outside the repository, written from the templates
/// embedded in GeneratedKernelTemplates.swift (assets/templates and assets/sdk; scripts/build-templates.sh).
/// What each language's project holds and needs: docs/kernel-abi.md, "framepipe new".
public enum KernelProject {
    public enum Language: String, CaseIterable, Sendable {
        case c, cpp, rust

        public var sourceExtension: String {
            switch self {
            case .c: "c"
            case .cpp: "cpp"
            case .rust: "rs"
            }
        }

        /// Files of assets/ copied unchanged, by their path in the project.
        var sdkFiles: [(project: String, asset: String)] {
            switch self {
            case .c: [("framepipe.h", "sdk/c/framepipe.h")]
            case .cpp: [("framepipe.h", "sdk/c/framepipe.h"), ("framepipe.hpp", "sdk/cpp/framepipe.hpp")]
            case .rust:
                [("framepipe/Cargo.toml", "sdk/rust/framepipe/Cargo.toml"), ("framepipe/src/lib.rs", "sdk/rust/framepipe/src/lib.rs")]
            }
        }
    }

    public enum Format: String, CaseIterable, Sendable {
        case rgba, field, points
    }

    /// 1–64 characters, a letter first, then letters, digits, `_` and `-`: a folder, a file stem and (with
    /// `-` as `_`) a Rust crate name, with nothing for a shell or a Makefile to misread.
    public static func checkName(_ name: String) -> String? {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
        guard let first = name.first, first.isLetter, first.isASCII, name.count <= 64, name.allSatisfy(allowed.contains)
        else {
            return "kernel name '\(name)' must be 1-64 characters: a letter, then letters, digits, '_' or '-' (e.g. ripples or my-blur)"
        }
        return nil
    }

    /// The project's files (path in the project → contents, whether executable), from the embedded templates.
    public static func files(name: String, language: Language, format: Format) throws(FramepipeError)
        -> [(path: String, contents: String, executable: Bool)]
    {
        if let problem = checkName(name) { throw FramepipeError(.usage, problem) }
        let source = "\(name).\(language.sourceExtension)"
        func embedded(_ asset: String) throws(FramepipeError) -> String {
            guard let contents = GeneratedKernelTemplates.files[asset] else {
                // Only a broken build of framepipe gets here (KernelProjectTests checks every path).
                throw FramepipeError(.failure, "this framepipe was built without assets/\(asset): rebuild it")
            }
            return contents
        }
        func filled(_ asset: String) throws(FramepipeError) -> String {
            try embedded(asset).replacingOccurrences(of: "@NAME@", with: name)
                .replacingOccurrences(of: "@LANG@", with: language.rawValue)
                .replacingOccurrences(of: "@FORMAT@", with: format.rawValue)
                .replacingOccurrences(of: "@SOURCE@", with: source)
        }
        var files: [(path: String, contents: String, executable: Bool)] = [
            (source, try filled("templates/\(language.rawValue)/\(format.rawValue).\(language.sourceExtension)"), false),
            ("build.sh", try filled("templates/build.sh"), true),
            ("README.md", try filled("templates/\(language.rawValue)/README.md"), false),
        ]
        for file in language.sdkFiles { files.append((file.project, try embedded(file.asset), false)) }
        return files
    }

    /// Writes the project into `parent/name` and returns that folder's path. All or nothing: the files go
    /// into a hidden folder beside it first, which is then renamed, so an existing folder is never touched
    /// and a failure leaves nothing behind.
    @discardableResult
    public static func create(name: String, language: Language, format: Format, in parent: String) throws(FramepipeError)
        -> String
    {
        let files = try files(name: name, language: language, format: format)
        let manager = FileManager.default
        let destination = (parent as NSString).appendingPathComponent(name)
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: parent, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw FramepipeError(.cannotCreate, "\(parent): no such folder to create the kernel project in")
        }
        if manager.fileExists(atPath: destination) {
            throw FramepipeError(
                .cannotCreate, "\(destination) exists already: choose another name, or remove it first (nothing was written)")
        }
        let staging = (parent as NSString).appendingPathComponent(".\(name).new-\(getpid())")
        do {
            try? manager.removeItem(atPath: staging)
            for file in files {
                let path = (staging as NSString).appendingPathComponent(file.path)
                try manager.createDirectory(
                    atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try Data(file.contents.utf8).write(to: URL(fileURLWithPath: path))
                if file.executable { try manager.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path) }
            }
        } catch {
            try? manager.removeItem(atPath: staging)
            throw FramepipeError(.cannotCreate, "cannot write the kernel project in \(parent): \(error.localizedDescription)")
        }
        // rename(2) refuses to replace a non-empty folder: one made meanwhile by someone else stays as it is.
        guard rename(staging, destination) == 0 else {
            let reason = String(cString: strerror(errno))
            try? manager.removeItem(atPath: staging)
            throw FramepipeError(.cannotCreate, "cannot create \(destination): \(reason) (nothing was written)")
        }
        return destination
    }

    /// Every path under assets/ the projects are made of (for the check that they are all embedded).
    public static var templateAssets: [String] {
        var paths: Set<String> = ["templates/build.sh"]
        for language in Language.allCases {
            paths.insert("templates/\(language.rawValue)/README.md")
            for format in Format.allCases { paths.insert("templates/\(language.rawValue)/\(format.rawValue).\(language.sourceExtension)") }
            for file in language.sdkFiles { paths.insert(file.asset) }
        }
        return paths.sorted()
    }

    /// The embedded copy of an asset (for the check against the checkout).
    public static func embedded(_ asset: String) -> String? { GeneratedKernelTemplates.files[asset] }
}
