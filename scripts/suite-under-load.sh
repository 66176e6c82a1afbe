#!/usr/bin/env bash
# The whole test suite, N times in a row, while a release build keeps both cores busy: a flaky
# test (one that waits a fixed time, or races the machine) shows up here. Stops at the first red
# run. The load is a real workload: `swift build -c release` of this package into a scratch folder
# of its own, cleaned and started again whenever it finishes.
# Usage: scripts/suite-under-load.sh [--runs N] [--log DIR]
set -euo pipefail
cd "$(dirname "$0")/.."

runs=10
log_dir="out/suite-under-load"
while [ $# -gt 0 ]; do
    case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --log) log_dir="$2"; shift 2 ;;
    *) echo "suite-under-load: unknown argument '$1' (expected --runs N or --log DIR)" >&2; exit 64 ;;
    esac
done
mkdir -p "$log_dir"
load_scratch="$(mktemp -d -t framepipe-load.XXXXXX)"

load() {
    while true; do
        rm -rf "$load_scratch/build"
        nice -n 5 swift build -c release --scratch-path "$load_scratch/build" >/dev/null 2>&1 || true
    done
}
load &
load_pid=$!
# On exit: stop the load loop and its build, wait until they are gone (a build still writing would make the folder's
# removal fail, and with it the script's status after green runs), then remove the scratch folder.
stop_load() {
    kill -- -"$load_pid" 2>/dev/null || kill "$load_pid" 2>/dev/null || true
    pkill -f "scratch-path $load_scratch" || true
    wait "$load_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do pgrep -f "scratch-path $load_scratch" >/dev/null || break; sleep 0.1; done
    rm -rf "$load_scratch" 2>/dev/null || rm -rf "$load_scratch" || true
}
trap stop_load EXIT

echo "suite-under-load: $runs runs of scripts/test.sh, a release build looping as load (logs in $log_dir)"
for run in $(seq 1 "$runs"); do
    start=$(date +%s)
    if scripts/test.sh > "$log_dir/run-$run.log" 2>&1; then
        echo "run $run: green in $(( $(date +%s) - start )) s (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    else
        echo "run $run: RED after $(( $(date +%s) - start )) s: see $log_dir/run-$run.log" >&2
        grep -E "error:|failed" "$log_dir/run-$run.log" | head -20 >&2
        exit 1
    fi
done
echo "suite-under-load: $runs of $runs runs green"
