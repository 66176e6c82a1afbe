#!/usr/bin/env bash
# Soak test: does framepipe stay flat in memory and keep answering over a long run?
#
#   scripts/soak.sh [--duration 3600] [--warmup 120] [--threshold-mb 5] [--interval 5] [--swap-every 3]
#                   [--size 64x64] [--binary PATH] [--out DIR] [--bench]
#
# View mode (default): `framepipe view --watch` under Xvfb on a kernel file that is replaced every
# --swap-every seconds, in turn by a good kernel (the rgba8 gallery kernels, good-gradient) and a bad
# one (truncated, not wasm, refused at load, another format, trapping in every frame; the corpus
# modules accept sizes up to 64x64, hence the default --size). The viewer's RSS (VmRSS) is sampled
# every --interval seconds. At the end a good kernel is put back and the viewer must still answer:
# Space pauses (the window title says "paused"), Space resumes, Escape quits with exit 0.
# Bench mode (--bench): `framepipe bench --duration D` headless on one kernel, RSS sampled the same way;
# it must exit 0 with a complete report.
#
# Growth = the highest RSS after the warm-up minus the highest RSS during it (the warm-up covers a
# few swap cycles, so every kernel's allocations are in the baseline). It fails (exit 1) when the
# growth exceeds --threshold-mb, when the viewer dies or stops answering, or when a bench fails.
# Samples go to OUT/rss.csv (seconds, rss_kib, phase), the program's stderr to OUT/stderr.log.
# Exit: 0 pass, 1 fail, 2 cannot run here (no Xvfb/xdotool/binary), 64 bad arguments.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
duration=3600
warmup=""
threshold_mb=5
interval=5
swap_every=3
size=64x64
binary=""
out=""
mode=view

usage() { sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 64; }
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --threshold-mb) threshold_mb="$2"; shift 2 ;;
    --interval) interval="$2"; shift 2 ;;
    --swap-every) swap_every="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    --binary) binary="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --bench) mode=bench; shift ;;
    --inner) inner=1; shift ;;
    -h|--help) usage ;;
    *) echo "soak: unknown argument $1" >&2; usage ;;
  esac
done
for number in "$duration" "$threshold_mb" "$interval" "$swap_every" ${warmup:+"$warmup"}; do
  [[ "$number" =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "soak: not a number: $number" >&2; exit 64; }
done
# Default warm-up: a tenth of the run, at least 30 s, at most 300 s.
[ -n "$warmup" ] || warmup="$(awk -v d="$duration" 'BEGIN { w = d / 10; if (w < 30) w = 30; if (w > 300) w = 300; print int(w) }')"
awk -v w="$warmup" -v d="$duration" 'BEGIN { exit !(w < d) }' || { echo "soak: --warmup must be shorter than --duration" >&2; exit 64; }

if [ -z "$binary" ]; then
  for candidate in "$here/.build-release/release/framepipe" "$here/.build/debug/framepipe"; do
    [ -x "$candidate" ] && { binary="$candidate"; break; }
  done
fi
[ -n "$binary" ] && [ -x "$binary" ] || { echo "soak: no framepipe binary (build it, or pass --binary PATH)" >&2; exit 2; }
[ -n "$out" ] || out="$(mktemp -d /tmp/framepipe-soak.XXXXXX)"
mkdir -p "$out"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$out/xdg}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"

if [ "$mode" = view ] && [ -z "${inner:-}" ]; then
  command -v xvfb-run >/dev/null && command -v xdotool >/dev/null \
    || { echo "soak: view mode needs xvfb-run and xdotool (scripts/setup.sh)" >&2; exit 2; }
  exec xvfb-run -a -s "-screen 0 1024x768x24" bash "${BASH_SOURCE[0]}" --inner --duration "$duration" \
    --warmup "$warmup" --threshold-mb "$threshold_mb" --interval "$interval" --swap-every "$swap_every" \
    --size "$size" --binary "$binary" --out "$out"
fi

# The good ones share a format (rgba8): a reload may not change the format (it is refused, which the
# grayscott entry among the bad ones exercises). traps.wasm loads, then traps on every frame: the
# kernel is disabled until the next good one is loaded.
corpus="$here/Tests/KernelRuntimeTests/BadModules"
good=()
for kernel in "$here"/assets/kernels/{plasma,life,mandelbrot,plasma.simd,life.simd}.wasm "$corpus/good-gradient.wasm"; do
  if [ -f "$kernel" ]; then good+=("$kernel"); fi
done
bad=()
for kernel in "$corpus"/{truncated.wasm,not-wasm.txt,init-fails.wasm,missing-fp-frame.wasm,traps.wasm} \
  "$here/assets/kernels/grayscott.wasm"; do
  if [ -f "$kernel" ]; then bad+=("$kernel"); fi
done
[ "${#good[@]}" -gt 0 ] || { echo "soak: no rgba8 kernels in assets/kernels" >&2; exit 2; }

work="$out/work"
mkdir -p "$work"
kernel_file="$work/kernel.wasm"
# Replaced whole (copy, then rename), as an editor saving the file does.
put_kernel() { cp "$1" "$work/.next.wasm" && mv -f "$work/.next.wasm" "$kernel_file"; }
put_kernel "${good[0]}"

pid=""
fail() {
  echo "soak: FAIL: $*" >&2
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  tail -n 5 "$out/stderr.log" 2>/dev/null | sed 's/^/soak:   stderr: /' >&2
  exit 1
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || true; }
now() { awk '{ print $1 }' /proc/uptime; }
elapsed() { awk -v s="$start" -v n="$(now)" 'BEGIN { printf "%.1f", n - s }'; }

if [ "$mode" = view ]; then
  "$binary" view "$kernel_file" --watch --size "$size" 2>"$out/stderr.log" >/dev/null &
  pid=$!
  window=""
  for _ in $(seq 1 300); do
    window="$(xdotool search --name '^framepipe' 2>/dev/null | head -n 1 || true)"
    [ -n "$window" ] && break
    kill -0 "$pid" 2>/dev/null || fail "the viewer exited before its window appeared"
    sleep 0.2
  done
  [ -n "$window" ] || fail "no framepipe window appeared within 60 s"
else
  "$binary" bench "$kernel_file" --runs 1 --duration "$duration" --size "$size" --watch --no-progress --out "$out/bench" \
    >"$out/stdout.log" 2>"$out/stderr.log" &
  pid=$!
fi

start="$(now)"
echo "seconds,rss_kib,phase" >"$out/rss.csv"
baseline=0
peak=0
last_swap=0
swaps=0
# In view mode every other replacement is a bad module: the viewer must refuse it, or report its
# fault, and keep going. In bench mode only good ones (a fault would end the run).
next_kernel() {
  local half=$(($1 / 2))
  if [ "$mode" = view ] && [ $(($1 % 2)) = 1 ] && [ "${#bad[@]}" -gt 0 ]; then echo "${bad[$((half % ${#bad[@]}))]}"
  else echo "${good[$((half % ${#good[@]}))]}"; fi
}
next_sample=0
while :; do
  t="$(elapsed)"
  awk -v t="$t" -v d="$duration" 'BEGIN { exit !(t < d) }' || break
  kill -0 "$pid" 2>/dev/null || { wait "$pid" && status=0 || status=$?; [ "$mode" = bench ] && [ "$status" = 0 ] && break; fail "framepipe ended early (exit $status) at $t s"; }
  if awk -v t="$t" -v l="$last_swap" -v e="$swap_every" 'BEGIN { exit !(t - l >= e) }'; then
    swaps=$((swaps + 1))
    put_kernel "$(next_kernel "$swaps")"
    last_swap="$t"
  fi
  if awk -v t="$t" -v n="$next_sample" 'BEGIN { exit !(t >= n) }'; then
    rss="$(rss_kib "$pid")"
    if [ -n "$rss" ]; then
      if awk -v t="$t" -v w="$warmup" 'BEGIN { exit !(t < w) }'; then phase=warmup; [ "$rss" -gt "$baseline" ] && baseline="$rss"
      else phase=measure; [ "$rss" -gt "$peak" ] && peak="$rss"; fi
      echo "$t,$rss,$phase" >>"$out/rss.csv"
    fi
    next_sample="$(awk -v n="$next_sample" -v i="$interval" 'BEGIN { print n + i }')"
  fi
  sleep 0.5
done

if [ "$mode" = view ]; then
  put_kernel "${good[0]}"
  kill -0 "$pid" 2>/dev/null || fail "the viewer died at the end"
  # Still answering keys: Space pauses (the title says so), Space resumes, Escape quits with exit 0.
  title_has() {
    for _ in $(seq 1 100); do
      case "$(xdotool getwindowname "$window" 2>/dev/null)" in *"$1"*) return 0 ;; esac
      sleep 0.1
    done
    return 1
  }
  title_lacks() {
    for _ in $(seq 1 100); do
      case "$(xdotool getwindowname "$window" 2>/dev/null)" in *"$1"*) ;; *) return 0 ;; esac
      sleep 0.1
    done
    return 1
  }
  xdotool key --window "$window" space
  title_has "paused" || fail "Space did not pause the viewer (title: $(xdotool getwindowname "$window" 2>/dev/null))"
  xdotool key --window "$window" space
  title_lacks "paused" || fail "Space did not resume the viewer"
  xdotool key --window "$window" Escape
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && fail "the viewer did not quit on Escape"
  wait "$pid" && status=0 || status=$?
  pid=""
  [ "$status" = 0 ] || fail "the viewer exited $status after Escape"
else
  wait "$pid" && status=0 || status=$?
  pid=""
  [ "$status" = 0 ] || fail "bench exited $status"
  [ -f "$out/bench/summary.json" ] || fail "bench wrote no summary.json"
fi
if grep -Eq "Fatal error|Segmentation|VUID-" "$out/stderr.log"; then fail "stderr reports a crash or a validation error"; fi

growth=$((peak - baseline))
echo "soak: $mode $duration s (warm-up $warmup s, $swaps kernel replacements): RSS peak $((baseline / 1024)) MiB in the warm-up, $((peak / 1024)) MiB after, growth $((growth)) KiB (limit ${threshold_mb} MB); samples in $out/rss.csv"
awk -v g="$growth" -v m="$threshold_mb" 'BEGIN { exit !(g * 1024 > m * 1000000) }' \
  && fail "RSS grew by $growth KiB after the warm-up (limit $threshold_mb MB)"
echo "soak: PASS"
