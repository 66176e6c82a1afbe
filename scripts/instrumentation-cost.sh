#!/usr/bin/env bash
# What frame recording costs: the same headless bench with records off (--no-record) and on,
# interleaved in ROUNDS rounds within one invocation (noise hits both alike), compared on
# throughput_fps (the same formula either way). Usage:
#   scripts/instrumentation-cost.sh [ROUNDS] [extra bench flags…]     (default 5 rounds)
# Needs a release build: swift build -c release --product framepipe
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-5}"; shift || true
BIN=.build/release/framepipe
[ -x "$BIN" ] || { echo "instrumentation-cost: build first: swift build -c release --product framepipe" >&2; exit 2; }
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
OUT=$(mktemp -d)
fps() { sed -n 's/^ *"throughput_fps" : \([0-9.e+-]*\),*$/\1/p' "$1/summary.json"; }
ratios=()
printf '%-6s %10s %10s %8s\n' round off_fps on_fps on/off
for round in $(seq 1 "$ROUNDS"); do
  for mode in off on; do
    flags=(); [ "$mode" = off ] && flags=(--no-record)
    "$BIN" bench assets/kernels/plasma.wasm --runs 1 --size 256x256 --frames 240 --warmup 10 --no-progress \
      --out "$OUT/$mode-$round" "${flags[@]}" "$@" >/dev/null 2>"$OUT/stderr" || { cat "$OUT/stderr" >&2; exit 1; }
  done
  off=$(fps "$OUT/off-$round"); on=$(fps "$OUT/on-$round")
  ratio=$(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.4f", a / b }')
  ratios+=("$ratio")
  printf '%-6s %10.2f %10.2f %8s\n' "$round" "$off" "$on" "$ratio"
done
median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
us=$(sed -n 's/^ *"render_thread_us_per_frame" : \([0-9.e+-]*\),*$/\1/p' "$OUT/on-$ROUNDS/summary.json")
echo "median on/off throughput: $median (1.0 = free; below 1 = recording slows frames)"
echo "render thread time on records, last 'on' run: ${us} µs/frame"
rm -rf "$OUT"
