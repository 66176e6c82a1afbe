import Synchronization

/// A failure as an engine adapter reports it, before the ABI layer (`ABIInstance`) turns it into
/// the one-line `KernelError` users see. Adapters say what happened; they never word messages.
public enum EngineFailure: Error, Sendable, Equatable {
    /// The bytes are not a valid module (parse, validation or compilation); `reason` is one line.
    case invalidModule(String)
    /// Instantiation failed before any ABI call (linking, the start function, a data segment).
    case instantiation(String)
    /// The module's initial memory is larger than `KernelLimits.maxMemoryBytes`.
    case initialMemoryTooLarge(bytes: Int)
    /// The kernel trapped.
    case trap(TrapReason, backtrace: [BacktraceFrame])
    /// The call burned its fuel budget.
    case outOfFuel(backtrace: [BacktraceFrame])
    /// The call ran past its wall-clock deadline.
    case deadlineExceeded(backtrace: [BacktraceFrame])
    /// An engine that cannot be interrupted by time (WasmKit) burned all the fuel its code can burn
    /// within the call's deadline (`fuel` units).
    case timeBudgetExhausted(fuel: UInt64, backtrace: [BacktraceFrame])
    /// The engine itself failed (out of host memory, a library error).
    case engine(String)
}

/// Why a kernel trapped, in engine-neutral terms; `text` is the wording every message uses
/// (WasmKit's, which follows the spec test suite's).
public enum TrapReason: Sendable, Equatable {
    case unreachable
    case memoryOutOfBounds
    case callStackExhausted
    case integerDivideByZero
    case integerOverflow
    case invalidConversionToInteger
    case tableOutOfBounds
    case indirectCallToNull
    case indirectCallTypeMismatch
    case nullReference
    case unalignedAccess
    /// Any other trap, in the engine's words (one line).
    case other(String)

    public var text: String {
        switch self {
        case .unreachable: return "unreachable"
        case .memoryOutOfBounds: return "out of bounds memory access"
        case .callStackExhausted: return "call stack exhausted"
        case .integerDivideByZero: return "integer divide by zero"
        case .integerOverflow: return "integer overflow"
        case .invalidConversionToInteger: return "invalid conversion to integer"
        case .tableOutOfBounds: return "out of bounds table access"
        case .indirectCallToNull: return "indirect call to null element"
        case .indirectCallTypeMismatch: return "indirect call type mismatch"
        case .nullReference: return "null reference"
        case .unalignedAccess: return "unaligned atomic"
        case .other(let text): return text
        }
    }
}

/// One frame of a wasm backtrace: the function's index in the module and its name where the engine
/// knows one (from the name section). The ABI layer names the others from the module's exports.
/// `moduleOffset` is the frame's instruction as a byte offset in the module (the trapping one, or
/// the call in a caller frame): wasmtime gives it, WasmKit 0.4.2 does not (nil), so there the ABI
/// layer can only give the function's first source line (WasmSourceMap).
public struct BacktraceFrame: Sendable, Equatable {
    public var functionIndex: UInt32?
    public var name: String?
    public var moduleOffset: Int?

    public init(functionIndex: UInt32?, name: String?, moduleOffset: Int? = nil) {
        self.functionIndex = functionIndex
        self.name = name
        self.moduleOffset = moduleOffset
    }
}

/// Refused memory growth of one instance, for either engine's limiter to record and the ABI layer to
/// read after every call (`EngineInstance.takeRefusedGrowth`): how a kernel that carries on after
/// `memory.grow` returned −1 still has its frame failed. Its limit is `KernelLimits.maxMemoryBytes`.
final class GrowthRecord: Sendable {
    let limitBytes: Int
    /// The largest size asked for and refused since the last `takeRefusal()` (0 = none).
    private let refusedBytes = Atomic<Int>(0)

    init(limitBytes: Int) { self.limitBytes = limitBytes }

    func recordRefusal(_ bytes: Int) { refusedBytes.store(bytes, ordering: .relaxed) }

    func takeRefusal() -> Int? {
        let bytes = refusedBytes.exchange(0, ordering: .relaxed)
        return bytes == 0 ? nil : bytes
    }
}
