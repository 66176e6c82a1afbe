/* native_grayscott.c — assets/kernels/grayscott.c compiled natively (see native_kernel_entry.h). */
#include "native_kernel_entry.h"
#include "../../assets/kernels/grayscott.c"
NATIVE_KERNEL_ENTRY(grayscott, /* points */ 0, /* stateful */ fp_stateful)
