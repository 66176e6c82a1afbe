#define _GNU_SOURCE
#include "system_shim.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int fp_pin_current_thread(const int32_t *cpus, size_t count) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (size_t i = 0; i < count; i++) {
        if (cpus[i] < 0 || cpus[i] >= CPU_SETSIZE) return EINVAL;
        CPU_SET(cpus[i], &set);
    }
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

int32_t fp_available_cpus(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
    int count = CPU_COUNT(&set);
    return count > 0 ? count : 1;
}

void fp_futex_wait_timeout(const uint32_t *word, uint32_t expected, uint64_t timeout_nanos) {
    struct timespec timeout = { .tv_sec = (time_t)(timeout_nanos / 1000000000u),
                                .tv_nsec = (long)(timeout_nanos % 1000000000u) };
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, &timeout, NULL, 0);
}

void fp_futex_wake_all(const uint32_t *word) {
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
}

size_t fp_available_cpu_list(int32_t *out, size_t capacity) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
    size_t count = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &set)) continue;
        if (count < capacity) out[count] = cpu;
        count++;
    }
    return count;
}

// Package.swift pins WasmKit and passes its version here: the one place it is written.
#ifndef FP_WASMKIT_VERSION
#error "FP_WASMKIT_VERSION is defined by Package.swift"
#endif
const char *fp_wasmkit_version(void) { return FP_WASMKIT_VERSION; }
