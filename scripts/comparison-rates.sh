#!/usr/bin/env bash
# How often `bench --baseline` is right on this machine (docs/benchmarking.md, "How often the verdicts are right").
# Each trial runs, back to back with the default settings and --runs RUNS:
#   false positive: plasma (the default kernel), then plasma again against it: any figure `worse` is a false alarm;
#   true positive:  the work-knob test kernel at work=W1, then at work=W2 against it (W2/W1 = 1.1: ~10 % slower
#                   compute): a `worse` compute or fps is a detection.
# Usage: scripts/comparison-rates.sh [TRIALS=10] [RUNS=5] [W1=100] [W2=110]   (release build of framepipe first)
set -euo pipefail
cd "$(dirname "$0")/.."
trials="${1:-10}"; runs="${2:-5}"; w1="${3:-100}"; w2="${4:-110}"
bin="${FRAMEPIPE:-.build/release/framepipe}"
[ -x "$bin" ] || { echo "comparison-rates: $bin not built (swift build -c release --product framepipe)" >&2; exit 2; }
plasma=assets/kernels/plasma.wasm
knob=Tests/KernelRuntimeTests/BadModules/good-work-knob.wasm
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
worse() {  # the `worse` list of a compared run's summary.json, comma-separated ("" when none)
  python3 -c 'import json,sys; print(",".join(json.load(open(sys.argv[1]))["baseline"]["worse"]))' "$1/summary.json"
}
figure() {  # a figure's mean over runs
  python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print("%.3f" % next(f["mean"] for f in s["runs"]["figures"] if f["name"] == sys.argv[2]))' "$1/summary.json" "$2"
}
false_alarms=0; detections=0
for t in $(seq 1 "$trials"); do
  # stderr: the kernels' own log lines (plasma logs its size once per run); errors still end the script (set -e).
  "$bin" bench "$plasma" --runs "$runs" --no-progress --out "$work/a" >/dev/null 2>&1
  "$bin" bench "$plasma" --runs "$runs" --no-progress --out "$work/b" --baseline "$work/a" >/dev/null 2>&1
  "$bin" bench "$knob" --runs "$runs" --no-progress --param "work=$w1" --out "$work/k1" >/dev/null 2>&1
  "$bin" bench "$knob" --runs "$runs" --no-progress --param "work=$w2" --out "$work/k2" --baseline "$work/k1" >/dev/null 2>&1
  fp="$(worse "$work/b")"; tp="$(worse "$work/k2")"
  [ -n "$fp" ] && false_alarms=$((false_alarms + 1))
  case ",$tp," in *,fps,*|*,stages_ms.compute.mean,*|*,stages_ms.compute.p50,*|*,compute_cpu_ms.mean,*|*,compute_cpu_ms.p50,*)
    detections=$((detections + 1)) ;; esac
  ratio() { python3 -c "print('%.3f' % ($(figure "$work/k2" "$1") / $(figure "$work/k1" "$1")))"; }
  echo "trial $t: same build worse=[${fp}]  work $w1→$w2 (compute ×$(ratio stages_ms.compute.mean), CPU ×$(ratio compute_cpu_ms.mean)) worse=[${tp}]"
done
echo "false positives: $false_alarms/$trials   true positives (fps, compute or compute CPU worse): $detections/$trials   (--runs $runs, work $w1→$w2)"
