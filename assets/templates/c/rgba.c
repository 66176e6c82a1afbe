/*
 * @NAME@.c — a Framepipe kernel (Kernel ABI v1) that draws an animated RGBA image.
 * Written by `framepipe new @NAME@ --lang c --format rgba`; build with ./build.sh, run with
 * `framepipe view @NAME@.wasm --watch --build ./build.sh`. The ABI: docs/kernel-abi.md.
 *
 * Stateless: a pixel depends only on its coordinates, the time and the parameters, so the host may
 * split a frame's rows [begin, end) over several instances of this module and compute frames in any
 * order. Each instance has its own memory: the buffer below is per instance.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "framepipe.h"

static uint8_t *pixels; /* width × height × 4 bytes: R, G, B, A */
static int32_t width, height;

FP_PARAMS({"speed", 0.0f, 4.0f, 1.0f}, {"scale", 1.0f, 32.0f, 8.0f})

FP_EXPORT(fp_abi_version) int32_t fp_abi_version(void) { return FP_ABI_VERSION; }
FP_EXPORT(fp_format) int32_t fp_format(void) { return FP_FORMAT_RGBA8; }
FP_EXPORT(fp_output) int32_t fp_output(void) { return fp_offset(pixels); }

FP_EXPORT(fp_init) int32_t fp_init(int32_t w, int32_t h) {
    pixels = malloc((size_t)w * (size_t)h * 4);
    if (pixels == NULL) {
        printf("@NAME@: cannot allocate %dx%d pixels\n", w, h);
        return 1; /* a non-zero code: the host reports "fp_init returned 1" and stops */
    }
    width = w;
    height = h;
    printf("@NAME@: %dx%d\n", w, h);
    return 0;
}

static uint8_t channel(float x) { return (uint8_t)(fminf(fmaxf(x, 0.0f), 1.0f) * 255.0f + 0.5f); }

FP_EXPORT(fp_frame) int32_t fp_frame(int32_t frame, double time, int32_t begin, int32_t end) {
    (void)frame;
    float t = (float)time * fp_param(0);
    float scale = fp_param(1);
    for (int32_t y = begin; y < end; y++) {
        float v = (float)y / (float)height - 0.5f;
        for (int32_t x = 0; x < width; x++) {
            float u = (float)x / (float)width - 0.5f;
            float wave = sinf(u * scale + t) + sinf(v * scale * 1.3f - t * 0.7f) + sinf(hypotf(u, v) * scale * 2.0f - t);
            uint8_t *p = pixels + ((size_t)y * (size_t)width + (size_t)x) * 4;
            p[0] = channel(0.5f + 0.5f * sinf(wave * 1.5f));
            p[1] = channel(0.5f + 0.5f * sinf(wave * 1.5f + 2.1f));
            p[2] = channel(0.5f + 0.5f * sinf(wave * 1.5f + 4.2f));
            p[3] = 255;
        }
    }
    return 0;
}
