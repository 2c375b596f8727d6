"""Benchmark the tree source on Debian's whole 6.1 kernel source tree against grep (and
gtags when installed), in the same run.

Run on demand (not a pytest test)::

    .venv/bin/python benchmarks/bench_tree.py [--corpus DIR] [--repeat N]

The tree is ``<corpus>/../src/linux-source-6.1`` and the configuration ``<corpus>/config-*``
(both from ``scripts/fetch-corpus.sh``). Measured: indexing the tree in-process cold
(``KSQL_NO_CACHE=1``; target 10 s) and warm (load cache hit), a whole ``ksql query``
process warm, ``grep -rE 'EXPORT_SYMBOL' --include=*.c`` over the same tree, and ``gtags``
into a temporary directory when it is installed; ratios against grep.
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
    corpus_dir,
    ksql_argv,
    ms,
    private_cache,
    ratio,
    run,
    section,
    table,
)

from ksql.loading import load_catalog
from ksql.pluginmanager import load_plugins

TARGET_COLD = 10.0  # seconds for the whole tree


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus")
    parser.add_argument("--repeat", type=int, default=1)
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
    with private_cache():
        cold, catalog = best_in(COLD, args.repeat, lambda: load_catalog([spec], plugins))
        warm, _ = best_in(WARM, max(args.repeat, 3), lambda: load_catalog([spec], plugins))
        argv = [*ksql_argv(), "query", "exported", "-s", spec, "-f", "count"]
        proc_warm, proc = best_in(WARM, 3, lambda: run(argv))
    grep_s = _timed(["grep", "-rEc", "EXPORT_SYMBOL", "--include=*.c", str(tree)])
    rows.append(["index the tree, in-process", "cold", ms(cold), ratio(cold, grep_s),
                 "meets" if cold <= TARGET_COLD else "MISSES"])  # fmt: skip
    rows.append(["index the tree, in-process", "warm (cache)", ms(warm), ratio(warm, grep_s), ""])
    rows.append([f"`ksql query exported` process ({proc.stdout.strip()} rows)", "warm (cache)",
                 ms(proc_warm), ratio(proc_warm, grep_s), ""])  # fmt: skip
    rows.append(["grep -rE EXPORT_SYMBOL --include=*.c", "-", ms(grep_s), "1.00x", ""])
    if shutil.which("gtags"):
        out = tempfile.mkdtemp(prefix="ksql-bench-gtags-")
        try:
            gtags = _timed(["gtags", "-C", str(tree), out])
        finally:
            shutil.rmtree(out, ignore_errors=True)
        rows.append(["gtags", "-", ms(gtags), ratio(gtags, grep_s), ""])
    else:
        rows.append(["gtags", "-", "not installed", "", ""])
    print(section(f"Kernel source tree {tree} ({len(catalog):,} rows)",
                  table(["step", "mode", "time", "vs grep", f"target {TARGET_COLD:.0f} s"],
                        rows)))  # fmt: skip
    return 0


def _timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


if __name__ == "__main__":
    sys.exit(main())
