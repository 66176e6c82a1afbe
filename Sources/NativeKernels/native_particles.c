/* native_particles.c — assets/kernels/particles.c compiled natively (see native_kernel_entry.h). */
#include "native_kernel_entry.h"
#include "../../assets/kernels/particles.c"
NATIVE_KERNEL_ENTRY(particles, /* points */ fp_points, /* stateful */ 0)
