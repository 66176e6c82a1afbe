#version 450
// Flat colour of the point; the pipeline blends it over the target (src alpha, one minus src alpha).

layout(location = 0) flat in vec4 inColor;
layout(location = 0) out vec4 outColor;

void main() {
    outColor = inColor;
}
