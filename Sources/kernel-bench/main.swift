// kernel-bench: per gallery kernel, milliseconds per frame of the same C source compiled natively
// (NativeKernels, clang -O2) and run in each engine alone (one instance, the whole frame in one
// call): WasmKit, wasmtime without and with its runaway guards, and wasmtime on the SIMD build; a
// byte-for-byte check that every build produced the native output; then the pipeline's overhead and
// 1 → 2 workers on each engine. Build with -c release.
//
//   swift build -c release --product kernel-bench
//   .build/release/kernel-bench [--size WxH] [--frames N] [--kernels a,b] [--kernel-dir DIR]
//
// Figures are printed, never judged: speed does not fail a run. Exit status: 0 = every output
// matched; 1 = a native and a wasm build disagreed (output bytes or ABI answers); 2 = bad arguments
// or a kernel that could not be loaded or failed a frame. A mismatch outranks an error.
import FrameHandoff
import Foundation
import KernelRuntime
import NativeKernels

// MARK: - Options

struct Options {
    var width = 512
    var height = 512
    var frames = 30
    /// nil: every kernel of the native table, in its order.
    var kernelNames: [String]?
    var kernelDirectory = "assets/kernels"
    /// Interleaved rounds of the pipeline section (0 skips it).
    var rounds = 5
    var engines: [EngineChoice] = [.wasmkit, .wasmtime]
    var wasmtimeLibrary: String?
}

let usage = """
    usage: kernel-bench [--size WxH] [--frames N] [--kernels a,b] [--kernel-dir DIR] [--rounds N] [--engines a,b]
      --size WxH        frame size (default 512x512)
      --frames N        frames per kernel, stateful kernels stepped in order (default 30, at least 1)
      --kernels a,b     kernels to run (default: all of \(nativeKernelNames().joined(separator: ",")))
      --kernel-dir DIR  where NAME.wasm lives (default assets/kernels: run from the repository root)
      --rounds N        interleaved rounds of the pipeline comparison (default 5; 0 skips it)
      --engines a,b     engines to measure: wasmkit, wasmtime (default both)
      --wasmtime-lib P  wasmtime's C API library (default: as framepipe finds it)
    """

/// One line that says what is wrong with the command line.
struct UsageError: Error {
    let message: String
}

func nativeKernelNames() -> [String] {
    (0..<native_kernel_count()).compactMap { index in
        native_kernel_at(index).map { String(cString: $0.pointee.name) }
    }
}

func parseOptions(_ arguments: [String]) throws(UsageError) -> Options {
    var options = Options()
    var remaining = arguments[...]
    func value(for flag: String) throws(UsageError) -> String {
        guard let value = remaining.popFirst(), !value.hasPrefix("--") else {
            throw UsageError(message: "\(flag) needs a value")
        }
        return value
    }
    while let flag = remaining.popFirst() {
        switch flag {
        case "--size":
            let text = try value(for: flag)
            let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false)
            guard parts.count == 2, let width = Int(parts[0]), let height = Int(parts[1]),
                (1...KernelABI.maxSide).contains(width), (1...KernelABI.maxSide).contains(height)
            else {
                throw UsageError(message: "--size \(text): expected WxH with sides in 1...\(KernelABI.maxSide), e.g. 512x512")
            }
            options.width = width
            options.height = height
        case "--frames":
            let text = try value(for: flag)
            guard let frames = Int(text), frames >= 1, frames <= 1_000_000 else {
                throw UsageError(message: "--frames \(text): expected a whole number in 1...1000000")
            }
            options.frames = frames
        case "--kernels":
            let text = try value(for: flag)
            let names = text.split(separator: ",").map { String($0) }
            let known = nativeKernelNames()
            guard !names.isEmpty else { throw UsageError(message: "--kernels needs at least one name") }
            for name in names where !known.contains(name) {
                throw UsageError(
                    message: "--kernels: no gallery kernel named '\(name)'; known: \(known.joined(separator: ","))")
            }
            options.kernelNames = names
        case "--kernel-dir":
            options.kernelDirectory = try value(for: flag)
        case "--rounds":
            let text = try value(for: flag)
            guard let rounds = Int(text), (0...100).contains(rounds) else {
                throw UsageError(message: "--rounds \(text): expected a whole number in 0...100")
            }
            options.rounds = rounds
        case "--engines":
            let text = try value(for: flag)
            var engines: [EngineChoice] = []
            for name in text.split(separator: ",") {
                guard let engine = EngineChoice(rawValue: String(name)), engine != .auto else {
                    throw UsageError(message: "--engines: '\(name)' is not wasmkit or wasmtime")
                }
                engines.append(engine)
            }
            guard !engines.isEmpty else { throw UsageError(message: "--engines needs wasmkit, wasmtime or both") }
            options.engines = engines
        case "--wasmtime-lib":
            options.wasmtimeLibrary = try value(for: flag)
        case "-h", "--help":
            print(usage)
            exit(0)
        default:
            throw UsageError(message: "unknown argument '\(flag)'; see --help")
        }
    }
    return options
}

// MARK: - Measuring

/// Limits raised so that large sizes are measured, not stopped (metering stays on, as in a real run). The deadline
/// too: WasmKit turns it into fuel for the module's slowest code (WasmKitEngine.worstNanosPerFuel), and the default
/// 5 s gives a whole 512×512 mandelbrot frame in one call less than it burns. What a guard costs does not depend on
/// its deadline.
let benchLimits = KernelLimits(
    fuelPerTile: 1_000_000_000_000, maxMemoryBytes: 4 << 30, tileTimeoutNanos: 600_000_000_000)

/// Median and 90th percentile (nearest rank) of per-frame milliseconds.
struct Distribution {
    let median: Double
    let p90: Double
    let mean: Double

    init(_ samples: [Double]) {
        let sorted = samples.sorted()
        mean = sorted.isEmpty ? .nan : sorted.reduce(0, +) / Double(sorted.count)
        func rank(_ fraction: Double) -> Double {
            guard !sorted.isEmpty else { return .nan }
            let index = Int((fraction * Double(sorted.count)).rounded(.up)) - 1
            return sorted[min(max(index, 0), sorted.count - 1)]
        }
        median = rank(0.5)
        p90 = rank(0.9)
    }
}

/// Wall-clock milliseconds of one call of `body`.
func milliseconds<Failure: Error>(_ body: () throws(Failure) -> Void) throws(Failure) -> Double {
    let clock = ContinuousClock()
    let start = clock.now
    try body()
    let elapsed = start.duration(to: clock.now)
    return Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) * 1e-15
}

/// A run that cannot go on: `mismatch` when the two builds disagree, `failure` when a kernel failed.
struct KernelRunError: Error {
    let isMismatch: Bool
    let message: String
}

/// The outcome of comparing native and wasm output bytes after one frame.
struct OutputCheck {
    let frame: Int
    let differingBytes: Int
    let byteCount: Int
    /// A one-line description of the first differing byte, when any differs.
    let firstDifference: String?
}

/// Compares the two output buffers; on a mismatch describes the first differing byte and its unit.
func checkOutputs(
    frame: Int, native: UnsafeRawBufferPointer, wasm: [UInt8], bytesPerUnit: Int, format: KernelFormat
) -> OutputCheck {
    let count = min(native.count, wasm.count)
    let identical = wasm.withUnsafeBytes { wasmBytes in
        guard native.count == wasmBytes.count, let nativeStart = native.baseAddress,
            let wasmStart = wasmBytes.baseAddress
        else { return native.count == wasmBytes.count && native.isEmpty }
        return memcmp(nativeStart, wasmStart, count) == 0
    }
    if identical {
        return OutputCheck(frame: frame, differingBytes: 0, byteCount: count, firstDifference: nil)
    }
    var differing = abs(native.count - wasm.count)
    var first: Int?
    for offset in 0..<count where native[offset] != wasm[offset] {
        differing += 1
        if first == nil { first = offset }
    }
    let description = first.map { offset in
        let unit = offset / bytesPerUnit
        let unitName = format == .points ? "point" : "row"
        var text =
            "first at byte \(offset) (\(unitName) \(unit)): native 0x" + String(native[offset], radix: 16)
            + ", wasm 0x" + String(wasm[offset], radix: 16)
        if format != .rgba8 {  // f32 data: show the whole value too
            let aligned = offset & ~3
            let nativeValue = native.loadUnaligned(fromByteOffset: aligned, as: Float.self)
            let wasmValue = wasm.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: aligned, as: Float.self) }
            text += " (f32 \(nativeValue) vs \(wasmValue))"
        }
        return text
    } ?? "sizes differ: native \(native.count) bytes, wasm \(wasm.count) bytes"
    return OutputCheck(frame: frame, differingBytes: differing, byteCount: max(native.count, wasm.count),
                       firstDifference: description)
}

/// One way of running a kernel: an engine (and its guard) and a build (MVP or SIMD).
struct Variant {
    let label: String
    let engine: any KernelEngine
    /// "" for NAME.wasm, ".simd" for NAME.simd.wasm.
    let build: String
}

/// Everything measured for one kernel.
struct KernelComparison {
    let name: String
    let format: KernelFormat
    let isStateful: Bool
    let unitCount: Int
    let native: Distribution
    /// Per variant label (nil: the variant does not apply, e.g. no SIMD build of this kernel).
    let variants: [String: Distribution]
    let checks: [OutputCheck]

    var matched: Bool { checks.allSatisfy { $0.differingBytes == 0 } }
}

/// Runs one kernel natively and in every variant, frame by frame and interleaved (each frame runs
/// natively, then in each variant, before the next frame), timing each whole-frame call. Frame f runs
/// at time f/60 (as `framepipe bench` does); frames 0 and the last are compared byte for byte with
/// the native build, for every variant.
func compare(
    kernelNamed name: String, options: Options, variants: [Variant]
) throws(KernelRunError) -> KernelComparison {
    func failure(_ message: String) -> KernelRunError { KernelRunError(isMismatch: false, message: message) }
    func mismatch(_ message: String) -> KernelRunError {
        KernelRunError(isMismatch: true, message: "\(name): MISMATCH: \(message)")
    }

    // Each variant: the checked ABI sequence of a real run. Limits far above the defaults, so that a
    // large --size is measured instead of stopped; each engine's guard stays on, as in every real run.
    var instances: [(variant: Variant, instance: any KernelInstance)] = []
    for variant in variants {
        let path = "\(options.kernelDirectory)/\(name)\(variant.build).wasm"
        if !variant.build.isEmpty && !FileManager.default.fileExists(atPath: path) { continue }
        do {
            let compiled = try variant.engine.load(path: path)
            instances.append(
                (variant, try compiled.instantiate(width: options.width, height: options.height, limits: benchLimits, host: .headless)))
        } catch {
            throw failure("\(variant.label): \(error)")
        }
    }
    guard let reference = instances.first?.instance else { throw failure("\(name): no engine to run it on") }

    // Native: the same exports, called directly; every answer must agree with the wasm build's.
    guard let kernel = native_kernel_named(name)?.pointee else {
        throw failure("\(name): not in the native kernel table (Sources/NativeKernels)")
    }
    guard kernel.abi_version() == KernelABI.version else {
        throw mismatch("native fp_abi_version is \(kernel.abi_version()), wasm passed the ABI v\(KernelABI.version) check")
    }
    for (variant, instance) in instances {
        guard kernel.format() == instance.format.rawValue else {
            throw mismatch("fp_format: native \(kernel.format()), \(variant.label) \(instance.format.rawValue)")
        }
        let nativeStateful = kernel.stateful?() == 1
        guard nativeStateful == instance.isStateful else {
            throw mismatch("fp_stateful: native \(nativeStateful), \(variant.label) \(instance.isStateful)")
        }
    }
    let initResult = kernel.`init`(Int32(options.width), Int32(options.height))
    guard initResult == 0 else {
        throw failure("\(name): native fp_init(\(options.width), \(options.height)) returned error code \(initResult)")
    }
    if reference.format == .points {
        let nativePoints = kernel.points?() ?? 0
        guard Int(nativePoints) == reference.unitCount else {
            throw mismatch("fp_points: native \(nativePoints), wasm \(reference.unitCount)")
        }
    }
    guard let nativeOutput = kernel.output_pointer() else {
        throw failure("\(name): native output pointer is null after fp_init")
    }
    let nativeBytes = UnsafeRawBufferPointer(start: nativeOutput, count: reference.outputByteCount)

    let units = 0..<reference.unitCount
    var nativeSamples: [Double] = []
    var samples = [[Double]](repeating: [], count: instances.count)
    var checks: [OutputCheck] = []
    for frame in 0..<options.frames {
        let time = Double(frame) / 60
        var result: Int32 = 0
        nativeSamples.append(
            milliseconds { result = kernel.frame(Int32(frame), time, 0, Int32(units.upperBound)) })
        guard result == 0 else {
            throw failure("\(name): native fp_frame(frame \(frame), units 0..<\(units.upperBound)) returned error code \(result)")
        }
        for (index, (variant, instance)) in instances.enumerated() {
            do {
                samples[index].append(
                    try milliseconds { () throws(KernelError) in
                        try instance.run(frame: Int32(frame), time: time, units: units)
                    })
            } catch {
                throw failure("\(variant.label): \(error)")
            }
            guard frame == 0 || frame == options.frames - 1 else { continue }
            let wasmBytes: [UInt8]
            do {
                wasmBytes = try instance.outputBytes()
            } catch {
                throw failure("\(variant.label): \(error)")
            }
            let check = checkOutputs(
                frame: frame, native: nativeBytes, wasm: wasmBytes, bytesPerUnit: instance.bytesPerUnit,
                format: instance.format)
            if let difference = check.firstDifference {
                // Loud at once, not only in the table: the figures below it compare different work.
                printError(
                    "\(name): MISMATCH at frame \(frame): \(check.differingBytes) of \(check.byteCount) output bytes differ between native and \(variant.label); \(difference)"
                )
            }
            checks.append(check)
        }
    }
    var distributions: [String: Distribution] = [:]
    for (index, entry) in instances.enumerated() { distributions[entry.variant.label] = Distribution(samples[index]) }
    return KernelComparison(
        name: name, format: reference.format, isStateful: reference.isStateful, unitCount: reference.unitCount,
        native: Distribution(nativeSamples), variants: distributions, checks: checks)
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data("kernel-bench: \(message)\n".utf8))
}

/// Pads (or keeps) `text` to `width` characters; right-aligned for figures.
func column(_ text: String, _ width: Int, right: Bool = false) -> String {
    let pad = String(repeating: " ", count: max(0, width - text.count))
    return right ? pad + text : text + pad
}

func figure(_ value: Double) -> String { value.isNaN ? "-" : String(format: "%.2f", value) }

// MARK: - Run

let options: Options
do {
    options = try parseOptions(Array(CommandLine.arguments.dropFirst()))
} catch {
    printError("error: \(error.message)")
    exit(2)
}
let selectedNames = options.kernelNames ?? nativeKernelNames()
var exitCode: Int32 = 0
var mismatchSeen = false

// The engines: WasmKit, and wasmtime three ways (no guard, the default deadline guard, deadline and
// fuel), each on the MVP build, plus the deadline-guarded wasmtime on the SIMD build.
var variants: [Variant] = []
var wasmKit: (any KernelEngine)?
var wasmtimeGuarded: (any KernelEngine)?
if options.engines.contains(.wasmkit) {
    let engine = WasmKitEngine()
    wasmKit = engine
    variants.append(Variant(label: "wasmkit", engine: engine, build: ""))
}
if options.engines.contains(.wasmtime) {
    do {
        let library = try WasmtimeLibrary.locate(explicitPath: options.wasmtimeLibrary)
        let unguarded = try WasmtimeEngine(library: library, cacheDirectory: nil, deadline: false)
        let guarded = try WasmtimeEngine(library: library, cacheDirectory: nil)
        let fueled = try WasmtimeEngine(library: library, meterFuel: true, cacheDirectory: nil)
        wasmtimeGuarded = guarded
        variants.append(Variant(label: "wasmtime", engine: unguarded, build: ""))
        variants.append(Variant(label: "+deadline", engine: guarded, build: ""))
        variants.append(Variant(label: "+fuel", engine: fueled, build: ""))
        variants.append(Variant(label: "simd+dl", engine: guarded, build: ".simd"))
    } catch {
        printError("error: --engines wasmtime: \(error)")
        exit(2)
    }
}

print(
    "kernel-bench: \(options.width)x\(options.height), \(options.frames) frames per kernel (time = frame/60), ms per whole frame (median; p90 in brackets)"
)
print("  native:    the kernel's C source, clang -O2 -ffp-contract=off (NativeKernels), one call per frame")
if let wasmKit { print("  wasmkit:   \(wasmKit.description), fp_frame over all units per call, MVP build") }
if let wasmtimeGuarded {
    print("  wasmtime:  \(wasmtimeGuarded.description), MVP build, no runaway guard (epoch interruption off)")
    print("  +deadline: wasmtime with its default guard, \(wasmtimeGuarded.runawayGuard(under: benchLimits)), MVP build")
    print("  +fuel:     wasmtime with the deadline and fuel metering (framepipe --fuel N), MVP build")
    print("  simd+dl:   wasmtime with the deadline guard on the SIMD build NAME.simd.wasm (kernels that have one)")
}
print("  every variant runs each frame in turn (interleaved); x = variant / native")
#if DEBUG
    print("  note: debug build: WasmKit runs about 100x slower than in release; build with -c release for figures")
#endif

// MARK: Section 1: native vs each engine alone, with the output check

var comparisons: [KernelComparison] = []
for name in selectedNames {
    do {
        comparisons.append(try compare(kernelNamed: name, options: options, variants: variants))
    } catch {
        printError(error.message)
        if error.isMismatch { mismatchSeen = true } else { exitCode = 2 }
    }
}

print("")
var header = [column("kernel", 11), column("format", 10), column("units", 7, right: true), column("native", 15, right: true)]
for variant in variants { header.append(column(variant.label, 22, right: true)) }
print((header + ["  output"]).joined())
for comparison in comparisons {
    let checkedFrames = Set(comparison.checks.map(\.frame)).sorted().map(String.init).joined(separator: ", ")
    let outcome =
        comparison.matched
        ? "identical (frames \(checkedFrames))"
        : "MISMATCH (frames \(Set(comparison.checks.filter { $0.differingBytes > 0 }.map(\.frame)).sorted().map(String.init).joined(separator: ", ")))"
    if !comparison.matched { mismatchSeen = true }
    var row = [
        column(comparison.name, 11),
        column(comparison.format.name + (comparison.isStateful ? "*" : ""), 10),
        column(String(comparison.unitCount), 7, right: true),
        column("\(figure(comparison.native.median)) [\(figure(comparison.native.p90))]", 15, right: true),
    ]
    for variant in variants {
        guard let distribution = comparison.variants[variant.label] else {
            row.append(column("-", 22, right: true))
            continue
        }
        let ratio = distribution.median / comparison.native.median
        row.append(
            column(
                "\(figure(distribution.median)) [\(figure(distribution.p90))] \(ratio.isFinite ? String(format: "%.2fx", ratio) : "-")",
                22, right: true))
    }
    print((row + ["  " + outcome]).joined())
}
print("  (* stateful: one instance, frames in order; units are rows, or points for the points format)")

// MARK: Section 2: pipeline fps with 1 and 2 workers

/// Runs the compute pipeline — `ComputePool` → slot ring (`fifo`, so every frame counts) → a reader
/// that acquires and releases each frame — and returns ms per frame over `frames` frames after 2
/// warm-up frames, plus the fuel the pool was given. No renderer: this isolates what the pool, the
/// tile queue and the handoff add to the engine.
func pipelineMillisecondsPerFrame(
    kernel: any CompiledKernel, workers: Int, options: Options
) throws -> Double {
    let probe = try kernel.instantiate(
        width: options.width, height: options.height, limits: benchLimits, host: .headless)
    let ring = try SlotRing(slotCount: 4, slotByteCount: probe.outputByteCount, policy: .fifo)
    let pool = try ComputePool(
        kernel: kernel,
        settings: ComputeSettings(
            width: options.width, height: options.height, limits: benchLimits, workers: workers),
        ring: ring)
    pool.start()
    defer { _ = pool.stop() }
    var received = 0
    var start: UInt64 = 0
    while received < options.frames + 2 {
        if pool.isDisabled { throw KernelRunError(isMismatch: false, message: "\(kernel.name): kernel disabled in the pool") }
        guard let lease = ring.waitForFrame(timeoutNanos: 100_000_000) else { continue }
        try ring.release(lease)
        received += 1
        if received == 2 { start = monotonicNanos() }
    }
    return Double(monotonicNanos() - start) / 1e6 / Double(options.frames)
}

/// The engine alone, measured the same way as the pipeline: one instance, frames 2 ..< frames + 2 in
/// order after 2 warm-up frames, whole frame per call; ms per frame.
func engineAloneMillisecondsPerFrame(kernel: any CompiledKernel, options: Options) throws -> Double {
    let instance = try kernel.instantiate(
        width: options.width, height: options.height, limits: benchLimits, host: .headless)
    var start: UInt64 = 0
    for frame in 0..<Int32(options.frames + 2) {
        if frame == 2 { start = monotonicNanos() }
        try instance.run(frame: frame, time: Double(frame) / 60, units: 0..<instance.unitCount)
    }
    return Double(monotonicNanos() - start) / 1e6 / Double(options.frames)
}

/// This machine is noisy (shared, 2 cores): one long measurement of each configuration compares
/// different moments. So the three configurations run back to back in each of `rounds` rounds, and
/// the ratios are taken within a round; the table shows the median round.
let rounds = options.rounds
let pipelineEngines: [(String, any KernelEngine)] =
    [wasmKit.map { ("wasmkit", $0) }, wasmtimeGuarded.map { ("wasmtime", $0) }].compactMap { $0 }
for (engineLabel, engine) in pipelineEngines where rounds > 0 {
print("")
print(
    "pipeline on \(engineLabel) (ComputePool → slot ring, fifo; no renderer; MVP builds): ms per frame over \(options.frames) frames, "
        + "\(rounds) interleaved rounds, median")
print(
    [
        column("kernel", 11), column("alone", 9, right: true), column("1 worker", 10, right: true),
        column("overhead", 10, right: true), column("range", 17, right: true), column("2 workers", 11, right: true),
        column("speed-up", 10, right: true), column("range", 15, right: true),
    ].joined())
func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
for comparison in comparisons {
    do {
        let kernel = try engine.load(path: "\(options.kernelDirectory)/\(comparison.name).wasm")
        var alone: [Double] = []
        var one: [Double] = []
        var two: [Double] = []
        for _ in 0..<rounds {
            alone.append(try engineAloneMillisecondsPerFrame(kernel: kernel, options: options))
            one.append(try pipelineMillisecondsPerFrame(kernel: kernel, workers: 1, options: options))
            two.append(try pipelineMillisecondsPerFrame(kernel: kernel, workers: 2, options: options))
        }
        let overheads = zip(one, alone).map { ($0 / $1 - 1) * 100 }
        let speedUps = zip(one, two).map { $0 / $1 }
        print(
            [
                column(comparison.name + (comparison.isStateful ? "*" : ""), 11),
                column(figure(median(alone)), 9, right: true),
                column(figure(median(one)), 10, right: true),
                column(String(format: "%+.1f%%", median(overheads)), 10, right: true),
                column(
                    String(format: "%+.1f…%+.1f%%", overheads.min() ?? 0, overheads.max() ?? 0), 17, right: true),
                column(figure(median(two)), 11, right: true),
                column(String(format: "%.2fx", median(speedUps)), 10, right: true),
                column(String(format: "%.2f…%.2fx", speedUps.min() ?? 0, speedUps.max() ?? 0), 15, right: true),
            ].joined())
    } catch let error as KernelRunError {
        printError(error.message)
        exitCode = 2
    } catch {
        printError("\(comparison.name): pipeline run failed: \(error)")
        exitCode = 2
    }
}
print("  overhead: 1-worker pipeline against \(engineLabel) alone in the same round; speed-up: 1 → 2 workers")
print("  (* stateful: one instance, frames in order, so a second worker cannot help)")
}

// MARK: Section 3: fuel per whole frame (for sizing --fuel)

if let engine = wasmKit {
print("")
print("WasmKit fuel per whole frame in one tile (≈ executed wasm operators), frame 0, at \(options.width)x\(options.height)")
for name in comparisons.map(\.name) {
    do {
        let kernel = try engine.load(path: "\(options.kernelDirectory)/\(name).wasm")
        guard let instance = try kernel.instantiate(
            width: options.width, height: options.height, limits: benchLimits, host: .headless) as? ABIInstance
        else { continue }
        let elapsed = try milliseconds { () throws(KernelError) in
            try instance.run(frame: 0, time: 0, units: 0..<instance.unitCount)
        }
        let fuel = Double(instance.fuelUsedByLastRun)
        print(
            "  \(column(name, 11))\(column(String(format: "%.3g", fuel), 10, right: true)) fuel in "
                + "\(figure(elapsed)) ms: \(String(format: "%.2g", fuel / elapsed * 1000)) fuel/s")
    } catch {
        printError("\(name): fuel measurement failed: \(error)")
        exitCode = 2
    }
}
}

// MARK: - Exit

if mismatchSeen {
    printError("native and wasm builds disagree (see MISMATCH above): the same C source must give the same bytes")
    exit(1)
}
exit(exitCode)
