/*
 * plasma.c — the classic colourful plasma, animated by time.
 *
 * Format FP_FORMAT_RGBA8, stateless: every pixel depends only on
 * (time, x, y, width, height), so any row range can be computed on any
 * instance in any order. Alpha is always 255.
 *
 * The output buffer lives on the heap: fp_init reserves width * height * 4
 * bytes with fp_heap_reserve (which grows the linear memory).
 */
#include "framepipe.h"

/* Error codes returned by fp_init / fp_frame. */
enum {
    PLASMA_OK = 0,
    PLASMA_ERR_SIZE = 1,      /* width or height outside 1..PLASMA_MAX_SIDE */
    PLASMA_ERR_GROW = 2,      /* memory.grow failed */
    PLASMA_ERR_NOT_INIT = 3,  /* fp_frame before a successful fp_init */
    PLASMA_ERR_RANGE = 4,     /* begin/end not a valid row range */
};

#define PLASMA_MAX_SIDE 8192

static int32_t g_width;
static int32_t g_height;
static uint8_t *g_out; /* RGBA8 output, width * height * 4 bytes */

/* Appends the decimal form of v (v >= 0) at p; returns the new end. */
static char *put_uint(char *p, uint32_t v) {
    char tmp[10];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0u);
    while (n > 0) *p++ = tmp[--n];
    return p;
}

FP_EXPORT(fp_abi_version) int32_t fp_abi_version(void) { return FP_ABI_VERSION; }

FP_EXPORT(fp_format) int32_t fp_format(void) { return FP_FORMAT_RGBA8; }

FP_EXPORT(fp_output) int32_t fp_output(void) { return fp_offset(g_out); }

FP_EXPORT(fp_init) int32_t fp_init(int32_t width, int32_t height) {
    if (width <= 0 || height <= 0 || width > PLASMA_MAX_SIDE || height > PLASMA_MAX_SIDE)
        return PLASMA_ERR_SIZE;

    g_out = (uint8_t *)fp_heap_reserve((uint64_t)width * (uint64_t)height * 4u);
    if (g_out == 0) return PLASMA_ERR_GROW;

    g_width = width;
    g_height = height;

    char msg[32];
    char *p = msg;
    static const char prefix[] = "plasma: ";
    for (unsigned i = 0; i + 1 < sizeof prefix; i++) *p++ = prefix[i];
    p = put_uint(p, (uint32_t)width);
    *p++ = 'x';
    p = put_uint(p, (uint32_t)height);
    fp_log(msg, (int32_t)(p - msg));
    return PLASMA_OK;
}

/* Maps c (roughly -1..1) to a byte 0..255. */
static uint8_t to_byte(float c) {
    float v = fp_clampf(0.5f + 0.5f * c, 0.0f, 1.0f);
    return (uint8_t)(int32_t)(v * 255.0f + 0.5f);
}

FP_EXPORT(fp_frame) int32_t fp_frame(int32_t frame, double time, int32_t begin, int32_t end) {
    (void)frame; /* animation follows time only */
    if (g_width <= 0) return PLASMA_ERR_NOT_INIT;
    if (begin < 0 || end > g_height || begin > end) return PLASMA_ERR_RANGE;

    const int32_t w = g_width, h = g_height;
    const float t = (float)time;
    /* Coordinates scale with the shorter side so the pattern keeps its shape. */
    const float scale = 12.0f / (float)(w < h ? w : h);
    const float cx0 = 0.5f * (float)w * scale, cy0 = 0.5f * (float)h * scale;

    /* Per-frame terms, shared by all pixels. */
    const float s2 = fp_sinf(t * 0.5f), c3 = fp_cosf(t * 0.33f);
    const float ox = cx0 + 3.0f * fp_sinf(t * 0.2f);   /* moving ring centre */
    const float oy = cy0 + 3.0f * fp_cosf(t * 0.31f);

    for (int32_t y = begin; y < end; y++) {
        const float py = ((float)y + 0.5f) * scale;
        uint8_t *row = g_out + (uint32_t)y * (uint32_t)w * 4u;
        for (int32_t x = 0; x < w; x++) {
            const float px = ((float)x + 0.5f) * scale;
            const float dx = px - ox, dy = py - oy;
            float v = fp_sinf(px + t)                                  /* vertical bands */
                    + fp_sinf(0.5f * (py - t))                         /* horizontal bands */
                    + fp_sinf(0.7f * (px * s2 + py * c3) + t * 0.7f)   /* rotating bands */
                    + fp_sinf(1.3f * fp_sqrtf(dx * dx + dy * dy + 1.0f) - t); /* rings */
            /* v in -4..4 -> phase; three phase-shifted sines give the palette. */
            const float ph = v * (FP_PI * 0.5f) + t * 0.25f;
            row[4 * x + 0] = to_byte(fp_sinf(ph));
            row[4 * x + 1] = to_byte(fp_sinf(ph + FP_TWO_PI / 3.0f));
            row[4 * x + 2] = to_byte(fp_sinf(ph + 2.0f * FP_TWO_PI / 3.0f));
            row[4 * x + 3] = 255;
        }
    }
    return PLASMA_OK;
}
