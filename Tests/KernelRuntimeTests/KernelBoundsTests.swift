import EngineTestSupport
import Foundation
import XCTest

@testable import KernelRuntime

/// Every call into a kernel is bounded in time on both engines, and kernel text is data: the
/// reduced fuzzing reproducers and the hostile corpus modules (BadModules/README.md).
final class KernelBoundsTests: XCTestCase {
    /// A short deadline, so the runaway modules end quickly even in a debug build.
    private let shortDeadline = KernelLimits(tileTimeoutNanos: 100_000_000)

    /// `fp_abi_version` that return_calls itself for ever (a probe: `KernelLimits.probeBudget`) is
    /// stopped at load with a fault line, on both engines.
    func testAProbeThatLoopsIsStopped() throws {
        try TestEngines.forEach { which in
            XCTAssertThrowsError(
                try instantiate(
                    corpus("probe-tail-call-loop.wasm"), on: try which.make(), width: 8, height: 8, limits: shortDeadline),
                "\(which)"
            ) { error in
                let error = error as? KernelError
                XCTAssertEqual(error?.kind, .invalidModule, "\(which)")
                XCTAssertEqual(error?.fault, .timeout, "\(which): \(error?.message ?? "")")
                XCTAssertTrue(error?.message.contains("fp_abi_version failed") ?? false, "\(which): \(error?.message ?? "")")
            }
        }
    }

    /// An `fp_frame` that enters a return_call cycle, and one that calls a 4 000-local function for
    /// ever (the slowest code per unit of fuel on WasmKit): each stopped within the deadline as a
    /// `timeout` fault — wasmtime by its epoch deadline, WasmKit by the fuel its slowest code can
    /// burn in that time.
    func testRunawayFramesEndWithinTheDeadline() throws {
        for name in ["frame-tail-call-cycle", "frame-huge-locals", "endless-loop"] {
            try TestEngines.forEach { which in
                let instance = try instantiate(corpus("\(name).wasm"), on: try which.make(), width: 8, height: 8, limits: shortDeadline)
                XCTAssertThrowsError(try instance.run(frame: 0, time: 0, units: 0..<8), "\(which) \(name)") { error in
                    let error = error as? KernelError
                    XCTAssertEqual(error?.fault, .timeout, "\(which) \(name): \(error?.message ?? "")")
                    let expected = which == .wasmkit ? "used up its time budget" : "ran past its deadline of 100 ms"
                    XCTAssertTrue(error?.message.contains(expected) ?? false, "\(which) \(name): \(error?.message ?? "")")
                }
            }
        }
    }

    /// Atomics are refused at load on both engines, with the same line.
    func testAtomicsAreRefusedOnBothEngines() throws {
        try TestEngines.forEach { which in
            XCTAssertThrowsError(try which.make().load(path: corpus("uses-atomics.wasm")), "\(which)") { error in
                let error = error as? KernelError
                XCTAssertEqual(error?.kind, .invalidModule, "\(which)")
                XCTAssertTrue(error?.message.hasSuffix("uses atomic operations (the threads proposal); kernels run single-threaded: build without -pthread or -matomics (docs/kernel-abi.md)") ?? false, "\(which): \(error?.message ?? "")")
            }
        }
    }

    /// WasmKit's budget for a deadline shrinks with the module's largest call frame.
    func testWasmKitBudgetFollowsTheSlowestCode() throws {
        let small = WasmKitEngine.worstNanosPerFuel(largestCallFrame: 12)
        let wide = WasmKitEngine.worstNanosPerFuel(largestCallFrame: 4000)
        XCTAssertEqual(small, WasmKitEngine.worstNanosPerFuel)
        XCTAssertGreaterThan(wide, 40 * small)
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: corpus("frame-huge-locals.wasm"))))
        XCTAssertEqual(WasmBinary.largestCallFrame(bytes), 4000 + 4)
        XCTAssertEqual(WasmKitEngine.worstNanosPerFuel(of: bytes), 600.6, accuracy: 0.01)
        for (name, expected) in [("good-gradient", 8.0), ("frame-tail-call-cycle", 15.0), ("grow-ignored-loop", 22.0)] {
            let module = try [UInt8](Data(contentsOf: URL(fileURLWithPath: corpus("\(name).wasm"))))
            XCTAssertEqual(WasmKitEngine.worstNanosPerFuel(of: module), expected, name)
        }
        XCTAssertEqual(WasmKitEngine.fuel(within: 5_000_000_000, nanosPerFuel: 8), 625_000_000)
    }

    /// A kernel that ignores a refused growth and loops is reported as refused memory, not as a loop.
    func testARefusedGrowthIsReportedEvenWhenIgnored() throws {
        var limits = shortDeadline
        limits.maxMemoryBytes = 4 << 20
        try TestEngines.forEach { which in
            let instance = try instantiate(corpus("grow-ignored-loop.wasm"), on: try which.make(), width: 8, height: 8, limits: limits)
            XCTAssertThrowsError(try instance.run(frame: 0, time: 0, units: 0..<8), "\(which)") { error in
                let error = error as? KernelError
                XCTAssertEqual(error?.fault, .memoryRefused, "\(which): \(error?.message ?? "")")
                XCTAssertTrue(error?.message.contains("memory growth to 64.1 MiB was refused (limit 4 MiB") ?? false, "\(which): \(error?.message ?? "")")
            }
        }
    }

    /// Stack exhaustion: a backtrace of tens of thousands of frames becomes one bounded line.
    func testAHugeBacktraceIsOneBoundedLine() throws {
        try TestEngines.forEach { which in
            let instance = try instantiate(corpus("deep-recursion.wasm"), on: try which.make(), width: 8, height: 8)
            XCTAssertThrowsError(try instance.run(frame: 0, time: 0, units: 0..<8), "\(which)") { error in
                let message = (error as? KernelError)?.message ?? ""
                XCTAssertEqual((error as? KernelError)?.fault, .trap, "\(which): \(message.prefix(300))")
                XCTAssertLessThanOrEqual(message.count, KernelText.maxErrorCharacters + 60, "\(which)")
                XCTAssertFalse(message.contains("\n"), "\(which)")
                XCTAssertTrue(message.contains("call stack exhausted"), "\(which): \(message)")
                XCTAssertTrue(message.contains("descend ×"), "\(which): \(message)")
            }
        }
    }

    /// Log text is escaped, prefixed with the kernel's name, `len <= 0` is dropped, and a frame
    /// prints at most its allowance plus one notice.
    func testKernelLogTextIsData() throws {
        try TestEngines.forEach { which in
            let lines = LockedLines()
            let host = KernelHost(log: { lines.append($0) }, input: { _ in 0 })
            let instance = try instantiate(corpus("log-injection.wasm"), on: try which.make(), width: 8, height: 8, host: host)
            XCTAssertEqual(
                lines.all, [#"kernel log-injection: ok\nframepipe: error: forged\u{1B}[31mred\u{7}"#], "\(which)")
            try instance.run(frame: 0, time: 0, units: 0..<8)
            try instance.run(frame: 1, time: 0, units: 0..<8)
            let frameLines = Array(lines.all.dropFirst())
            let allowance = Int(LogAllowance().linesPerFrame)
            XCTAssertEqual(frameLines.count, 2 * (allowance + 1), "\(which): \(frameLines)")
            XCTAssertEqual(frameLines.filter { $0 == "kernel log-injection: ok" }.count, 2 * allowance, "\(which)")
            XCTAssertTrue(
                frameLines.contains("kernel log-injection: frame 1: further log lines dropped (at most \(allowance) a frame)"),
                "\(which): \(frameLines)")
            for line in lines.all {
                XCTAssertFalse(line.unicodeScalars.contains { $0.properties.generalCategory == .control }, "\(which): \(line)")
            }
        }
    }

    func testTextIsEscapedBoundedAndScrubbed() {
        XCTAssertEqual(KernelText.escaped("a\nb\u{1B}[0m\u{7}\u{202E}\\"), #"a\nb\u{1B}[0m\u{7}\u{202E}\\"#)
        XCTAssertEqual(KernelText.bounded(String(repeating: "x", count: 12), limit: 10), "xxxxxxxxxx… [2 more characters cut]")
        XCTAssertEqual(
            KernelText.errorLine(#"k.wasm: invalid: "Message(text: "malformed section id: 14")" at offset 0xa"#),
            "k.wasm: invalid: malformed section id: 14 at offset 0xa")
        XCTAssertEqual(KernelText.errorLine("trap\n    0: (0x7ffc5d2eb758) wasm function[1]"), "trap | 0: wasm function[1]")
        XCTAssertEqual(KernelText.errorLine("unknown binary version: [0, 2, 128, 128] at offset 0x8"), "unknown binary version: 00 02 80 80 at offset 0x8")
        XCTAssertLessThanOrEqual(KernelText.errorLine(String(repeating: "y", count: 300_000)).count, KernelText.maxErrorCharacters + 40)
        XCTAssertEqual(KernelText.backtrace(["a", "b", "b", "b", "fp_frame"]), "a ← b ×3 ← fp_frame")
        let long = (0..<30).map { "f\($0)" }
        XCTAssertEqual(KernelText.backtrace(long), "f0 ← f1 ← f2 ← f3 ← f4 ← f5 ← … 22 more frames … ← f28 ← f29")
    }

    /// Faults counted in frame order: frames finishing out of order never fake a run of failures.
    func testLedgerCountsFailuresInFrameOrder() {
        var ledger = FrameOutcomeLedger(limit: 2)
        let error = KernelError(.runtimeFault, "x", fault: .errorCode)
        // Frames 1 and 3 fail; 3 finishes before 2, then 2 is published.
        ledger.noteFailure(of: 1, error)
        XCTAssertEqual(ledger.record(.published, of: 0), 0)
        XCTAssertEqual(ledger.record(.failed, of: 1), 1)
        ledger.noteFailure(of: 3, error)
        XCTAssertEqual(ledger.record(.failed, of: 3), 1, "frame 3 waits for frame 2")
        XCTAssertEqual(ledger.record(.published, of: 2), 1, "2 breaks the run, then 3 starts a new one")
        XCTAssertEqual(ledger.nextFrame, 4)
        // A reload restarts the count; frames of the old kernel are not failures of the new one.
        ledger.noteFailure(of: 4, error)
        ledger.restart(countingFrom: 5)
        XCTAssertEqual(ledger.record(.failed, of: 4), 0)
        XCTAssertEqual(ledger.record(.cancelled, of: 5), 0)
        let last = KernelError(.runtimeFault, "last one", fault: .trap)
        ledger.noteFailure(of: 6, error)
        ledger.noteFailure(of: 7, last)
        XCTAssertEqual(ledger.record(.failed, of: 7), 0)
        XCTAssertTrue(ledger.takeTrip() == nil)
        XCTAssertEqual(ledger.record(.failed, of: 6), 2)
        XCTAssertEqual(ledger.lastFailure?.message, "last one", "the reason is the last failure in frame order")
        XCTAssertEqual(ledger.takeTrip()??.message, "last one")
        XCTAssertTrue(ledger.takeTrip() == nil, "a trip is taken once")
        // A run that reaches the limit and is broken within one fold still trips.
        ledger.noteFailure(of: 9, error)
        ledger.noteFailure(of: 10, last)
        _ = ledger.record(.failed, of: 10)
        _ = ledger.record(.published, of: 11)
        _ = ledger.record(.failed, of: 9)
        XCTAssertEqual(ledger.record(.published, of: 8), 0)
        XCTAssertEqual(ledger.takeTrip()??.message, "last one")
    }
}
