#version 450
// HUD quads: the vertex colour, alpha-blended over the frame by the pipeline.

layout(location = 0) in vec4 inColor;
layout(location = 0) out vec4 outColor;

void main() {
    outColor = inColor;
}
