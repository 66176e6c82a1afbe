// @NAME@.cpp — a Framepipe kernel (Kernel ABI v1) in C++ that moves a cloud of points, which the host
// draws as sprites. Written by `framepipe new @NAME@ --lang cpp --format points`; build with ./build.sh,
// run with `framepipe view @NAME@.wasm --watch --build ./build.sh`. The ABI: docs/kernel-abi.md.
//
// Stateless: a point depends only on its index, the time and the parameters, so the host may split a
// frame's points [begin, end) over several instances of this module and compute frames in any order.
// Each instance has its own memory: the points below are per instance. Built without exceptions
// (-fno-exceptions): an allocation that fails aborts, which the host reports as the kernel's fault.
#include <cmath>
#include <cstdio>
#include <vector>

#include "framepipe.hpp"

FP_PARAMS({"speed", 0.0f, 4.0f, 1.0f}, {"size", 1.0f, 16.0f, 3.0f})

namespace {

constexpr int32_t point_count = 4096;

// One point as the host reads it: FP_POINT_FLOATS floats.
struct Point { float x, y, z, size, r, g, b, a; };
static_assert(sizeof(Point) == FP_POINT_FLOATS * sizeof(float), "the host reads 8 floats per point");

std::vector<Point> points;

int32_t init(int32_t w, int32_t h) {
    points.assign(point_count, Point{});
    std::printf("@NAME@: %d points on a %dx%d frame\n", point_count, w, h);
    return 0;
}

int32_t frame(int32_t, double time, int32_t begin, int32_t end) {
    const float t = static_cast<float>(time) * fp_param(0);
    const float size = fp_param(1);
    for (int32_t i = begin; i < end; i++) {
        float s = static_cast<float>(i) / point_count; // 0..1 around a torus knot
        float a = s * 6.2831853f * 3.0f, b = s * 6.2831853f * 2.0f + t * 0.4f;
        float radius = 0.55f + 0.25f * std::cos(a);
        points[i] = {radius * std::cos(b), radius * std::sin(b), 0.5f + 0.5f * std::sin(a), size,
                     0.5f + 0.5f * std::sin(a + t), 0.5f + 0.5f * std::sin(b), 0.9f, 0.8f};
    }
    return 0;
}

const void *output() { return points.data(); }

} // namespace

FP_CPP_KERNEL(framepipe::Format::points, init, frame, output)
FP_EXPORT(fp_points) int32_t fp_points(void) { return point_count; }
