#version 450
// One triangle that covers the whole viewport, generated from gl_VertexIndex so the pipeline needs no vertex
// buffer. Vertices (clip space): (-1,-1), (3,-1), (-1,3). Vulkan clip y = -1 is the TOP of the framebuffer, so
// uv = (0,0) lands on the top-left corner and (1,1) on the bottom-right; uv outside [0,1] lies off-screen.
// Texture row 0 (the first row uploaded) is v = 0, hence the top row of the output: no flip anywhere.

layout(location = 0) out vec2 outUV;

void main() {
    vec2 uv = vec2(float((gl_VertexIndex << 1) & 2), float(gl_VertexIndex & 2));
    outUV = uv;
    gl_Position = vec4(uv * 2.0 - 1.0, 0.0, 1.0);
}
