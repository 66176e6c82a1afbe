#!/usr/bin/env bash
# `framepipe bench` fps of every gallery kernel on both engines, at each size, in interleaved rounds
# (each round runs every kernel × engine × size once, so machine noise hits all alike). Prints the
# median fps over rounds and its range, and wasmtime / WasmKit per kernel and size.
# Usage: scripts/engine-fps.sh [ROUNDS] [SIZES] [extra bench flags…]
#        (defaults: 3 rounds, "512x512 1920x1080"; e.g. scripts/engine-fps.sh 3 "512x512" --workers 2)
# Needs a release build: swift build -c release --product framepipe (or set FRAMEPIPE=path).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-3}"; shift || true
SIZES="${1:-512x512 1920x1080}"; shift || true
BIN="${FRAMEPIPE:-.build/release/framepipe}"
[ -x "$BIN" ] || { echo "engine-fps: build first: swift build -c release --product framepipe" >&2; exit 2; }
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
KERNELS=(plasma mandelbrot life grayscott particles)
fps() { sed -n 's/^ *"fps" : \([0-9.e+-]*\),*$/\1/p' "$1/summary.json"; }
for round in $(seq 1 "$ROUNDS"); do
  for size in $SIZES; do
    for kernel in "${KERNELS[@]}"; do
      for engine in wasmtime wasmkit; do
        # WasmKit runs 5–35× slower: fewer frames keep a round short, and still ≥ 2 s of frames.
        frames=120; [ "$engine" = wasmkit ] && frames=24
        dir="$OUT/$round-$size-$kernel-$engine"
        "$BIN" bench "assets/kernels/$kernel.wasm" --runs 1 --engine "$engine" --size "$size" --frames "$frames" \
          --no-progress --out "$dir" "$@" >/dev/null 2>"$OUT/stderr" || { cat "$OUT/stderr" >&2; exit 1; }
        echo "$size $kernel $engine $(fps "$dir")" >>"$OUT/all"
      done
    done
  done
done
python3 - "$OUT/all" "$ROUNDS" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    size, kernel, engine, fps = line.split()
    rows.setdefault((size, kernel), {}).setdefault(engine, []).append(float(fps))
print(f"framepipe bench fps, median of {sys.argv[2]} interleaved rounds [min..max]")
print(f"{'size':<10} {'kernel':<11} {'wasmtime':>22} {'wasmkit':>20} {'wasmtime/wasmkit':>17}")
for (size, kernel), by in rows.items():
    cell = lambda v: f"{statistics.median(v):8.1f} [{min(v):.1f}..{max(v):.1f}]"
    ratio = statistics.median(by["wasmtime"]) / statistics.median(by["wasmkit"])
    print(f"{size:<10} {kernel:<11} {cell(by['wasmtime']):>22} {cell(by['wasmkit']):>20} {ratio:16.1f}x")
PY
