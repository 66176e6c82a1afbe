/*
 * @NAME@.c — a Framepipe kernel (Kernel ABI v1) that computes an animated scalar field, which the
 * host colours with a colormap (--colormap). Written by `framepipe new @NAME@ --lang c --format field`;
 * build with ./build.sh, run with `framepipe view @NAME@.wasm --watch --build ./build.sh`.
 * The ABI: docs/kernel-abi.md.
 *
 * Stateless: a value depends only on its coordinates, the time and the parameters, so the host may
 * split a frame's rows [begin, end) over several instances of this module and compute frames in any
 * order. Each instance has its own memory: the buffer below is per instance.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "framepipe.h"

enum { SOURCES = 5 };
static float *field; /* width × height floats in 0..1, row-major, top row first */
static int32_t width, height;

FP_PARAMS({"speed", 0.0f, 4.0f, 1.0f}, {"wavelength", 0.01f, 0.5f, 0.08f})

FP_EXPORT(fp_abi_version) int32_t fp_abi_version(void) { return FP_ABI_VERSION; }
FP_EXPORT(fp_format) int32_t fp_format(void) { return FP_FORMAT_F32_FIELD; }
FP_EXPORT(fp_output) int32_t fp_output(void) { return fp_offset(field); }

FP_EXPORT(fp_init) int32_t fp_init(int32_t w, int32_t h) {
    field = malloc((size_t)w * (size_t)h * sizeof(float));
    if (field == NULL) {
        printf("@NAME@: cannot allocate a %dx%d field\n", w, h);
        return 1; /* a non-zero code: the host reports "fp_init returned 1" and stops */
    }
    width = w;
    height = h;
    printf("@NAME@: %dx%d, %d wave sources\n", w, h, SOURCES);
    return 0;
}

FP_EXPORT(fp_frame) int32_t fp_frame(int32_t frame, double time, int32_t begin, int32_t end) {
    (void)frame;
    float t = (float)time * fp_param(0);
    float k = 2.0f * (float)M_PI / fp_param(1);
    /* Wave sources circling the centre; the field is their interference pattern. */
    float sx[SOURCES], sy[SOURCES];
    for (int i = 0; i < SOURCES; i++) {
        float angle = t * 0.3f + (float)i * 2.0f * (float)M_PI / SOURCES;
        sx[i] = 0.5f + 0.3f * cosf(angle);
        sy[i] = 0.5f + 0.3f * sinf(angle);
    }
    for (int32_t y = begin; y < end; y++) {
        float v = (float)y / (float)height;
        for (int32_t x = 0; x < width; x++) {
            float u = (float)x / (float)width;
            float sum = 0.0f;
            for (int i = 0; i < SOURCES; i++) sum += cosf(hypotf(u - sx[i], v - sy[i]) * k - t * 4.0f);
            field[(size_t)y * (size_t)width + (size_t)x] = 0.5f + 0.5f * sum / SOURCES;
        }
    }
    return 0;
}
