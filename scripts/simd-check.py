#!/usr/bin/env python3
"""simd-check.py - compare each kernel's SIMD build with its MVP build in wasmtime.

Usage: scripts/simd-check.py [--wasmtime-path DIR] [--dir DIR] [--frames N] [--rounds N]
                             [--size WxH] [KERNEL ...]

For each KERNEL (default: every NAME with a NAME.simd.wasm in --dir, which defaults to
assets/kernels) it loads DIR/NAME.wasm (MVP + bulk memory) and DIR/NAME.simd.wasm (the same
plus simd128) in wasmtime (Cranelift) and:

  1. identity: frames 0..N-1 (--frames, default 6) at 512x512 and at 37x23 (odd sizes must
     produce the same bytes from both builds), one fresh instance per build and size, each
     frame one fp_frame call over the whole range, time = frame / 60;
  2. timing: ms per fp_frame call at --size (default 512x512), both builds in lockstep on one
     instance each; after 2 warm-up frames, each of --rounds rounds (default 10) runs the next
     frame on both builds, alternating which goes first. Prints median, min and max. The
     timing run's frames are compared too.

Exit status: 0 when every SIMD build gives the same bytes as its MVP build, 1 when one does not
(the first difference and the number of differing bytes are printed), 2 on a usage or load error.

The wasmtime Python package (tested with wasmtime==50.0.1) is taken from --wasmtime-path DIR,
else from PYTHONPATH, else from .deps/wasmtime in the repository root if present. Install it into a
private folder with:  pip install --target /tmp/wtpy wasmtime==50.0.1
"""

import argparse
import os
import statistics
import struct
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FORMAT_RGBA8, FORMAT_F32_FIELD, FORMAT_POINTS = 1, 2, 3
POINT_BYTES = 32
WARMUP_FRAMES = 2


def fail(message):
    print(f"simd-check: {message}", file=sys.stderr)
    sys.exit(2)


def import_wasmtime(path):
    """Imports wasmtime from --wasmtime-path DIR, else PYTHONPATH (or site), else .deps/wasmtime.

    DIR and .deps/wasmtime are folders holding the package (pip install --target DIR ...);
    .deps/wasmtime may also be the package folder itself."""
    deps = os.path.join(ROOT, ".deps", "wasmtime")
    if path:
        sys.path.insert(0, path)
    try:
        import wasmtime
        return wasmtime
    except ImportError:
        if path or not os.path.isdir(deps):
            fail("cannot import wasmtime: pip install --target DIR wasmtime==50.0.1, "
                 "then pass --wasmtime-path DIR or set PYTHONPATH=DIR")
    is_package = os.path.isfile(os.path.join(deps, "__init__.py"))
    sys.path.insert(0, os.path.dirname(deps) if is_package else deps)
    try:
        import wasmtime
        return wasmtime
    except ImportError as error:
        fail(f"cannot import wasmtime from {deps}: {error}")


class Kernel:
    """One instance of a kernel module, driven through the ABI v1 exports."""

    def __init__(self, wt, engine, module, width, height):
        self.store = wt.Store(engine)
        linker = wt.Linker(engine)
        i32, f32 = wt.ValType.i32(), wt.ValType.f32()
        linker.define_func("fp", "log", wt.FuncType([i32, i32], []), lambda ptr, length: None)
        linker.define_func("fp", "input", wt.FuncType([i32], [f32]), lambda what: 0.0)
        # fp.param answers each parameter's initial value, as a headless run without --param does
        # (docs/kernel-abi.md, "Parameters"): read from the kernel's table once it is instantiated.
        self.parameters = []
        linker.define_func("fp", "param", wt.FuncType([i32], [f32]),
                           lambda index: self.parameters[index] if 0 <= index < len(self.parameters) else 0.0)
        instance = linker.instantiate(self.store, module)
        exports = instance.exports(self.store)
        self.exports = exports
        self.memory = exports["memory"]
        if "fp_param_count" in exports:
            count = exports["fp_param_count"](self.store)
            table = exports["fp_params"](self.store) & 0xFFFFFFFF
            raw = bytes(self.memory.read(self.store, table, table + 44 * count))
            # Entry: name[32], then min, max, initial as little-endian f32.
            self.parameters = [struct.unpack_from("<f", raw, 44 * i + 40)[0] for i in range(count)]
        self.frame_fn = exports["fp_frame"]
        call = lambda name: exports[name](self.store)
        if call("fp_abi_version") != 1:
            raise RuntimeError("fp_abi_version is not 1")
        self.format = call("fp_format")
        self.stateful = "fp_stateful" in exports and call("fp_stateful") == 1
        rc = exports["fp_init"](self.store, width, height)
        if rc != 0:
            raise RuntimeError(f"fp_init({width}, {height}) returned {rc}")
        if self.format in (FORMAT_RGBA8, FORMAT_F32_FIELD):
            self.units, self.unit_bytes = height, width * 4
        elif self.format == FORMAT_POINTS:
            self.units, self.unit_bytes = call("fp_points"), POINT_BYTES
        else:
            raise RuntimeError(f"unknown fp_format {self.format}")

    def frame(self, n):
        """Runs frame n over the whole range; returns (output bytes, seconds in fp_frame)."""
        start = time.perf_counter()
        rc = self.frame_fn(self.store, n, n / 60.0, 0, self.units)
        elapsed = time.perf_counter() - start
        if rc != 0:
            raise RuntimeError(f"fp_frame({n}) returned {rc}")
        offset = self.exports["fp_output"](self.store) & 0xFFFFFFFF
        size = self.units * self.unit_bytes
        return bytes(self.memory.read(self.store, offset, offset + size)), elapsed


def package_version():
    try:
        from importlib.metadata import version
        return version("wasmtime")
    except Exception:  # a package without its dist-info
        return "(version unknown)"


def first_difference(a, b):
    """(index of the first differing byte, number of differing bytes)."""
    diffs = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
    return (diffs[0] if diffs else None), len(diffs) + abs(len(a) - len(b))


def parse_size(text):
    try:
        w, h = (int(v) for v in text.lower().split("x"))
        return w, h
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WxH, got '{text}'")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 4)[4],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kernels", nargs="*", metavar="KERNEL")
    ap.add_argument("--wasmtime-path", metavar="DIR", help="folder holding the wasmtime package")
    ap.add_argument("--dir", default=os.path.join(ROOT, "assets", "kernels"),
                    help="folder with NAME.wasm and NAME.simd.wasm (default: assets/kernels)")
    ap.add_argument("--frames", type=int, default=6, help="frames compared per size (default 6)")
    ap.add_argument("--rounds", type=int, default=10, help="timed rounds (default 10)")
    ap.add_argument("--size", type=parse_size, default=(512, 512), help="timing size (default 512x512)")
    args = ap.parse_args()
    if args.frames < 1 or args.rounds < 1:
        ap.error("--frames and --rounds must be at least 1")

    wt = import_wasmtime(args.wasmtime_path)
    names = args.kernels or sorted(f[:-len(".simd.wasm")] for f in os.listdir(args.dir)
                                   if f.endswith(".simd.wasm"))
    if not names:
        fail(f"no NAME.simd.wasm in {args.dir}")

    engine = wt.Engine()  # default config: Cranelift, SIMD enabled
    identical = True
    rows = []
    for name in names:
        paths = [os.path.join(args.dir, name + suffix) for suffix in (".wasm", ".simd.wasm")]
        for p in paths:
            if not os.path.isfile(p):
                fail(f"{p} not found")
        mvp, simd = (wt.Module.from_file(engine, p) for p in paths)

        # 1. identity at 512x512 and at an odd size, a fresh instance per build and size.
        for (w, h) in ((512, 512), (37, 23)):
            a, b = Kernel(wt, engine, mvp, w, h), Kernel(wt, engine, simd, w, h)
            bad = []
            for n in range(args.frames):
                out_a, _ = a.frame(n)
                out_b, _ = b.frame(n)
                if out_a != out_b:
                    at, count = first_difference(out_a, out_b)
                    bad.append(f"frame {n}: {count} of {len(out_a)} bytes differ (first at {at})")
            verdict = "identical" if not bad else "DIFFERENT"
            print(f"{name:11s} {w}x{h}: frames 0..{args.frames - 1} {verdict}"
                  f" ({a.units * a.unit_bytes} bytes/frame)")
            for line in bad:
                print(f"    {line}")
            identical &= not bad

        # 2. timing, interleaved; stateful kernels need frames in order, so both run in lockstep.
        w, h = args.size
        a, b = Kernel(wt, engine, mvp, w, h), Kernel(wt, engine, simd, w, h)
        times = ([], [])
        mismatched = 0
        for n in range(WARMUP_FRAMES + args.rounds):
            order = (a, b) if n % 2 == 0 else (b, a)
            result = {}
            for k in order:
                result[k] = k.frame(n)
            if result[a][0] != result[b][0]:
                mismatched += 1
            if n >= WARMUP_FRAMES:
                times[0].append(result[a][1] * 1e3)
                times[1].append(result[b][1] * 1e3)
        if mismatched:
            print(f"{name:11s} {w}x{h}: {mismatched} of {WARMUP_FRAMES + args.rounds} timing-run frames DIFFERENT")
            identical = False
        rows.append((name, times, os.path.getsize(paths[0]), os.path.getsize(paths[1])))

    w, h = args.size
    print(f"\nwasmtime {package_version()}: ms per fp_frame call at {w}x{h}, "
          f"median [min..max] of {args.rounds} interleaved rounds")
    print(f"{'kernel':11s} {'MVP':>24s} {'SIMD':>24s} {'SIMD/MVP':>9s} {'bytes MVP':>10s} {'SIMD':>6s}")
    for name, (t_mvp, t_simd), size_mvp, size_simd in rows:
        cell = lambda t: f"{statistics.median(t):8.2f} [{min(t):6.2f}..{max(t):6.2f}]"
        ratio = statistics.median(t_simd) / statistics.median(t_mvp)
        print(f"{name:11s} {cell(t_mvp):>24s} {cell(t_simd):>24s} {ratio:8.2f}x {size_mvp:10d} {size_simd:6d}")
    if not identical:
        print("simd-check: some SIMD build does not give the same bytes as its MVP build", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as error:  # an ABI call refused or failed
        fail(str(error))
