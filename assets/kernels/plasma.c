/*
 * plasma.c — the classic colourful plasma, animated by time.
 *
 * Format FP_FORMAT_RGBA8, stateless: every pixel depends only on
 * (time, x, y, width, height), so any row range can be computed on any
 * instance in any order. Alpha is always 255.
 *
 * The output buffer lives on the heap: fp_init reserves width * height * 4
 * bytes with fp_heap_reserve (which grows the linear memory), plus four rows of
 * floats of scratch for fp_frame.
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
static uint8_t *g_out;   /* RGBA8 output, width * height * 4 bytes */
/* Scratch, width floats each: per column, the vertical bands' term and the column's parts of the
 * rotating bands (px * s2) and of the rings (dx * dx), computed once per call; per pixel of a row,
 * the pattern value. The per-column parts are the very products the pixel loop would compute, so
 * the pixels are the same bits, for fewer operations per pixel (in wasmtime it also saves
 * converting the column index to float: clang knows it is not negative and emits the unsigned
 * conversion, which has no single x86 instruction). */
static float *g_band_x;
static float *g_turn_x;
static float *g_ring_x;
static float *g_value;

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

    const uint64_t out_bytes = (uint64_t)width * (uint64_t)height * 4u;
    g_out = (uint8_t *)fp_heap_reserve(out_bytes + 4u * (uint64_t)width * sizeof(float));
    if (g_out == 0) return PLASMA_ERR_GROW;
    g_band_x = (float *)(g_out + out_bytes);
    g_turn_x = g_band_x + width;
    g_ring_x = g_turn_x + width;
    g_value = g_ring_x + width;

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

/* Maps c (roughly -1..1) to a byte 0..255: v * 255 rounded to the nearest integer (ties to even),
 * read from the low mantissa bits of v * 255 + 2^23, where an f32's spacing is exactly 1. A float to
 * int conversion would be one instruction natively, but in wasm it must saturate (nine in
 * Cranelift's x86 code); the clamp is a min and a max, which wasm has as f32x4.pmin/pmax. */
static uint8_t to_byte(float c) {
    const float v = fp_maxf(fp_minf(0.5f + 0.5f * c, 1.0f), 0.0f);
    const float shifted = v * 255.0f + 8388608.0f; /* 2^23 */
    uint32_t bits;
    __builtin_memcpy(&bits, &shifted, 4);
    return (uint8_t)bits;
}

/* The pixel loops below are vectorised 16 pixels per pass (four SIMD vectors) natively: four
 * independent dependency chains through the long sine polynomials keep the CPU busy, where clang's
 * own choice, one vector per pass, waits on latency (1.4x slower). The SIMD build does its 16-pixel
 * passes with the written-out loops below and leaves these the last columns. In the MVP build there
 * are no vectors and the width would only unroll, which slows the WasmKit interpreter (1.2x). */
#if defined(__wasm__) && !defined(__wasm_simd128__)
#define PLASMA_PIXEL_LOOP
#else
#define PLASMA_PIXEL_LOOP _Pragma("clang loop vectorize_width(16)")
#endif

/* Pixels are stored as one little-endian 32-bit word (R in the low byte), which vectorises to
 * plain stores instead of byte shuffles. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "RGBA words assume little-endian memory");

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>

/* The SIMD build's pixel loops, 16 pixels (four vectors) per pass, written out for wasmtime: the same
 * operations in the same order as the loops in fp_frame, so the same bits. Cranelift places each
 * computed value just before its first use, so clang's vectorised loops came out as one vector's
 * chain of dependent operations after another, and the CPU, which overlaps only what is in its
 * window, waited on each chain's latency. A store is a point Cranelift keeps in place: storing the
 * four vectors to a scratch slot at three steps of every sine makes it emit the four chains in step
 * (1.33x -> 0.89x native on an EPYC 7001: docs/performance.md, "Plasma's chains in step"). */
static volatile v128_t g_checkpoint;
static inline void checkpoint(const v128_t v[4]) {
    for (int j = 0; j < 4; j++) g_checkpoint = v[j];
}

/* x[j] = fp_sinf(x[j]) for four vectors, operation for operation. */
static inline void sin16(v128_t x[4]) {
    v128_t z[4], p[4];
    for (int j = 0; j < 4; j++) { /* fp_wrap_pi */
        const v128_t turns = wasm_f32x4_floor(
            wasm_f32x4_mul(wasm_f32x4_add(x[j], wasm_f32x4_splat(FP_PI)), wasm_f32x4_splat(1.0f / FP_TWO_PI)));
        x[j] = wasm_f32x4_sub(x[j], wasm_f32x4_mul(wasm_f32x4_splat(FP_TWO_PI), turns));
    }
    checkpoint(x);
    for (int j = 0; j < 4; j++) { /* the fold: min(pi - |x|, |x|) times x's sign; pmin(a, b) is b < a ? b : a */
        const v128_t ax = wasm_f32x4_abs(x[j]);
        const v128_t folded = wasm_f32x4_pmin(ax, wasm_f32x4_sub(wasm_f32x4_splat(FP_PI), ax));
        x[j] = wasm_v128_xor(folded, wasm_v128_and(x[j], wasm_u32x4_splat(0x80000000u)));
        z[j] = wasm_f32x4_mul(x[j], x[j]);
        p[j] = wasm_f32x4_add(wasm_f32x4_mul(z[j], wasm_f32x4_splat(-1.0f / 39916800.0f)),
                              wasm_f32x4_splat(1.0f / 362880.0f));
    }
    checkpoint(p);
    for (int j = 0; j < 4; j++) {
        p[j] = wasm_f32x4_add(wasm_f32x4_mul(z[j], p[j]), wasm_f32x4_splat(-1.0f / 5040.0f));
        p[j] = wasm_f32x4_add(wasm_f32x4_mul(z[j], p[j]), wasm_f32x4_splat(1.0f / 120.0f));
        p[j] = wasm_f32x4_add(wasm_f32x4_mul(z[j], p[j]), wasm_f32x4_splat(-1.0f / 6.0f));
        p[j] = wasm_f32x4_mul(z[j], p[j]);
    }
    checkpoint(p);
    for (int j = 0; j < 4; j++) x[j] = wasm_f32x4_mul(x[j], wasm_f32x4_add(p[j], wasm_f32x4_splat(1.0f)));
}

/* to_byte for a vector, in the low byte of each lane: pmax(0, pmin(1, c)) is max(min(c, 1), 0). */
static inline v128_t to_bytes(v128_t c) {
    const v128_t v = wasm_f32x4_pmax(wasm_f32x4_splat(0.0f),
        wasm_f32x4_pmin(wasm_f32x4_splat(1.0f), wasm_f32x4_add(wasm_f32x4_splat(0.5f), wasm_f32x4_mul(wasm_f32x4_splat(0.5f), c))));
    const v128_t shifted = wasm_f32x4_add(wasm_f32x4_mul(v, wasm_f32x4_splat(255.0f)), wasm_f32x4_splat(8388608.0f));
    return wasm_v128_and(shifted, wasm_u32x4_splat(0xFFu));
}

/* The pattern value of 16 pixels from column x (the first loop of fp_frame's rows). */
static inline void values16(float *value, const float *band_x, const float *turn_x, const float *ring_x, int32_t x,
                            float band_y, float turn_y, float ring_y, float t) {
    v128_t turn[4], ring[4];
    for (int j = 0; j < 4; j++) {
        turn[j] = wasm_f32x4_add(
            wasm_f32x4_mul(wasm_f32x4_splat(0.7f), wasm_f32x4_add(wasm_v128_load(turn_x + x + 4 * j), wasm_f32x4_splat(turn_y))),
            wasm_f32x4_splat(t * 0.7f));
        ring[j] = wasm_f32x4_sub(
            wasm_f32x4_mul(wasm_f32x4_splat(1.3f), wasm_f32x4_sqrt(wasm_f32x4_add(
                wasm_f32x4_add(wasm_v128_load(ring_x + x + 4 * j), wasm_f32x4_splat(ring_y)), wasm_f32x4_splat(1.0f)))),
            wasm_f32x4_splat(t));
    }
    sin16(turn);
    sin16(ring);
    for (int j = 0; j < 4; j++) {
        const v128_t bands = wasm_f32x4_add(wasm_v128_load(band_x + x + 4 * j), wasm_f32x4_splat(band_y));
        wasm_v128_store(value + x + 4 * j, wasm_f32x4_add(wasm_f32x4_add(bands, turn[j]), ring[j]));
    }
}

/* The colours of 16 pixels from column x (the second loop). */
static inline void colours16(uint8_t *row, const float *value, int32_t x, float t) {
    v128_t red[4], green[4], blue[4];
    for (int j = 0; j < 4; j++) {
        const v128_t ph = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(value + x + 4 * j), wasm_f32x4_splat(FP_PI * 0.5f)),
                                         wasm_f32x4_splat(t * 0.25f));
        red[j] = ph;
        green[j] = wasm_f32x4_add(ph, wasm_f32x4_splat(FP_TWO_PI / 3.0f));
        blue[j] = wasm_f32x4_add(ph, wasm_f32x4_splat(2.0f * FP_TWO_PI / 3.0f));
    }
    sin16(red);
    sin16(green);
    sin16(blue);
    for (int j = 0; j < 4; j++) {
        const v128_t rgba = wasm_v128_or(wasm_v128_or(to_bytes(red[j]), wasm_i32x4_shl(to_bytes(green[j]), 8)),
                                         wasm_v128_or(wasm_i32x4_shl(to_bytes(blue[j]), 16), wasm_u32x4_splat(0xFF000000u)));
        wasm_v128_store(row + 4 * (x + 4 * j), rgba);
    }
}
#endif

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

    /* v = the sum of four sines (bands, bands, rotating bands, rings), added in that order.
     * The first depends on x only, and so do parts of the next two (g_turn_x, g_ring_x):
     * computed once per call. Then per row, one pass sums v for every pixel and a second maps it
     * to colours: two short loop bodies rather than one long one, which lets the CPU overlap more
     * pixels (in wasmtime 1.3x faster, natively 1.1x). */
    float *restrict band_x = g_band_x, *restrict turn_x = g_turn_x, *restrict ring_x = g_ring_x;
    float *restrict value = g_value;
    for (int32_t x = 0; x < w; x++) {
        const float px = ((float)x + 0.5f) * scale;
        const float dx = px - ox;
        band_x[x] = fp_sinf(px + t); /* vertical bands */
        turn_x[x] = px * s2;
        ring_x[x] = dx * dx;
    }
    /* Columns the SIMD build does in 16-pixel passes (values16, colours16); the loops below do the rest. */
#if defined(__wasm_simd128__)
    const int32_t simd_columns = w / 16 * 16;
#else
    const int32_t simd_columns = 0;
#endif
    for (int32_t y = begin; y < end; y++) {
        const float py = ((float)y + 0.5f) * scale;
        const float band_y = fp_sinf(0.5f * (py - t)); /* horizontal bands */
        const float turn_y = py * c3, dy = py - oy, ring_y = dy * dy;
        uint8_t *restrict row = g_out + (uint32_t)y * (uint32_t)w * 4u;
#if defined(__wasm_simd128__)
        for (int32_t x = 0; x < simd_columns; x += 16) values16(value, band_x, turn_x, ring_x, x, band_y, turn_y, ring_y, t);
#endif
        PLASMA_PIXEL_LOOP
        for (int32_t x = simd_columns; x < w; x++) {
            value[x] = band_x[x] + band_y
                     + fp_sinf(0.7f * (turn_x[x] + turn_y) + t * 0.7f)          /* rotating bands */
                     + fp_sinf(1.3f * fp_sqrtf(ring_x[x] + ring_y + 1.0f) - t); /* rings */
        }
#if defined(__wasm_simd128__)
        for (int32_t x = 0; x < simd_columns; x += 16) colours16(row, value, x, t);
#endif
        PLASMA_PIXEL_LOOP
        for (int32_t x = simd_columns; x < w; x++) {
            /* v in -4..4 -> phase; three phase-shifted sines give the palette. */
            const float ph = value[x] * (FP_PI * 0.5f) + t * 0.25f;
            const uint32_t rgba = (uint32_t)to_byte(fp_sinf(ph))
                                | (uint32_t)to_byte(fp_sinf(ph + FP_TWO_PI / 3.0f)) << 8
                                | (uint32_t)to_byte(fp_sinf(ph + 2.0f * FP_TWO_PI / 3.0f)) << 16
                                | 0xFF000000u; /* alpha */
            __builtin_memcpy(row + 4 * x, &rgba, 4);
        }
    }
    return PLASMA_OK;
}
