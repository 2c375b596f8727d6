"""Benchmark the tree source on Debian's whole 6.1 kernel source tree against grep (and
gtags when installed), in the same run.

Run on demand (not a pytest test)::

    .venv/bin/python benchmarks/bench_tree.py [--corpus DIR] [--repeat N]

The tree is ``<corpus>/../src/linux-source-6.1`` and the configuration ``<corpus>/config-*``
(both from ``scripts/fetch-corpus.sh``). Measured: indexing the tree in-process cold
(``KSQL_NO_CACHE=1``; target 10 s), warm (load cache hit; target 0.3 s) and after one
changed file (the load cache misses, the stored sites of the other files are reused), a
whole ``ksql query`` process warm, the re-index of one saved file (``TreeIndex.rescan`` of
fs/ext4/super.c; target 20 ms); against, in the same run, ``grep -rE`` of the export
macros over the same files, ``find -printf '%s %T@'`` (what stat()ing every file costs:
the floor of any check that a file changed) and ``gtags`` into a temporary directory when it
is installed (``apt-get install global``; ``--no-gtags`` skips it); ratios against grep.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

from _common import (
    COLD,
    WARM,
    best_in,
    best_of,
    corpus_dir,
    ksql_argv,
    ms,
    private_cache,
    ratio,
    run,
    section,
    table,
)

from ksql import cache
from ksql.loading import load_catalog
from ksql.pluginmanager import load_plugins
from ksql.plugins.tree.live import TreeIndex

TARGET_COLD = 10.0  # seconds for the whole tree
TARGET_WARM = 0.3
TARGET_RESCAN = 0.020
ONE_FILE = "fs/ext4/super.c"
GREP = r"^[[:space:]]*(EXPORT_[A-Z_]*SYMBOL[A-Z_]*|EXPORT_TRACEPOINT_SYMBOL[A-Z_]*)[[:space:]]*\("


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--no-gtags", action="store_true")
    args = parser.parse_args()
    corpus = corpus_dir(args.corpus)
    tree = corpus.parent / "src" / "linux-source-6.1"
    configs = sorted(corpus.glob("config-*"))
    if not (tree / "Makefile").exists() or not configs:
        print(f"no tree at {tree} or no config in {corpus}: run KSQL_FETCH_TREE=1 "
              "scripts/fetch-corpus.sh", file=sys.stderr)  # fmt: skip
        return 2
    os.environ["KSQL_KCONFIG"] = str(configs[0])
    plugins = load_plugins()
    spec = f"tree:{tree}"
    rows = []
    with private_cache() as base:
        cold, catalog = best_in(COLD, args.repeat, lambda: load_catalog([spec], plugins))
        # A warm run starts afresh: not holding the cold run's catalog, which a fork (the
        # listing's re-check, plugins/tree/store.py) would copy the page tables of.
        count = len(catalog)
        del catalog
        warm, _ = best_in(WARM, max(args.repeat, 3), lambda: load_catalog([spec], plugins))
        argv = [*ksql_argv(), "query", "exported", "-s", spec, "-f", "count"]
        proc_warm, proc = best_in(WARM, 3, lambda: run(argv))

        def one_changed() -> object:
            # what a changed file's new key misses (entries were .npz files before .entry)
            for entry in (base / WARM).glob(f"*{cache.SUFFIX}"):
                entry.unlink()
            return load_catalog([spec], plugins)

        changed, _ = best_in(WARM, max(args.repeat, 2), one_changed)
    index = TreeIndex.open(tree)
    rescan, sites = best_of(20, lambda: index.rescan(ONE_FILE))
    grep_s = _timed(["grep", "-rEc", GREP, "--include=*.c", "--include=*.h", "--include=*.S",
                     str(tree)])  # fmt: skip
    find_s = _timed(["find", str(tree), "-name", "*.[chS]", "-printf", "%s %T@\n"])
    rows.append(["index the tree, in-process", "cold", ms(cold), ratio(cold, grep_s),
                 _meets(cold, TARGET_COLD)])  # fmt: skip
    rows.append(["index the tree, in-process", "warm (cache)", ms(warm), ratio(warm, grep_s),
                 _meets(warm, TARGET_WARM)])  # fmt: skip
    rows.append(["index the tree after one file changed (stored sites)", "warm", ms(changed),
                 ratio(changed, grep_s), ""])  # fmt: skip
    rows.append([f"`ksql query exported` process ({proc.stdout.strip()} rows)", "warm (cache)",
                 ms(proc_warm), ratio(proc_warm, grep_s), ""])  # fmt: skip
    rows.append([f"re-index one saved file ({ONE_FILE}, {len(sites)} sites)", "-",
                 ms(rescan), ratio(rescan, grep_s), _meets(rescan, TARGET_RESCAN)])  # fmt: skip
    rows.append(["grep -rE <export macros> (.c .h .S)", "-", ms(grep_s), "1.00x", ""])
    rows.append(["find -printf '%s %T@' (stat every file)", "-", ms(find_s),
                 ratio(find_s, grep_s), ""])  # fmt: skip
    if args.no_gtags:
        rows.append(["gtags", "-", "skipped (--no-gtags)", "", ""])
    elif shutil.which("gtags"):
        out = tempfile.mkdtemp(prefix="ksql-bench-gtags-")
        try:
            gtags = _timed(["gtags", "-C", str(tree), out])
        finally:
            shutil.rmtree(out, ignore_errors=True)
        rows.append(["gtags", "-", ms(gtags), ratio(gtags, grep_s), ""])
    else:
        rows.append(["gtags", "-", "not installed (apt-get install global)", "", ""])
    print(section(f"Kernel source tree {tree} ({count:,} rows, "
                  f"{os.cpu_count()} cores)",
                  table(["step", "mode", "time", "vs grep", "target"], rows)))  # fmt: skip
    return 0


def _meets(seconds: float, target: float) -> str:
    return f"{target * 1000:g} ms: " + ("meets" if seconds <= target else "MISSES")


def _timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


if __name__ == "__main__":
    sys.exit(main())
