#!/usr/bin/env bash
# Khronos validation sweep: bench, capture and view (under Xvfb) of every gallery kernel in both upload modes, with
# synchronization validation and best practices on (scripts/vk_layer_settings.txt). Fails on any message that the
# settings file does not filter. scripts/test.sh runs it; alone: scripts/validate.sh [path/to/framepipe] (default: the
# debug build, .build/debug/framepipe). Engine: wasmtime (the WasmKit debug build is too slow for this), tiny frames.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-.build/debug/framepipe}"
[ -x "$bin" ] || { echo "validate: $bin is not built (swift build)" >&2; exit 1; }
command -v xvfb-run >/dev/null || { echo "validate: xvfb-run is missing (scripts/setup.sh)" >&2; exit 1; }

work="$(mktemp -d -t framepipe-validate.XXXXXX)"
trap 'rm -rf "$work"' EXIT
if [ -z "${XDG_RUNTIME_DIR:-}" ] || [ ! -d "${XDG_RUNTIME_DIR}" ]; then
  export XDG_RUNTIME_DIR="$work/xdg"
  mkdir -m 700 "$XDG_RUNTIME_DIR"
fi
export VK_INSTANCE_LAYERS=VK_LAYER_KHRONOS_validation
export VK_LAYER_SETTINGS_PATH="$PWD/scripts/vk_layer_settings.txt"
# Every message of every process, one line each (Sources/VulkanRender/ValidationMessages.swift).
export FRAMEPIPE_VULKAN_MESSAGES="$work/messages.log"
: >"$FRAMEPIPE_VULKAN_MESSAGES"

runs=0
failed=0
# run NAME COMMAND...: one run; its output is kept in $work/NAME.log and shown if it fails.
run() {
  local name="$1"; shift
  runs=$((runs + 1))
  local status=0
  "$@" >"$work/$name.log" 2>&1 || status=$?
  if [ "$status" -ne 0 ]; then
    failed=$((failed + 1))
    echo "validate: $name failed (exit $status):" >&2
    tail -n 20 "$work/$name.log" >&2
  fi
}
# --data: edges.wasm reads its image from assets/data (the other kernels ignore it).
common=(--engine wasmtime --size 64x64 --data assets/data)
for kernel in assets/kernels/*.wasm; do
  case "$kernel" in *.simd.wasm) continue ;; esac  # picked by --kernel-build auto on wasmtime
  name="$(basename "$kernel" .wasm)"
  run "capture-$name" "$bin" capture "$kernel" "${common[@]}" --frame 3 --out "$work/$name.png"
  for upload in copy zero-copy; do
    run "bench-$name-$upload" "$bin" bench "$kernel" "${common[@]}" --runs 1 --frames 10 --warmup 2 --upload "$upload" \
      --out "$work/bench-$name-$upload"
    run "view-$name-$upload" xvfb-run -a -s "-screen 0 640x480x24" "$bin" view "$kernel" "${common[@]}" \
      --upload "$upload" --exit-after-frames 10
  done
done

messages="$(wc -l <"$FRAMEPIPE_VULKAN_MESSAGES")"
echo "validate: $runs runs ($failed failed), $messages unfiltered validation messages"
if [ "$messages" -gt 0 ]; then
  sed -e 's/^pid [0-9]*: //' -e 's/^\(.\{400\}\).*/\1…/' "$FRAMEPIPE_VULKAN_MESSAGES" | sort | uniq -c | sort -rn | head -n 20 >&2
fi
[ "$failed" -eq 0 ] && [ "$messages" -eq 0 ]
