/*
 * framepipe.h — C header for Framepipe kernel authors (Kernel ABI v1).
 *
 * A kernel is a freestanding WebAssembly module (MVP + bulk memory) built with
 *   clang --target=wasm32 -O2 -nostdlib -Wl,--no-entry -I assets/kernels/include
 * (see scripts/build-kernels.sh). Kernels get no libc, so this header has a
 * few small, deterministic math helpers as well.
 *
 * Exports a kernel must define (use FP_EXPORT):
 *   int32_t fp_abi_version(void);             must return FP_ABI_VERSION
 *   int32_t fp_init(int32_t width, int32_t height);
 *                                             called once per instance; 0 = ok,
 *                                             anything else is an error code
 *   int32_t fp_format(void);                  one of FP_FORMAT_*
 *   int32_t fp_output(void);                  byte offset of the output buffer
 *   int32_t fp_frame(int32_t frame, double time, int32_t begin, int32_t end);
 *                                             compute units [begin, end); 0 = ok
 *   int32_t fp_points(void);                  FP_FORMAT_POINTS only: point count
 *   int32_t fp_stateful(void);                optional: 1 = keeps state
 * The linker exports `memory` by itself.
 *
 * The host may call fp_frame on any row range, in any order, on separate
 * instances. A stateless kernel's output for a unit must depend only on
 * (frame, time, unit, width, height).
 */
#ifndef FRAMEPIPE_H
#define FRAMEPIPE_H

#include <stdint.h> /* freestanding header: fine without libc */

/* Kernel ABI version; fp_abi_version() must return this. */
#define FP_ABI_VERSION 1

/* Output formats returned by fp_format(). */
#define FP_FORMAT_RGBA8 1     /* w*h*4 bytes: R,G,B,A per pixel, row-major, top row first; unit = row */
#define FP_FORMAT_F32_FIELD 2 /* w*h f32 values in 0..1, row-major, top row first; unit = row */
#define FP_FORMAT_POINTS 3    /* fp_points() points of FP_POINT_FLOATS f32 each; unit = point */

/* Floats per point for FP_FORMAT_POINTS: x, y (-1..1), z, size (px), r, g, b, a (0..1). */
#define FP_POINT_FLOATS 8

/* Selectors for fp_input(). All read 0 when the host runs headless. */
#define FP_INPUT_POINTER_X 0 /* pointer x, 0..1 (left to right) */
#define FP_INPUT_POINTER_Y 1 /* pointer y, 0..1 (top to bottom) */
#define FP_INPUT_BUTTONS 2   /* button bitmask, as a float */

/* Marks a function as a wasm export with the given name, e.g.
 *   FP_EXPORT(fp_format) int32_t fp_format(void) { return FP_FORMAT_RGBA8; } */
#define FP_EXPORT(name) __attribute__((export_name(#name)))

/* Import fp.log: writes `len` bytes of UTF-8 text at `ptr` to the host log. */
__attribute__((import_module("fp"), import_name("log")))
void fp_log(const char *ptr, int32_t len);

/* Import fp.input: reads one input value (see FP_INPUT_*); 0 when headless. */
__attribute__((import_module("fp"), import_name("input")))
float fp_input(int32_t what);

/* Only the imports a kernel actually calls end up in its module, so a kernel
 * that never calls fp_log / fp_input imports nothing. */

/* ---- Math helpers (deterministic: same bits on every host) ---- */

#define FP_PI 3.14159265358979323846f
#define FP_TWO_PI 6.28318530717958647692f

/* floor(x); compiles to f32.floor. */
static inline float fp_floorf(float x) { return __builtin_floorf(x); }

/* x - floor(x), in [0, 1). */
static inline float fp_fractf(float x) { return x - __builtin_floorf(x); }

/* Square root; compiles to f32.sqrt (IEEE exact). Negative input gives NaN. */
static inline float fp_sqrtf(float x) { return __builtin_sqrtf(x); }

/* x limited to [lo, hi]; NaN gives lo. */
static inline float fp_clampf(float x, float lo, float hi) {
    return x > lo ? (x < hi ? x : hi) : lo;
}

/* Absolute value; compiles to f32.abs. */
static inline float fp_absf(float x) { return __builtin_fabsf(x); }

/* Linear interpolation from a (t = 0) to b (t = 1). */
static inline float fp_mixf(float a, float b, float t) { return a + (b - a) * t; }

/* Reduces x to about [-pi, pi] by subtracting a whole number of turns. The f32
 * rounding of this step is what limits fp_sinf/fp_cosf for large |x|. */
static inline float fp_wrap_pi(float x) {
    return x - FP_TWO_PI * __builtin_floorf((x + FP_PI) * (1.0f / FP_TWO_PI));
}

/* sin(x). The argument is reduced to [-pi, pi], folded to [-pi/2, pi/2] with
 * sin(pi - x) = sin(x), then evaluated with a degree-11 odd Taylor polynomial.
 * Absolute error (measured): < 1e-6 for |x| <= 20, < 1e-4 for |x| <= 1000.
 * Uses only f32 add/mul/floor, so results are bit-identical on every host. */
static inline float fp_sinf(float x) {
    x = fp_wrap_pi(x);
    if (x > 0.5f * FP_PI) x = FP_PI - x;
    else if (x < -0.5f * FP_PI) x = -FP_PI - x;
    float x2 = x * x;
    return x * (1.0f + x2 * (-1.0f / 6.0f + x2 * (1.0f / 120.0f + x2 * (-1.0f / 5040.0f
             + x2 * (1.0f / 362880.0f + x2 * (-1.0f / 39916800.0f))))));
}

/* cos(x) = sin(x + pi/2); same accuracy as fp_sinf. */
static inline float fp_cosf(float x) { return fp_sinf(x + 0.5f * FP_PI); }

#endif /* FRAMEPIPE_H */
