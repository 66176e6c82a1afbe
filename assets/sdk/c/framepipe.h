/*
 * framepipe.h — C header for Framepipe kernel authors (Kernel ABI v1).
 * The full contract is docs/kernel-abi.md; this header follows it.
 *
 * A kernel is a freestanding WebAssembly module (MVP + bulk memory) built with
 *   clang --target=wasm32 -mcpu=mvp -mbulk-memory -O2 -ffreestanding -nostdlib
 *         -Wl,--no-entry -I assets/kernels/include
 * (see scripts/build-kernels.sh). Kernels get no libc, so this header has a
 * few small, deterministic math helpers as well.
 *
 * Exports a kernel must define (mark each with FP_EXPORT):
 *   int32_t fp_abi_version(void);             must return FP_ABI_VERSION
 *   int32_t fp_init(int32_t width, int32_t height);
 *                                             called once per instance; 0 = ok,
 *                                             anything else is an error code
 *   int32_t fp_format(void);                  one of FP_FORMAT_*
 *   int32_t fp_output(void);                  byte offset of the output buffer:
 *                                             return fp_offset(pointer)
 *   int32_t fp_frame(int32_t frame, double time, int32_t begin, int32_t end);
 *                                             compute units [begin, end); 0 = ok
 *   int32_t fp_points(void);                  FP_FORMAT_POINTS only: point count
 *   int32_t fp_stateful(void);                optional: 1 = keeps state
 *   int32_t fp_param_count(void), fp_params(void)
 *                                             optional: the parameter table; write
 *                                             FP_PARAMS(...) instead (see below)
 * The linker exports `memory` by itself.
 *
 * The host may call fp_frame on any row range, in any order, on separate
 * instances. A stateless kernel's output for a unit must depend only on
 * (frame, time, unit, width, height), its parameters and fp_input.
 *
 * Memory: allocate the output (and any state) once, in fp_init, with
 * fp_heap_reserve(bytes); fp_output returns fp_offset() of that pointer.
 *
 * Dual target. The same kernel source also compiles natively (any C11 compiler,
 * `__wasm__` undefined) so it can be measured against itself: Sources/NativeKernels
 * includes each gallery kernel's .c into a wrapper file. Natively:
 *   - FP_EXPORT(name) makes the function `static`, so several kernels link into one
 *     program without clashing; the wrapper that includes the .c takes their addresses;
 *   - fp_log and fp_input are plain declarations that the native program defines;
 *     fp_param (defined by FP_PARAMS) answers each parameter's initial value;
 *   - fp_heap_reserve allocates from the C heap (one region per translation unit,
 *     i.e. one native "instance" per kernel), and fp_offset / fp_pointer convert
 *     relative to that region's start.
 * Float results are bit-identical on both targets as long as the native build
 * does not contract a*b+c into FMA (-ffp-contract=off) and uses no fast-math.
 */
#ifndef FRAMEPIPE_H
#define FRAMEPIPE_H

#include <stdint.h> /* freestanding header: fine without libc */

/* With wasi-libc (clang --target=wasm32-wasi, hosted): FP_HAVE_LIBC is 1 and the kernel may use
 * libc (printf, malloc, <math.h>, fopen in the --data directory). fp_heap_reserve then takes its
 * memory from malloc, which owns memory.grow there. Freestanding (--target=wasm32 -nostdlib, the
 * gallery's C kernels) nothing below changes. This header never defines a libc name. */
#if defined(__wasi__) && defined(__STDC_HOSTED__) && __STDC_HOSTED__
#define FP_HAVE_LIBC 1
#else
#define FP_HAVE_LIBC 0
#endif

#ifdef __cplusplus
extern "C" {
#endif

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
#define FP_INPUT_POINTER_INSIDE 3 /* 1 while the pointer is over the frame (not over the overlay), else 0 */

/* ---- Parameters (optional; docs/kernel-abi.md, "Parameters") ----
 * Named floats the viewer shows as sliders and `--param NAME=VALUE` sets. Declare them once, at file
 * scope and before the first fp_param call, in the order fp_param numbers them:
 *   FP_PARAMS({"iterations", 8.0f, 256.0f, 64.0f}, {"zoom_period", 2.0f, 60.0f, 12.0f})
 * Each is {name, min, max, initial}: the name 1-31 characters of A-Z a-z 0-9 _, min < max, and
 * min <= initial <= max. At most FP_MAX_PARAMS. fp_param(i) returns the value for the frame being
 * computed (the same in every tile of a frame; in fp_init, the run's starting value), always within
 * [min, max]; 0 for an index past the table. Read it once per fp_frame call. */
#define FP_MAX_PARAMS 16
typedef struct fp_param_info {
    char name[32]; /* NUL-terminated */
    float min, max, initial;
} fp_param_info;
#ifdef __cplusplus
static_assert(sizeof(fp_param_info) == 44, "the host reads 44-byte table entries");
#else
_Static_assert(sizeof(fp_param_info) == 44, "the host reads 44-byte table entries");
#endif

#if defined(__wasm__)
/* ================================ WebAssembly ================================ */

/* Marks a function as a wasm export with the given name, e.g.
 *   FP_EXPORT(fp_format) int32_t fp_format(void) { return FP_FORMAT_RGBA8; } */
#define FP_EXPORT(name) __attribute__((export_name(#name)))

/* Import fp.log: writes `len` bytes of UTF-8 text at `ptr` to the host log. */
__attribute__((import_module("fp"), import_name("log")))
void fp_log(const char *ptr, int32_t len);

/* Import fp.input: reads one input value (see FP_INPUT_*); 0 when headless. */
__attribute__((import_module("fp"), import_name("input")))
float fp_input(int32_t what);

/* Import fp.param: the value of parameter `index` (see FP_PARAMS). */
__attribute__((import_module("fp"), import_name("param")))
float fp_param(int32_t index);

/* Declares the parameter table and its two exports (see "Parameters" above). */
#define FP_PARAMS(...)                                                                    \
    static const fp_param_info fp_param_table[] = {__VA_ARGS__};                          \
    _Static_assert(sizeof fp_param_table / sizeof fp_param_table[0] <= FP_MAX_PARAMS,     \
                   "at most FP_MAX_PARAMS parameters");                                   \
    FP_EXPORT(fp_param_count) int32_t fp_param_count(void) {                              \
        return (int32_t)(sizeof fp_param_table / sizeof fp_param_table[0]);               \
    }                                                                                     \
    FP_EXPORT(fp_params) int32_t fp_params(void) { return (int32_t)(uintptr_t)fp_param_table; }

/* Only the imports a kernel actually calls end up in its module, so a kernel
 * that never calls fp_log / fp_input / fp_param imports nothing. */

#if FP_HAVE_LIBC
#ifdef __cplusplus
} /* extern "C" (the libc headers declare their own linkage) */
#endif
#include <stdlib.h>
#include <string.h>
#ifdef __cplusplus
extern "C" {
#endif
#define FP_WASM_PAGE 65536u
/* With libc: one region from aligned_alloc, zeroed; later calls for no more bytes return it,
 * a larger request moves it (contents kept). 0 when out of memory. */
static unsigned char *fp_libc_heap;
static uint64_t fp_libc_heap_bytes;
static inline void *fp_heap_reserve(uint64_t bytes) {
    if (fp_libc_heap != 0 && bytes <= fp_libc_heap_bytes) return fp_libc_heap;
    if (bytes > 0xFFFFFFF0u) return 0;
    size_t rounded = (size_t)((bytes + 15u) & ~(uint64_t)15u);
    if (rounded == 0) rounded = 16;
    unsigned char *grown = (unsigned char *)aligned_alloc(16, rounded);
    if (grown == 0) return 0;
    if (fp_libc_heap != 0) { memcpy(grown, fp_libc_heap, (size_t)fp_libc_heap_bytes); free(fp_libc_heap); }
    memset(grown + fp_libc_heap_bytes, 0, rounded - (size_t)fp_libc_heap_bytes);
    fp_libc_heap = grown;
    fp_libc_heap_bytes = rounded;
    return grown;
}
#else
/* Provided by wasm-ld: first byte past static data and the stack. */
extern unsigned char __heap_base;

#define FP_WASM_PAGE 65536u

/* Start of the heap: __heap_base rounded up to 16 bytes. */
static inline uint32_t fp_heap_start(void) {
    return ((uint32_t)(uintptr_t)&__heap_base + 15u) & ~15u;
}

/* Makes `bytes` bytes of heap usable and returns their start (16-byte aligned),
 * or 0 when linear memory cannot grow that far. Every call returns the same
 * start: call it once in fp_init with the total size the kernel needs and carve
 * buffers out of the result. Memory grown here reads as zero. */
static inline void *fp_heap_reserve(uint64_t bytes) {
    uint64_t end = (uint64_t)fp_heap_start() + bytes;
    uint64_t need_pages = (end + FP_WASM_PAGE - 1u) / FP_WASM_PAGE;
    uint32_t have_pages = (uint32_t)__builtin_wasm_memory_size(0);
    if (need_pages > 65536u) return 0; /* past wasm32's 4 GiB */
    if (need_pages > have_pages &&
        __builtin_wasm_memory_grow(0, (uint32_t)need_pages - have_pages) == (__SIZE_TYPE__)-1)
        return 0;
    return (void *)(uintptr_t)fp_heap_start();
}
#endif /* FP_HAVE_LIBC */

/* The offset fp_output must return for a pointer into the heap (0 for a null pointer). */
static inline int32_t fp_offset(const void *p) { return (int32_t)(uintptr_t)p; }

/* The pointer for an offset returned by fp_offset. */
static inline void *fp_pointer(int32_t offset) { return (void *)(uintptr_t)(uint32_t)offset; }

#else
/* ================================== Native =================================== */
#include <stdlib.h>
#include <string.h>

/* `static`: each kernel's exports stay private to its translation unit (the native
 * wrapper that includes the kernel's .c reads their addresses). */
#define FP_EXPORT(name) static

/* Defined by the native program (Sources/NativeKernels/native_kernels.c). */
void fp_log(const char *ptr, int32_t len);
float fp_input(int32_t what);

/* Natively there is no host to set values: fp_param answers each parameter's initial value, as a
 * headless run without --param does, so native and wasm outputs stay comparable bit for bit. */
#define FP_PARAMS(...)                                                                    \
    static const fp_param_info fp_param_table[] = {__VA_ARGS__};                          \
    __attribute__((unused)) static float fp_param(int32_t index) {                       \
        return index >= 0 && index < (int32_t)(sizeof fp_param_table / sizeof fp_param_table[0]) \
                   ? fp_param_table[index].initial                                        \
                   : 0.0f;                                                                \
    }

/* This translation unit's heap: the native stand-in for the kernel's linear memory. */
static unsigned char *fp_native_heap;
static uint64_t fp_native_heap_bytes;

/* As in wasm: returns the start of at least `bytes` usable bytes (64-byte aligned),
 * or 0 when out of memory; growing keeps the contents and zeroes the new bytes.
 * Unlike wasm the start may move when the heap grows: re-read pointers after a
 * call that asks for more (reserving once in fp_init, as the gallery does, is safe). */
static inline void *fp_heap_reserve(uint64_t bytes) {
    if (fp_native_heap != 0 && bytes <= fp_native_heap_bytes) return fp_native_heap;
    if (bytes > 0xFFFFFFFFu) return 0; /* what a wasm32 kernel could never have */
    uint64_t rounded = (bytes + 63u) & ~(uint64_t)63u;
    if (rounded == 0) rounded = 64;
    unsigned char *grown = (unsigned char *)aligned_alloc(64, (size_t)rounded);
    if (grown == 0) return 0;
    if (fp_native_heap != 0) {
        memcpy(grown, fp_native_heap, (size_t)fp_native_heap_bytes);
        free(fp_native_heap);
    }
    memset(grown + fp_native_heap_bytes, 0, (size_t)(rounded - fp_native_heap_bytes));
    fp_native_heap = grown;
    fp_native_heap_bytes = rounded;
    return grown;
}

/* Offsets count from the native heap's start (0 for a null pointer). */
static inline int32_t fp_offset(const void *p) {
    return p == 0 ? 0 : (int32_t)((const unsigned char *)p - fp_native_heap);
}

/* The pointer for an offset returned by fp_offset (0 before the heap exists). */
static inline void *fp_pointer(int32_t offset) {
    return fp_native_heap == 0 ? 0 : fp_native_heap + (uint32_t)offset;
}

#endif /* __wasm__ */

/* ---- Math helpers (deterministic: same bits on every host, wasm or native) ---- */

#define FP_PI 3.14159265358979323846f
#define FP_TWO_PI 6.28318530717958647692f

/* Same bits, other type (no type-punning through pointers). */
static inline uint32_t fp_float_bits(float x) {
    uint32_t u;
    __builtin_memcpy(&u, &x, sizeof u);
    return u;
}
static inline float fp_float_from_bits(uint32_t u) {
    float x;
    __builtin_memcpy(&x, &u, sizeof x);
    return x;
}

/* floor(x); compiles to f32.floor in wasm. Natively, without SSE4.1 a floorf call
 * would dominate the cheap kernels' native time, so it is done inline with the
 * same result, the sign of zero included. */
static inline float fp_floorf(float x) {
#if defined(__wasm__) || defined(__SSE4_1__) || defined(__aarch64__)
    return __builtin_floorf(x);
#else
    if (!(__builtin_fabsf(x) < 8388608.0f) || x == 0.0f) return x; /* integral, inf, NaN, ±0 */
    float t = (float)(int32_t)x; /* truncates toward zero; exact below 2^23 */
    return t > x ? t - 1.0f : t;   /* negative non-integers were rounded up: step down */
#endif
}

/* floor(x) for doubles; compiles to f64.floor in wasm. Same inline fallback. */
static inline double fp_floor(double x) {
#if defined(__wasm__) || defined(__SSE4_1__) || defined(__aarch64__)
    return __builtin_floor(x);
#else
    if (!(__builtin_fabs(x) < 4503599627370496.0) || x == 0.0) return x; /* 2^52 */
    double t = (double)(int64_t)x;
    return t > x ? t - 1.0 : t;
#endif
}

/* x - floor(x), in [0, 1). */
static inline float fp_fractf(float x) { return x - fp_floorf(x); }

/* x - floor(x) in double precision: use it for phases of a growing `time`
 * (fp_fract(time * hz)), which f32 would round off after a few minutes. */
static inline double fp_fract(double x) { return x - fp_floor(x); }

/* Square root; compiles to f32.sqrt (IEEE exact). Negative input gives NaN. Natively it does
 * not set errno either (the builtin would, for negative input: a branch that keeps clang from
 * vectorising a loop over values it cannot prove non-negative). */
static inline float fp_sqrtf(float x) {
#if !defined(__wasm__) && defined(__has_builtin) && __has_builtin(__builtin_elementwise_sqrt)
    return __builtin_elementwise_sqrt(x);
#else
    return __builtin_sqrtf(x);
#endif
}

/* x limited to [lo, hi]; NaN gives lo. */
static inline float fp_clampf(float x, float lo, float hi) {
    return x > lo ? (x < hi ? x : hi) : lo;
}

/* Absolute value; compiles to f32.abs. */
static inline float fp_absf(float x) { return __builtin_fabsf(x); }

/* Smaller / larger of two values (NaN-free inputs). */
static inline float fp_minf(float a, float b) { return a < b ? a : b; }
static inline float fp_maxf(float a, float b) { return a > b ? a : b; }

/* Linear interpolation from a (t = 0) to b (t = 1). */
static inline float fp_mixf(float a, float b, float t) { return a + (b - a) * t; }

/* 0 below e0, 1 above e1, a smooth Hermite step between (e0 < e1). */
static inline float fp_smoothstepf(float e0, float e1, float x) {
    float t = fp_clampf((x - e0) / (e1 - e0), 0.0f, 1.0f);
    return t * t * (3.0f - 2.0f * t);
}

/* Reduces x to about [-pi, pi] by subtracting a whole number of turns. The f32
 * rounding of this step is what limits fp_sinf/fp_cosf for large |x|. */
static inline float fp_wrap_pi(float x) {
    return x - FP_TWO_PI * fp_floorf((x + FP_PI) * (1.0f / FP_TWO_PI));
}

/* sin(x). The argument is reduced to [-pi, pi], folded to [-pi/2, pi/2] with
 * sin(pi - x) = sin(x), then evaluated with a degree-11 odd Taylor polynomial.
 * Absolute error (measured): < 1e-6 for |x| <= 20, < 1e-4 for |x| <= 1000.
 * Uses only f32 add/mul/floor/abs, sign-bit operations and compares, so results are bit-identical on every host. */
static inline float fp_sinf(float x) {
    x = fp_wrap_pi(x);
#if defined(__wasm__) && !defined(__wasm_simd128__)
    /* MVP builds (the WasmKit interpreter): two compares and branches, 1.2x faster there. */
    if (x > 0.5f * FP_PI) x = FP_PI - x;
    else if (x < -0.5f * FP_PI) x = -FP_PI - x;
#else
    {
        /* Vectors (SIMD builds, native): the smaller of |x| and pi - |x| (exact for |x| >= pi/2), times
         * x's sign, the same bits as the two compares above in a min and two bit operations instead of
         * two selects (docs/performance.md, "The sine's fold"). The sign goes in by an exclusive or, not
         * copysign: pi - |x| keeps its own sign, negative where the reduction left |x| just over pi. */
        const float ax = __builtin_fabsf(x), folded = FP_PI - ax;
        const float smaller = folded < ax ? folded : ax;
        x = fp_float_from_bits(fp_float_bits(smaller) ^ (fp_float_bits(x) & 0x80000000u));
    }
#endif
    float x2 = x * x;
    return x * (1.0f + x2 * (-1.0f / 6.0f + x2 * (1.0f / 120.0f + x2 * (-1.0f / 5040.0f
             + x2 * (1.0f / 362880.0f + x2 * (-1.0f / 39916800.0f))))));
}

/* cos(x) = sin(x + pi/2); same accuracy as fp_sinf. */
static inline float fp_cosf(float x) { return fp_sinf(x + 0.5f * FP_PI); }

/* 2^x. Split into whole and fractional part; 2^fraction by its degree-7 Taylor
 * series, 2^whole by building the exponent bits. Relative error < 2e-6.
 * x <= -126 (and NaN) gives 0; x >= 128 gives +infinity. */
static inline float fp_exp2f(float x) {
    if (!(x > -126.0f)) return 0.0f;
    if (x >= 128.0f) return fp_float_from_bits(0x7F800000u);
    float whole = fp_floorf(x);
    float f = (x - whole) * 0.69314718f; /* e^(f ln 2) */
    float p = 1.0f + f * (1.0f + f * (1.0f / 2.0f + f * (1.0f / 6.0f + f * (1.0f / 24.0f
            + f * (1.0f / 120.0f + f * (1.0f / 720.0f + f * (1.0f / 5040.0f)))))));
    return p * fp_float_from_bits((uint32_t)((int32_t)whole + 127) << 23);
}

/* log2(x) for x >= 2^-126. The exponent comes from the bits; the mantissa m is
 * moved to [sqrt(1/2), sqrt(2)) and ln(m) = 2 atanh((m-1)/(m+1)) summed to the
 * 9th power. Absolute error < 1e-6. Smaller x (0, negatives, denormals) and NaN
 * give -127: a finite "very small" rather than -infinity or NaN. */
static inline float fp_log2f(float x) {
    if (!(x >= 1.17549435e-38f)) return -127.0f;
    uint32_t bits = fp_float_bits(x);
    int32_t exponent = (int32_t)(bits >> 23) - 127;
    float m = fp_float_from_bits((bits & 0x007FFFFFu) | 0x3F800000u); /* [1, 2) */
    if (m > 1.41421356f) { m *= 0.5f; exponent += 1; }
    float s = (m - 1.0f) / (m + 1.0f), s2 = s * s;
    float ln_m = 2.0f * s * (1.0f + s2 * (1.0f / 3.0f + s2 * (1.0f / 5.0f + s2 * (1.0f / 7.0f
               + s2 * (1.0f / 9.0f)))));
    return (float)exponent + ln_m * 1.44269504f;
}

/* ---- Deterministic randomness ---- */

/* A well-mixed 32-bit hash (Chris Wellons' "lowbias32"): fp_hash_u32(i ^ seed)
 * gives a reproducible random number per index, with no state to carry. */
static inline uint32_t fp_hash_u32(uint32_t x) {
    x ^= x >> 16;
    x *= 0x7FEB352Du;
    x ^= x >> 15;
    x *= 0x846CA68Bu;
    x ^= x >> 16;
    return x;
}

/* A hash as a float in [0, 1) (24 random bits). */
static inline float fp_hash_unitf(uint32_t x) {
    return (float)(fp_hash_u32(x) >> 8) * (1.0f / 16777216.0f);
}

/* ---- 16-byte vectors (clang's vector extensions) ----
 * FP_V128 is 1 where they compile to 16-byte vector instructions: the SIMD build (-msimd128,
 * NAME.simd.wasm) and native builds (SSE2 on x86-64); 0 in MVP builds, where the same code is
 * scalarised and runs slower than plain loops (assets/kernels/README.md, "SIMD builds"). fp_v128 is
 * 16 bytes; cast it to a vector type of the same size for other lanes, e.g.
 * `typedef float f32x4 __attribute__((vector_size(16)));  f32x4 x = (f32x4)fp_load_v128(p);`.
 * The load and store take any alignment. */
#if defined(__wasm_simd128__) || (!defined(__wasm__) && (defined(__clang__) || defined(__GNUC__)))
#define FP_V128 1
typedef uint8_t fp_v128 __attribute__((vector_size(16)));

static inline fp_v128 fp_load_v128(const void *p) {
    fp_v128 v;
    __builtin_memcpy(&v, p, 16);
    return v;
}

static inline void fp_store_v128(void *p, fp_v128 v) { __builtin_memcpy(p, &v, 16); }
#else
#define FP_V128 0
#endif

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* FRAMEPIPE_H */
