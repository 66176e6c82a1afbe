#define _GNU_SOURCE
#include "system_shim.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
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

// SIGINT for bench (system_shim.h). The handler only does async-signal-safe things: an atomic add, write(2), _exit.
static atomic_int sigint_count;
static char sigint_message[256];
static size_t sigint_message_length;

static void on_sigint(int signal_number) {
    (void)signal_number;
    if (atomic_fetch_add(&sigint_count, 1) >= 1) _exit(130);
    ssize_t ignored = write(2, sigint_message, sigint_message_length);
    (void)ignored;
}

void fp_sigint_install(const char *message) {
    sigint_message_length = 0;
    if (message != NULL) {
        sigint_message_length = strlen(message);
        if (sigint_message_length >= sizeof sigint_message) sigint_message_length = sizeof sigint_message - 1;
        memcpy(sigint_message, message, sigint_message_length);
    }
    atomic_store(&sigint_count, 0);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_sigint;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGINT, &action, NULL);
}

int fp_sigint_count(void) { return atomic_load(&sigint_count); }

void fp_sigint_uninstall(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = SIG_DFL;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, NULL);
}

// ---- fp_open_beneath (see system_shim.h) ----
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

struct fp_open_how { uint64_t flags; uint64_t mode; uint64_t resolve; };
#define FP_RESOLVE_NO_MAGICLINKS 0x02
#define FP_RESOLVE_BENEATH 0x08

static int fp_open_by_walk(int dirfd, const char *path, int flags) {
    char component[256];
    int current = dirfd;
    const char *cursor = path;
    for (;;) {
        while (*cursor == '/') cursor++;
        const char *end = strchr(cursor, '/');
        size_t length = end ? (size_t)(end - cursor) : strlen(cursor);
        const char *rest = end ? end : cursor + length;
        while (*rest == '/') rest++;
        int last = *rest == 0;
        if (length == 0) { length = 1; component[0] = '.'; component[1] = 0; }
        else {
            if (length >= sizeof component) { if (current != dirfd) close(current); return -ENAMETOOLONG; }
            memcpy(component, cursor, length);
            component[length] = 0;
        }
        if (strcmp(component, "..") == 0) { if (current != dirfd) close(current); return -EXDEV; }
        int next = last ? openat(current, component, flags | O_CLOEXEC | O_NOFOLLOW)
                        : openat(current, component, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int saved = errno;
        if (current != dirfd) close(current);
        if (next < 0) return -saved;
        if (last) return next;
        current = next;
        cursor = rest;
    }
}

int fp_open_beneath(int dirfd, const char *path, int flags) {
    if (path[0] == '/') return -EXDEV;
    struct fp_open_how how = {(uint64_t)(flags | O_CLOEXEC), 0, FP_RESOLVE_BENEATH | FP_RESOLVE_NO_MAGICLINKS};
    long result = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    if (result >= 0) return (int)result;
    if (errno != ENOSYS && errno != EPERM) return -errno;
    return fp_open_by_walk(dirfd, path, flags);
}
