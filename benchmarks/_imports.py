"""The slowest imports of a ksql process (``python -X importtime``), for the start-up
benchmarks: the very command line timed (the ``ksql`` script, not ``-m ksql``, whose import
path differs), after one untimed run that fills its caches, self times as the median of
``runs`` runs (one run on a shared machine is noise). Stdlib only; not a pytest module.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from collections.abc import Sequence


def _once(argv: Sequence[str]) -> dict[str, tuple[int, int]]:
    cmd = [sys.executable, "-X", "importtime"]
    cmd += [*argv] if argv[0] != sys.executable else [*argv[1:]]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    out: dict[str, tuple[int, int]] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        _, self_us, cumulative, name = (p.strip() for p in line.replace(":", "|", 1).split("|"))
        out[name] = (int(self_us), int(cumulative))
    return out


def import_top(argv: Sequence[str], k: int = 10, runs: int = 5) -> list[list[str]]:
    """The ``k`` imports with the most self time: [module, self, cumulative]."""
    subprocess.run(list(argv), capture_output=True)  # warm: entry points, caches
    samples = [_once(argv) for _ in range(runs)]
    names = set().union(*samples)
    rows = []
    for name in names:
        got = [s[name] for s in samples if name in s]
        rows.append(
            (statistics.median(g[0] for g in got), statistics.median(g[1] for g in got), name)
        )
    rows.sort(reverse=True)
    return [[name, f"{s / 1000:.1f} ms", f"{c / 1000:.1f} ms"] for s, c, name in rows[:k]]


def total_ms(argv: Sequence[str], runs: int = 5) -> float:
    """Median over ``runs`` of the summed self time of every import."""
    return statistics.median(sum(v[0] for v in _once(argv).values()) / 1000 for _ in range(runs))
