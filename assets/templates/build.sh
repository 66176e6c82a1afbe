#!/usr/bin/env bash
# build.sh — builds @NAME@.wasm, a Framepipe kernel (Kernel ABI v1), from @SOURCE@.
# Written by `framepipe new @NAME@ --lang @LANG@`; it is yours to change.
#
#   ./build.sh           optimised, function names kept (a trap's backtrace names functions)
#   ./build.sh --debug   also DWARF line tables (backtraces give file:line; larger and slower to load)
#
# Tools are looked for in this order; set the variable to choose one yourself:
#   CLANG         clang on PATH, then the Swift toolchain's clang (next to `swift`, or /opt/swift/usr/bin)
#   WASI_SYSROOT  /usr (Debian: wasi-libc, libc++-dev-wasm32), then /opt/wasi-sdk/share/wasi-sysroot
#   BUILTINS      compiler-rt for wasm32 (Debian: libclang-rt-dev-wasm32; wasi-sdk ships its own)
#   RUSTC         Debian's /usr/bin/rustc, then rustc on PATH — the first with a wasm32-wasi target
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

NAME="@NAME@"
KERNEL_LANG="@LANG@"
SOURCE="@SOURCE@"
OUTPUT="$NAME.wasm"

die() { echo "build.sh: error: $*" >&2; exit 2; }
trap 'rm -f "$OUTPUT.tmp"' EXIT

debug=0
case "${1:-}" in
    "") ;;
    --debug) debug=1 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (expected --debug or nothing)" ;;
esac

find_clang() {
    local candidate swift_bin
    if [ -n "${CLANG:-}" ]; then
        [ -x "$CLANG" ] || command -v "$CLANG" >/dev/null 2>&1 || die "CLANG=$CLANG is not an executable"
        echo "$CLANG"; return
    fi
    swift_bin="$(dirname "$(command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)")"
    for candidate in "$(command -v clang 2>/dev/null || true)" "$swift_bin/clang" /opt/swift/usr/bin/clang; do
        [ -n "$candidate" ] && [ -x "$candidate" ] || continue
        # clang needs wasm-ld (LLVM's lld) beside it or on PATH to link wasm.
        if [ -x "$(dirname "$candidate")/wasm-ld" ] || command -v wasm-ld >/dev/null 2>&1; then
            echo "$candidate"; return
        fi
    done
    die "no clang with wasm-ld found: install Debian packages 'clang' and 'lld', or the Swift toolchain (it ships both), or set CLANG"
}

find_sysroot() {
    local candidate
    for candidate in ${WASI_SYSROOT:-} /usr /opt/wasi-sdk/share/wasi-sysroot; do
        if [ -f "$candidate/lib/wasm32-wasi/libc.a" ]; then echo "$candidate"; return; fi
    done
    die "wasi-libc not found (lib/wasm32-wasi/libc.a under /usr or /opt/wasi-sdk/share/wasi-sysroot): install Debian package 'wasi-libc', or wasi-sdk, or set WASI_SYSROOT"
}

find_builtins() {
    local clang="$1" candidate
    if [ -n "${BUILTINS:-}" ]; then
        [ -f "$BUILTINS" ] || die "BUILTINS=$BUILTINS does not exist"
        echo "$BUILTINS"; return
    fi
    for candidate in /usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a \
        "$("$clang" -print-resource-dir)"/lib/wasi/libclang_rt.builtins-wasm32.a \
        /opt/wasi-sdk/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a; do
        if [ -f "$candidate" ]; then echo "$candidate"; return; fi
    done
    die "compiler-rt builtins for wasm32 not found: install Debian package 'libclang-rt-dev-wasm32', or set BUILTINS"
}

# find_rustc: prints "RUSTC TARGET" for the first rustc that has a wasm32 WASI standard library.
find_rustc() {
    local candidate target
    for candidate in ${RUSTC:-} /usr/bin/rustc "$(command -v rustc 2>/dev/null || true)"; do
        [ -n "$candidate" ] && [ -x "$candidate" ] || continue
        # Rust 1.78 renamed wasm32-wasi to wasm32-wasip1 (and later removed the old name).
        for target in wasm32-wasi wasm32-wasip1; do
            if [ -d "$("$candidate" --print target-libdir --target "$target" 2>/dev/null)" ]; then
                echo "$candidate $target"; return
            fi
        done
    done
    die "no rustc with the wasm32-wasi standard library: install Debian packages 'rustc', 'libstd-rust-dev-wasm32' and 'lld-14' (rust-lld), or run 'rustup target add wasm32-wasip1', or set RUSTC"
}

build_c_family() {
    local clang sysroot builtins
    clang="$(find_clang)"
    sysroot="$(find_sysroot)"
    builtins="$(find_builtins "$clang")"
    # MVP + bulk memory: what every Framepipe engine runs (docs/kernel-abi.md, "Building").
    # A reactor (-mexec-model=reactor): the host calls _initialize, then the fp_* exports.
    local flags=(--target=wasm32-wasi --sysroot="$sysroot" -mcpu=mvp -mbulk-memory -O2 -mexec-model=reactor
        -nodefaultlibs -Wall -Wextra -I .)
    if [ "$debug" -eq 1 ]; then flags+=(-g); else flags+=(-Wl,--strip-debug); fi
    local libraries=(-lc "$builtins")
    if [ "$KERNEL_LANG" = cpp ]; then
        local cxx_headers=""
        for candidate in "$sysroot/include/wasm32-wasi/c++/v1" "$sysroot/include/c++/v1"; do
            [ -d "$candidate" ] && { cxx_headers="$candidate"; break; }
        done
        [ -n "$cxx_headers" ] || die "libc++ headers for wasm32-wasi not found under $sysroot: install Debian package 'libc++-dev-wasm32', or set WASI_SYSROOT"
        # No exceptions or RTTI: the kernel ABI has no way to unwind, and they cost size.
        flags+=(-std=c++17 -nostdinc++ -isystem "$cxx_headers" -fno-exceptions -fno-rtti)
        libraries=(-lc++ -lc++abi "${libraries[@]}")
    fi
    "$clang" "${flags[@]}" -o "$OUTPUT.tmp" "$SOURCE" "${libraries[@]}"
}

build_rust() {
    local rustc target
    read -r rustc target < <(find_rustc)
    local libdir; libdir="$("$rustc" --print target-libdir --target "$target")"
    local work; work="$(mktemp -d)"
    trap 'rm -rf "$work"' RETURN
    local flags=(--edition 2021 --target "$target" -O -C codegen-units=1 --remap-path-prefix "$PWD=.")
    if [ "$debug" -eq 1 ]; then flags+=(-g); else flags+=(-C strip=debuginfo); fi
    "$rustc" "${flags[@]}" --crate-type rlib --crate-name framepipe --cfg 'feature="std"' \
        -o "$work/libframepipe.rlib" framepipe/src/lib.rs
    # crt1-reactor.o makes a reactor (the host calls _initialize once, then the fp_* exports);
    # without it every export would run the standard library's constructors and destructors.
    local reactor="$libdir/self-contained/crt1-reactor.o"
    [ -f "$reactor" ] || die "$reactor not found: this rustc's $target library has no reactor start file"
    "$rustc" "${flags[@]}" --crate-type cdylib --crate-name "${NAME//-/_}" \
        -C link-arg="$reactor" -C link-arg=--export=_initialize \
        --extern framepipe="$work/libframepipe.rlib" -L "$work" -o "$OUTPUT.tmp" "$SOURCE" ||
        die "rustc failed (if it says rust-lld is missing: install Debian package 'lld-14')"
}

case "$KERNEL_LANG" in
    c|cpp) build_c_family ;;
    rust) build_rust ;;
    *) die "unknown language '$KERNEL_LANG'" ;;
esac
# Written beside, then renamed: a viewer watching $OUTPUT never loads half a module.
chmod 644 "$OUTPUT.tmp"
mv -f "$OUTPUT.tmp" "$OUTPUT"
echo "built $OUTPUT ($(wc -c < "$OUTPUT") bytes)"
