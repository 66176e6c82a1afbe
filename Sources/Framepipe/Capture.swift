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
        /// Which engine (and kernel build) runs the kernel (`--engine`, `--kernel-build`).
        public var engine = EngineRequest()
        /// Where the note goes when `--engine auto` falls back to WasmKit.
        public var log: @Sendable (String) -> Void = { _ in }
        public var colormap: Colormap = .viridis
        /// The kernel's `time` for the frame, seconds (`--time`); nil: frame / 60. A viewer screenshot records the time
        /// its frame had, so that this reproduces it (stateless kernels; a stateful one still steps through frames
        /// 0..<frame at i / 60 and only the last gets this time).
        public var time: Double?
        /// `--param NAME=VALUE`: parameter values instead of the kernel's initial ones (a viewer screenshot records
        /// its frame's in `framepipe.parameters`).
        public var parameters: [ParameterAssignment] = []
        /// `--data`, `--seed`: what the kernel's WASI functions may read, and their random seed.
        public var wasi = WASIOptions()

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
        try options.validate()
        let computed = try computeDirectly(options)
        let pixels: [UInt8]
        do throws(RenderError) {
            let renderer = try HeadlessRenderer(
                width: options.width, height: options.height,
                content: FrameContent(computed.format, units: computed.units, colormap: options.colormap),
                deviceIndex: options.deviceIndex)
            // The frame's own commands copy the drawn target back (pipelined read-back); finish hands it over.
            try renderer.submitFrame(bytes: computed.bytes, tag: UInt64(options.frame), readBack: true)
            guard let drawn = try renderer.finish().last?.pixels else {
                throw RenderError(kind: .vulkan, message: "capture: the rendered frame came back without its pixels")
            }
            pixels = drawn
        } catch {
            throw FramepipeError(error)
        }
        try OutputFiles.writePNG(pixels, width: options.width, height: options.height, to: options.outputPath)
        return pixels
    }

    /// The frame exactly as the kernel wrote it, straight from one instance (no GPU): RGBA8 pixels,
    /// f32 values or points, as the format says. Stateful kernels are stepped through frames
    /// 0...frame in order, as the pool would run them.
    public static func computeDirectly(_ options: Options) throws(FramepipeError) -> (
        bytes: [UInt8], format: KernelFormat, units: Int
    ) {
        let instance = try ComputeSide.load(
            path: options.kernelPath, width: options.width, height: options.height, limits: options.limits,
            host: KernelHost(log: { _ in }, input: { _ in 0 }, wasi: options.wasi), engine: options.engine, parameters: options.parameters, log: options.log
        ).probe
        do throws(KernelError) {
            let first = instance.isStateful ? 0 : options.frame
            for frame in first...options.frame {
                let time = frame == options.frame ? (options.time ?? Double(frame) / 60) : Double(frame) / 60
                try instance.run(frame: frame, time: time, units: 0..<instance.unitCount)
            }
            return (try instance.outputBytes(), instance.format, instance.unitCount)
        } catch {
            throw FramepipeError(error)
        }
    }
}
