/*
 * grayscott.c — Gray-Scott reaction-diffusion: coral-like growth from a few seeds.
 *
 * Format FP_FORMAT_F32_FIELD (one f32 per pixel, 0..1, colour-mapped by the host),
 * STATEFUL (fp_stateful returns 1): two chemicals U and V live on a torus the size
 * of the frame; each fp_frame advances them GS_STEPS_PER_FRAME explicit-Euler steps
 * and writes the concentration of V, scaled to 0..1, as the field. The frame number
 * and time are not used: a fresh instance starts from the same seeds.
 *
 *   dU/dt = Du lap(U) - U V^2 + F (1 - U)
 *   dV/dt = Dv lap(V) + U V^2 - (F + k) V
 *
 * with Karl Sims' 3x3 Laplacian (centre -1, sides 0.2, corners 0.05) and dt = 1.
 * fp_init fills U = 1, V = 0 and drops square seeds (U = 0.5, V = 0.25, plus a
 * little hashed noise to break the symmetry) at hashed positions, about one per
 * GS_CELLS_PER_SEED pixels. Everything is f32 add/mul: wasm and native agree bit
 * for bit.
 *
 * Parameters: feed (F) and kill (k), read at the start of each fp_frame: moving them
 * while it runs turns coral into spots, stripes or waves (Pearson's map of the regimes).
 */
#include "framepipe.h"

/* Error codes returned by fp_init / fp_frame. */
enum {
    GS_OK = 0,
    GS_ERR_SIZE = 1,     /* width or height outside 1..GS_MAX_SIDE */
    GS_ERR_GROW = 2,     /* memory.grow failed */
    GS_ERR_NOT_INIT = 3, /* fp_frame before a successful fp_init */
    GS_ERR_RANGE = 4,    /* not the whole frame [0, height): stateful kernels need it */
};

/* 5 f32 arrays per pixel (U, V twice, output): 2048 x 2048 is 80 MiB. */
#define GS_MAX_SIDE 2048
#define GS_STEPS_PER_FRAME 8
#define GS_DIFFUSION_U 1.0f
#define GS_DIFFUSION_V 0.5f
#define GS_SEED 0x6A09E667u
#define GS_CELLS_PER_SEED (40 * 40)
#define GS_SEED_HALF_SIDE 4
#define GS_FIELD_SCALE 2.25f /* V peaks near 0.44 in this regime: stretch it over 0..1 */

static int32_t g_width, g_height;
static float *g_u, *g_v;           /* current state */
static float *g_u_next, *g_v_next; /* the step being computed */
static float *g_out;               /* the field, width * height f32 */

FP_EXPORT(fp_abi_version) int32_t fp_abi_version(void) { return FP_ABI_VERSION; }

FP_EXPORT(fp_format) int32_t fp_format(void) { return FP_FORMAT_F32_FIELD; }

FP_EXPORT(fp_stateful) int32_t fp_stateful(void) { return 1; }

FP_EXPORT(fp_output) int32_t fp_output(void) { return fp_offset(g_out); }

static void seed(void) {
    const int32_t w = g_width, h = g_height;
    const uint32_t cells = (uint32_t)w * (uint32_t)h;
    for (uint32_t i = 0; i < cells; i++) {
        g_u[i] = 1.0f;
        g_v[i] = 0.0f;
    }
    const uint32_t seeds = 1u + cells / GS_CELLS_PER_SEED;
    for (uint32_t s = 0; s < seeds; s++) {
        const int32_t cx = (int32_t)(fp_hash_unitf(GS_SEED ^ (2u * s)) * (float)w);
        const int32_t cy = (int32_t)(fp_hash_unitf(GS_SEED ^ (2u * s + 1u)) * (float)h);
        for (int32_t dy = -GS_SEED_HALF_SIDE; dy < GS_SEED_HALF_SIDE; dy++) {
            for (int32_t dx = -GS_SEED_HALF_SIDE; dx < GS_SEED_HALF_SIDE; dx++) {
                /* Wrap onto the torus (the seed may straddle an edge; w, h may be tiny). */
                const int32_t x = ((cx + dx) % w + w) % w, y = ((cy + dy) % h + h) % h;
                const uint32_t i = (uint32_t)y * (uint32_t)w + (uint32_t)x;
                g_u[i] = 0.5f;
                g_v[i] = 0.25f + 0.02f * fp_hash_unitf(i ^ GS_SEED);
            }
        }
    }
}

FP_EXPORT(fp_init) int32_t fp_init(int32_t width, int32_t height) {
    if (width <= 0 || height <= 0 || width > GS_MAX_SIDE || height > GS_MAX_SIDE) return GS_ERR_SIZE;
    const uint64_t cells = (uint64_t)width * (uint64_t)height;
    float *heap = (float *)fp_heap_reserve(5u * cells * sizeof(float));
    if (heap == 0) return GS_ERR_GROW;
    g_u = heap;
    g_v = heap + cells;
    g_u_next = heap + 2u * cells;
    g_v_next = heap + 3u * cells;
    g_out = heap + 4u * cells;
    g_width = width;
    g_height = height;
    seed();
    return GS_OK;
}

/* One cell of one step: column c of the row `mid` (rows up and down above and below it, columns
 * l and r beside it) into u_next[c], v_next[c]. The one formula for every cell, edges included. */
enum { PARAM_FEED, PARAM_KILL };
FP_PARAMS({"feed", 0.01f, 0.1f, 0.0545f},  /* F: 0.0545 with k 0.062 grows coral */
          {"kill", 0.03f, 0.075f, 0.062f}) /* k */

/* This step's F and k (fp_frame reads them once per call). */
static float g_feed, g_kill;

static inline void cell(const float *restrict u_up, const float *restrict u_mid, const float *restrict u_down,
                        const float *restrict v_up, const float *restrict v_mid, const float *restrict v_down,
                        float *restrict u_next, float *restrict v_next, uint32_t l, uint32_t c, uint32_t r,
                        float feed, float feed_kill) {
    const float u = u_mid[c], v = v_mid[c];
    const float lap_u = 0.2f * (u_up[c] + u_down[c] + u_mid[l] + u_mid[r])
                      + 0.05f * (u_up[l] + u_up[r] + u_down[l] + u_down[r]) - u;
    const float lap_v = 0.2f * (v_up[c] + v_down[c] + v_mid[l] + v_mid[r])
                      + 0.05f * (v_up[l] + v_up[r] + v_down[l] + v_down[r]) - v;
    const float uvv = u * v * v;
    u_next[c] = u + (GS_DIFFUSION_U * lap_u - uvv + feed * (1.0f - u));
    v_next[c] = v + (GS_DIFFUSION_V * lap_v + uvv - feed_kill * v);
}

/* One explicit-Euler step of both chemicals over the whole torus, then swap.
 * Each row is split into its first column, the interior and its last column, so that the
 * interior loop has no wraparound selects: clang vectorises it (SSE natively, simd128 in the
 * SIMD build; restrict tells it the next-step rows do not overlap the current ones). Lanes
 * compute the same expression per cell in the same order, so the bits do not change.
 * The interior loop is also unrolled 8x (8 vectors, 32 cells per pass) for wasmtime's deadline
 * guard: its epoch check at each loop back-edge may call out, so Cranelift spills the loop's
 * live vectors around it; once per 32 cells that costs ~4%, once per 4 cells ~20%.
 * vectorize(enable) is needed with it: an unroll count alone makes clang skip vectorising
 * natively. noinline: inlined into fp_frame's step loop, this loop pragma crashes clang 21
 * when it emits debug info (-g, as SwiftPM builds NativeKernels). */
__attribute__((noinline)) static void step(void) {
    const int32_t w = g_width, h = g_height;
    const float feed = g_feed, feed_kill = g_feed + g_kill;
    for (int32_t y = 0; y < h; y++) {
        const uint32_t up = (uint32_t)(y == 0 ? h - 1 : y - 1) * (uint32_t)w;
        const uint32_t mid = (uint32_t)y * (uint32_t)w;
        const uint32_t down = (uint32_t)(y == h - 1 ? 0 : y + 1) * (uint32_t)w;
        const float *restrict u_up = g_u + up, *restrict u_mid = g_u + mid, *restrict u_down = g_u + down;
        const float *restrict v_up = g_v + up, *restrict v_mid = g_v + mid, *restrict v_down = g_v + down;
        float *restrict u_next = g_u_next + mid, *restrict v_next = g_v_next + mid;
        const uint32_t last = (uint32_t)w - 1u;
        /* x = 0: the left neighbour wraps to the last column (itself when w == 1). */
        cell(u_up, u_mid, u_down, v_up, v_mid, v_down, u_next, v_next, last, 0u, w == 1 ? 0u : 1u, feed, feed_kill);
#pragma clang loop vectorize(enable) unroll_count(8)
        for (uint32_t x = 1; x < last; x++)
            cell(u_up, u_mid, u_down, v_up, v_mid, v_down, u_next, v_next, x - 1u, x, x + 1u, feed, feed_kill);
        /* x = w - 1 (w >= 2): the right neighbour wraps to column 0. */
        if (w >= 2) cell(u_up, u_mid, u_down, v_up, v_mid, v_down, u_next, v_next, last - 1u, last, 0u, feed, feed_kill);
    }
    float *swap = g_u;
    g_u = g_u_next;
    g_u_next = swap;
    swap = g_v;
    g_v = g_v_next;
    g_v_next = swap;
}

FP_EXPORT(fp_frame) int32_t fp_frame(int32_t frame, double time, int32_t begin, int32_t end) {
    (void)frame; /* GS_STEPS_PER_FRAME steps per call, whatever the frame number */
    (void)time;
    if (g_width <= 0) return GS_ERR_NOT_INIT;
    if (begin != 0 || end != g_height) return GS_ERR_RANGE;

    g_feed = fp_param(PARAM_FEED);
    g_kill = fp_param(PARAM_KILL);
    for (int32_t s = 0; s < GS_STEPS_PER_FRAME; s++) step();

    const uint32_t cells = (uint32_t)g_width * (uint32_t)g_height;
    for (uint32_t i = 0; i < cells; i++) g_out[i] = fp_clampf(g_v[i] * GS_FIELD_SCALE, 0.0f, 1.0f);
    return GS_OK;
}
