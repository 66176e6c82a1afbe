/// The allowed values of every numeric flag, written once: the library's checks (BenchOptions.validate), the
/// command's and the one-line error for a value that is not a number all name them (docs/cli.md, "Errors").
public enum OptionRules {
    public static let allowed: [String: String] = [
        "--frames": "an integer, at least 1",
        "--duration": "seconds, more than 0 and at most 86400",
        "--warmup": "an integer, 0 or more",
        "--runs": "an integer, 1...100",
        "--min-effect": "a percentage, 0...100",
        "--significance": "a probability, more than 0 and at most 0.5",
        "--target-hz": "frames per second, more than 0 and at most 10000",
        "--fail-on-regression": "a percentage, 0 or more",
        "--gpu": "a device index from `framepipe devices`, 0 or more",
        "--cpu-dma-latency": "microseconds, an integer 0...2000000000",
        "--slots": "an integer, 3...8",
        "--workers": "an integer, 1...256",
        "--max-failures": "an integer, at least 1",
        "--tile-timeout": "milliseconds, 1...3600000",
        "--fuel": "an integer, at least 1",
        "--max-memory": "MiB, an integer 1...4096 (a wasm32 memory is at most 4 GiB)",
        "--frame": "an integer, 0 or more",
        "--time": "a finite number of seconds, 0 or more",
        "--exit-after-frames": "an integer, at least 1",
        "--size": "WIDTHxHEIGHT, each 1...16384",
    ]

    /// "FLAG must be ALLOWED".
    public static func refusal(_ flag: String) -> String { "\(flag) must be \(allowed[flag] ?? "valid")" }
}

extension BenchOptions {
    /// The one check of bench's own numbers (frames, warm-up, duration, pacing, regression limit, slots, device), for
    /// the command line and library callers alike; a refusal is a usage error in OptionRules' words.
    public func validate() throws(FramepipeError) {
        func refuse(_ flag: String) -> FramepipeError { FramepipeError(.usage, OptionRules.refusal(flag)) }
        guard frames >= 1 else { throw refuse("--frames") }
        guard warmup >= 0 else { throw refuse("--warmup") }
        guard (1...100).contains(runs) else { throw refuse("--runs") }
        guard minEffectPercent.isFinite, (0...100).contains(minEffectPercent) else { throw refuse("--min-effect") }
        guard significance > 0, significance <= 0.5 else { throw refuse("--significance") }
        if let durationSeconds { guard durationSeconds > 0, durationSeconds <= 86_400 else { throw refuse("--duration") } }
        if let targetHz { guard targetHz > 0, targetHz <= 10_000 else { throw refuse("--target-hz") } }
        if let failOnRegressionPercent {
            guard failOnRegressionPercent >= 0, failOnRegressionPercent.isFinite else { throw refuse("--fail-on-regression") }
        }
        guard (3...8).contains(slotCount) else { throw refuse("--slots") }
        if let deviceIndex { guard deviceIndex >= 0 else { throw refuse("--gpu") } }
        if let cpuDMALatencyMicroseconds {
            guard CPUWakeLatencyRequest.allowed.contains(cpuDMALatencyMicroseconds) else { throw refuse("--cpu-dma-latency") }
        }
    }
}

extension Capture.Options {
    /// The one check of capture's own numbers (frame, time, device), for the command line and library
    /// callers alike.
    public func validate() throws(FramepipeError) {
        func refuse(_ flag: String) -> FramepipeError { FramepipeError(.usage, OptionRules.refusal(flag)) }
        guard frame >= 0 else { throw refuse("--frame") }
        if let time { guard time.isFinite, time >= 0 else { throw refuse("--time") } }
        if let deviceIndex { guard deviceIndex >= 0 else { throw refuse("--gpu") } }
    }
}
