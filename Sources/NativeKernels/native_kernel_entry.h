/*
 * native_kernel_entry.h — what each native_NAME.c wrapper needs to compile one gallery
 * kernel natively and describe it as a `native_kernel` (include/native_kernels.h).
 *
 * A wrapper is three lines:
 *     #include "native_kernel_entry.h"
 *     #include "../../assets/kernels/NAME.c"
 *     NATIVE_KERNEL_ENTRY(NAME, points_or_0, stateful_or_0)
 * framepipe.h makes every FP_EXPORT function `static` when not compiling for wasm,
 * so kernels never clash with each other; the entry takes their addresses.
 */
#ifndef NATIVE_KERNEL_ENTRY_H
#define NATIVE_KERNEL_ENTRY_H

/* No a*b+c -> fma contraction (also passed as -ffp-contract=off in Package.swift):
 * wasm has no fused multiply-add, so contracting would change float results. */
#pragma STDC FP_CONTRACT OFF

#include "native_kernels.h"

/* Defines `native_kernel_NAME` from the kernel just included. `points_function` and
 * `stateful_function` are the optional exports, or 0 where the kernel has none. */
#define NATIVE_KERNEL_ENTRY(kernel_name, points_function, stateful_function)     \
    static void *native_output_pointer(void) { return fp_pointer(fp_output()); } \
    const native_kernel native_kernel_##kernel_name = {                          \
        .name = #kernel_name,                                                    \
        .abi_version = fp_abi_version,                                           \
        .format = fp_format,                                                     \
        .stateful = stateful_function,                                           \
        .init = fp_init,                                                         \
        .points = points_function,                                               \
        .output = fp_output,                                                     \
        .output_pointer = native_output_pointer,                                 \
        .frame = fp_frame,                                                       \
    };

/* One per wrapper; native_kernels.c lists them. */
extern const native_kernel native_kernel_plasma;
extern const native_kernel native_kernel_mandelbrot;
extern const native_kernel native_kernel_life;
extern const native_kernel native_kernel_grayscott;
extern const native_kernel native_kernel_particles;

#endif /* NATIVE_KERNEL_ENTRY_H */
