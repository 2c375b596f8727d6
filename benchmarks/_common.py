"""Helpers shared by the benchmarks (``bench_text.py``, ``bench_elf.py``): finding the corpus,
best-of-N timing, plain text tables, cross-check bookkeeping, and the fresh-process RSS probe.

Stdlib and the project only; not a pytest module.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

REPO = Path(__file__).resolve().parent.parent
FETCH_CORPUS = REPO / "scripts" / "fetch-corpus.sh"
TARGET_BYTES_PER_ROW = 200


# -- corpus ----------------------------------------------------------------------------------


def corpus_dir(arg: str | None) -> Path:
    """``--corpus``, else ``$KSQL_CORPUS``, else the directory fetch-corpus.sh prints last."""
    if arg:
        return Path(arg).expanduser().resolve()
    env = os.environ.get("KSQL_CORPUS")
    if env:
        return Path(env).expanduser().resolve()
    out = subprocess.run(
        [str(FETCH_CORPUS), str(REPO / ".corpus")], check=True, stdout=subprocess.PIPE, text=True
    ).stdout
    lines = out.strip().splitlines()
    if not lines:
        raise SystemExit("bench: fetch-corpus.sh printed no directory")
    return Path(lines[-1])


# -- timing ----------------------------------------------------------------------------------


def best_of(n: int, fn: Callable[[], T]) -> tuple[float, T]:
    """The fastest of ``n`` calls (seconds) and the last call's result."""
    best = float("inf")
    result: Any = None
    for _ in range(n):
        result = None
        gc.collect()
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def run(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True)


def ksql_argv() -> list[str]:
    exe = Path(sys.executable).with_name("ksql")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "ksql"]


def first_int(proc: subprocess.CompletedProcess[str]) -> int | None:
    """The number a ``count``-style process printed first; None when it failed."""
    words = proc.stdout.split()
    return int(words[0]) if proc.returncode == 0 and words else None


# -- formatting ------------------------------------------------------------------------------


def ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    v = seconds * 1e3
    return f"{v:.2f} ms" if v < 10 else f"{v:.1f} ms" if v < 1000 else f"{v:,.0f} ms"


def num(n: int | None) -> str:
    return "-" if n is None else f"{n:,}"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or not b:
        return "-"
    r = a / b
    return f"{r:.2f}x" if r < 10 else f"{r:.1f}x" if r < 100 else f"{r:.0f}x"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], left: int = 2) -> str:
    """Plain text columns; the first ``left`` are left-aligned, the rest right-aligned."""
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=False)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i < left else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def section(title: str, body: str) -> str:
    return f"\n{title}\n{'=' * len(title)}\n{body}"


# -- checks ----------------------------------------------------------------------------------


@dataclass
class Checks:
    """Cross-checks between ksql and a reference tool (``other``); a failed one is a
    MISMATCH."""

    other: str = "awk"
    failures: list[str] = field(default_factory=list)

    def verdict(self, what: str, ours: int | None, theirs: int | None, exact: bool) -> str:
        if ours is None or theirs is None:
            self.failures.append(f"{what}: no count (ksql {ours}, {self.other} {theirs})")
            return "MISMATCH"
        if not exact:
            return "approx"
        if ours != theirs:
            self.failures.append(f"{what}: ksql {ours} != {self.other} {theirs}")
            return "MISMATCH"
        return "ok"

    def agree(self, what: str, ok: bool, detail: str = "") -> str:
        """``ok``, or a MISMATCH recorded with ``detail``."""
        if ok:
            return "ok"
        self.failures.append(f"{what}: {detail}" if detail else what)
        return "MISMATCH"

    def summary(self) -> str:
        return "\n".join(f"MISMATCH: {f}" for f in self.failures) or (
            f"all exact ksql/{self.other} cross-checks agree"
        )


def meets(value: float | None, target: float) -> str:
    """``meets`` when ``value`` is at most ``target``, else ``MISSES``."""
    if value is None:
        return "-"
    return "meets" if value <= target else "MISSES"


# -- memory ----------------------------------------------------------------------------------


def status_kb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {key} in /proc/self/status")


def rss_probe(paths: Sequence[str]) -> None:
    """Run in a fresh process: print RSS (kB) around loading ``paths``, as JSON."""
    from ksql.loading import load_catalog
    from ksql.pluginmanager import load_plugins

    plugins = load_plugins()
    gc.collect()
    before = status_kb("VmRSS")
    cat = load_catalog(list(paths), plugins)
    gc.collect()
    loaded = status_kb("VmRSS")
    cols = cat.columns()
    order = cat.name_order()
    gc.collect()
    indexed = status_kb("VmRSS")
    arrays = [getattr(cols, f) for f in cols.__slots__ if f not in ("n", "name")]
    accounted = {
        "numpy columns": sum(a.nbytes for a in arrays),
        "name_order": order.nbytes,
        "name column (one string + offsets)": sys.getsizeof(cols.name.blob)
        + cols.name.starts.nbytes,
    }
    print(
        json.dumps(
            {
                "rows": len(cat),
                "before": before,
                "loaded": loaded,
                "indexed": indexed,
                "peak": status_kb("VmHWM"),
                "accounted": accounted,
                "trimmed": trimmed_rss(),
            }
        )
    )


def trimmed_rss() -> int | None:
    """VmRSS after glibc's malloc_trim(0) hands freed heap back (None without glibc): what
    is left over the live data is fragmentation, not leaks."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        return None
    return status_kb("VmRSS")


def bench_memory(script: str, key: str, paths: Sequence[Path], checks: Checks) -> str:
    """Run ``script --rss-probe PATH...`` (which calls :func:`rss_probe`) and report it."""
    proc = run([sys.executable, script, "--rss-probe", *map(str, paths)])
    if proc.returncode:
        checks.failures.append(f"memory probe failed: {proc.stderr.strip()[-500:]}")
        return f"memory probe FAILED (exit {proc.returncode}):\n{proc.stderr.strip()[-2000:]}"
    m = json.loads(proc.stdout.splitlines()[-1])
    n = m["rows"]
    indexed_b = (m["indexed"] - m["before"]) * 1024 / n
    verdict = meets(indexed_b, TARGET_BYTES_PER_ROW)
    live = ", ".join(f"{k} {v / n:,.0f}" for k, v in m["accounted"].items())
    return "\n".join(
        [
            f"catalog: {key}, {n:,} rows (fresh process, VmRSS from /proc/self/status)",
            table(["point", "VmRSS", "per row over 'after imports'"], memory_rows(m), left=1),
            f"target <= {TARGET_BYTES_PER_ROW} B/row (loaded + indexes): {verdict} it "
            f"({indexed_b:,.0f} B/row)",
            f"live objects, bytes/row: {live}; total {sum(m['accounted'].values()) / n:,.0f}",
        ]
    )


def memory_rows(m: dict[str, Any]) -> list[list[str]]:
    points = [
        ("after imports + load_plugins()", "before"),
        ("after load_catalog()", "loaded"),
        ("+ columns(), name_order()", "indexed"),
        ("peak (VmHWM)", "peak"),
        ("then glibc malloc_trim(0)", "trimmed"),
    ]
    rows = []
    for label, key in points:
        kb = m[key]
        if kb is None:
            continue
        per_row = (kb - m["before"]) * 1024 / m["rows"]
        rows.append(
            [label, f"{kb / 1024:,.1f} MiB", "-" if key == "before" else f"{per_row:,.0f} B/row"]
        )
    return rows
