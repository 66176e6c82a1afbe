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
 * The state interleaves the chemicals (cell i's U at [2i], its V at [2i + 1]): a row is one
 * pointer, not two, and a vector holds two whole cells. That and the stencil's constant offsets
 * from one pointer per row (next_block) are for wasmtime's code: with U and V apart, Cranelift
 * reloaded 8 row pointers and 6 vector constants from the stack and computed an address per load,
 * 1.4-1.7x native; now 1.1-1.2x with 64 cells per next_block (assets/kernels/README.md, "SIMD builds";
 * docs/performance.md).
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
static float *g_uv;      /* current state, U and V interleaved */
static float *g_uv_next; /* the step being computed */
static float *g_out;     /* the field, width * height f32 */

FP_EXPORT(fp_abi_version) int32_t fp_abi_version(void) { return FP_ABI_VERSION; }

FP_EXPORT(fp_format) int32_t fp_format(void) { return FP_FORMAT_F32_FIELD; }

FP_EXPORT(fp_stateful) int32_t fp_stateful(void) { return 1; }

FP_EXPORT(fp_output) int32_t fp_output(void) { return fp_offset(g_out); }

static void seed(void) {
    const int32_t w = g_width, h = g_height;
    const uint32_t cells = (uint32_t)w * (uint32_t)h;
    for (uint32_t i = 0; i < cells; i++) {
        g_uv[2u * i] = 1.0f;
        g_uv[2u * i + 1u] = 0.0f;
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
                g_uv[2u * i] = 0.5f;
                g_uv[2u * i + 1u] = 0.25f + 0.02f * fp_hash_unitf(i ^ GS_SEED);
            }
        }
    }
}

FP_EXPORT(fp_init) int32_t fp_init(int32_t width, int32_t height) {
    if (width <= 0 || height <= 0 || width > GS_MAX_SIDE || height > GS_MAX_SIDE) return GS_ERR_SIZE;
    const uint64_t cells = (uint64_t)width * (uint64_t)height;
    float *heap = (float *)fp_heap_reserve(5u * cells * sizeof(float));
    if (heap == 0) return GS_ERR_GROW;
    g_uv = heap;
    g_uv_next = heap + 2u * cells;
    g_out = heap + 4u * cells;
    g_width = width;
    g_height = height;
    seed();
    return GS_OK;
}

enum { PARAM_FEED, PARAM_KILL };
FP_PARAMS({"feed", 0.01f, 0.1f, 0.0545f},  /* F: 0.0545 with k 0.062 grows coral */
          {"kill", 0.03f, 0.075f, 0.062f}) /* k */

/* This step's F and k (fp_frame reads them once per call). */
static float g_feed, g_kill;

/* One cell of one step: column c of the row `mid` (rows up and down above and below it, columns
 * l and r beside it) into next. The one formula for every cell; the first and last columns use it
 * with their wrapped neighbours, the interior its copies below. */
static inline void cell(const float *restrict up, const float *restrict mid, const float *restrict down,
                        float *restrict next, uint32_t l, uint32_t c, uint32_t r, float feed, float feed_kill) {
    const uint32_t cu = 2u * c, lu = 2u * l, ru = 2u * r; /* U of each; V one after */
    const float u = mid[cu], v = mid[cu + 1u];
    const float lap_u = 0.2f * (up[cu] + down[cu] + mid[lu] + mid[ru])
                      + 0.05f * (up[lu] + up[ru] + down[lu] + down[ru]) - u;
    const float lap_v = 0.2f * (up[cu + 1u] + down[cu + 1u] + mid[lu + 1u] + mid[ru + 1u])
                      + 0.05f * (up[lu + 1u] + up[ru + 1u] + down[lu + 1u] + down[ru + 1u]) - v;
    const float uvv = u * v * v;
    next[cu] = u + (GS_DIFFUSION_U * lap_u - uvv + feed * (1.0f - u));
    next[cu + 1u] = v + (GS_DIFFUSION_V * lap_v + uvv - feed_kill * v);
}

#define GS_VECTORS FP_V128
#if GS_VECTORS
typedef float f32x4 __attribute__((vector_size(16)));
typedef uint32_t u32x4 __attribute__((vector_size(16)));

static inline f32x4 load4(const float *p) { return (f32x4)fp_load_v128(p); }
static inline void store4(float *p, f32x4 v) { fp_store_v128(p, (fp_v128)v); }
#endif

/* What the interior's cells need besides the rows: F and F + k, and as vectors (lanes U, V, U, V)
 * where there are vectors. */
typedef struct {
    float feed, feed_kill;
#if GS_VECTORS
    f32x4 diffusion; /* Du, Dv */
    u32x4 uvv_sign;  /* the sign bit where uvv is subtracted (U) */
    f32x4 rate;      /* F, F + k */
    f32x4 rate_from; /* 1, -0 */
#endif
} step_constants;

/* Cells c and c + 1 of cell(), from floats 2c - 2 .. 2c + 5 of each row: up, mid and down point at
 * cell c - 1 (the left neighbours), next at cell c. Every offset from them is a constant >= 0, which
 * clang folds into the loads and stores (one address per row and block, not one per access).
 * The vector is bit for bit cell(): U lanes u + ((Du * lap_u + (-uvv)) + F * (1 - u)), a + (-b)
 * being a - b; V lanes v + ((Dv * lap_v + uvv) + (F + k) * (-0 - v)), (F + k) * (-0 - v) being
 * -((F + k) * v); u * v * v is (u * v) * v in both (v * u == u * v). */
static inline void two_cells(const float *up, const float *mid, const float *down, float *next,
                             const step_constants k) {
#if GS_VECTORS
    const f32x4 x = load4(mid + 2);
    const f32x4 lap = 0.2f * (load4(up + 2) + load4(down + 2) + load4(mid) + load4(mid + 4))
                    + 0.05f * (load4(up) + load4(up + 4) + load4(down) + load4(down + 4)) - x;
    const f32x4 uv = x * __builtin_shufflevector(x, x, 1, 0, 3, 2);
    const f32x4 uvv = uv * __builtin_shufflevector(x, x, 1, 1, 3, 3);
    store4(next, x + ((k.diffusion * lap + (f32x4)((u32x4)uvv ^ k.uvv_sign)) + k.rate * (k.rate_from - x)));
#else
    cell(up, mid, down, next - 2, 0u, 1u, 2u, k.feed, k.feed_kill);
    cell(up + 2, mid + 2, down + 2, next, 0u, 1u, 2u, k.feed, k.feed_kill);
#endif
}

/* Cells per next_block, two per two_cells. 64 in the SIMD build (32 vectors): at 32, the entry of each call in
 * wasmtime (stack and epoch checks, five saved registers) was ~10 % of the build's time; at 128 (10.5 KB of machine
 * code a block) an EPYC 7001 ran it 1.30-1.35x native against 1.15-1.21x at 64 (5.3 KB), most likely because the
 * block no longer fits the CPU's cache of decoded instructions (docs/performance.md, "Smaller blocks"). 128
 * natively, where it is the same either way. Rows too narrow for one such block take blocks of GS_NARROW_BLOCK
 * (next_narrow_block) rather than pairs, which in wasmtime cost a back-edge's epoch check every two cells (1.7x
 * native at 128x128, against 1.15x). 32 in the MVP build, which wasmtime ran 15 % slower at 128. */
#if defined(__wasm_simd128__)
#define GS_BLOCK 64u
#define GS_NARROW_BLOCK 32u
#elif GS_VECTORS
#define GS_BLOCK 128u
#define GS_NARROW_BLOCK 32u
#else
#define GS_BLOCK 32u
#endif

/* `cells` cells from cell c (up, mid, down at c - 1, next at c, as two_cells), unrolled where `cells` is a
 * constant: inside it every access is a constant offset from four pointers (in a loop clang's strength reduction
 * turns them back into one address per access). */
static inline void block_cells(const float *restrict up, const float *restrict mid, const float *restrict down,
                               float *restrict next, const step_constants *restrict constants, const uint32_t cells) {
    const step_constants k = *constants; /* read once: as far as clang knows, the stores could alias it */
#pragma clang loop unroll(full)
    for (uint32_t j = 0; j < cells / 2u; j++) two_cells(up + 4u * j, mid + 4u * j, down + 4u * j, next + 4u * j, k);
}

/* GS_BLOCK cells (block_cells) in a function of its own without a loop: wasmtime's epoch check (README.md, "The
 * deadline guard") runs once per block, at its entry. */
__attribute__((noinline)) static void next_block(const float *restrict up, const float *restrict mid,
                                                 const float *restrict down, float *restrict next,
                                                 const step_constants *restrict constants) {
    block_cells(up, mid, down, next, constants, GS_BLOCK);
}

#if GS_VECTORS
/* GS_NARROW_BLOCK cells, as next_block. */
__attribute__((noinline)) static void next_narrow_block(const float *restrict up, const float *restrict mid,
                                                        const float *restrict down, float *restrict next,
                                                        const step_constants *restrict constants) {
    block_cells(up, mid, down, next, constants, GS_NARROW_BLOCK);
}
#endif

/* The interior cells [1, last) of a row (up, mid, down and next at its cell 0) in blocks of `block` cells by
 * `run_block` (next_block or next_narrow_block; both constants after inlining, so the call is direct;
 * last - 1 >= block). The last block ends at the last interior cell: it overlaps cells done already, which get the
 * same values again (next is not read here). */
typedef void block_function(const float *restrict up, const float *restrict mid, const float *restrict down,
                            float *restrict next, const step_constants *restrict constants);
static inline void interior_blocks(const float *up, const float *mid, const float *down, float *next,
                                   const step_constants *constants, uint32_t last, const uint32_t block,
                                   block_function *run_block) {
    for (uint32_t x = 1; x < last;) {
        const uint32_t c = x + block <= last ? x : last - block; /* left neighbour at float 2c - 2 */
        run_block(up + 2u * c - 2u, mid + 2u * c - 2u, down + 2u * c - 2u, next + 2u * c, constants);
        x = c + block;
    }
}

/* One explicit-Euler step of both chemicals over the whole torus, then swap. Each row is split
 * into its first column, the interior and its last column, so that the interior has no
 * wraparound selects: GS_BLOCK (or GS_NARROW_BLOCK) cells at a time, then pairs, then the odd one. */
__attribute__((noinline)) static void step(void) {
    const int32_t w = g_width, h = g_height;
    const float feed = g_feed, feed_kill = g_feed + g_kill;
    const step_constants k = {
        .feed = feed,
        .feed_kill = feed_kill,
#if GS_VECTORS
        .diffusion = {GS_DIFFUSION_U, GS_DIFFUSION_V, GS_DIFFUSION_U, GS_DIFFUSION_V},
        .uvv_sign = {0x80000000u, 0u, 0x80000000u, 0u},
        .rate = {feed, feed_kill, feed, feed_kill},
        .rate_from = {1.0f, -0.0f, 1.0f, -0.0f},
#endif
    };
    const uint32_t row = 2u * (uint32_t)w; /* floats */
    for (int32_t y = 0; y < h; y++) {
        const float *up = g_uv + (uint32_t)(y == 0 ? h - 1 : y - 1) * row;
        const float *mid = g_uv + (uint32_t)y * row;
        const float *down = g_uv + (uint32_t)(y == h - 1 ? 0 : y + 1) * row;
        float *next = g_uv_next + (uint32_t)y * row;
        const uint32_t last = (uint32_t)w - 1u;
        /* x = 0: the left neighbour wraps to the last column (itself when w == 1). */
        cell(up, mid, down, next, last, 0u, w == 1 ? 0u : 1u, feed, feed_kill);
        /* The interior, 1 .. last - 1; left neighbour at float 2x - 2. */
        uint32_t x = 1;
        if (last > GS_BLOCK) {
            interior_blocks(up, mid, down, next, &k, last, GS_BLOCK, next_block);
            x = last;
        }
#if GS_VECTORS
        else if (last > GS_NARROW_BLOCK) {
            interior_blocks(up, mid, down, next, &k, last, GS_NARROW_BLOCK, next_narrow_block);
            x = last;
        }
#endif
        for (; x + 2u <= last; x += 2u) two_cells(up + 2u * x - 2u, mid + 2u * x - 2u, down + 2u * x - 2u, next + 2u * x, k);
        if (x < last) cell(up, mid, down, next, x - 1u, x, x + 1u, feed, feed_kill);
        /* x = w - 1 (w >= 2): the right neighbour wraps to column 0. */
        if (w >= 2) cell(up, mid, down, next, last - 1u, last, 0u, feed, feed_kill);
    }
    float *swap = g_uv;
    g_uv = g_uv_next;
    g_uv_next = swap;
}

/* The field's copy to the output, 16 cells per pass in the SIMD build: clang's own choice, 4, left Cranelift an epoch
 * check (the deadline guard) and three vector constants spilled and reloaded around it every 4 cells, ~5 % of the
 * frame. MVP and native builds are left as clang makes them. */
#if defined(__wasm_simd128__)
#define GS_OUTPUT_LOOP _Pragma("clang loop vectorize_width(4) interleave_count(4)")
#else
#define GS_OUTPUT_LOOP
#endif

FP_EXPORT(fp_frame) int32_t fp_frame(int32_t frame, double time, int32_t begin, int32_t end) {
    (void)frame; /* GS_STEPS_PER_FRAME steps per call, whatever the frame number */
    (void)time;
    if (g_width <= 0) return GS_ERR_NOT_INIT;
    if (begin != 0 || end != g_height) return GS_ERR_RANGE;

    g_feed = fp_param(PARAM_FEED);
    g_kill = fp_param(PARAM_KILL);
    for (int32_t s = 0; s < GS_STEPS_PER_FRAME; s++) step();

    const uint32_t cells = (uint32_t)g_width * (uint32_t)g_height;
    GS_OUTPUT_LOOP
    for (uint32_t i = 0; i < cells; i++) g_out[i] = fp_clampf(g_uv[2u * i + 1u] * GS_FIELD_SCALE, 0.0f, 1.0f);
    return GS_OK;
}
