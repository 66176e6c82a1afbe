/*
 * mandelbrot.c — an endless zoom into Seahorse Valley of the Mandelbrot set.
 *
 * Format FP_FORMAT_RGBA8, stateless and deliberately heavy: up to `iterations`
 * (a parameter, 64 by default) iterations per pixel (interior pixels take them all).
 * Every pixel depends only on (time, x, y, width, height) and the parameters, so any
 * row range can be computed on any instance in any order.
 *
 * Parameters: iterations (more: finer detail near the set, slower), zoom_period
 * (seconds per zoom cycle), color_drift (how far the palette turns per cycle).
 *
 * The view narrows by 2^ZOOM_OCTAVES over each ZOOM_PERIOD_S seconds, then starts
 * again: a longer dive would need more iterations (and f64) to stay detailed.
 * Escaped pixels are coloured from a smooth (fractional) iteration count through
 * a cosine palette; interior pixels are black.
 */
#include "framepipe.h"

/* Error codes returned by fp_init / fp_frame. */
enum {
    MANDELBROT_OK = 0,
    MANDELBROT_ERR_SIZE = 1,     /* width or height outside 1..MANDELBROT_MAX_SIDE */
    MANDELBROT_ERR_GROW = 2,     /* memory.grow failed */
    MANDELBROT_ERR_NOT_INIT = 3, /* fp_frame before a successful fp_init */
    MANDELBROT_ERR_RANGE = 4,    /* begin/end not a valid row range */
};

#define MANDELBROT_MAX_SIDE 8192

/* Where the zoom goes: the tip of a spiral in Seahorse Valley. */
#define TARGET_RE -0.743643887f
#define TARGET_IM 0.131825904f
#define START_VIEW_HEIGHT 2.6f /* complex-plane height of the first view: the whole set */
#define ZOOM_OCTAVES 6.5f      /* the view shrinks 2^6.5 = 90x over a cycle */
/* Squared escape radius. Large (rather than 4) so the smooth iteration count below is
 * accurate: the error of log2(log2|z|) shrinks as |z| grows past the escape circle. */
#define ESCAPE_RADIUS_SQ 256.0f

enum { PARAM_ITERATIONS, PARAM_ZOOM_PERIOD, PARAM_COLOR_DRIFT };
FP_PARAMS({"iterations", 8.0f, 512.0f, 64.0f},  /* per pixel, at most; rounded down to a multiple of 8 */
          {"zoom_period", 2.0f, 60.0f, 12.0f},  /* seconds per zoom cycle */
          {"color_drift", 0.0f, 2.0f, 0.5f})    /* palette turns per zoom cycle */

static int32_t g_width;
static int32_t g_height;
static uint8_t *g_out; /* RGBA8 output, width * height * 4 bytes */

FP_EXPORT(fp_abi_version) int32_t fp_abi_version(void) { return FP_ABI_VERSION; }

FP_EXPORT(fp_format) int32_t fp_format(void) { return FP_FORMAT_RGBA8; }

FP_EXPORT(fp_output) int32_t fp_output(void) { return fp_offset(g_out); }

FP_EXPORT(fp_init) int32_t fp_init(int32_t width, int32_t height) {
    if (width <= 0 || height <= 0 || width > MANDELBROT_MAX_SIDE || height > MANDELBROT_MAX_SIDE)
        return MANDELBROT_ERR_SIZE;
    g_out = (uint8_t *)fp_heap_reserve((uint64_t)width * (uint64_t)height * 4u);
    if (g_out == 0) return MANDELBROT_ERR_GROW;
    g_width = width;
    g_height = height;
    return MANDELBROT_OK;
}

/* Maps a palette value (0..1) to a byte. */
static uint8_t to_byte(float v) {
    return (uint8_t)(int32_t)(fp_clampf(v, 0.0f, 1.0f) * 255.0f + 0.5f);
}

FP_EXPORT(fp_frame) int32_t fp_frame(int32_t frame, double time, int32_t begin, int32_t end) {
    (void)frame; /* the zoom follows time only */
    if (g_width <= 0) return MANDELBROT_ERR_NOT_INIT;
    if (begin < 0 || end > g_height || begin > end) return MANDELBROT_ERR_RANGE;

    const int32_t w = g_width, h = g_height;
    /* The escape loop runs 8 steps per pass and tests the iteration limit only between passes. */
    int32_t iterations = ((int32_t)fp_param(PARAM_ITERATIONS) / 8) * 8;
    if (iterations < 8) iterations = 8;
    /* Zoom phase 0..1 in double precision: time grows without bound. */
    const float phase = (float)fp_fract(time / (double)fp_param(PARAM_ZOOM_PERIOD));
    const float pixel = START_VIEW_HEIGHT * fp_exp2f(-phase * ZOOM_OCTAVES) / (float)h;
    /* The palette drifts slowly so the colours keep moving as the zoom deepens. */
    const float palette_shift = phase * fp_param(PARAM_COLOR_DRIFT);
    const float inverse_iterations = 1.0f / (float)iterations;

    for (int32_t y = begin; y < end; y++) {
        /* Top row first: the imaginary axis points up. */
        const float ci = TARGET_IM + (0.5f * (float)h - ((float)y + 0.5f)) * pixel;
        uint8_t *row = g_out + (uint32_t)y * (uint32_t)w * 4u;
        for (int32_t x = 0; x < w; x++) {
            const float cr = TARGET_RE + (((float)x + 0.5f) - 0.5f * (float)w) * pixel;
            float zr = 0.0f, zi = 0.0f, zr2 = 0.0f, zi2 = 0.0f;
            /* Unrolled 8x: every step still tests for escape first, so i and z end exactly as
             * in a one-step loop; but the loop's back-edge, where wasmtime's deadline guard puts
             * an epoch check, is taken once per 8 steps (forward breaks carry no check). In
             * this tiny loop a check per step made the guarded run 1.47x slower, per 8 steps 1.06x. */
            int32_t i = 0;
#define MANDELBROT_STEP()                         \
    if (!(zr2 + zi2 <= ESCAPE_RADIUS_SQ)) break; \
    zi = 2.0f * zr * zi + ci;                     \
    zr = zr2 - zi2 + cr;                          \
    zr2 = zr * zr;                                \
    zi2 = zi * zi;                                \
    i++;
            while (i < iterations) {
                MANDELBROT_STEP() MANDELBROT_STEP() MANDELBROT_STEP() MANDELBROT_STEP()
                MANDELBROT_STEP() MANDELBROT_STEP() MANDELBROT_STEP() MANDELBROT_STEP()
            }
#undef MANDELBROT_STEP
            uint8_t *px = row + 4 * x;
            if (i >= iterations) { /* never escaped: inside (as far as we can tell) */
                px[0] = 0;
                px[1] = 0;
                px[2] = 0;
            } else {
                /* Smooth iteration count: i + 1 - log2(log2 |z|), continuous across bands. */
                const float smooth = (float)i + 1.0f - fp_log2f(0.5f * fp_log2f(zr2 + zi2));
                const float s = fp_sqrtf(fp_maxf(smooth, 0.0f) * inverse_iterations);
                const float t = FP_TWO_PI * (s * 2.0f + palette_shift);
                /* Cosine palette: deep blue through white to orange. */
                const float fade = fp_minf(1.0f, s * 4.0f); /* far outside: darker */
                px[0] = to_byte(fade * (0.5f + 0.5f * fp_cosf(t + 3.4f)));
                px[1] = to_byte(fade * (0.5f + 0.5f * fp_cosf(t + 2.6f)));
                px[2] = to_byte(fade * (0.5f + 0.5f * fp_cosf(t + 1.6f)));
            }
            px[3] = 255;
        }
    }
    return MANDELBROT_OK;
}
