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
        // One line, whatever the engine handed us.
        self.message = message.split(whereSeparator: \.isNewline).joined(separator: " | ")
    }

    public var description: String { message }
}
