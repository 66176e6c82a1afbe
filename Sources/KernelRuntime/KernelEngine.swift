import Foundation

/// A WebAssembly engine that can run Framepipe kernels. The worker pool talks only to these three
/// protocols, so another engine can be added without touching it: `WasmKitEngine` is the one we ship.
public protocol KernelEngine: Sendable {
    /// Name, version and mode, for reports (e.g. "WasmKit 0.4.2 (interpreter, eager compilation, fuel metering)").
    var description: String { get }
    /// Parses and validates a module, refusing what cannot be an ABI v1 kernel before anything runs.
    /// Translation to the engine's internal form happens here or at instantiation, never per frame.
    func compile(bytes: [UInt8], path: String) throws(KernelError) -> any CompiledKernel
}

extension KernelEngine {
    /// Reads a kernel file and compiles it.
    public func load(path: String) throws(KernelError) -> any CompiledKernel {
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw KernelError(
                .unreadable,
                exists
                    ? "\(path): cannot read the file (check its permissions)"
                    : "\(path): no such file (give the path of a .wasm kernel, e.g. assets/kernels/plasma.wasm)")
        }
        return try compile(bytes: [UInt8](data), path: path)
    }
}

/// A validated module: immutable, shared by every worker, each of which instantiates it.
public protocol CompiledKernel: Sendable {
    var path: String { get }
    /// File name without extension, e.g. "plasma".
    var name: String { get }
    var byteCount: Int { get }
    var exportNames: [String] { get }
    /// "module.name" of each import.
    var importNames: [String] { get }
    /// A fresh, isolated instance (own linear memory), initialised for `width`×`height` with every
    /// ABI check applied (`fp_abi_version`, `fp_format`, `fp_init`, `fp_points`, output region).
    func instantiate(width: Int, height: Int, limits: KernelLimits, host: KernelHost) throws(KernelError)
        -> any KernelInstance
}

/// One initialised instance. Not thread-safe: one thread uses it at a time; the pool hands
/// instances between threads only through a lock (which orders every access).
public protocol KernelInstance: AnyObject, Sendable {
    var format: KernelFormat { get }
    var isStateful: Bool { get }
    /// Rows (formats 1, 2) or points (format 3).
    var unitCount: Int { get }
    var bytesPerUnit: Int { get }
    /// Byte offset of the output buffer in the instance's memory (`fp_output`).
    var outputOffset: Int { get }
    /// Linear memory size in bytes (it can grow while the kernel runs).
    var memoryByteCount: Int { get }
    /// Runs `fp_frame` for units [begin, end) under the fuel and memory limits. Any fault throws a
    /// `KernelError` of kind `.runtimeFault` with its `fault` set; the instance should then be replaced.
    func run(frame: Int32, time: Double, units: Range<Int>) throws(KernelError)
    /// Lends the output bytes of `units`, after checking the region lies inside the instance's memory.
    func withOutput<Result>(units: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> Result) throws -> Result
}

extension KernelInstance {
    public var outputByteCount: Int { unitCount * bytesPerUnit }

    /// A copy of the whole output of the last computed frame.
    public func outputBytes() throws(KernelError) -> [UInt8] {
        do {
            return try withOutput(units: 0..<unitCount) { [UInt8]($0) }
        } catch let error as KernelError {
            throw error
        } catch {
            throw KernelError(.runtimeFault, "cannot read the kernel's output: \(error)", fault: .outputOutsideMemory)
        }
    }
}
