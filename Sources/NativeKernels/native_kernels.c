/* native_kernels.c — the table of native gallery kernels, and the host side of their imports. */
#include <string.h>

#include "framepipe.h"
#include "native_kernel_entry.h"

/* In the order of the gallery table in assets/kernels/README.md. */
static const native_kernel *const k_kernels[] = {
    &native_kernel_plasma,
    &native_kernel_mandelbrot,
    &native_kernel_life,
    &native_kernel_grayscott,
    &native_kernel_particles,
};

int32_t native_kernel_count(void) { return (int32_t)(sizeof k_kernels / sizeof k_kernels[0]); }

const native_kernel *native_kernel_at(int32_t index) {
    return index >= 0 && index < native_kernel_count() ? k_kernels[index] : 0;
}

const native_kernel *native_kernel_named(const char *name) {
    for (int32_t i = 0; i < native_kernel_count(); i++)
        if (strcmp(k_kernels[i]->name, name) == 0) return k_kernels[i];
    return 0;
}

/* The fp imports, as a headless host answers them: log lines are dropped (as `inspect`
 * and `capture` do; printing would be timed with the kernel), input reads 0. */
void fp_log(const char *ptr, int32_t len) {
    (void)ptr;
    (void)len;
}

float fp_input(int32_t what) {
    (void)what;
    return 0.0f;
}
