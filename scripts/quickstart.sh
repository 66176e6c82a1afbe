#!/usr/bin/env bash
# Setup, release build, then the main job on the bundled default kernel (assets/kernels/plasma.wasm):
# the desktop viewer when a display is available (DISPLAY or WAYLAND_DISPLAY set), otherwise the
# headless benchmark (a report in OUT_DIR).
# Usage: scripts/quickstart.sh [OUT_DIR]   (default: out/quickstart)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-out/quickstart}"

scripts/setup.sh
if [ -z "${XDG_RUNTIME_DIR:-}" ] || [ ! -d "${XDG_RUNTIME_DIR}" ]; then
  XDG_RUNTIME_DIR="$(mktemp -d -t framepipe-xdg.XXXXXX)"
  export XDG_RUNTIME_DIR
  trap 'rm -rf "$XDG_RUNTIME_DIR"' EXIT
fi

echo "quickstart: building framepipe (release; the first build takes a few minutes)"
swift build -c release --product framepipe 2>&1 | grep -E "error|warning: unre|Compiling framepipe|Build complete" || true
bin="$(swift build -c release --show-bin-path)/framepipe"
[ -x "$bin" ] || { echo "quickstart: error: release build failed; run 'swift build -c release' to see why" >&2; exit 1; }

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "quickstart: opening the viewer (Space pause, N step, R reload, H overlay, S screenshot, F full screen, Esc quit)"
  mkdir -p "$out"
  exec "$bin" view assets/kernels/plasma.wasm --screenshot-dir "$out"
fi
echo "quickstart: no display: running the headless benchmark (run it in a desktop session for the viewer)"
"$bin" bench assets/kernels/plasma.wasm --headless --frames 120 --size 512x512 --out "$out"
echo "quickstart: reports in $out/: summary.json, frames.csv, trace.json (open in https://ui.perfetto.dev), frametimes.svg, last-frame.png"
