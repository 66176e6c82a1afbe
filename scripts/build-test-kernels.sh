#!/usr/bin/env bash
# build-test-kernels.sh OUT_DIR — builds the kernels of Tests/KernelSources (C with wasi-libc) into OUT_DIR,
# as the test suite does at run time (WASIKernelSourceTests): the documented libc build of
# docs/kernel-abi.md ("Building kernels with libc"), names kept. Exits 2 naming what is missing.
set -euo pipefail
die() { echo "build-test-kernels: error: $*" >&2; exit 2; }
[ "$#" -eq 1 ] || die "usage: scripts/build-test-kernels.sh OUT_DIR"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$1"
mkdir -p "$OUT"
if [ -x /opt/swift/usr/bin/clang ]; then CLANG=/opt/swift/usr/bin/clang
elif command -v clang >/dev/null 2>&1; then CLANG="$(command -v clang)"
else die "clang not found: install the Swift toolchain or Debian packages 'clang' and 'lld'"; fi
[ -f /usr/lib/wasm32-wasi/libc.a ] || die "wasi-libc not found (/usr/lib/wasm32-wasi/libc.a): install Debian package 'wasi-libc' (scripts/setup.sh)"
BUILTINS="$(ls /usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a 2>/dev/null | head -1 || true)"
[ -n "$BUILTINS" ] || die "compiler-rt builtins for wasm32 not found: install Debian package 'libclang-rt-dev-wasm32' (scripts/setup.sh)"
for src in "$ROOT"/Tests/KernelSources/*.c; do
    name="$(basename "$src" .c)"
    "$CLANG" --target=wasm32-wasi --sysroot=/usr -mcpu=mvp -mbulk-memory -O2 -mexec-model=reactor -nodefaultlibs -Wl,--strip-debug \
        -I "$ROOT/assets/sdk/c" -o "$OUT/$name.wasm" "$src" -lc "$BUILTINS"
done
