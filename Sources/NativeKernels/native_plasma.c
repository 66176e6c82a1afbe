/* native_plasma.c — assets/kernels/plasma.c compiled natively (see native_kernel_entry.h). */
#include "native_kernel_entry.h"
#include "../../assets/kernels/plasma.c"
NATIVE_KERNEL_ENTRY(plasma, /* points */ 0, /* stateful */ 0)
