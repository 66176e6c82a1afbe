// C shim for the OS calls Swift cannot make directly (Linux).
#pragma once
#include <stddef.h>
#include <stdint.h>

/// Pins the calling thread to the given CPUs. Returns 0 or an errno value.
int fp_pin_current_thread(const int32_t *cpus, size_t count);

/// Number of CPUs this process may run on (sched_getaffinity), at least 1.
int32_t fp_available_cpus(void);

/// futex wait/wake on a 32-bit word (Linux). wait returns when *word != expected, on wake, after
/// `timeout_nanos`, or spuriously; callers re-check their condition.
void fp_futex_wait_timeout(const uint32_t *word, uint32_t expected, uint64_t timeout_nanos);
void fp_futex_wake_all(const uint32_t *word);

/// A spin-wait hint to the CPU (x86 `pause`, Arm `yield`): lets a sibling hyperthread run and saves
/// power while a thread spins briefly before sleeping on a futex.
static inline void fp_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/// The CPUs this process may run on (sched_getaffinity), in increasing order: writes up to
/// `capacity` ids to `out` and returns how many there are.
size_t fp_available_cpu_list(int32_t *out, size_t capacity);

/// The WasmKit version Package.swift pins (the engine reports it in summaries).
const char *fp_wasmkit_version(void);

/// Ctrl-C for `bench`, installed synchronously with sigaction (a libdispatch signal source is armed asynchronously,
/// so a SIGINT just after installing it could be lost): the first SIGINT is counted and one line goes to stderr
/// (`message`, copied here), the second exits the process with status 130 at once. `fp_sigint_count` reads the count;
/// `fp_sigint_uninstall` restores the default action.
void fp_sigint_install(const char *message);
int fp_sigint_count(void);
void fp_sigint_uninstall(void);

/// Opens `path` relative to the directory `dirfd` without ever leaving it (no `..` above it, no
/// absolute path, no symlink out of it): openat2 with RESOLVE_BENEATH where the kernel has it, else a
/// walk that refuses `..` and every symlink on the way. `flags` are open(2) flags (O_CLOEXEC is
/// added). Returns the new descriptor, or -errno (EXDEV: the path would leave the directory).
int fp_open_beneath(int dirfd, const char *path, int flags);
