// USDT (user-space statically defined tracing) probes, provider `framepipe`: perf lists them as
// `sdt_framepipe:NAME` once the binary is in its build-id cache (see docs/profiling.md).
//
// Each function holds one probe site: a single `nop` plus an ELF note (`.note.stapsdt`) that tells
// perf/bpftrace where the nop is and where each argument lives. Without a tracer attached a call
// costs the call itself (no semaphores: probes are unconditional). The generation is always the
// first argument so `perf script` output lines up with the frame records (FrameRecord, keyed by
// generation).
#pragma once
#include <stdint.h>

/// The compute side opened frame `frame` in a slot of generation `generation`.
void fp_probe_schedule(uint64_t generation, int32_t frame);
/// Worker `worker` starts / ends computing tile `tile` of the frame of `generation`.
void fp_probe_tile_start(uint64_t generation, int32_t worker, int32_t tile);
void fp_probe_tile_end(uint64_t generation, int32_t worker, int32_t tile);
/// The last tile completed: frame `frame` of `generation` is published to the renderer.
void fp_probe_publish(uint64_t generation, int32_t frame);
/// The renderer acquired the frame of `generation` from the slot ring.
void fp_probe_acquire(uint64_t generation);
/// The renderer submitted the command buffer that draws the frame of `generation`.
void fp_probe_submit(uint64_t generation);
/// Headless: the fence of the frame of `generation` signalled (the GPU finished it).
void fp_probe_complete(uint64_t generation);
/// Window: the frame of `generation` was queued for presentation.
void fp_probe_present(uint64_t generation);
