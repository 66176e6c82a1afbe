#!/usr/bin/env bash
# Installs the Debian packages Framepipe needs to build, test and run headless — only those missing.
# Idempotent and non-interactive. Usage: scripts/setup.sh [--check]   (--check: report, install nothing)
set -euo pipefail

# package            why
PACKAGES=(
  libvulkan-dev          # Vulkan loader + headers (CVulkan)
  mesa-vulkan-drivers    # lavapipe: a Vulkan device on machines without a GPU
  vulkan-tools           # vulkaninfo, to diagnose device problems
  vulkan-validationlayers # VK_LAYER_KHRONOS_validation, used by the test suite
  libglfw3-dev           # windows for `framepipe view` (CGLFW)
  glslc                  # GLSL → SPIR-V (shaders/; output is committed, needed to check it)
  libpng-dev             # PNG writing/reading (CFramepipe)
  wabt                   # wat2wasm: rebuilds the test corpus of broken kernels
  xvfb                   # virtual X display for window tests
  xauth                  # needed by xvfb-run
  xdotool                # real key events and resizes for the viewer test (ViewerTests)
  pkg-config             # SwiftPM finds Vulkan/GLFW through it
  systemtap-sdt-dev      # <sys/sdt.h>: the USDT probes (sdt_framepipe:*) in CSystemShim
  binutils               # readelf: the test that the probes are in the binary's ELF notes
  librsvg2-bin           # rsvg-convert: the test that frametimes.svg renders
)

say() { printf 'setup: %s\n' "$*"; }

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  say "all ${#PACKAGES[@]} Debian packages present"
else
  if [ "${1:-}" = "--check" ]; then
    say "missing: ${missing[*]}"; exit 1
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    say "error: apt-get not found; install these packages by hand: ${missing[*]}" >&2; exit 2
  fi
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"
    else say "error: must run as root (or with passwordless sudo) to install: ${missing[*]}" >&2; exit 2; fi
  fi
  say "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # A stale or missing package list makes install fail; refresh it once per setup run.
  $SUDO apt-get update -q >/dev/null
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  say "installed ${#missing[@]} package(s)"
fi

if ! command -v swift >/dev/null 2>&1; then
  say "error: swift not on PATH; install Swift 6.1 or newer (https://swift.org/install) and retry" >&2; exit 2
fi
say "swift: $(swift --version 2>/dev/null | head -n1)"
