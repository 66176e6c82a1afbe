// @NAME@.cpp — a Framepipe kernel (Kernel ABI v1) in C++ that computes an animated scalar field, which
// the host colours with a colormap (--colormap). Written by `framepipe new @NAME@ --lang cpp --format field`;
// build with ./build.sh, run with `framepipe view @NAME@.wasm --watch --build ./build.sh`.
// The ABI: docs/kernel-abi.md.
//
// Stateless: a value depends only on its coordinates, the time and the parameters, so the host may
// split a frame's rows [begin, end) over several instances of this module and compute frames in any
// order. Each instance has its own memory: the field below is per instance. Built without exceptions
// (-fno-exceptions): an allocation that fails aborts, which the host reports as the kernel's fault.
#include <array>
#include <cmath>
#include <cstdio>
#include <vector>

#include "framepipe.hpp"

FP_PARAMS({"speed", 0.0f, 4.0f, 1.0f}, {"wavelength", 0.01f, 0.5f, 0.08f})

namespace {

struct Source { float x, y; };

int32_t width, height;
std::vector<float> field; // width × height values in 0..1, row-major, top row first

int32_t init(int32_t w, int32_t h) {
    width = w;
    height = h;
    field.assign(static_cast<size_t>(w) * h, 0.0f);
    std::printf("@NAME@: %dx%d\n", w, h);
    return 0;
}

int32_t frame(int32_t, double time, int32_t begin, int32_t end) {
    const float t = static_cast<float>(time) * fp_param(0);
    const float k = 6.2831853f / fp_param(1);
    // Wave sources circling the centre; the field is their interference pattern.
    std::array<Source, 5> sources{};
    for (size_t i = 0; i < sources.size(); i++) {
        float angle = t * 0.3f + static_cast<float>(i) * 6.2831853f / sources.size();
        sources[i] = {0.5f + 0.3f * std::cos(angle), 0.5f + 0.3f * std::sin(angle)};
    }
    for (int32_t y = begin; y < end; y++) {
        float v = static_cast<float>(y) / static_cast<float>(height);
        for (int32_t x = 0; x < width; x++) {
            float u = static_cast<float>(x) / static_cast<float>(width);
            float sum = 0.0f;
            for (const Source &s : sources) sum += std::cos(std::hypot(u - s.x, v - s.y) * k - t * 4.0f);
            field[static_cast<size_t>(y) * width + x] = 0.5f + 0.5f * sum / sources.size();
        }
    }
    return 0;
}

const void *output() { return field.data(); }

} // namespace

FP_CPP_KERNEL(framepipe::Format::f32_field, init, frame, output)
