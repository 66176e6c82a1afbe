// A private Xvfb display for tests that open real windows in-process (WindowRenderer, the shared render feed).

import Foundation

/// An Xvfb server on a display number nobody uses, set as DISPLAY while it runs; `stop` ends it and restores DISPLAY.
public final class XvfbDisplay {
    public struct DidNotStart: Error, CustomStringConvertible {
        public let display: Int
        public let exited: Bool
        public var description: String { "Xvfb :\(display) \(exited ? "exited" : "had no socket after 60 s")" }
    }

    public static let binary = "/usr/bin/Xvfb"
    public static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: binary) }

    private let process: Process
    private let previousDisplay: String?

    /// Starts Xvfb (check `isInstalled` first: installed but not starting is an error, not a reason to skip) and waits
    /// for its socket, polled for up to 60 s (a loaded machine starts it slowly).
    public init() throws {
        previousDisplay = getenv("DISPLAY").map { String(cString: $0) }
        // Different per test process, and past any lock file left by another server.
        var number = 300 + Int(getpid() % 300)
        while FileManager.default.fileExists(atPath: "/tmp/.X\(number)-lock") { number += 1 }
        process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = [":\(number)", "-screen", "0", "640x480x24", "-nolisten", "tcp"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let socket = "/tmp/.X11-unix/X\(number)"
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: socket), process.isRunning, Date() < deadline { usleep(50_000) }
        guard FileManager.default.fileExists(atPath: socket) else {
            stop()
            throw DidNotStart(display: number, exited: !process.isRunning)
        }
        setenv("DISPLAY", ":\(number)", 1)
    }

    /// Ends the server (after the test closed its windows) and restores DISPLAY. Idempotent.
    public func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        if let previousDisplay { setenv("DISPLAY", previousDisplay, 1) } else { unsetenv("DISPLAY") }
    }
}
