#!/usr/bin/env bash
# How long each runaway corpus module takes to be stopped, per engine, at a given --tile-timeout:
# the figures of docs/performance.md ("WasmKit's time bound"). One `capture` (one frame, one call of
# fp_frame after set-up) or `inspect` (the probes) per module and engine, ROUNDS rounds interleaved.
# Usage: scripts/runaway-bounds.sh [--framepipe PATH] [--tile-timeout MS] [--rounds N]
set -euo pipefail
cd "$(dirname "$0")/.."

framepipe=.build-release/release/framepipe
timeout_ms=5000
rounds=3
while [ $# -gt 0 ]; do
    case "$1" in
    --framepipe) framepipe="$2"; shift 2 ;;
    --tile-timeout) timeout_ms="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    *) echo "runaway-bounds: unknown argument '$1' (expected --framepipe PATH, --tile-timeout MS, --rounds N)" >&2; exit 64 ;;
    esac
done
[ -x "$framepipe" ] || { echo "runaway-bounds: $framepipe not found: build it (swift build -c release --scratch-path .build-release)" >&2; exit 1; }
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

corpus=Tests/KernelRuntimeTests/BadModules
# module, command: the probe loop is stopped at load (inspect), the others in their first frame.
# good-gradient is no runaway: its time is what a run costs around the kernel (start, compile, Vulkan).
cases=(
    "good-gradient capture"
    "probe-tail-call-loop inspect"
    "endless-loop capture"
    "frame-tail-call-cycle capture"
    "frame-huge-locals capture"
    "grow-ignored-loop capture"
)
printf '%-24s %-9s %8s %s\n' module engine seconds "fault (exit code)"
for round in $(seq 1 "$rounds"); do
    for entry in "${cases[@]}"; do
        read -r module command <<<"$entry"
        for engine in wasmkit wasmtime; do
            args=("$command" "$corpus/$module.wasm" --engine "$engine" --tile-timeout "$timeout_ms")
            [ "$command" = capture ] && args+=(--frame 0 --size 16x16 --out "$out/frame.png")
            start=$(date +%s%N)
            set +e
            "$framepipe" "${args[@]}" >"$out/stdout" 2>"$out/stderr"
            status=$?
            set -e
            end=$(date +%s%N)
            fault=$(grep -o -m1 'used up its time budget\|ran past its deadline\|ran out of fuel\|was refused\|trapped' "$out/stderr" | head -n1 || true)
            printf '%-24s %-9s %8.2f %s (%d)\n' "$module" "$engine" "$(echo "($end - $start) / 1000000000" | bc -l)" "$fault" "$status"
        done
    done
done
