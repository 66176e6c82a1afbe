// ripples.cpp: rain on a pond (format 2, f32 field, stateless), the gallery's C++ kernel.
// Five drops drift over the frame on slow Lissajous paths; each sends out rings whose height
// falls off with distance (std::exp) and which travel outward (std::sin of distance minus time).
// The field is their sum squashed into 0..1 (std::tanh), colour-mapped by the host.
// Built against wasi-libc and libc++ (std::vector, <cmath>) by scripts/build-kernels.sh; see the
// "Building kernels with libc" section of docs/kernel-abi.md.
#include <cmath>
#include <cstdio>
#include <vector>

#include "framepipe.hpp"

namespace {

constexpr int32_t kMaxSide = 4096;

struct Drop {
    float x, y;        // centre, in units of the frame's shorter side
    float wavelength;  // between crests, same units
    float decay;       // amplitude e-folding distance
};

// The path of each drop: x = cx + ax sin(fx t + px), y = cy + ay cos(fy t + py).
struct Path { float cx, cy, ax, ay, fx, fy, px, py, wavelength, decay; };
constexpr Path kPaths[] = {
    {0.30f, 0.35f, 0.20f, 0.15f, 0.31f, 0.23f, 0.0f, 1.0f, 0.095f, 0.45f},
    {0.70f, 0.60f, 0.18f, 0.22f, 0.19f, 0.29f, 2.0f, 0.5f, 0.075f, 0.40f},
    {0.50f, 0.50f, 0.35f, 0.30f, 0.13f, 0.17f, 4.0f, 3.0f, 0.120f, 0.55f},
    {0.20f, 0.75f, 0.10f, 0.12f, 0.41f, 0.37f, 1.0f, 5.0f, 0.060f, 0.30f},
    {0.85f, 0.25f, 0.12f, 0.10f, 0.27f, 0.43f, 3.0f, 2.0f, 0.085f, 0.35f},
};

int32_t g_width = 0, g_height = 0;
std::vector<float> g_field;  // g_width * g_height values; allocated once, so fp_output never moves
std::vector<Drop> g_drops;   // this call's drop positions (depend only on time)

int32_t init(int32_t w, int32_t h) {
    if (w < 1 || h < 1 || w > kMaxSide || h > kMaxSide) return 1;
    g_field.assign(static_cast<size_t>(w) * static_cast<size_t>(h), 0.0f);
    g_drops.reserve(sizeof kPaths / sizeof kPaths[0]);
    g_width = w;
    g_height = h;
    std::printf("ripples: %dx%d, %zu drops\n", w, h, sizeof kPaths / sizeof kPaths[0]);
    return 0;
}

int32_t frame(int32_t, double time, int32_t begin, int32_t end) {
    if (g_width == 0) return 3;
    if (begin < 0 || end > g_height || begin > end) return 4;
    // Phases from the f64 time, reduced before going to f32 (f32 loses time after minutes).
    const float t = static_cast<float>(std::fmod(time, 3600.0));
    const float wave = static_cast<float>(std::fmod(time * 0.35, 1.0));  // crests move 0.35 wavelengths/s
    g_drops.clear();
    for (const Path &p : kPaths) {
        g_drops.push_back({p.cx + p.ax * std::sin(p.fx * t + p.px), p.cy + p.ay * std::cos(p.fy * t + p.py),
                           p.wavelength, p.decay});
    }
    const float scale = 1.0f / static_cast<float>(g_width < g_height ? g_width : g_height);
    const float twoPi = 6.2831853f;
    for (int32_t y = begin; y < end; y++) {
        float *row = g_field.data() + static_cast<size_t>(y) * static_cast<size_t>(g_width);
        const float v = (static_cast<float>(y) + 0.5f) * scale;
        for (int32_t x = 0; x < g_width; x++) {
            const float u = (static_cast<float>(x) + 0.5f) * scale;
            float height = 0.0f;
            for (const Drop &d : g_drops) {
                const float dx = u - d.x, dy = v - d.y;
                const float r = std::sqrt(dx * dx + dy * dy);
                height += std::sin(twoPi * (r / d.wavelength - wave)) * std::exp(-r / d.decay);
            }
            row[x] = 0.5f + 0.5f * std::tanh(1.3f * height);
        }
    }
    return 0;
}

const void *output() { return g_field.data(); }

}  // namespace

FP_CPP_KERNEL(framepipe::Format::f32_field, init, frame, output)
