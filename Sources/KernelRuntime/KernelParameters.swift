/// Kernel parameters: named floats a kernel declares (optional exports `fp_param_count` and `fp_params`) and
/// reads with the `fp.param(index)` import. The contract — table layout, limits, when values change — is
/// docs/kernel-abi.md, "Parameters"; this file follows it.

/// One parameter as the kernel's table declares it.
public struct KernelParameter: Sendable, Equatable {
    public var name: String
    public var minimum: Float
    public var maximum: Float
    /// The value a run starts with unless `--param` sets another.
    public var initial: Float

    public init(name: String, minimum: Float, maximum: Float, initial: Float) {
        self.name = name
        self.minimum = minimum
        self.maximum = maximum
        self.initial = initial
    }

    /// `value` limited to the parameter's range.
    public func clamped(_ value: Float) -> Float { min(max(value, minimum), maximum) }

    /// Most parameters a kernel may declare.
    public static let maxCount = 16
    /// Bytes of the name field of one table entry (NUL-terminated, so names have at most 31 bytes).
    public static let nameBytes = 32
    /// Bytes of one table entry: name, then min, max and initial as little-endian f32.
    public static let entryBytes = nameBytes + 12

    /// Whether `name` is a valid parameter name: 1–31 of A–Z, a–z, 0–9 and `_` (so `--param name=value` and the
    /// screenshot's `name=value` list need no quoting).
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count < nameBytes
            && name.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F }
    }

    /// Parses the table the kernel's `fp_params` points at: `count` entries of `entryBytes` each. Throws a one-line
    /// reason (the caller adds the path) for a table that breaks a rule of docs/kernel-abi.md.
    static func parseTable(_ bytes: UnsafeRawBufferPointer, count: Int) throws(ParameterTableError) -> [KernelParameter] {
        precondition(bytes.count == count * entryBytes, "the caller lends exactly the table")
        var parameters: [KernelParameter] = []
        for index in 0..<count {
            let entry = UnsafeRawBufferPointer(rebasing: bytes[index * entryBytes..<(index + 1) * entryBytes])
            guard let end = entry[0..<nameBytes].firstIndex(of: 0) else {
                throw ParameterTableError("parameter \(index): its name has no NUL within \(nameBytes) bytes")
            }
            let name = String(decoding: entry[0..<end], as: UTF8.self)
            guard isValidName(name) else {
                throw ParameterTableError(
                    "parameter \(index): name \"\(KernelText.escaped(name))\" must be 1-31 characters of A-Z, a-z, 0-9 and _")
            }
            guard !parameters.contains(where: { $0.name == name }) else {
                throw ParameterTableError("parameter \(index): name \(name) is declared twice")
            }
            func float(at offset: Int) -> Float {
                Float(bitPattern: UInt32(littleEndian: entry.loadUnaligned(fromByteOffset: nameBytes + offset, as: UInt32.self)))
            }
            let parameter = KernelParameter(name: name, minimum: float(at: 0), maximum: float(at: 4), initial: float(at: 8))
            guard parameter.minimum.isFinite, parameter.maximum.isFinite, parameter.minimum < parameter.maximum else {
                throw ParameterTableError(
                    "parameter \(name): range \(parameter.minimum)...\(parameter.maximum) must be finite with min < max")
            }
            guard parameter.initial >= parameter.minimum, parameter.initial <= parameter.maximum else {
                throw ParameterTableError(
                    "parameter \(name): initial value \(parameter.initial) is outside its range \(parameter.minimum)...\(parameter.maximum)")
            }
            parameters.append(parameter)
        }
        return parameters
    }
}

struct ParameterTableError: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}

/// The values of a kernel's parameters for one frame, by index: fixed size and bitwise-copyable, so a frame's job
/// carries them without a reference (every tile of a frame sees the same values).
public struct KernelParameterValues: Sendable, BitwiseCopyable, Equatable {
    private var storage: InlineArray<16, Float> = .init(repeating: 0)
    /// How many parameters the values are for.
    public private(set) var count: Int

    public init(_ values: [Float]) {
        precondition(values.count <= KernelParameter.maxCount, "at most \(KernelParameter.maxCount) parameters")
        count = values.count
        for (index, value) in values.enumerated() { storage[index] = value }
    }

    public static let none = KernelParameterValues([])

    /// The initial values of `parameters`, with `overrides` (by name, clamped into each range) in their place.
    public init(_ parameters: [KernelParameter], overrides: [String: Float] = [:]) {
        self.init(parameters.map { parameter in overrides[parameter.name].map(parameter.clamped) ?? parameter.initial })
    }

    /// What `fp.param(index)` answers: the value, or 0 for an index the kernel did not declare.
    public func value(at index: Int32) -> Float {
        index >= 0 && Int(index) < count ? storage[Int(index)] : 0
    }

    public subscript(index: Int) -> Float {
        get {
            precondition(index >= 0 && index < count, "parameter index in range")
            return storage[index]
        }
        set {
            precondition(index >= 0 && index < count, "parameter index in range")
            storage[index] = newValue
        }
    }

    public var array: [Float] { (0..<count).map { storage[$0] } }

    public static func == (lhs: KernelParameterValues, rhs: KernelParameterValues) -> Bool {
        lhs.count == rhs.count && (0..<lhs.count).allSatisfy { lhs.storage[$0].bitPattern == rhs.storage[$0].bitPattern }
    }
}

/// One `--param NAME=VALUE` of the command line.
public struct ParameterAssignment: Sendable, Equatable, CustomStringConvertible {
    public var name: String
    public var value: Float

    public init(name: String, value: Float) {
        self.name = name
        self.value = value
    }

    /// Parses `NAME=VALUE`; nil for anything else (the caller says what is expected).
    public init?(parsing text: String) {
        guard let equals = text.firstIndex(of: "=") else { return nil }
        let name = String(text[..<equals])
        guard KernelParameter.isValidName(name), let value = Float(text[text.index(after: equals)...]), value.isFinite else {
            return nil
        }
        self.init(name: name, value: value)
    }

    /// `NAME=VALUE`, the value printed so that it reads back to the same float: what `--param` takes, and how the
    /// viewer's log and screenshots write a frame's values.
    public var description: String { "\(name)=\(value)" }

    /// Checks `assignments` against the kernel's `parameters`: every name declared, every value in range, no name
    /// twice. Returns the overrides by name, or the one-line reason they are refused.
    public static func overrides(
        _ assignments: [ParameterAssignment], for parameters: [KernelParameter], kernel: String
    ) -> Result<[String: Float], ParameterAssignmentError> {
        var overrides: [String: Float] = [:]
        let declared = parameters.isEmpty ? "it declares none" : "it declares " + parameters.map(\.name).joined(separator: ", ")
        for assignment in assignments {
            guard let parameter = parameters.first(where: { $0.name == assignment.name }) else {
                return .failure(
                    ParameterAssignmentError(
                        message: "--param \(assignment.name): kernel \(kernel) has no parameter \(assignment.name); \(declared) (framepipe inspect lists them)"))
            }
            guard assignment.value >= parameter.minimum, assignment.value <= parameter.maximum else {
                return .failure(
                    ParameterAssignmentError(
                        message: "--param \(assignment.name)=\(assignment.value): outside the parameter's range \(parameter.minimum)...\(parameter.maximum)"))
            }
            guard overrides.updateValue(assignment.value, forKey: assignment.name) == nil else {
                return .failure(ParameterAssignmentError(message: "--param \(assignment.name) is given twice; give each parameter once"))
            }
        }
        return .success(overrides)
    }
}

public struct ParameterAssignmentError: Error, Sendable {
    public let message: String
}
