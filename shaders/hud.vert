#version 450
// HUD quads (framepipe view): positions already in clip space (computed on the CPU from pixels and the swapchain
// extent), one colour per vertex. Vulkan clip y = -1 is the top of the window.

layout(location = 0) in vec2 inPosition;
layout(location = 1) in vec4 inColor;
layout(location = 0) out vec4 outColor;

void main() {
    outColor = inColor;
    gl_Position = vec4(inPosition, 0.0, 1.0);
}
