import CSystemShim

/// Which CPUs the compute workers and the render thread run on.
public struct ThreadPlacement: Sendable, Equatable {
    /// CPUs the compute workers are pinned to: worker i runs on `computeCPUs[i % count]`. Empty: unpinned.
    public var computeCPUs: [Int32]
    /// CPUs the render thread is pinned to (all of them, as one set). Empty: unpinned.
    public var renderCPUs: [Int32]

    public init(computeCPUs: [Int32] = [], renderCPUs: [Int32] = []) {
        self.computeCPUs = computeCPUs
        self.renderCPUs = renderCPUs
    }

    /// The CPUs this process may use (its affinity mask), in increasing order.
    public static var availableCPUs: [Int32] {
        var buffer = [Int32](repeating: 0, count: 1024)
        let count = buffer.withUnsafeMutableBufferPointer { fp_available_cpu_list($0.baseAddress, $0.count) }
        return count == 0 ? [0] : Array(buffer.prefix(min(count, buffer.count)))
    }

    /// Default worker count: one per available CPU but the render thread's when there are 3 or more;
    /// with 1 or 2, one per CPU. Measured on 2 cores (docs/performance.md, "Default workers"): 2
    /// workers against 1 gave 1.6–1.96× (WasmKit) and 1.4–1.9× (wasmtime) on compute-bound kernels,
    /// and 0.93–1.21× on plasma at 300 fps, where the render thread and lavapipe take the rest.
    public static var defaultWorkerCount: Int { defaultWorkerCount(cpus: availableCPUs.count) }

    public static func defaultWorkerCount(cpus: Int) -> Int { cpus >= 3 ? cpus - 1 : max(1, cpus) }

    /// Default placement: with 3 or more CPUs the render thread keeps the last one to itself and the
    /// workers share the rest; with fewer, nothing is pinned (pinning two busy threads to one of two
    /// cores only adds waiting).
    public static func automatic(available: [Int32] = availableCPUs) -> ThreadPlacement {
        guard available.count >= 3, let last = available.last else { return ThreadPlacement() }
        return ThreadPlacement(computeCPUs: Array(available.dropLast()), renderCPUs: [last])
    }

    /// The CPU set of compute worker `index` (empty = unpinned).
    public func cpus(forWorker index: Int) -> [Int32] {
        computeCPUs.isEmpty ? [] : [computeCPUs[index % computeCPUs.count]]
    }

    /// Parses a CPU list as `taskset -c` and /sys use it: "0-3,6,8-9". Nil (with the reason) on bad input.
    public static func parseCPUList(_ text: String) -> Result<[Int32], CPUListError> {
        var cpus: [Int32] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), let low = Int32(bounds[0]),
                let high = bounds.count == 2 ? Int32(bounds[1]) : low, low >= 0, low <= high, high < 1024
            else { return .failure(CPUListError(text: text, part: String(part))) }
            cpus.append(contentsOf: low...high)
        }
        var seen = Set<Int32>()
        return .success(cpus.filter { seen.insert($0).inserted })
    }

    /// Checks the CPUs exist for this process; returns the first one that does not.
    public func firstUnavailableCPU(available: [Int32] = availableCPUs) -> Int32? {
        (computeCPUs + renderCPUs).first { !available.contains($0) }
    }

    /// "cpu 0", "cpus 0,1", or "any".
    public static func describe(_ cpus: [Int32]) -> String {
        cpus.isEmpty ? "any" : (cpus.count == 1 ? "cpu " : "cpus ") + cpus.map(String.init).joined(separator: ",")
    }
}

public struct CPUListError: Error, Sendable, Equatable, CustomStringConvertible {
    public let text: String
    public let part: String
    public var description: String {
        "CPU list '\(text)' is invalid at '\(part)': use ids and ranges like 0-3,6 (see `nproc`, `taskset -c`)"
    }
}

/// Pins the calling thread; returns a one-line reason on failure.
@discardableResult
public func pinCurrentThread(to cpus: [Int32]) -> String? {
    guard !cpus.isEmpty else { return nil }
    let status = cpus.withUnsafeBufferPointer { fp_pin_current_thread($0.baseAddress, $0.count) }
    return status == 0 ? nil : "cannot pin thread to \(ThreadPlacement.describe(cpus)) (error \(status))"
}
