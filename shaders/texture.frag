#version 450
// Samples the uploaded frame. The sampler is NEAREST + CLAMP_TO_EDGE and the texture has the target's size, so at
// each pixel centre uv = (x + 0.5) / w lies mid-texel: the result equals the input texel bit-exactly.

layout(set = 0, binding = 0) uniform sampler2D frameTexture;

layout(location = 0) in vec2 inUV;
layout(location = 0) out vec4 outColor;

void main() {
    outColor = texture(frameTexture, inUV);
}
