/// Everything that can be wrong with a kernel, each as one line that says what is wrong and how to fix it.
public struct KernelError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// The file could not be read.
        case unreadable
        /// The module is refused at load: not wasm, truncated, invalid, or not ABI v1.
        case invalidModule
        /// The kernel ran and failed: trap, out of fuel or time, refused memory growth, non-zero
        /// return, output region outside memory.
        case runtimeFault
        /// The host could not provide what running a kernel needs (memory for its queues): not the
        /// kernel's fault (exit 1, not 5).
        case hostFailure
    }

    /// Why a run failed (set for `.runtimeFault`).
    public enum Fault: String, Sendable, CaseIterable {
        case trap
        case fuelExhausted = "fuel-exhausted"
        /// The call ran past its wall-clock deadline (`--tile-timeout`).
        case timeout
        case memoryRefused = "memory-refused"
        case errorCode = "error-code"
        case outputOutsideMemory = "output-outside-memory"
    }

    public let kind: Kind
    public let fault: Fault?
    public let message: String

    public init(_ kind: Kind, _ message: String, fault: Fault? = nil) {
        self.kind = kind
        self.fault = fault
        // One bounded line with nothing of the host's internals, whatever the engine or kernel handed us.
        self.message = KernelText.errorLine(message)
    }

    public var description: String { message }
}
