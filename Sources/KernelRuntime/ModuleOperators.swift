import WasmParser

/// The operators of a module that matter to the host, found by decoding every function body once
/// at load (WasmKit's WasmParser, whatever engine runs the module): those that cost more per unit
/// of fuel than plain code on WasmKit (`WasmKitEngine.worstNanosPerFuel(of:)`), and atomics, which
/// single-threaded kernels may not use (refused on both engines: WasmKit decodes only some of them).
struct ModuleOperators: AnyInstructionVisitor {
    typealias VisitorError = Never
    var binaryOffset = 0
    private(set) var tailCalls = false
    private(set) var grows = false
    private(set) var atomics = false

    /// The operators of `bytes`, or nil when a body does not decode (the engine then refuses it).
    static func scan(_ bytes: [UInt8]) -> ModuleOperators? {
        var found = ModuleOperators()
        var parser = WasmParser.Parser(bytes: bytes, features: .all)
        do {
            while let payload = try parser.parseNext() {
                guard case .codeSection(let bodies) = payload else { continue }
                for body in bodies {
                    var expression = ExpressionParser(code: body)
                    while let visit = try expression.parse() { visit(visitor: &found) }
                }
            }
        } catch {
            return nil
        }
        return found
    }

    mutating func visit(_ instruction: Instruction) throws(Never) {
        switch instruction {
        case .returnCall, .returnCallIndirect, .returnCallRef: tailCalls = true
        case .memoryGrow: grows = true
        case .load(let load, _):
            switch load {
            case .i32AtomicLoad, .i64AtomicLoad, .i32AtomicLoad8U, .i32AtomicLoad16U, .i64AtomicLoad8U, .i64AtomicLoad16U,
                .i64AtomicLoad32U:
                atomics = true
            default: break
            }
        case .store(let store, _):
            switch store {
            case .i32AtomicStore, .i64AtomicStore, .i32AtomicStore8, .i32AtomicStore16, .i64AtomicStore8, .i64AtomicStore16,
                .i64AtomicStore32:
                atomics = true
            default: break
            }
        case .atomicFence, .memoryAtomicNotify, .memoryAtomicWait32, .memoryAtomicWait64,
            .i32AtomicRmwAdd, .i64AtomicRmwAdd, .i32AtomicRmw8AddU, .i32AtomicRmw16AddU,
            .i64AtomicRmw8AddU, .i64AtomicRmw16AddU, .i64AtomicRmw32AddU, .i32AtomicRmwSub,
            .i64AtomicRmwSub, .i32AtomicRmw8SubU, .i32AtomicRmw16SubU, .i64AtomicRmw8SubU,
            .i64AtomicRmw16SubU, .i64AtomicRmw32SubU, .i32AtomicRmwAnd, .i64AtomicRmwAnd,
            .i32AtomicRmw8AndU, .i32AtomicRmw16AndU, .i64AtomicRmw8AndU, .i64AtomicRmw16AndU,
            .i64AtomicRmw32AndU, .i32AtomicRmwOr, .i64AtomicRmwOr, .i32AtomicRmw8OrU,
            .i32AtomicRmw16OrU, .i64AtomicRmw8OrU, .i64AtomicRmw16OrU, .i64AtomicRmw32OrU,
            .i32AtomicRmwXor, .i64AtomicRmwXor, .i32AtomicRmw8XorU, .i32AtomicRmw16XorU,
            .i64AtomicRmw8XorU, .i64AtomicRmw16XorU, .i64AtomicRmw32XorU, .i32AtomicRmwXchg,
            .i64AtomicRmwXchg, .i32AtomicRmw8XchgU, .i32AtomicRmw16XchgU, .i64AtomicRmw8XchgU,
            .i64AtomicRmw16XchgU, .i64AtomicRmw32XchgU, .i32AtomicRmwCmpxchg, .i64AtomicRmwCmpxchg,
            .i32AtomicRmw8CmpxchgU, .i32AtomicRmw16CmpxchgU, .i64AtomicRmw8CmpxchgU,
            .i64AtomicRmw16CmpxchgU, .i64AtomicRmw32CmpxchgU:
            atomics = true
        default: break
        }
    }
}
