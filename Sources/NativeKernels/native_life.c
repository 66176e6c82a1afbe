/* native_life.c — assets/kernels/life.c compiled natively (see native_kernel_entry.h). */
#include "native_kernel_entry.h"
#include "../../assets/kernels/life.c"
NATIVE_KERNEL_ENTRY(life, /* points */ 0, /* stateful */ fp_stateful)
