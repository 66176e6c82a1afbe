import FrameHandoff
import Foundation
import KernelRuntime
import VulkanRender

/// Exit codes of the `framepipe` command: a contract with scripts (docs/cli.md).
public enum ExitStatus: Int32, Sendable {
    case ok = 0
    /// Anything else that went wrong at run time (I/O, Vulkan call failure).
    case failure = 1
    /// The kernel file is unusable: unreadable, not wasm, invalid, not ABI v1, fp_init failed.
    case badKernel = 2
    /// No Vulkan loader or no Vulkan device.
    case noVulkan = 3
    /// `bench --fail-on-regression PCT`: frame_interval_ms.p99 got worse than the baseline's by more
    /// than PCT percent (the reports are written first).
    case regression = 4
    /// The kernel ran but failed: disabled after repeated failed frames (bench), or the frame asked
    /// for failed (capture).
    case kernelFailed = 5
    /// `view` found no display to open a window on.
    case noDisplay = 6
    /// `--engine wasmtime`, but wasmtime's library cannot be found or loaded (or is another version).
    case engineUnavailable = 7
    /// Bad command-line arguments (ArgumentParser's own code for usage errors).
    case usage = 64
    /// `framepipe new`: the project folder exists already, or cannot be written (sysexits' EX_CANTCREAT).
    case cannotCreate = 73
    /// `bench` ended early on Ctrl-C (SIGINT); the reports of the frames measured were written.
    case interrupted = 130
}

/// A failure to report to the user: one line, and the exit code that says what kind it is.
public struct FramepipeError: Error, CustomStringConvertible, Sendable {
    public let exitCode: ExitStatus
    public let message: String

    public init(_ exitCode: ExitStatus, _ message: String) {
        self.exitCode = exitCode
        self.message = message
    }

    public var description: String { message }

    public init(_ error: KernelError) {
        switch error.kind {
        case .unreadable, .invalidModule: self.init(.badKernel, error.message)
        case .runtimeFault: self.init(.kernelFailed, error.message)
        case .hostFailure: self.init(.failure, error.message)
        }
    }

    public init(_ error: RenderError) {
        switch error.kind {
        case .noLoader, .noDevice: self.init(.noVulkan, error.message)
        case .badRequest: self.init(.usage, error.message)
        case .vulkan: self.init(.failure, error.message)
        }
    }
}

extension FramepipeError {
    /// A slot ring that could not be built, classified by cause. Only what the user chose is a usage
    /// error (64, with what to change): a slot count outside 3...8 (`--slots`), or frames too large
    /// for this machine's memory (`--size`). A refused allocation the machine could hold is a
    /// run-time resource failure (1), as is a lent payload that does not fit (a bug, not an argument).
    public init(slotRing error: SlotRing.SetupError, slotCount: Int, slotByteCount: Int, width: Int, height: Int) {
        switch error {
        case .badSlotCount:
            self.init(.usage, "cannot build the slot ring: \(error) (--slots takes 3 to 8)")
        case .outOfMemory(let bytes):
            let mib = { (bytes: Int) in "\(bytes >> 20 + (bytes & ((1 << 20) - 1) == 0 ? 0 : 1)) MiB" }  // rounded up
            let physical = ProcessInfo.processInfo.physicalMemory
            if physical > 0, UInt64(clamping: bytes) > physical {
                self.init(
                    .usage,
                    "cannot build the slot ring: \(slotCount) slots of \(mib(slotByteCount)) (frames of \(width)x\(height)) "
                        + "need \(mib(bytes)), more than this machine's \(mib(Int(clamping: physical))): use a smaller --size")
            } else {
                self.init(.failure, "cannot build the slot ring: \(error) (out of memory)")
            }
        case .badSlotSize, .lentPayloadTooSmall, .lentPayloadMisaligned:
            self.init(.failure, "cannot build the slot ring: \(error)")
        }
    }
}
