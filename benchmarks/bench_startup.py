"""Time to first answer: whole ``ksql`` processes against ``nm`` in the same run.

Rows (each the median of ``--repeat`` paired runs: ksql then its reference, alternating, so
load on the machine hits both alike):

- ``ksql query exported -s vmlinux -f count``, cache warm and cold, vs ``nm -p vmlinux``;
- the whole module tree, ``-s modules/``, cold and warm, vs ``find … -name '*.ko*' | xargs
  nm -p`` (one core);
- ``ksql --version`` vs ``nm --version`` (interpreter start-up alone);
- the floor of any query: the interpreter importing numpy and lark, which every query needs
  (the catalog's columns, the query grammar), vs ``nm -p vmlinux``. A warm query cannot be
  quicker than this row: its ratio is the part of the warm goal the two libraries take;
- the ten slowest imports of a warm query (``python -X importtime``).

Run: ``.venv/bin/python benchmarks/bench_startup.py [--corpus DIR] [--repeat N] [--quick]``.
Stdlib and the project only.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    COLD,
    WARM,
    cache_mode,
    corpus_dir,
    ksql_argv,
    private_cache,
    ratio,
    section,
    table,
)
from _imports import import_top

GOALS = {  # the goals, ksql/reference
    "vmlinux, warm": 2.0,
    "vmlinux, cold": 3.0,
    "module tree, cold": 1.0,
    "module tree, warm": 0.30,
}


def _wall(argv: Sequence[str] | str, shell: bool = False) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, shell=shell, capture_output=True)
    took = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{argv}: exit {proc.returncode}: {proc.stderr.decode()[-500:]}")
    return took


def paired(
    ours: Sequence[str], theirs: Sequence[str] | str, n: int, mode: str | None
) -> tuple[float, float]:
    """Medians of ``n`` alternating runs of ``ours`` (in cache ``mode``) and ``theirs``."""
    a, b = [], []
    shell = isinstance(theirs, str)
    for i in range(n + (mode == WARM)):
        if mode is None:
            t = _wall(ours)
        else:
            with cache_mode(mode):
                t = _wall(ours)
        if mode == WARM and i == 0:
            continue  # fills the cache
        a.append(t)
        b.append(_wall(theirs, shell=shell))
    return statistics.median(a), statistics.median(b)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--corpus")
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--quick", action="store_true", help="vmlinux only (no module tree)")
    args = p.parse_args()
    corpus = corpus_dir(args.corpus)
    vmlinux, modules = corpus / "vmlinux", corpus / "modules"
    ksql = ksql_argv()
    query = [*ksql, "query", "exported", "-f", "count"]
    rows = []
    with private_cache():
        for mode in (WARM, COLD):
            ours, nm = paired(
                [*query, "-s", str(vmlinux)], ["nm", "-p", str(vmlinux)], args.repeat, mode
            )
            rows.append([f"vmlinux, {mode}", ours, nm])
        if not args.quick and modules.is_dir():
            find = f"find {modules} -name '*.ko*' -print0 | xargs -0 nm -p > /dev/null"
            n = max(3, args.repeat // 2)
            for mode in (COLD, WARM):
                ours, nm = paired([*query, "-s", str(modules)], find, n, mode)
                rows.append([f"module tree, {mode}", ours, nm])
        ours, nm = paired([*ksql, "--version"], ["nm", "--version"], args.repeat, None)
        rows.append(["--version", ours, nm])
        # lark without the regex module, as ksql imports it (ksql.query.larkimport)
        hide = "import sys; sys.modules['regex'] = None"
        floor = [sys.executable, "-c", f"{hide}; import numpy, lark"]
        ours, nm = paired(floor, ["nm", "-p", str(vmlinux)], args.repeat, None)
        rows.append(["floor: import numpy, lark", ours, nm])
        with cache_mode(WARM):
            top = import_top([*query, "-s", str(vmlinux)])
    cells = []
    for what, ours, theirs in rows:
        goal = GOALS.get(what)
        verdict = "-" if goal is None else ("meets" if ours / theirs <= goal else "MISSES")
        cells.append(
            [
                what,
                f"{ours * 1000:.0f} ms",
                f"{theirs * 1000:.0f} ms",
                ratio(ours, theirs),
                "-" if goal is None else f"<= {goal:.2f}x {verdict}",
            ]
        )
    print(
        section(
            "Whole processes, median of paired runs",
            table(["work", "ksql", "nm", "ratio", "goal"], cells),
        )
    )
    print(
        section(
            "Ten slowest imports of a warm query (self time)",
            table(["module", "self", "cumulative"], top),
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
