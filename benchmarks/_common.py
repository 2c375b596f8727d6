"""Helpers shared by the benchmarks (``bench_text.py``, ``bench_elf.py``, ``bench_lsp.py``):
finding the corpus, the load cache's cold and warm modes, best-of-N timing, plain text
tables, cross-check and target bookkeeping, and the fresh-process RSS probe.

Stdlib and the project only; not a pytest module.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

REPO = Path(__file__).resolve().parent.parent
FETCH_CORPUS = REPO / "scripts" / "fetch-corpus.sh"
TARGET_BYTES_PER_ROW = 200


def compile_sources() -> None:
    """Bytecode for the checkout's modules, as ``pip install`` writes it for a wheel: an
    editable install writes it on first import only, and never under
    ``PYTHONDONTWRITEBYTECODE=1``, where every whole-process timing would include compiling
    ~50 modules (a warm query: 255 -> 230 ms of CPU here)."""
    import compileall

    for folder in ("src", "plugins"):
        compileall.compile_dir(REPO / folder, quiet=2)


compile_sources()


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


# -- the load cache: cold and warm -----------------------------------------------------------

COLD, WARM = "cold", "warm"
NO_CACHE, CACHE_DIR = "KSQL_NO_CACHE", "KSQL_CACHE_DIR"
_private: Path | None = None  # this run's cache directory, while private_cache() is open


CACHE_NOTE = [
    "cache:   cold = KSQL_NO_CACHE=1, every load decodes (targets are judged on these);",
    "         warm (cache) = KSQL_CACHE_DIR=a fresh temporary directory, after one untimed",
    "         run that fills it (a cache hit: the packed catalog is read back)",
]


def mode_label(mode: str) -> str:
    """``cold``, ``warm (cache)``, or ``-`` for a step the load cache does not touch."""
    return "warm (cache)" if mode == WARM else mode


@contextmanager
def private_cache() -> Iterator[Path]:
    """For a whole run: a fresh temporary directory (``tempfile.mkdtemp()``) for the warm
    runs' cache, removed at the end, with the run cold (``KSQL_NO_CACHE=1``) outside
    :func:`cache_mode`. The user's own cache is never read or written."""
    global _private
    saved = _environ()
    base = Path(tempfile.mkdtemp(prefix="ksql-bench-cache-"))
    _private = base
    try:
        _set_mode(COLD)
        yield base
    finally:
        _private = None
        _restore(saved)
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def cache_mode(mode: str) -> Iterator[None]:
    """``cold``: ``KSQL_NO_CACHE=1`` (nothing read or written; ``KSQL_CACHE_DIR`` points at
    a directory that must stay absent, see :func:`cache_entries`). ``warm``: the cache on, in
    the run's private directory. Set in ``os.environ``, so it holds for in-process calls and
    for the processes started meanwhile. Only inside :func:`private_cache`."""
    if mode not in (COLD, WARM):
        raise ValueError(f"cache_mode({mode!r}): not {COLD!r} or {WARM!r}")
    saved = _environ()
    try:
        _set_mode(mode)
        yield
    finally:
        _restore(saved)


def cache_entries(mode: str) -> int:
    """How many entries the mode's cache directory holds (0 when it does not exist)."""
    if _private is None:
        raise RuntimeError("cache_entries() outside private_cache()")
    return len(list((_private / mode).glob("*.entry")))


def check_cache_modes(checks: Checks) -> None:
    """Cold runs wrote no cache entry, warm ones did (so they were cache hits)."""
    cold, warm = cache_entries(COLD), cache_entries(WARM)
    checks.agree("cold runs left the cache alone", cold == 0, f"{cold} entries written")
    checks.agree("warm runs filled the cache", warm > 0, "no entry written")


def _set_mode(mode: str) -> None:
    if _private is None:
        raise RuntimeError("cache_mode() outside private_cache()")
    os.environ[CACHE_DIR] = str(_private / mode)
    if mode == COLD:
        os.environ[NO_CACHE] = "1"
    else:
        os.environ.pop(NO_CACHE, None)


def _environ() -> dict[str, str | None]:
    return {k: os.environ.get(k) for k in (NO_CACHE, CACHE_DIR)}


def _restore(saved: dict[str, str | None]) -> None:
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


# -- timing ----------------------------------------------------------------------------------


def best_of(n: int, fn: Callable[[], T], warmup: int = 0) -> tuple[float, T]:
    """The fastest of ``n`` calls (seconds), after ``warmup`` untimed ones, and the last
    call's result."""
    for _ in range(warmup):
        fn()
    best = float("inf")
    result: Any = None
    for _ in range(n):
        result = None
        gc.collect()
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def best_in(mode: str, n: int, fn: Callable[[], T]) -> tuple[float, T]:
    """:func:`best_of` under :func:`cache_mode`; warm, after one untimed call that fills
    the cache."""
    with cache_mode(mode):
        return best_of(n, fn, warmup=1 if mode == WARM else 0)


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


@dataclass
class Targets:
    """Product targets, judged on the cold numbers (they are about decoding); a warm number's
    verdict is shown, labelled ``warm``, and does not count."""

    judged: list[str] = field(default_factory=list)
    warm: list[str] = field(default_factory=list)

    def verdict(
        self,
        what: str,
        mode: str,
        value: float | None,
        target: float,
        unit: str,
        places: int | None = None,
    ) -> str:
        """``meets``/``MISSES`` (cold) or ``warm: meets``/``warm: MISSES``; ``unit`` formats
        the value and the target (``"x"``, ``" B/row"``, ``" ms"``), with ``places``
        decimals (default: 2 for ``"x"``, else 0)."""
        v = meets(value, target)
        places = (2 if unit == "x" else 0) if places is None else places
        shown = "-" if value is None else f"{value:,.{places}f}{unit}"
        line = f"{v:<6}  {what}: {shown} (target <= {target:,.{places}f}{unit})"
        if mode == WARM:
            self.warm.append(line)
            return f"warm: {v}"
        self.judged.append(line)
        return v

    def summary(self) -> str:
        out = ["targets, judged on cold numbers:", *(f"  {t}" for t in self.judged)]
        if self.warm:
            out += ["warm (cache), for reference only:", *(f"  {t}" for t in self.warm)]
        return "\n".join(out)


# -- memory ----------------------------------------------------------------------------------


def status_kb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {key} in /proc/self/status")


def rss_probe(paths: Sequence[str], primer: Sequence[str] = ()) -> None:
    """Run in a fresh process: print RSS (kB) around loading ``paths``, as JSON.

    ``primer``: tiny files of the same source types, loaded (and dropped) first, so that the
    code a load imports on first use (decoders, kernel rules: ~1.9 MB for an ELF load) is
    counted once as ``code``, not spread over the rows as if each row cost it."""
    from ksql.loading import load_catalog
    from ksql.pluginmanager import load_plugins

    plugins = load_plugins()
    gc.collect()
    start = status_kb("VmRSS")
    if primer:
        load_catalog(list(primer), plugins, use_cache=False)
        gc.collect()
    before = status_kb("VmRSS")
    cat = load_catalog(list(paths), plugins)
    gc.collect()
    loaded = status_kb("VmRSS")
    cols = cat.columns()
    order = cat.name_order()
    gc.collect()
    indexed = status_kb("VmRSS")
    arrays = list(cols.arrays().values())
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
                "code": before - start,
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


def probe(
    script: str, paths: Sequence[Path], primer: Sequence[Path] = ()
) -> tuple[dict[str, Any] | None, str]:
    """Run ``script [--rss-primer PATH...] --rss-probe PATH...`` (which calls
    :func:`rss_probe`): its numbers, or None and what it printed on failure."""
    first = [f"--rss-primer={p}" for p in primer]
    proc = run([sys.executable, script, *first, "--rss-probe", *map(str, paths)])
    if proc.returncode:
        return None, f"exit {proc.returncode}: {proc.stderr.strip()[-2000:]}"
    return json.loads(proc.stdout.splitlines()[-1]), ""


def bench_memory(
    script: str,
    key: str,
    paths: Sequence[Path],
    checks: Checks,
    targets: Targets,
    primer: Sequence[Path] = (),
) -> str:
    """The RSS probe in a fresh process, cold (judged against the target) and warm (after
    an untimed probe that fills the cache; shown for reference); ``primer``: see
    :func:`rss_probe`."""
    with cache_mode(COLD):
        cold, err = probe(script, paths, primer)
    if cold is None:
        checks.failures.append(f"memory probe (cold) failed: {err[-500:]}")
        return f"memory probe (cold) FAILED ({err})"
    with cache_mode(WARM):
        probe(script, paths, primer)  # fills the cache
        warm, werr = probe(script, paths, primer)
    if warm is None:
        checks.failures.append(f"memory probe (warm) failed: {werr[-500:]}")
    elif warm["rows"] != cold["rows"]:
        checks.agree("memory probe rows, warm vs cold", False, f"{warm['rows']} != {cold['rows']}")
    n = cold["rows"]
    what = f"RSS per row, {key} (loaded + indexes)"
    lines = [
        f"catalog: {key}, {n:,} rows (fresh process, VmRSS from /proc/self/status); cold = "
        "KSQL_NO_CACHE=1 (decoded), warm = restored from the cache",
        table(
            ["point", "cold VmRSS", "cold per row", "warm (cache) VmRSS", "warm per row"],
            memory_rows(cold, warm),
            left=1,
        ),
    ]
    for mode, m in ((COLD, cold), (WARM, warm)):
        if m is None:
            lines.append(f"{mode_label(mode)}: probe FAILED ({werr})")
            continue
        per_row = (m["indexed"] - m["before"]) * 1024 / m["rows"]
        verdict = targets.verdict(what, mode, per_row, TARGET_BYTES_PER_ROW, " B/row")
        judged = "cold, judged:" if mode == COLD else "warm (cache), not judged:"
        lines.append(
            f"{judged:<25} target <= {TARGET_BYTES_PER_ROW} B/row (loaded + indexes): "
            f"{verdict.removeprefix('warm: ')} ({per_row:,.0f} B/row)"
        )
    if primer:
        lines.append(
            f"code imported by the first load (primer {', '.join(p.name for p in primer)}), "
            f"counted once, not per row: {cold.get('code', 0) / 1024:,.1f} MB"
        )
    live = ", ".join(f"{k} {v / n:,.0f}" for k, v in cold["accounted"].items())
    lines.append(
        f"live objects (cold), bytes/row: {live}; total {sum(cold['accounted'].values()) / n:,.0f}"
    )
    return "\n".join(lines)


MEMORY_POINTS = [
    ("after imports + load_plugins() (+ primer load)", "before"),
    ("after load_catalog()", "loaded"),
    ("+ columns(), name_order()", "indexed"),
    ("peak (VmHWM)", "peak"),
    ("then glibc malloc_trim(0)", "trimmed"),
]


def memory_rows(cold: dict[str, Any], warm: dict[str, Any] | None) -> list[list[str]]:
    rows = []
    for label, key in MEMORY_POINTS:
        if cold[key] is None:
            continue
        rows.append([label, *memory_cells(cold, key), *memory_cells(warm, key)])
    return rows


def memory_cells(m: dict[str, Any] | None, key: str) -> list[str]:
    """VmRSS at a point and the growth per row since 'after imports'."""
    if m is None or m[key] is None:
        return ["-", "-"]
    kb = m[key]
    per_row = (kb - m["before"]) * 1024 / m["rows"]
    return [f"{kb / 1024:,.1f} MiB", "-" if key == "before" else f"{per_row:,.0f} B/row"]
