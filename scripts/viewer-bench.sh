#!/usr/bin/env bash
# The viewer's figures (docs/performance.md, "Viewer"): what the overlay costs per frame (CPU: building and recording
# it; GPU: the frame's GPU time with and without it) and what paced compute does (kernel frames computed per frame
# shown), from the `view-timing:` line (FRAMEPIPE_VIEW_TIMING_REPORT) of real viewer runs under Xvfb on the default
# device. Rounds alternate overlay off / on so that machine noise falls on both alike; the spread is min–max over rounds.
# Usage: scripts/viewer-bench.sh [--framepipe BIN] [--rounds N] [--frames N] [--engine E]
set -euo pipefail
cd "$(dirname "$0")/.."

bin=".build-release/release/framepipe"
rounds=3
frames=600
engine=wasmtime
while [ $# -gt 0 ]; do
    case "$1" in
    --framepipe) bin="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --frames) frames="$2"; shift 2 ;;
    --engine) engine="$2"; shift 2 ;;
    *) echo "viewer-bench: unknown argument '$1' (expected --framepipe BIN, --rounds N, --frames N or --engine E)" >&2; exit 64 ;;
    esac
done
[ -x "$bin" ] || { echo "viewer-bench: no framepipe at $bin (swift build -c release --scratch-path .build-release)" >&2; exit 2; }
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d -t framepipe-xdg.XXXXXX)}"

# field NAME LINE: the value of NAME=… in a view-timing line.
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
view() {
    FRAMEPIPE_VIEW_TIMING_REPORT=1 xvfb-run -a -s "-screen 0 1024x768x24" \
        "$bin" view "$@" --engine "$engine" 2>/dev/null | grep '^view-timing:'
}
stats() { sort -n | awk '{ v[NR] = $1 } END { printf "%.3f (%.3f–%.3f)", v[int((NR + 1) / 2)], v[1], v[NR] }'; }

echo "viewer-bench: $bin, engine $engine, $rounds rounds of $frames frames, plasma 512x512 (window 512x512)"
off_upload=(); on_upload=(); off_gpu=(); on_gpu=(); on_cpu=()
for round in $(seq 1 "$rounds"); do
    off="$(view assets/kernels/plasma.wasm --size 512x512 --exit-after-frames "$frames")"
    on="$(view assets/kernels/plasma.wasm --size 512x512 --exit-after-frames "$frames" --overlay)"
    off_upload+=("$(field upload "$off")"); on_upload+=("$(field upload "$on")")
    off_gpu+=("$(field gpu "$off")"); on_gpu+=("$(field gpu "$on")")
    on_cpu+=("$(field overlay_cpu "$on")")
    echo "  round $round: off upload $(field upload "$off") gpu $(field gpu "$off") | on upload $(field upload "$on") gpu $(field gpu "$on") overlay_cpu $(field overlay_cpu "$on") (ms, medians)"
done
echo "overlay cpu per frame (build + record), median of round medians (min–max): $(printf '%s\n' "${on_cpu[@]}" | stats) ms"
echo "upload stage off / on:  $(printf '%s\n' "${off_upload[@]}" | stats) / $(printf '%s\n' "${on_upload[@]}" | stats) ms"
echo "gpu stage off / on:     $(printf '%s\n' "${off_gpu[@]}" | stats) / $(printf '%s\n' "${on_gpu[@]}" | stats) ms"

echo "paced compute: life 256x256, 2 workers, 300 shown frames"
for rate in display unpaced 30; do
    line="$(view assets/kernels/life.wasm --size 256x256 --workers 2 --exit-after-frames 300 --compute-rate "$rate")"
    echo "  --compute-rate $rate: computed $(field computed "$line"), taken to show $(field taken "$line")"
done
