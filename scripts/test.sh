#!/usr/bin/env bash
# The whole test suite, as CI runs it: setup (installs what is missing), then `swift test` on lavapipe.
# Usage: scripts/test.sh [extra swift test arguments, e.g. --filter FrameHandoffTests]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
# setup.sh installs wasmtime: a run that cannot find it fails instead of quietly testing one engine.
export FRAMEPIPE_REQUIRE_WASMTIME=1

# lavapipe warns on stderr without a runtime directory; give the tests a private one.
if [ -z "${XDG_RUNTIME_DIR:-}" ] || [ ! -d "${XDG_RUNTIME_DIR}" ]; then
  XDG_RUNTIME_DIR="$(mktemp -d -t framepipe-xdg.XXXXXX)"
  export XDG_RUNTIME_DIR
  trap 'rm -rf "$XDG_RUNTIME_DIR"' EXIT
fi

echo "test: committed kernels match their sources"
scripts/build-kernels.sh --check

# The lock-free parts under ThreadSanitizer (own build folder: TSan instruments everything): the
# handoff's tests (slot ring, tile queue, SPSC ring) and the worker pool's (real threads sharing
# frames tile by tile). Skipped when extra arguments narrow the run.
if [ "$#" -eq 0 ]; then
  echo "test: handoff and worker-pool tests under ThreadSanitizer"
  tsan_log="$(mktemp -t framepipe-tsan.XXXXXX)"
  if ! swift test --sanitize=thread --scratch-path .build-tsan --disable-swift-testing \
      --filter 'FrameHandoffTests|ComputePoolTests' >"$tsan_log" 2>&1; then
    grep -E -A20 "error|WARNING: ThreadSanitizer" "$tsan_log" | head -100
    echo "test: the handoff or pool tests failed under ThreadSanitizer (full log: $tsan_log)" >&2
    exit 1
  fi
  echo "test: ThreadSanitizer clean: $(grep -E "Executed .* tests" "$tsan_log" | tail -n1 | sed 's/^[[:space:]]*//')"
  rm -f "$tsan_log"
fi

# Differential fuzzing, seeded and bounded (docs/fuzzing.md, "CI"): a few hundred generated and mutated
# modules through inspect, capture and bench on both engines; any crash, hang, undocumented exit code,
# malformed message or engine disagreement fails the run. Before the validation layer is switched on.
if [ "$#" -eq 0 ]; then
  echo "test: differential fuzzing, bounded (scripts/fuzz.sh --ci)"
  swift build --product framepipe >/dev/null
  if ! scripts/fuzz.sh --ci > .build/fuzz-ci.log 2>&1; then
    tail -40 .build/fuzz-ci.log >&2
    echo "test: fuzzing found problems (findings in .build/fuzz-ci/findings; log .build/fuzz-ci.log)" >&2
    exit 1
  fi
  echo "test: fuzzing clean: $(grep -m1 '^fuzz: seed' .build/fuzz-ci.log)"
fi

# The whole suite runs with the Khronos validation layer on (Debian vulkan-validationlayers, installed by setup.sh),
# with synchronization validation and best practices: scripts/vk_layer_settings.txt says what is enabled and holds the
# one list of filtered message ids, a reason for each (docs/testing.md, "Validation"). Every process appends the
# layer's messages to one file (FRAMEPIPE_VULKAN_MESSAGES; child `framepipe` runs too, whose output the tests capture):
# a line there, or a validation message in the log, fails the run even when every test passed. Then the sweep
# (scripts/validate.sh): bench, capture and view of every gallery kernel in both upload modes.
export VK_INSTANCE_LAYERS=VK_LAYER_KHRONOS_validation
export VK_LAYER_SETTINGS_PATH="$PWD/scripts/vk_layer_settings.txt"
vk_messages="$(mktemp -t framepipe-vk-messages.XXXXXX)"
export FRAMEPIPE_VULKAN_MESSAGES="$vk_messages"
validation_pattern="Validation (Error|Warning|Performance Warning|Information)|VUID-|SYNC-HAZARD|UNASSIGNED-BestPractices"
echo "test: swift test (debug build, Vulkan validation with sync validation and best practices, device: $(vulkaninfo --summary 2>/dev/null | grep -m1 deviceName | sed 's/.*= //' || echo unknown))"
test_log="$(mktemp -t framepipe-test.XXXXXX)"
set +e
swift test --disable-swift-testing "$@" 2>&1 | tee "$test_log"
status=${PIPESTATUS[0]}
set -e
if [ "$status" -eq 0 ] && [ "$#" -eq 0 ]; then
  echo "test: validation sweep (scripts/validate.sh)"
  scripts/validate.sh || status=$?
fi
if grep -E -q "$validation_pattern" "$test_log" || [ -s "$vk_messages" ]; then
  echo "test: the Vulkan validation layer reported problems:" >&2
  grep -E "$validation_pattern" "$test_log" | head -20 >&2
  sed 's/^\(.\{400\}\).*/\1…/' "$vk_messages" | head -20 >&2
  rm -f "$test_log" "$vk_messages"
  exit 1
fi
rm -f "$test_log" "$vk_messages"
[ "$status" -eq 0 ] && echo "test: no Vulkan validation messages"
exit "$status"
