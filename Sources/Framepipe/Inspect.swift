import KernelRuntime

/// What `framepipe inspect` tells about a kernel: its exports and what it declares at run time.
public struct KernelInspection: Sendable {
    public let path: String
    public let engine: EngineIdentity
    public let runawayGuard: String
    public let byteCount: Int
    public let exports: [String]
    public let imports: [String]
    public let abiVersion: Int32
    public let format: KernelFormat
    public let isStateful: Bool
    public let width: Int
    public let height: Int
    public let units: Int
    public let outputOffset: Int
    public let outputByteCount: Int
    public let memoryByteCount: Int
    /// The parameters the kernel declares (docs/kernel-abi.md, "Parameters").
    public let parameters: [KernelParameter]

    /// Loads, instantiates and initialises the kernel at `width`×`height`; every ABI check applies.
    public static func inspect(
        path: String, width: Int, height: Int, limits: KernelLimits = KernelLimits(), engine: EngineRequest = EngineRequest(),
        log: (String) -> Void = { _ in }
    ) throws(FramepipeError) -> KernelInspection {
        let loaded = try ComputeSide.load(
            path: path, width: width, height: height, limits: limits, host: .headless, engine: engine, log: log)
        let (module, instance) = (loaded.kernel, loaded.probe)
        return KernelInspection(
            path: loaded.path, engine: loaded.engine.identity, runawayGuard: loaded.engine.runawayGuard(under: limits), byteCount: module.byteCount, exports: module.exportNames, imports: module.importNames,
            abiVersion: KernelABI.version, format: instance.format, isStateful: instance.isStateful,
            width: width, height: height, units: instance.unitCount, outputOffset: instance.outputOffset,
            outputByteCount: instance.outputByteCount, memoryByteCount: instance.memoryByteCount,
            parameters: instance.parameters)
    }

    public var text: String {
        let unitName = format.unitName
        return """
            kernel    \(path) (\(byteCount) bytes)
            engine    \(engine.description); guard: \(runawayGuard)
            abi       v\(abiVersion)
            format    \(format.rawValue) (\(format.name))
            stateful  \(isStateful ? "yes (one instance, frames in order)" : "no (tiles may run in parallel)")
            exports   \(exports.joined(separator: ", "))
            imports   \(imports.isEmpty ? "none" : imports.joined(separator: ", "))
            units     \(units) \(unitName) at \(width)x\(height)
            output    offset \(outputOffset), \(outputByteCount) bytes
            memory    \(memoryByteCount / 65536) pages (\(memoryByteCount / 1024) KiB) after fp_init
            params    \(parameters.isEmpty ? "none" : parameters.map { "\($0.name) \($0.minimum)...\($0.maximum) (initial \($0.initial))" }.joined(separator: ", "))
            """
    }
}
