import Foundation
import KernelRuntime
import XCTest

/// The WebAssembly engines every test that runs a kernel runs on: WasmKit always, wasmtime when its
/// library is found (`WasmtimeLibrary.locate()`: FRAMEPIPE_WASMTIME_LIB, the project-local
/// `.deps/wasmtime` that scripts/setup.sh installs, Python's wasmtime package).
///
/// Without the library, the wasmtime half of a test is skipped with an XCTSkip that says so; with
/// `CI` set or `FRAMEPIPE_REQUIRE_WASMTIME=1` it is a failure, so CI can never quietly test one engine.
public enum EngineUnderTest: String, CaseIterable, Sendable, CustomStringConvertible {
    case wasmkit, wasmtime

    /// What `--engine` and `EngineRequest` call it.
    public var choice: EngineChoice { self == .wasmkit ? .wasmkit : .wasmtime }
    /// The engine's own name, for assertion messages.
    public var description: String { self == .wasmkit ? "WasmKit" : "wasmtime" }
    /// `--engine NAME`, for the command line.
    public var arguments: [String] { ["--engine", rawValue] }

    /// A new engine object (one per kernel run, as the commands make them). wasmtime gets no compile
    /// cache unless given a folder: tests of the cache make their own. `meterFuel` is wasmtime's
    /// `--fuel` (WasmKit always meters fuel).
    public func make(meterFuel: Bool = false, cacheDirectory: String? = nil) throws -> any KernelEngine {
        switch self {
        case .wasmkit:
            return WasmKitEngine()
        case .wasmtime:
            return try WasmtimeEngine(
                library: try TestEngines.wasmtimeLibrary(), meterFuel: meterFuel, cacheDirectory: cacheDirectory)
        }
    }

    /// The request Framepipe's options take (`options.engine`), with the test run's private compile cache.
    public func request(meterFuel: Bool = false, build: KernelBuild = .auto) -> EngineRequest {
        var request = EngineRequest(choice: choice, meterFuel: meterFuel, build: build)
        request.cacheDirectory = TestEngines.cacheDirectory
        return request
    }
}

public enum TestEngines {
    /// Whether a missing wasmtime library fails the run: `CI` set (and not "0" or "false"), or
    /// `FRAMEPIPE_REQUIRE_WASMTIME=1`.
    public static var wasmtimeRequired: Bool {
        let environment = ProcessInfo.processInfo.environment
        if let ci = environment["CI"], !ci.isEmpty, ci != "0", ci.lowercased() != "false" { return true }
        return environment["FRAMEPIPE_REQUIRE_WASMTIME"] == "1"
    }

    /// wasmtime's library as this process finds it (looked up once; a process loads it once anyway).
    public static let located: Result<WasmtimeLibrary, EngineUnavailable> = Result {
        () throws(EngineUnavailable) in try WasmtimeLibrary.locate()
    }

    /// Every engine, WasmKit first.
    public static var all: [EngineUnderTest] { EngineUnderTest.allCases }

    /// The library, or the error that skips (or, where wasmtime is required, fails) the test.
    public static func wasmtimeLibrary() throws -> WasmtimeLibrary {
        switch located {
        case .success(let library): return library
        case .failure(let error): throw missing(error, skipping: "this test needs wasmtime and did not run")
        }
    }

    /// Runs `body` once per engine, WasmKit first. An error thrown for one engine fails the test with
    /// the engine's name and the other engine still runs; an XCTSkip from `body` skips the test.
    /// Without wasmtime: WasmKit runs, then the test is skipped (or fails, where wasmtime is required).
    public static func forEach(
        file: StaticString = #filePath, line: UInt = #line, _ body: (EngineUnderTest) throws -> Void
    ) throws {
        var skipped: (any Error)?
        for engine in all {
            if engine == .wasmtime, case .failure(let error) = located {
                skipped = missing(error, skipping: "the test ran on WasmKit only")
                continue
            }
            do {
                try body(engine)
            } catch let skip as XCTSkip {
                throw skip
            } catch {
                XCTFail("\(engine): \(error)", file: file, line: line)
            }
        }
        if let skipped { throw skipped }
    }

    private static func missing(_ error: EngineUnavailable, skipping what: String) -> any Error {
        if wasmtimeRequired {
            return WasmtimeRequired(
                message:
                    "wasmtime is required here (CI or FRAMEPIPE_REQUIRE_WASMTIME=1) but its library was not found: \(error.message)"
            )
        }
        return XCTSkip(
            "wasmtime's library was not found, so \(what) (set FRAMEPIPE_REQUIRE_WASMTIME=1 to make this a failure): \(error.message)"
        )
    }

    /// A compile-cache folder private to this test process, so tests never read or fill the user's
    /// ~/.cache (and never depend on what an earlier run left there).
    public static let cacheDirectory: String = {
        let path = NSTemporaryDirectory() + "framepipe-test-cache-\(getpid())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    /// Points XDG_CACHE_HOME at a folder private to this test process, for the `framepipe`
    /// processes the tests start (their compile cache then lives there too).
    public static func isolateCacheHomeForChildProcesses() {
        let home = cacheDirectory + "/xdg"
        try? FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        setenv("XDG_CACHE_HOME", home, 1)
    }
}

/// wasmtime was required but not found (a failure, unlike XCTSkip).
public struct WasmtimeRequired: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
