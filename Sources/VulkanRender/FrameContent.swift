// What a frame holds (Kernel ABI v1 formats 1, 2, 3) and the colormaps of the f32 field format, with the CPU
// reference of the GPU's colour mapping.
// Unsafe pointer use in this file: none.

/// Colormap for the f32 field format (ABI format 2). The GPU maps each value with the same 256-entry table and the
/// same index rule as `rgba8(_:)`, so the CPU reference is exact. `viridis` is the default callers should offer.
public enum Colormap: String, Sendable, CaseIterable {
    case viridis, magma, gray

    /// CPU reference of the GPU mapping (same table, same index rule): RGBA8 for one value.
    /// NaN maps like 0; other values are clamped to [0, 1]; index = round(v * 255), ties up.
    public func rgba8(_ value: Float) -> (UInt8, UInt8, UInt8, UInt8) {
        let packed = packedTable[Colormap.tableIndex(value)]
        return (
            UInt8(truncatingIfNeeded: packed), UInt8(truncatingIfNeeded: packed >> 8),
            UInt8(truncatingIfNeeded: packed >> 16), UInt8(truncatingIfNeeded: packed >> 24)
        )
    }

    /// The table index of `value`, computed exactly as shaders/colormap.comp does: one correctly rounded f32
    /// multiply, one correctly rounded f32 add (the shader marks both `precise`, so neither side fuses them into an
    /// FMA), then truncation. Written out instead of `.rounded()` because GLSL's round() may break ties either way.
    static func tableIndex(_ value: Float) -> Int {
        let clamped = value.isNaN ? 0 : min(max(value, 0), 1)
        let scaled: Float = clamped * 255
        let biased: Float = scaled + 0.5
        return min(Int(biased), 255)
    }

    /// 256 entries, each r | g << 8 | b << 16 | a << 24: the byte order of an RGBA8 pixel read as a little-endian
    /// u32, and what GLSL's unpackUnorm4x8 expects. This exact array is uploaded for the compute shader.
    var packedTable: [UInt32] {
        switch self {
        case .viridis: Colormap.viridisTable
        case .magma: Colormap.magmaTable
        case .gray: Colormap.grayTable
        }
    }

    private static let viridisTable = packTable(ColormapData.viridis)
    private static let magmaTable = packTable(ColormapData.magma)
    private static let grayTable: [UInt32] = (0..<256).map { i in
        let v = UInt32(i)
        return v | v << 8 | v << 16 | 0xFF00_0000
    }

    /// matplotlib's 256 (r, g, b) rows in 0...1 → bytes rounded to nearest (so viridis ends at #fde725, the
    /// published hex value), alpha 255.
    private static func packTable(_ rows: [Double]) -> [UInt32] {
        stride(from: 0, to: rows.count - 2, by: 3).map { i in
            func byte(_ c: Double) -> UInt32 { UInt32(min(max((c * 255).rounded(), 0), 255)) }
            return byte(rows[i]) | byte(rows[i + 1]) << 8 | byte(rows[i + 2]) << 16 | 0xFF00_0000
        }
    }
}

/// What each submitted frame holds. Fixed for a renderer's lifetime.
public enum FrameContent: Sendable, Equatable {
    /// ABI format 1: width*height RGBA8 pixels, row-major, top row first; drawn as is.
    case rgba8
    /// ABI format 2: width*height little-endian f32 values (nominally 0...1), row-major, top row first; colour-mapped
    /// on the GPU by a compute shader.
    case scalarField(Colormap)
    /// ABI format 3: `count` points of 8 little-endian f32 each (x, y, z, size, r, g, b, a), drawn as squares over
    /// black. x, y in clip space −1...1 with y = −1 the top row; z is ignored (array order is draw order); size is
    /// the side in pixels.
    case points(count: Int)

    /// Bytes of one point: 8 × f32.
    public static let bytesPerPoint = 32
    /// Largest point count a renderer accepts: 4 Mi points, i.e. 128 MiB, the storage-buffer range every Vulkan
    /// device must support.
    public static let maxPointCount = 4_194_304

    /// Bytes one frame of this content occupies for a width×height target. Saturates at Int.max for sizes no
    /// frame can have, so this never traps; the renderer rejects such sizes.
    public func byteCount(width: Int, height: Int) -> Int {
        switch self {
        case .rgba8, .scalarField:
            return FrameContent.saturatingProduct(FrameContent.saturatingProduct(max(width, 0), max(height, 0)), 4)
        case .points(let count):
            return FrameContent.saturatingProduct(max(count, 0), FrameContent.bytesPerPoint)
        }
    }

    /// "a 61x37 RGBA8 frame", "a 61x37 f32 field frame", "a frame of 10 points": for error messages.
    func frameDescription(width: Int, height: Int) -> String {
        switch self {
        case .rgba8: "a \(width)x\(height) RGBA8 frame"
        case .scalarField: "a \(width)x\(height) f32 field frame"
        case .points(let count): "a frame of \(count) points"
        }
    }

    /// How to size a frame of this content, for error messages.
    var sizeRule: String {
        switch self {
        case .rgba8, .scalarField: "width*height*4 bytes"
        case .points: "count*32 bytes (8 f32 per point)"
        }
    }

    private static func saturatingProduct(_ a: Int, _ b: Int) -> Int {
        let (product, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow ? Int.max : product
    }
}
