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
