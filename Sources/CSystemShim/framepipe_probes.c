// USDT probe sites (see include/framepipe_probes.h). Out-of-line on purpose: one site per probe
// name in the binary, whatever Swift inlines, so `perf probe` adds one uprobe per name.
#include "framepipe_probes.h"

#if !__has_include(<sys/sdt.h>)
#error "<sys/sdt.h> not found: the USDT probes need it. Run `apt-get install systemtap-sdt-dev` (scripts/setup.sh installs it)."
#endif
#include <sys/sdt.h>

// Kept by the linker even in products that call none of the probes: the `.note.stapsdt` entries
// point into these functions, and release builds link with --gc-sections, which would otherwise
// discard an uncalled probe's code and fail on the note's dangling relocation.
#define FP_PROBE_SITE __attribute__((used, retain, noinline))

FP_PROBE_SITE void fp_probe_schedule(uint64_t generation, int32_t frame) { DTRACE_PROBE2(framepipe, schedule, generation, frame); }

FP_PROBE_SITE void fp_probe_tile_start(uint64_t generation, int32_t worker, int32_t tile) {
    DTRACE_PROBE3(framepipe, tile_start, generation, worker, tile);
}

FP_PROBE_SITE void fp_probe_tile_end(uint64_t generation, int32_t worker, int32_t tile) {
    DTRACE_PROBE3(framepipe, tile_end, generation, worker, tile);
}

FP_PROBE_SITE void fp_probe_publish(uint64_t generation, int32_t frame) { DTRACE_PROBE2(framepipe, publish, generation, frame); }

FP_PROBE_SITE void fp_probe_acquire(uint64_t generation) { DTRACE_PROBE1(framepipe, acquire, generation); }

FP_PROBE_SITE void fp_probe_submit(uint64_t generation) { DTRACE_PROBE1(framepipe, submit, generation); }

FP_PROBE_SITE void fp_probe_complete(uint64_t generation) { DTRACE_PROBE1(framepipe, complete, generation); }

FP_PROBE_SITE void fp_probe_present(uint64_t generation) { DTRACE_PROBE1(framepipe, present, generation); }
