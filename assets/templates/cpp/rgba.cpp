// @NAME@.cpp — a Framepipe kernel (Kernel ABI v1) in C++ that draws an animated RGBA image.
// Written by `framepipe new @NAME@ --lang cpp --format rgba`; build with ./build.sh, run with
// `framepipe view @NAME@.wasm --watch --build ./build.sh`. The ABI: docs/kernel-abi.md.
//
// Stateless: a pixel depends only on its coordinates, the time and the parameters, so the host may
// split a frame's rows [begin, end) over several instances of this module and compute frames in any
// order. Each instance has its own memory: the image below is per instance. Built without exceptions
// (-fno-exceptions): an allocation that fails aborts, which the host reports as the kernel's fault.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "framepipe.hpp"

FP_PARAMS({"speed", 0.0f, 4.0f, 1.0f}, {"rings", 1.0f, 64.0f, 12.0f})

namespace {

struct Image {
    int32_t width = 0, height = 0;
    std::vector<uint8_t> rgba; // width × height × 4 bytes: R, G, B, A

    static uint8_t channel(float x) { return static_cast<uint8_t>(std::clamp(x, 0.0f, 1.0f) * 255.0f + 0.5f); }

    void draw_rows(float t, float rings, int32_t begin, int32_t end) {
        for (int32_t y = begin; y < end; y++) {
            float v = static_cast<float>(y) / static_cast<float>(height) - 0.5f;
            for (int32_t x = 0; x < width; x++) {
                float u = static_cast<float>(x) / static_cast<float>(width) - 0.5f;
                float radius = std::hypot(u, v), angle = std::atan2(v, u);
                float wave = std::sin(radius * rings * 6.2831853f - t * 3.0f + std::sin(angle * 3.0f + t));
                uint8_t *p = &rgba[(static_cast<size_t>(y) * width + x) * 4];
                p[0] = channel(0.5f + 0.5f * wave);
                p[1] = channel(0.5f + 0.5f * std::cos(wave * 2.0f + t));
                p[2] = channel(std::exp(-radius * 3.0f));
                p[3] = 255;
            }
        }
    }
};

Image image;

int32_t init(int32_t w, int32_t h) {
    image.width = w;
    image.height = h;
    image.rgba.assign(static_cast<size_t>(w) * h * 4, 0);
    std::printf("@NAME@: %dx%d\n", w, h);
    return 0;
}

int32_t frame(int32_t, double time, int32_t begin, int32_t end) {
    image.draw_rows(static_cast<float>(time) * fp_param(0), fp_param(1), begin, end);
    return 0;
}

const void *output() { return image.rgba.data(); }

} // namespace

FP_CPP_KERNEL(framepipe::Format::rgba8, init, frame, output)
