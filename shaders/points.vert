#version 450
// Draws point i (Kernel ABI format 3) as instance i: a square of `size` pixels centred on (x, y), made of two
// triangles (6 vertices from gl_VertexIndex), read from the frame's staging buffer. No vertex buffers and no
// dependency on the largePoints feature.
// Conventions: x, y are clip space; y = -1 is the TOP row (Vulkan's own convention, as for the full-screen pass).
// A pixel is covered when its centre lies inside the square (edges through a centre: Vulkan's top-left rule).
// z is ignored: points are drawn in array order, later over earlier. Nothing is drawn for a point whose x, y or
// size is not finite or whose size is <= 0. A NaN colour channel counts as 0; channels are clamped to [0, 1].

struct Point { float x, y, z, size, r, g, b, a; };  // 32 bytes, the ABI layout (std430 adds no padding)
layout(set = 0, binding = 0, std430) readonly buffer Points { Point points[]; };

layout(push_constant) uniform Target { vec2 size; } target;  // width, height in pixels

layout(location = 0) flat out vec4 outColor;

// Corners of the square, in units of half its side: triangles (0,1,2) and (3,4,5) share the diagonal, and the
// top-left rule gives each pixel on that diagonal to exactly one of them, so nothing is blended twice.
const vec2 corners[6] = vec2[6](
    vec2(-1.0, -1.0), vec2(1.0, -1.0), vec2(-1.0, 1.0),
    vec2(-1.0, 1.0), vec2(1.0, -1.0), vec2(1.0, 1.0));

bool isFinite(float v) { return (floatBitsToUint(v) & 0x7f800000u) != 0x7f800000u; }
// Bit test rather than isnan(): a fast-math driver compiler may fold isnan() away.
float nanToZero(float v) { uint b = floatBitsToUint(v); return ((b & 0x7fffffffu) > 0x7f800000u) ? 0.0 : v; }

void main() {
    Point p = points[gl_InstanceIndex];
    outColor = clamp(vec4(nanToZero(p.r), nanToZero(p.g), nanToZero(p.b), nanToZero(p.a)), 0.0, 1.0);

    bool drawable = isFinite(p.x) && isFinite(p.y) && isFinite(p.size) && p.size > 0.0;
    // size/2 pixels is size/2 * 2/width clip units.
    vec2 halfSide = vec2(p.size) / target.size;
    // Edges beyond the viewport are pulled in to +-2: the covered pixels stay the same, and huge coordinates
    // (or their overflow to infinity) never reach the rasteriser.
    vec2 lo = clamp(vec2(p.x, p.y) - halfSide, vec2(-2.0), vec2(2.0));
    vec2 hi = clamp(vec2(p.x, p.y) + halfSide, vec2(-2.0), vec2(2.0));
    if (!drawable) {
        // All six vertices at one point outside the viewport: zero-area triangles, nothing rasterised.
        lo = vec2(3.0);
        hi = vec2(3.0);
    }
    vec2 corner01 = corners[gl_VertexIndex] * 0.5 + 0.5;
    gl_Position = vec4(mix(lo, hi, corner01), 0.0, 1.0);
}
