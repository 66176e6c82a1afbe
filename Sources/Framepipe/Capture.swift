import KernelRuntime
import VulkanRender

/// `framepipe capture`: one deterministic frame (time = frame / 60) rendered through Vulkan to a PNG.
public enum Capture {
    public struct Options: Sendable {
        public var kernelPath: String
        public var frame: Int32
        public var width: Int
        public var height: Int
        public var outputPath: String
        public var deviceIndex: Int?
        public var limits = KernelLimits()

        public init(kernelPath: String, frame: Int32, width: Int, height: Int, outputPath: String, deviceIndex: Int? = nil) {
            self.kernelPath = kernelPath
            self.frame = frame
            self.width = width
            self.height = height
            self.outputPath = outputPath
            self.deviceIndex = deviceIndex
        }
    }

    /// Computes frame `frame` with the kernel, renders it, reads it back and writes the PNG.
    /// Returns the pixels read back from the GPU.
    @discardableResult
    public static func run(_ options: Options) throws(FramepipeError) -> [UInt8] {
        guard options.frame >= 0 else { throw FramepipeError(.usage, "--frame must not be negative") }
        let computed = try computeDirectly(options)
        let pixels: [UInt8]
        do throws(RenderError) {
            let renderer = try HeadlessRenderer(
                width: options.width, height: options.height, deviceIndex: options.deviceIndex)
            try renderer.submitFrame(bytes: computed, tag: UInt64(options.frame))
            pixels = try renderer.readBackLastFrame()
        } catch {
            throw FramepipeError(error)
        }
        try OutputFiles.writePNG(pixels, width: options.width, height: options.height, to: options.outputPath)
        return pixels
    }

    /// The frame exactly as the kernel wrote it, straight from its WasmKit instance (no GPU).
    public static func computeDirectly(_ options: Options) throws(FramepipeError) -> [UInt8] {
        do throws(KernelError) {
            let module = try KernelModule(path: options.kernelPath)
            let instance = try KernelInstance(
                module: module, width: options.width, height: options.height, limits: options.limits)
            guard instance.format == .rgba8 else {
                throw KernelError(
                    .invalidModule,
                    "\(options.kernelPath): format \(instance.format.name) is not rendered yet; only RGBA8 (format 1) kernels are")
            }
            try instance.run(frame: options.frame, time: Double(options.frame) / 60, units: 0..<instance.unitCount)
            do {
                return try instance.outputBytes()
            } catch let error as KernelError {
                throw error
            } catch {
                throw KernelError(.runtimeFault, "\(options.kernelPath): cannot read the kernel's output: \(error)")
            }
        } catch {
            throw FramepipeError(error)
        }
    }
}
