#!/usr/bin/env bash
# The README's overlay pictures, made again: the viewer under Xvfb with the overlay on (H), screenshotted with
# ImageMagick's `import` as a person would see the window. plasma at 640x480; the particle galaxy at 960x720 with the
# pointer over one of its arms, so its lens (fp.input) and its parameter sliders show.
# Usage: scripts/overlay-screenshots.sh [--bin PATH] [--out DIR]   (default: .build/debug/framepipe, docs/)
# Needs xvfb-run, xdotool and imagemagick (scripts/setup.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."

bin=".build/debug/framepipe"
out="docs"
while [ $# -gt 0 ]; do
    case "$1" in
    --bin) bin="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "overlay-screenshots: unknown argument '$1' (expected --bin PATH or --out DIR)" >&2; exit 64 ;;
    esac
done
[ -x "$bin" ] || { echo "overlay-screenshots: no framepipe at $bin: build it (swift build) or pass --bin" >&2; exit 2; }
for tool in xvfb-run xdotool import; do
    command -v "$tool" >/dev/null || { echo "overlay-screenshots: $tool is missing: run scripts/setup.sh" >&2; exit 2; }
done
mkdir -p "$out"

# One picture: bash -c SHOT bash BIN KERNEL SIZE PNG POINTER(x,y in the window, or "none")
shot='
set -u
bin="$1" kernel="$2" size="$3" png="$4" pointer="$5"
"$bin" view "$kernel" --size "$size" --overlay &
viewer=$!
fail() { echo "overlay-screenshots: $*" >&2; kill "$viewer" 2>/dev/null; exit 1; }
window=""
for _ in $(seq 1 600); do
    window="$(xdotool search --name "^framepipe" 2>/dev/null | head -n 1)"
    [ -n "$window" ] && break
    kill -0 "$viewer" 2>/dev/null || fail "the viewer exited"
    sleep 0.2
done
[ -n "$window" ] || fail "no window in 120 s"
frame() { xdotool getwindowname "$window" | sed -n "s/.* — frame \([0-9]*\) — .*/\1/p"; }
wait_frame() { for _ in $(seq 1 1200); do [ "$(frame)" -ge "$1" ] 2>/dev/null && return 0; sleep 0.1; done; fail "no frame $1"; }
wait_frame 30
if [ "$pointer" != none ]; then
    xdotool mousemove --window "$window" "${pointer%,*}" "${pointer#*,}"
    start="$(frame)"
    wait_frame $(( start + 30 ))   # the panel has settled and the kernel has seen the pointer
fi
import -window "$window" "$png" || fail "import failed"
xdotool key --window "$window" Escape
wait "$viewer"
'
xvfb-run -a -s "-screen 0 1024x768x24" bash -c "$shot" bash "$bin" assets/kernels/plasma.wasm 640x480 "$out/overlay-plasma.png" none
xvfb-run -a -s "-screen 0 1024x768x24" bash -c "$shot" bash "$bin" assets/kernels/particles.wasm 960x720 "$out/overlay-particles.png" 640,300
echo "overlay-screenshots: $out/overlay-plasma.png $out/overlay-particles.png"
