#version 450
// Colour-maps one f32 field frame (Kernel ABI format 2) into the RGBA8 image the full-screen pass then samples.
// One invocation per pixel. The field is read straight from the frame's staging buffer (no copy), as raw bits, and
// mapped through a 256-entry table with index = trunc(clamp(v, 0, 1) * 255 + 0.5), exactly the rule of
// Colormap.tableIndex on the CPU, so the CPU reference matches byte for byte.

layout(local_size_x = 8, local_size_y = 8) in;

// width*height f32 values as their bit patterns, row-major, top row first (row 0 = image row 0 = top).
layout(set = 0, binding = 0, std430) readonly buffer Field { uint fieldBits[]; };
// Entry i = r | g << 8 | b << 16 | a << 24 (Colormap.packedTable).
layout(set = 0, binding = 1, std430) readonly buffer Table { uint colormapRGBA8[256]; };
layout(set = 0, binding = 2, rgba8) uniform writeonly image2D mappedFrame;

layout(push_constant) uniform FrameSize { uvec2 size; } frame;

void main() {
    uvec2 pixel = gl_GlobalInvocationID.xy;
    // The dispatch rounds the grid up to whole 8x8 groups; the extra invocations have no pixel.
    if (pixel.x >= frame.size.x || pixel.y >= frame.size.y) return;

    uint bits = fieldBits[pixel.y * frame.size.x + pixel.x];
    // NaN is recognised from its bits: a driver compiling with fast-math assumptions may fold isnan() away.
    bool isNaN = (bits & 0x7f800000u) == 0x7f800000u && (bits & 0x007fffffu) != 0u;
    float value = isNaN ? 0.0 : uintBitsToFloat(bits);
    // `precise`: no fused multiply-add, so both roundings happen as on the CPU (ties at k + 0.5 stay identical).
    precise float scaled = min(max(value, 0.0), 1.0) * 255.0;
    precise float biased = scaled + 0.5;
    uint index = min(uint(biased), 255u);
    // unpackUnorm4x8 gives byte/255 and the rgba8 store converts back with round-to-nearest: the same byte.
    imageStore(mappedFrame, ivec2(pixel), unpackUnorm4x8(colormapRGBA8[index]));
}
