/*
 * native_kernels.h — the gallery kernels (assets/kernels/NAME.c) compiled natively.
 *
 * The same C sources as the .wasm files, built for the host CPU with -O2 and no
 * FMA contraction, so that their output matches the WebAssembly build byte for
 * byte. kernel-bench measures each kernel both ways and compares the bytes.
 *
 * Each kernel has exactly ONE native instance (the statics of its translation
 * unit): `init` resets it for a new size; nothing here is thread-safe. The
 * function pointers are the kernel's ABI v1 exports (docs/kernel-abi.md).
 */
#ifndef NATIVE_KERNELS_H
#define NATIVE_KERNELS_H

#include <stdint.h>

#pragma clang assume_nonnull begin

typedef struct native_kernel {
    /* File stem of the kernel: "mandelbrot" for assets/kernels/mandelbrot.c. */
    const char *name;
    int32_t (*abi_version)(void);
    /* 1 RGBA8, 2 f32 field, 3 points (FP_FORMAT_*). */
    int32_t (*format)(void);
    /* fp_stateful, or NULL when the kernel does not export it (stateless). */
    int32_t (*_Nullable stateful)(void);
    /* fp_init(width, height): 0 = ok; allocates the native heap. */
    int32_t (*init)(int32_t width, int32_t height);
    /* fp_points (format 3), or NULL for other formats. */
    int32_t (*_Nullable points)(void);
    /* fp_output: the output's offset within the kernel's native heap (not an address). */
    int32_t (*output)(void);
    /* The output buffer itself; NULL before a successful init. It holds height rows of
     * width * 4 bytes (formats 1, 2) or points() points of 32 bytes (format 3). */
    void *_Nullable (*_Nonnull output_pointer)(void);
    /* fp_frame(frame, time, begin, end): computes units [begin, end); 0 = ok. */
    int32_t (*frame)(int32_t frame, double time, int32_t begin, int32_t end);
} native_kernel;

/* Number of kernels in the table. */
int32_t native_kernel_count(void);

/* Kernel `index` (0 ..< native_kernel_count()), or NULL when out of range. */
const native_kernel *_Nullable native_kernel_at(int32_t index);

/* The kernel with this name, or NULL when there is none. */
const native_kernel *_Nullable native_kernel_named(const char *name);

#pragma clang assume_nonnull end

#endif /* NATIVE_KERNELS_H */
