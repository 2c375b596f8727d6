"""Benchmark ``ksql symbolize`` against scripts/decode_stacktrace.sh on the same oops.

Run on demand (not a pytest test)::

    .venv/bin/python benchmarks/bench_symbolize.py [--corpus DIR] [--frames N] [--repeat N]
                                                   [--script PATH]

The oops is written in Linux 6.1's x86 format (arch/x86/kernel/dumpstack.c: `` <TASK>``,
one ``%pBb`` frame a line, ``? `` on unreliable ones, dmesg timestamps) from real symbols:
``N`` frames, nine in ten of them core-kernel functions of the corpus ``System.map`` at
their real ``%pS`` size, one in ten in the committed DWARF test module
``tests/data/symbolize/ksym-test.ko``. Both tools get the corpus ``vmlinux`` and the module
directory. ksql is timed as whole processes, warm (its load cache and Python's bytecode
cache filled by one untimed run, in a private temporary directory), ``--repeat`` times:
best and median of wall and CPU time (user + system; on a shared machine the wall time
also counts waiting for a core); the script once (it forks ``nm`` per frame, ``addr2line``
per address). The goal: 100 frames in <= 0.5 s.
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, corpus_dir

KSYM = REPO / "tests" / "data" / "symbolize"
GOAL_S = 0.5
_MODULE_FRAMES = [
    "ksym_b_entry+0x5/0x12 [ksym_test]",
    "ksym_a_entry+0x1c/0x30 [ksym_test]",
    "ksym_init+0x10/0x1000 [ksym_test]",
    "helper+0x5/0x30 [ksym_test]",
]


def make_oops(system_map: Path, frames: int) -> str:
    """An oops of ``frames`` frames from System.map's text symbols."""
    rows = []
    for line in system_map.read_text().splitlines():
        addr, letter, name = line.split()[:3]
        rows.append((int(addr, 16), letter, name))
    starts = sorted({a for a, _, _ in rows})
    nxt = dict(itertools.pairwise(starts))
    seen: set[int] = set()
    funcs = []
    for a, letter, name in rows:
        if letter in "tT" and a not in seen and a in nxt and not name.startswith("_"):
            seen.add(a)
            funcs.append((name, nxt[a] - a))
    step = max(1, len(funcs) // frames)
    out = [
        "[  100.000000] BUG: kernel NULL pointer dereference, address: 0000000000000008",
        "[  100.000001] RIP: 0010:helper+0x5/0x30 [ksym_test]",
        "[  100.000002] Call Trace:",
        "[  100.000003]  <TASK>",
    ]
    for i in range(frames):
        if i % 10 == 9:
            frame = _MODULE_FRAMES[(i // 10) % len(_MODULE_FRAMES)]
        else:
            name, size = funcs[(i * step) % len(funcs)]
            frame = f"{name}+{size // 2:#x}/{size:#x}"
        mark = "? " if i % 7 == 3 else ""
        out.append(f"[  100.{i + 4:06d}]  {mark}{frame}")
    out.append(f"[  100.{frames + 4:06d}]  </TASK>")
    return "\n".join(out) + "\n"


def time_run(argv: list[str], stdin: str, env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (user + system of the process and its children: on a
    shared machine the wall time also counts waiting for a core) and the output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode not in (0, 1):
        raise SystemExit(f"bench: {argv[0]} failed: {done.stderr.strip()[:300]}")
    return elapsed, cpu, done.stdout


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus")
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--script", help="decode_stacktrace.sh (default: the 6.1 source tree's)")
    args = ap.parse_args()
    corpus = corpus_dir(args.corpus)
    vmlinux, system_map = corpus / "vmlinux", corpus / "System.map"
    script = Path(
        args.script
        or corpus.parent / "src" / "linux-source-6.1" / "scripts" / "decode_stacktrace.sh"
    )
    oops = make_oops(system_map, args.frames)
    ksql = [sys.executable, "-m", "ksql", "symbolize", "-s", str(vmlinux), "--modules", str(KSYM)]
    with tempfile.TemporaryDirectory(prefix="ksql-bench-") as cache:
        # warm: the load cache and the bytecode cache (as an installed package has it;
        # kept in the temporary directory, whatever PYTHONDONTWRITEBYTECODE says)
        env = dict(os.environ, KSQL_CACHE_DIR=cache, PYTHONPYCACHEPREFIX=f"{cache}/pyc")
        env.pop("KSQL_NO_CACHE", None)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        time_run(ksql, oops, env)  # fills both caches
        runs = [time_run(ksql, oops, env) for _ in range(args.repeat)]
    ours = runs[0][2]
    walls, cpus = sorted(r[0] for r in runs), sorted(r[1] for r in runs)
    best, best_cpu = walls[0], cpus[0]
    wall_med, cpu_med = statistics.median(walls), statistics.median(cpus)
    print(f"oops: {args.frames} frames ({args.frames // 10} in ksym-test.ko), vmlinux {vmlinux}")
    print(
        f"ksql symbolize (warm, whole process, {args.repeat} runs): wall best {best:.3f} s, "
        f"median {wall_med:.3f} s; CPU best {best_cpu:.3f} s, median {cpu_med:.3f} s; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    verdict = "meets" if wall_med <= GOAL_S else "MISSES"
    print(f"  goal <= {GOAL_S} s (median wall): {verdict}")
    if not script.exists():
        print(f"decode_stacktrace.sh: not found at {script}; no ratio")
        return 0
    theirs_s, theirs_cpu, theirs = time_run(
        ["bash", str(script), str(vmlinux), "auto", str(KSYM)], oops, dict(os.environ)
    )
    print(f"decode_stacktrace.sh (6.1, once): {theirs_s:.3f} s wall, {theirs_cpu:.3f} s CPU")
    print(
        f"ratio ksql (median) / decode_stacktrace.sh: wall {wall_med / theirs_s:.4f} "
        f"({theirs_s / wall_med:.0f}x faster), CPU {cpu_med / theirs_cpu:.4f}"
    )
    same = sum(a == b for a, b in zip(ours.splitlines(), theirs.splitlines(), strict=False))
    print(f"identical output lines: {same} of {len(oops.splitlines())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
