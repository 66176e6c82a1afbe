#!/usr/bin/env bash
# The whole test suite, as CI runs it: setup (installs what is missing), then `swift test` on lavapipe.
# Usage: scripts/test.sh [extra swift test arguments, e.g. --filter FrameHandoffTests]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

# lavapipe warns on stderr without a runtime directory; give the tests a private one.
if [ -z "${XDG_RUNTIME_DIR:-}" ] || [ ! -d "${XDG_RUNTIME_DIR}" ]; then
  XDG_RUNTIME_DIR="$(mktemp -d -t framepipe-xdg.XXXXXX)"
  export XDG_RUNTIME_DIR
  trap 'rm -rf "$XDG_RUNTIME_DIR"' EXIT
fi

echo "test: committed kernels match their sources"
scripts/build-kernels.sh --check

echo "test: swift test (debug build, Vulkan device: $(vulkaninfo --summary 2>/dev/null | grep -m1 deviceName | sed 's/.*= //' || echo unknown))"
swift test --disable-swift-testing "$@"
