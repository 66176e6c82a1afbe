import Foundation

/// A Linux PM QoS request on `/dev/cpu_dma_latency` (the kernel's Documentation/power/pm_qos_interface.rst), held
/// for as long as this object lives: while the file is open with a value written to it, no CPU enters an idle state
/// whose exit latency is above that many microseconds; 0 keeps idle CPUs polling instead of halting. cyclictest holds
/// the same request for the same reason. On a VM a halted virtual CPU is woken through the hypervisor, which is where
/// a paced run's cross-thread hand-offs (render thread → the driver's queue thread → back) lose tenths of a
/// millisecond (docs/performance.md, "Waking idle CPUs"). Writing the file needs root; closing it ends the request.
final class CPUWakeLatencyRequest {
    static let path = "/dev/cpu_dma_latency"
    /// The largest request the kernel accepts (PM_QOS_DEFAULT_VALUE is 2·10⁹ µs, "no constraint").
    static let allowed = 0...2_000_000_000

    private var descriptor: Int32

    init(microseconds: Int, path: String = CPUWakeLatencyRequest.path) throws(FramepipeError) {
        precondition(Self.allowed.contains(microseconds), "BenchOptions.validate checks the range")
        let descriptor = open(path, O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let reason = String(cString: strerror(errno))
            let fix = errno == EACCES || errno == EPERM
                ? "it takes root; run as root or leave out --cpu-dma-latency"
                : "this kernel has no PM QoS interface; leave out --cpu-dma-latency"
            throw FramepipeError(.failure, "--cpu-dma-latency: cannot open \(path): \(reason) (\(fix))")
        }
        // The kernel reads a binary 32-bit value (or text); the request stands until the descriptor is closed.
        var value = Int32(microseconds)
        let written = withUnsafeBytes(of: &value) { write(descriptor, $0.baseAddress, $0.count) }
        guard written == MemoryLayout<Int32>.size else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw FramepipeError(.failure, "--cpu-dma-latency: cannot write \(path): \(reason)")
        }
        self.descriptor = descriptor
    }

    /// Ends the request (also done on deinit).
    func release() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }

    /// The latency the kernel enforces now, over every open request (µs), or nil where the file cannot be read.
    static func current(path: String = CPUWakeLatencyRequest.path) -> Int? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: 4), data.count == 4 else { return nil }
        return Int(data.withUnsafeBytes { $0.loadUnaligned(as: Int32.self) })
    }
}
