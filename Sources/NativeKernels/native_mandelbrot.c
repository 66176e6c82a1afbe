/* native_mandelbrot.c — assets/kernels/mandelbrot.c compiled natively (see native_kernel_entry.h). */
#include "native_kernel_entry.h"
#include "../../assets/kernels/mandelbrot.c"
NATIVE_KERNEL_ENTRY(mandelbrot, /* points */ 0, /* stateful */ 0)
