/*
 * edges.libc.c: neon edges of a photo (format 1, RGBA8, stateless), the gallery's kernel with libc.
 * fp_init reads logo.ppm (binary PPM, P6) from the host's read-only data directory
 * (`--data assets/data`, seen here as the preopened directory ".") with fopen/fread, and keeps the
 * image and its Sobel edge strength in malloc'd buffers. Each frame samples both at the output
 * size (bilinear) and lights every edge above a threshold that breathes with time (a 6 s cycle)
 * in a hue that drifts across the frame, over the photo dimmed to a quarter.
 * Built with wasi-libc as a reactor by scripts/build-kernels.sh (NAME.libc.c -> NAME.wasm).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "framepipe.h"

#define IMAGE_NAME "logo.ppm"
#define MAX_SIDE 4096
#define MAX_IMAGE_SIDE 4096

static int32_t g_w, g_h;      /* output size */
static int32_t g_iw, g_ih;    /* image size */
static uint8_t *g_out;        /* g_w * g_h * 4 */
static float *g_rgb;          /* g_iw * g_ih * 3, 0..1 */
static float *g_edge;         /* g_iw * g_ih, Sobel magnitude of the luminance, 0..1 */

/* Next header number of a PPM, skipping whitespace and # comments; -1 when there is none. */
static long ppm_number(FILE *f) {
    int c = fgetc(f);
    for (;;) {
        if (c == '#') { while (c != '\n' && c != EOF) c = fgetc(f); }
        else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') c = fgetc(f);
        else break;
    }
    if (c < '0' || c > '9') return -1;
    long n = 0;
    while (c >= '0' && c <= '9') {
        n = n * 10 + (c - '0');
        if (n > 1000000) return -1;
        c = fgetc(f);
    }
    return n; /* the single whitespace after the number was consumed */
}

/* Reads a P6 image with maxval 255 into g_rgb; 0 on success, else an error code for fp_init. */
static int32_t load_image(void) {
    FILE *f = fopen(IMAGE_NAME, "rb");
    if (f == NULL) {
        printf("edges: " IMAGE_NAME " not found: run with --data assets/data\n");
        return 5;
    }
    int32_t result = 6;
    long w = -1, h = -1, maxval = -1;
    if (fgetc(f) == 'P' && fgetc(f) == '6') { w = ppm_number(f); h = ppm_number(f); maxval = ppm_number(f); }
    if (w < 1 || h < 1 || w > MAX_IMAGE_SIDE || h > MAX_IMAGE_SIDE || maxval != 255) {
        printf("edges: " IMAGE_NAME " is not a binary PPM (P6) with maxval 255, at most %dx%d\n", MAX_IMAGE_SIDE, MAX_IMAGE_SIDE);
        goto done;
    }
    size_t count = (size_t)w * (size_t)h * 3u;
    uint8_t *bytes = malloc(count);
    g_rgb = malloc(count * sizeof(float));
    g_edge = malloc((size_t)w * (size_t)h * sizeof(float));
    if (bytes == NULL || g_rgb == NULL || g_edge == NULL) { free(bytes); result = 2; goto done; }
    if (fread(bytes, 1, count, f) != count) {
        printf("edges: " IMAGE_NAME " is cut short (%ldx%ld needs %zu bytes of pixels)\n", w, h, count);
        free(bytes);
        goto done;
    }
    for (size_t i = 0; i < count; i++) g_rgb[i] = (float)bytes[i] * (1.0f / 255.0f);
    free(bytes);
    g_iw = (int32_t)w; g_ih = (int32_t)h;
    result = 0;
done:
    fclose(f);
    return result;
}

static float luma(int32_t x, int32_t y) {
    x = x < 0 ? 0 : x >= g_iw ? g_iw - 1 : x; /* clamp to the border */
    y = y < 0 ? 0 : y >= g_ih ? g_ih - 1 : y;
    const float *p = g_rgb + ((size_t)y * (size_t)g_iw + (size_t)x) * 3u;
    return 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
}

/* Sobel gradient magnitude of the luminance; its largest possible value (4 * sqrt 2) maps to 1. */
static void detect_edges(void) {
    for (int32_t y = 0; y < g_ih; y++)
        for (int32_t x = 0; x < g_iw; x++) {
            float gx = luma(x + 1, y - 1) + 2.0f * luma(x + 1, y) + luma(x + 1, y + 1)
                     - luma(x - 1, y - 1) - 2.0f * luma(x - 1, y) - luma(x - 1, y + 1);
            float gy = luma(x - 1, y + 1) + 2.0f * luma(x, y + 1) + luma(x + 1, y + 1)
                     - luma(x - 1, y - 1) - 2.0f * luma(x, y - 1) - luma(x + 1, y - 1);
            g_edge[(size_t)y * (size_t)g_iw + (size_t)x] = fp_minf(sqrtf(gx * gx + gy * gy) * 0.1767767f, 1.0f);
        }
}

FP_EXPORT(fp_abi_version) int32_t fp_abi_version(void) { return FP_ABI_VERSION; }
FP_EXPORT(fp_format) int32_t fp_format(void) { return FP_FORMAT_RGBA8; }
FP_EXPORT(fp_output) int32_t fp_output(void) { return fp_offset(g_out); }

FP_EXPORT(fp_init) int32_t fp_init(int32_t w, int32_t h) {
    if (w < 1 || h < 1 || w > MAX_SIDE || h > MAX_SIDE) return 1;
    int32_t loaded = load_image();
    if (loaded != 0) return loaded;
    detect_edges();
    g_out = malloc((size_t)w * (size_t)h * 4u);
    if (g_out == NULL) return 2;
    g_w = w; g_h = h;
    printf("edges: " IMAGE_NAME " %dx%d drawn at %dx%d\n", g_iw, g_ih, w, h);
    return 0;
}

/* Bilinear sample of `channels` floats per texel at texel coordinates (sx, sy), clamped to the border. */
static void sample(const float *image, int32_t channels, float sx, float sy, float *result) {
    sx = fp_clampf(sx, 0.0f, (float)(g_iw - 1));
    sy = fp_clampf(sy, 0.0f, (float)(g_ih - 1));
    int32_t x0 = (int32_t)sx, y0 = (int32_t)sy;
    int32_t x1 = x0 + 1 < g_iw ? x0 + 1 : x0, y1 = y0 + 1 < g_ih ? y0 + 1 : y0;
    float fx = sx - (float)x0, fy = sy - (float)y0;
    const float *a = image + ((size_t)y0 * (size_t)g_iw + (size_t)x0) * (size_t)channels;
    const float *b = image + ((size_t)y0 * (size_t)g_iw + (size_t)x1) * (size_t)channels;
    const float *c = image + ((size_t)y1 * (size_t)g_iw + (size_t)x0) * (size_t)channels;
    const float *d = image + ((size_t)y1 * (size_t)g_iw + (size_t)x1) * (size_t)channels;
    for (int32_t i = 0; i < channels; i++)
        result[i] = fp_mixf(fp_mixf(a[i], b[i], fx), fp_mixf(c[i], d[i], fx), fy);
}

FP_EXPORT(fp_frame) int32_t fp_frame(int32_t frame, double time, int32_t begin, int32_t end) {
    (void)frame;
    if (g_w == 0) return 3;
    if (begin < 0 || end > g_h || begin > end) return 4;
    /* Phases from the f64 time, reduced to one cycle before going to f32. */
    float breath = sinf(6.2831853f * (float)fp_fract(time / 6.0));
    float threshold = 0.16f + 0.12f * breath;  /* 0.04..0.28: from every wrinkle to outlines only */
    float drift = (float)fp_fract(time * 0.1); /* hue turns once per 10 s */
    float scale_x = (float)g_iw / (float)g_w, scale_y = (float)g_ih / (float)g_h;
    for (int32_t y = begin; y < end; y++) {
        uint8_t *px = g_out + (size_t)y * (size_t)g_w * 4u;
        float sy = ((float)y + 0.5f) * scale_y - 0.5f;
        for (int32_t x = 0; x < g_w; x++, px += 4) {
            float sx = ((float)x + 0.5f) * scale_x - 0.5f;
            float rgb[3], edge;
            sample(g_rgb, 3, sx, sy, rgb);
            sample(g_edge, 1, sx, sy, &edge);
            float glow = fp_smoothstepf(threshold, threshold + 0.08f, edge);
            float hue = drift + (float)x / (float)g_w * 0.5f + (float)y / (float)g_h * 0.25f;
            for (int32_t c = 0; c < 3; c++) {
                float neon = 0.55f + 0.45f * sinf(6.2831853f * (hue + (float)c / 3.0f));
                float v = fp_mixf(rgb[c] * 0.25f, neon, glow);
                px[c] = (uint8_t)(fp_clampf(v, 0.0f, 1.0f) * 255.0f + 0.5f);
            }
            px[3] = 255;
        }
    }
    return 0;
}
