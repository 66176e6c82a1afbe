/*
 * @NAME@.c — a Framepipe kernel (Kernel ABI v1) that moves a cloud of points, which the host draws as
 * sprites. Written by `framepipe new @NAME@ --lang c --format points`; build with ./build.sh, run with
 * `framepipe view @NAME@.wasm --watch --build ./build.sh`. The ABI: docs/kernel-abi.md.
 *
 * Stateless: a point depends only on its index, the time and the parameters, so the host may split a
 * frame's points [begin, end) over several instances of this module and compute frames in any order.
 * Each instance has its own memory: the buffer below is per instance.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "framepipe.h"

enum { POINTS = 4096 };
/* POINTS × FP_POINT_FLOATS floats: x, y (−1..1), z, size (pixels), r, g, b, a (0..1). */
static float *points;
static float *phase; /* a fixed random phase per point, made once in fp_init */

FP_PARAMS({"speed", 0.0f, 4.0f, 1.0f}, {"size", 1.0f, 16.0f, 3.0f})

FP_EXPORT(fp_abi_version) int32_t fp_abi_version(void) { return FP_ABI_VERSION; }
FP_EXPORT(fp_format) int32_t fp_format(void) { return FP_FORMAT_POINTS; }
FP_EXPORT(fp_points) int32_t fp_points(void) { return POINTS; }
FP_EXPORT(fp_output) int32_t fp_output(void) { return fp_offset(points); }

FP_EXPORT(fp_init) int32_t fp_init(int32_t w, int32_t h) {
    points = calloc(POINTS * FP_POINT_FLOATS, sizeof(float));
    phase = malloc(POINTS * sizeof(float));
    if (points == NULL || phase == NULL) {
        printf("@NAME@: out of memory\n");
        return 1; /* a non-zero code: the host reports "fp_init returned 1" and stops */
    }
    /* rand() starts from C's default seed in every instance, so every instance makes the same phases. */
    for (int i = 0; i < POINTS; i++) phase[i] = (float)rand() / (float)RAND_MAX * 2.0f * (float)M_PI;
    printf("@NAME@: %d points on a %dx%d frame\n", POINTS, w, h);
    return 0;
}

FP_EXPORT(fp_frame) int32_t fp_frame(int32_t frame, double time, int32_t begin, int32_t end) {
    (void)frame;
    float t = (float)time * fp_param(0);
    float size = fp_param(1);
    for (int32_t i = begin; i < end; i++) {
        float s = (float)i / POINTS; /* 0..1 along a Lissajous curve */
        float a = s * 2.0f * (float)M_PI;
        float *p = points + (size_t)i * FP_POINT_FLOATS;
        p[0] = 0.8f * sinf(3.0f * a + t * 0.5f) + 0.05f * cosf(phase[i] + t * 2.0f);
        p[1] = 0.8f * sinf(2.0f * a + t * 0.3f) + 0.05f * sinf(phase[i] + t * 2.0f);
        p[2] = s;
        p[3] = size;
        p[4] = 0.5f + 0.5f * sinf(a + t);
        p[5] = 0.5f + 0.5f * sinf(a + t + 2.1f);
        p[6] = 0.5f + 0.5f * sinf(a + t + 4.2f);
        p[7] = 0.8f;
    }
    return 0;
}
