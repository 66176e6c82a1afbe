#!/usr/bin/env bash
# build-kernels.sh — builds Framepipe's WebAssembly kernel assets.
#
#   assets/kernels/NAME.c                       -> assets/kernels/NAME.wasm       (clang, wasm-ld; freestanding)
#   assets/kernels/NAME.c, NAME in SIMD_KERNELS -> assets/kernels/NAME.simd.wasm  (same + simd128)
#   assets/kernels/NAME.libc.c                  -> assets/kernels/NAME.wasm       (clang, wasi-libc reactor)
#   assets/kernels/NAME.cpp                     -> assets/kernels/NAME.wasm       (clang++, libc++ + wasi-libc reactor)
#   assets/kernels/NAME.rs                      -> assets/kernels/NAME.wasm       (Debian rustc 1.63, no_std, SDK crate)
#   Tests/KernelRuntimeTests/BadModules/*.wat   -> .../BadModules/*.wasm          (wat2wasm, wabt)
#   assets/kernels/plasma.wasm (first 40 bytes) -> .../BadModules/truncated.wasm
#
# NAME.wasm is MVP + bulk memory (ABI v1), for every engine; NAME.simd.wasm adds simd128 and is
# what a compiling engine (wasmtime) loads instead, while the WasmKit interpreter keeps NAME.wasm.
# SIMD_KERNELS lists only kernels whose SIMD build measured faster in wasmtime and gives the same
# output bytes as the MVP build (scripts/simd-check.py checks both).
#
# Each freestanding NAME.c is also compiled natively (syntax and warnings only): the same .c is
# built into Sources/NativeKernels for kernel-bench, through a wrapper native_NAME.c that
# must exist for every such kernel. Kernels with a runtime library are wasm-only, so they are
# told apart by their suffix: NAME.libc.c (C with wasi-libc), NAME.cpp (C++ with libc++ and
# wasi-libc), NAME.rs (Rust, no_std, on assets/sdk/rust/framepipe); these get no native check,
# no wrapper and no SIMD build. Their flags are docs/kernel-abi.md's "Building kernels with libc".
#
# Usage:
#   scripts/build-kernels.sh           build in place (and delete any NAME.simd.wasm
#                                      whose NAME is not in SIMD_KERNELS)
#   scripts/build-kernels.sh --check   build into a temp dir; exit 1 listing every
#                                      committed .wasm that is missing or differs, and
#                                      every NAME.simd.wasm not in SIMD_KERNELS
#
# Output is deterministic: the same toolchain gives byte-identical .wasm files.
# Compiler: /opt/swift/usr/bin/clang (Swift toolchain, ships wasm-ld) when present,
# else `clang` on PATH (Debian: clang + lld). Libc and C++ kernels also need Debian's wasi-libc,
# libclang-rt-dev-wasm32 and libc++-dev-wasm32; Rust kernels /usr/bin/rustc (Debian rustc 1.63,
# never a rustup rustc earlier on PATH), libstd-rust-dev-wasm32 and lld-14 (/usr/bin/rust-lld).
set -euo pipefail

die() { echo "build-kernels: error: $*" >&2; exit 2; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

KERNEL_DIR="assets/kernels"
WORK="$(mktemp -d)"  # scratch: the Rust SDK's rlib, and --check's build
trap 'rm -rf "$WORK"' EXIT
BAD_DIR="Tests/KernelRuntimeTests/BadModules"

mode="build"
case "${1:-}" in
    "") ;;
    --check) mode="check" ;;
    -h|--help) sed -n '2,36p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (expected --check or nothing)" ;;
esac
[ "$#" -le 1 ] || die "too many arguments"

# ---- tools ----
if [ -x /opt/swift/usr/bin/clang ]; then
    CLANG=/opt/swift/usr/bin/clang
elif command -v clang >/dev/null 2>&1; then
    CLANG="$(command -v clang)"
else
    die "clang not found: install the Swift toolchain at /opt/swift, or Debian packages 'clang' and 'lld'"
fi
# clang finds wasm-ld next to itself or on PATH.
if [ ! -x "$(dirname "$CLANG")/wasm-ld" ] && ! command -v wasm-ld >/dev/null 2>&1; then
    die "wasm-ld not found for $CLANG: install Debian package 'lld' (or use the Swift toolchain at /opt/swift)"
fi
command -v wat2wasm >/dev/null 2>&1 || die "wat2wasm not found: install Debian package 'wabt'"

shopt -s nullglob
LIBC_SOURCES=("$KERNEL_DIR"/*.libc.c)
CXX_SOURCES=("$KERNEL_DIR"/*.cpp)
RUST_SOURCES=("$KERNEL_DIR"/*.rs)
shopt -u nullglob
# Checked only when a kernel needs them, each naming the Debian package that provides it.
if [ "${#LIBC_SOURCES[@]}" -gt 0 ] || [ "${#CXX_SOURCES[@]}" -gt 0 ]; then
    [ -f /usr/lib/wasm32-wasi/libc.a ] ||
        die "wasi-libc not found (/usr/lib/wasm32-wasi/libc.a): install Debian package 'wasi-libc' (scripts/setup.sh)"
    BUILTINS="$(ls /usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a 2>/dev/null | head -1 || true)"
    [ -n "$BUILTINS" ] ||
        die "compiler-rt builtins for wasm32 not found: install Debian package 'libclang-rt-dev-wasm32' (scripts/setup.sh)"
fi
if [ "${#CXX_SOURCES[@]}" -gt 0 ]; then
    CLANGXX="$(dirname "$CLANG")/clang++"
    [ -x "$CLANGXX" ] || CLANGXX="$(command -v clang++ || true)"
    [ -n "$CLANGXX" ] || die "clang++ not found next to $CLANG or on PATH: install Debian package 'clang'"
    CXX_HEADERS=/usr/include/wasm32-wasi/c++/v1
    [ -f "$CXX_HEADERS/vector" ] && [ -f /usr/lib/wasm32-wasi/libc++.a ] && [ -f /usr/lib/wasm32-wasi/libc++abi.a ] ||
        die "libc++ for wasm32-wasi not found ($CXX_HEADERS, /usr/lib/wasm32-wasi/libc++.a): install Debian package 'libc++-dev-wasm32' (scripts/setup.sh)"
fi
if [ "${#RUST_SOURCES[@]}" -gt 0 ]; then
    # Debian's rustc by its path: a rustup rustc earlier on PATH is another compiler (other bytes).
    RUSTC=/usr/bin/rustc
    [ -x "$RUSTC" ] || die "rustc not found at $RUSTC: install Debian package 'rustc' (scripts/setup.sh)"
    [ -d /usr/lib/rustlib/wasm32-unknown-unknown/lib ] ||
        die "Rust's core for wasm32-unknown-unknown not found: install Debian package 'libstd-rust-dev-wasm32' (scripts/setup.sh)"
    # /usr/bin/rust-lld is a link to lld-14, which the rustc package does not pull in; given by
    # path, so no other rust-lld on PATH links instead.
    RUST_LLD=/usr/bin/rust-lld
    [ -x "$RUST_LLD" ] || die "rust-lld not found ($RUST_LLD -> lld-14): install Debian package 'lld-14' (scripts/setup.sh)"
fi

# MVP + bulk memory only (ABI v1). The name section is kept (no --strip-all): a trap's backtrace and a
# profile name the kernel's functions. Without -g there is no DWARF, and the output depends on nothing
# but the source and the toolchain.
CFLAGS=(
    --target=wasm32 -mcpu=mvp -mbulk-memory
    -O2 -ffreestanding -nostdlib
    -Wall -Wextra -Werror
    -I "$KERNEL_DIR/include"
    -Wl,--no-entry -Wl,--stack-first
)
# Kernels that also get NAME.simd.wasm: CFLAGS plus simd128 (still MVP + bulk memory otherwise).
# Chosen by scripts/simd-check.py (wasmtime, 512x512): plasma 0.34x, grayscott 0.36x, life 0.20x,
# particles 0.87x the MVP build's time. Left out: mandelbrot (clang emits no SIMD: the same bytes).
SIMD_KERNELS=(plasma particles grayscott life)
SIMD_CFLAGS=("${CFLAGS[@]}" -msimd128)
# The native side of the dual-target header (framepipe.h without __wasm__), as NativeKernels
# compiles it. -Wno-unused-function: natively FP_EXPORT functions are static, and only the
# NativeKernels wrapper uses them.
NATIVE_CFLAGS=(
    -fsyntax-only -std=c11 -ffp-contract=off
    -Wall -Wextra -Werror -Wno-unused-function
    -I "$KERNEL_DIR/include"
)
NATIVE_DIR="Sources/NativeKernels"
# Kernels with libc (NAME.libc.c, NAME.cpp): MVP + bulk memory, a reactor (_initialize runs libc's
# constructors before fp_init); -nodefaultlibs and the builtins archive by path because the Swift
# toolchain's clang looks for wasm32 builtins it does not ship; --strip-debug drops libc.a's DWARF
# but keeps the name section (readable backtraces), which depends only on the sources.
LIBC_CFLAGS=(
    --target=wasm32-wasi --sysroot=/usr -mcpu=mvp -mbulk-memory -O2 -mexec-model=reactor -nodefaultlibs
    -Wall -Wextra -Werror -Wl,--strip-debug -I assets/sdk/c
)
CXXFLAGS=(
    "${LIBC_CFLAGS[@]}" -nostdinc++ -isystem /usr/include/wasm32-wasi/c++/v1 -fno-exceptions -fno-rtti
    -I assets/sdk/cpp
)
# Rust kernels: no_std on wasm32-unknown-unknown (MVP with rustc 1.63's LLVM 14), the SDK crate as
# an rlib. Paths are remapped so the bytes (panic locations) do not depend on the checkout or
# the temp dir; one codegen unit so nothing depends on how the work was split.
RUSTFLAGS_COMMON=(
    --edition 2021 --target wasm32-unknown-unknown -O -C panic=abort -C codegen-units=1
    --remap-path-prefix "$ROOT=."
)

# build_all OUT: writes every artifact under OUT, mirroring the repo layout.
build_all() {
    local out="$1" src dst pre=""
    [ "$out" = "." ] || pre="$out/"
    mkdir -p "$out/$KERNEL_DIR" "$out/$BAD_DIR"
    shopt -s nullglob
    for src in "$KERNEL_DIR"/*.c; do
        case "$src" in *.libc.c) continue ;; esac  # built with libc below
        dst="$pre${src%.c}.wasm"
        echo "clang    $src -> $dst"
        "$CLANG" "${CFLAGS[@]}" -o "$dst" "$src"
        chmod 644 "$dst"  # wasm-ld marks its output executable
        echo "native   $src (compile check)"
        "$CLANG" "${NATIVE_CFLAGS[@]}" "$src"
        local stem; stem="$(basename "${src%.c}")"
        [ -f "$NATIVE_DIR/native_$stem.c" ] ||
            die "$NATIVE_DIR/native_$stem.c is missing: add a wrapper for $src (see $NATIVE_DIR/native_kernel_entry.h) and list it in native_kernels.c"
    done
    for src in "${LIBC_SOURCES[@]}"; do
        dst="$pre${src%.libc.c}.wasm"
        echo "clang    $src -> $dst (wasi-libc)"
        "$CLANG" "${LIBC_CFLAGS[@]}" -o "$dst" "$src" -lc "$BUILTINS"
        chmod 644 "$dst"
    done
    for src in "${CXX_SOURCES[@]}"; do
        dst="$pre${src%.cpp}.wasm"
        echo "clang++  $src -> $dst (libc++, wasi-libc)"
        "$CLANGXX" "${CXXFLAGS[@]}" -o "$dst" "$src" -lc++ -lc++abi -lc "$BUILTINS"
        chmod 644 "$dst"
    done
    if [ "${#RUST_SOURCES[@]}" -gt 0 ]; then
        local crate="$WORK/crate"
        mkdir -p "$crate"
        # The rlib's own temp dir is remapped too: its path must not reach the kernel's bytes.
        local rustflags=("${RUSTFLAGS_COMMON[@]}" --remap-path-prefix "$crate=.")
        echo "rustc    assets/sdk/rust/framepipe/src/lib.rs -> libframepipe.rlib"
        "$RUSTC" "${rustflags[@]}" --crate-type rlib --crate-name framepipe \
            assets/sdk/rust/framepipe/src/lib.rs -o "$crate/libframepipe.rlib"
        for src in "${RUST_SOURCES[@]}"; do
            dst="$pre${src%.rs}.wasm"
            echo "rustc    $src -> $dst (no_std)"
            "$RUSTC" "${rustflags[@]}" --crate-type cdylib -C strip=debuginfo -C linker="$RUST_LLD" \
                --extern framepipe="$crate/libframepipe.rlib" -L "$crate" -o "$dst" "$src"
            chmod 644 "$dst"
        done
    fi
    local name
    for name in "${SIMD_KERNELS[@]}"; do
        src="$KERNEL_DIR/$name.c"
        [ -f "$src" ] || die "SIMD_KERNELS lists '$name' but $src does not exist"
        dst="$pre$KERNEL_DIR/$name.simd.wasm"
        echo "clang    $src -> $dst (simd128)"
        "$CLANG" "${SIMD_CFLAGS[@]}" -o "$dst" "$src"
        chmod 644 "$dst"
    done
    for src in "$BAD_DIR"/*.wat "$BAD_DIR"/fuzz/*.wat; do
        dst="$pre${src%.wat}.wasm"
        mkdir -p "$(dirname "$dst")"
        echo "wat2wasm $src -> $dst"
        # --debug-names keeps function names, so traps come with a readable wasm backtrace;
        # --enable-tail-call, --enable-threads: corpus modules loop through return_call, and one uses atomics.
        # invalid-*.wat are meant not to validate (their .wat says how): built without the check.
        local check=(); case "$(basename "$src")" in invalid-*) check=(--no-check) ;; esac
        wat2wasm --debug-names --enable-tail-call --enable-threads "${check[@]}" -o "$dst" "$src"
    done
    shopt -u nullglob
    [ -f "$pre$KERNEL_DIR/plasma.wasm" ] || die "$KERNEL_DIR/plasma.c is missing; truncated.wasm needs it"
    echo "head -c 40 $pre$KERNEL_DIR/plasma.wasm -> $pre$BAD_DIR/truncated.wasm"
    head -c 40 "$pre$KERNEL_DIR/plasma.wasm" > "$pre$BAD_DIR/truncated.wasm"
}

# stale_simd: each committed NAME.simd.wasm whose NAME is not in SIMD_KERNELS (a host would
# still pick it up as the SIMD build).
stale_simd() {
    local f name
    shopt -s nullglob
    for f in "$KERNEL_DIR"/*.simd.wasm; do
        name="$(basename "${f%.simd.wasm}")"
        [[ " ${SIMD_KERNELS[*]} " == *" $name "* ]] || echo "$f"
    done
    shopt -u nullglob
}

if [ "$mode" = "build" ]; then
    build_all "."
    while IFS= read -r f; do
        echo "rm       $f (not in SIMD_KERNELS)"
        rm -f "$f"
    done < <(stale_simd)
    echo "done."
    exit 0
fi

tmp="$WORK/out"
echo "build-kernels: building into $tmp to compare with the checkout"
build_all "$tmp" > /dev/null
stale=0
while IFS= read -r built; do
    rel="${built#"$tmp"/}"
    if [ ! -f "$rel" ]; then
        echo "missing: $rel"; stale=1
    elif ! cmp -s "$built" "$rel"; then
        echo "differs: $rel"; stale=1
    fi
done < <(find "$tmp" -type f -name '*.wasm' | LC_ALL=C sort)
while IFS= read -r f; do
    echo "stale:   $f (not in SIMD_KERNELS)"; stale=1
done < <(stale_simd)
if [ "$stale" -ne 0 ]; then
    echo "build-kernels: committed .wasm files are out of date; run scripts/build-kernels.sh" >&2
    exit 1
fi
echo "build-kernels: all .wasm files up to date."
