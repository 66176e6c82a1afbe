#!/usr/bin/env bash
# Differential fuzzing of framepipe across engines (docs/fuzzing.md); a thin wrapper of scripts/fuzz.py.
# Usage: scripts/fuzz.sh [fuzz.py options]          e.g. --count 5000 --seed 1 --out out/fuzz
#        scripts/fuzz.sh --ci [fuzz.py options]     the bounded CI run: fixed seed, a few hundred tiny
#                                                   modules against the debug build; exits 1 on any finding
set -euo pipefail
cd "$(dirname "$0")/.."

# lavapipe warns on stderr without a runtime directory (a stray stderr line is a finding).
if [ -z "${XDG_RUNTIME_DIR:-}" ] || [ ! -d "${XDG_RUNTIME_DIR}" ]; then
  XDG_RUNTIME_DIR="$(mktemp -d -t framepipe-xdg.XXXXXX)"
  export XDG_RUNTIME_DIR
  trap 'rm -rf "$XDG_RUNTIME_DIR"' EXIT
fi

if [ "${1:-}" = "--ci" ]; then
  shift
  # Sized for <= 2.5 minutes on 2 cores against the debug build (WasmKit ~100x slower than release):
  # tiny frames, smith modules that always terminate, tight fuel and deadline, no shrinking, one job
  # per core (200 modules in 112-165 s on 2 cores with one bench run each; the budget keeps a slow
  # machine's CI under 20 minutes at the cost of the last modules: docs/fuzzing.md, "CI").
  # --stack-limits-differ: how deep a call stack may grow is the engine's (the spec leaves it open):
  # stack exhaustion on one engine against another trap in the same function on the other agrees.
  exec python3 scripts/fuzz.py --ci --stack-limits-differ --framepipe .build/debug/framepipe --seed 20261201 --count 200 --jobs "$(nproc)" \
    --size 8x8 --time-limit 20 --budget 75 --out "${FUZZ_OUT:-.build/fuzz-ci}" \
    --framepipe-arg=--fuel --framepipe-arg=200000000 --framepipe-arg=--tile-timeout --framepipe-arg=2000 "$@"
fi
exec python3 scripts/fuzz.py "$@"
