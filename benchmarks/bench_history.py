"""Benchmark ksql's kernel history on a real Debian kernel: one full kernel to Parquet
against the ``nm`` pipeline on the same files, then a dataset of many kernels on DuckDB.

Run on demand (not a pytest test)::

    .venv/bin/python benchmarks/bench_history.py [--corpus DIR] [--kernels N] [--out DIR]

The corpus is ``scripts/fetch-corpus.sh``'s directory (vmlinux, modules/, Module.symvers).
Measured in one run, each the best of ``--repeat``:

1. The ``nm`` pipeline on the same files (``xargs`` runs as many ``nm`` as the machine has
   cores), twice: to what the Parquet file is -- every symbol with its file (``nm -P -A``),
   sorted by (name, file) with ``LC_ALL=C sort``, zstd-compressed on disk: the reference
   (without ``zstd`` installed, the next one is) -- and ``nm -p`` with its output discarded,
   whose ratio is printed beside.
2. ksql: load vmlinux + modules + Module.symvers (load cache off: every file decoded), then
   ``export_parquet``; and the same from a warm load cache. Bytes per row of the file.
3. ``--kernels`` kernels: the real one plus kernels derived from it by plausible changes
   (per kernel: 0.2 % of the rows dropped, 2 % of the CRCs changed, one symbol that is
   exported only from kernel ``N/3`` on), written as Parquet; saved as one DuckDB table
   sorted by (name, release) (``ksql history DIR --save DB``). "Since when is X exported"
   is timed over the sorted table and over the Parquet glob (the answer is cross-checked:
   kernel ``N/3``), and ``ksql diff``'s join of two full kernels in memory (warm).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import corpus_dir

TARGETS = {"since_table": 0.1, "since_glob": 2.0, "diff": 1.0}
X = "ksql_bench_late_export"


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), result


def nm_pipeline(corpus: Path) -> None:
    jobs = str(os.cpu_count() or 1)
    subprocess.run(["nm", "-p", str(corpus / "vmlinux")], stdout=subprocess.DEVNULL, check=True)
    subprocess.run(
        f"find {corpus / 'modules'} -name '*.ko*' -print0 | xargs -0 -P{jobs} -n64 nm -p",
        shell=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )


def nm_table(corpus: Path, out: Path) -> None:
    """The same files through ``nm`` to what the Parquet file is: every symbol with its
    file (``nm -P -A``), sorted by (name, file), zstd-compressed on disk."""
    jobs = str(os.cpu_count() or 1)
    subprocess.run(
        f"(nm -P -A {corpus / 'vmlinux'}; find {corpus / 'modules'} -name '*.ko*' -print0"
        f" | xargs -0 -P{jobs} -n64 nm -P -A) | LC_ALL=C sort -k2,2 -k1,1"
        f" | zstd -q -f -o {out}",
        shell=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )


def derive(base: Any, i: int, n: int, rng: Any) -> Any:
    """Kernel ``i`` of ``n``: ``base`` with some rows dropped, some CRCs changed, and the
    late export present from kernel ``n // 3`` on."""
    import pyarrow as pa
    import pyarrow.compute as pc

    rows = base.num_rows
    keep = rng.random(rows) >= 0.002
    table = base.filter(pa.array(keep))
    crc = table["crc"].combine_chunks()
    changed = rng.random(len(crc)) < 0.02
    new_crc = pa.array(rng.integers(0, 2**32, len(crc)), type=pa.int64())
    crc = pc.if_else(pc.and_(pa.array(changed), pc.is_valid(crc)), new_crc, crc)
    table = table.set_column(table.schema.get_field_index("crc"), "crc", crc)
    return with_late_export(table) if i >= n // 3 else table


def with_late_export(table: Any) -> Any:
    """``table`` with the late export's row, kept in name order."""
    import pyarrow as pa
    import pyarrow.compute as pc

    late = table.slice(0, 1).to_pylist()[0] | {
        "name": X,
        "module": "vmlinux",
        "export": "EXPORT_SYMBOL_GPL",
        "crc": 0x1234,
    }
    at = pc.sum(pc.less(table["name"], X)).as_py() or 0
    row = pa.Table.from_pylist([late], schema=table.schema)
    return pa.concat_tables([table.slice(0, at), row, table.slice(at)])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus")
    ap.add_argument("--kernels", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", help="dataset directory (default: a temporary one, removed)")
    ap.add_argument(
        "--reuse", action="store_true", help="skip part 1 and reuse --out's generated kernels"
    )
    args = ap.parse_args()
    corpus = corpus_dir(args.corpus)

    import duckdb
    import numpy as np
    import pyarrow.parquet as pq

    from ksql.history.arrow import catalog_table
    from ksql.history.diff import diff_tables
    from ksql.history.parquet import FILE_NAME, Kernel, export_parquet, kernel_table, write_table
    from ksql.history.query import run_history
    from ksql.history.table import build_table
    from ksql.loading import load_catalog

    work = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="ksql-history-"))
    specs = [str(corpus / "vmlinux"), str(corpus / "modules"), str(corpus / "Module.symvers")]
    abi = corpus.name
    kernel = Kernel(abi, "amd64")
    print(f"corpus: {corpus}  ({os.cpu_count()} cores)")

    n = args.kernels
    ds = work / "dataset"
    catalog = cache = None
    if not args.reuse:
        t_nm, _ = best(lambda: nm_pipeline(corpus), args.repeat)
        t_table = None
        if shutil.which("zstd"):
            t_table, _ = best(lambda: nm_table(corpus, work / "nm.zst"), args.repeat)
        os.environ["KSQL_NO_CACHE"] = "1"
        t_load, catalog = best(lambda: load_catalog(specs, use_cache=False), 1)
        del os.environ["KSQL_NO_CACHE"]
        one = work / "one"
        t_export, path = best(lambda: export_parquet(catalog, one, kernel), args.repeat)
        rows = len(catalog)
        size = path.stat().st_size
        cache = Path(tempfile.mkdtemp(prefix="ksql-cache-"))
        os.environ["KSQL_CACHE_DIR"] = str(cache)
        load_catalog(specs)  # fills the cache
        t_warm, catalog = best(lambda: load_catalog(specs), args.repeat)
        print(
            f"\none kernel: {rows:,} rows (vmlinux + {len(catalog.module_names()) - 1} modules"
            " + Module.symvers)"
        )
        print(f"  nm, output discarded             {t_nm:7.2f} s")
        if t_table is not None:
            print(f"  nm | sort | zstd to a file       {t_table:7.2f} s   (the reference)")
        ref = t_table or t_nm
        print(f"  ksql load, cache off             {t_load:7.2f} s")
        print(f"  ksql export_parquet              {t_export:7.2f} s")
        cold = t_load + t_export
        warm = t_warm + t_export
        for label, t in (("cold        ", cold), ("warm cache  ", warm)):
            print(
                f"  ksql load + export, {label} {t:7.2f} s   ratio {t / ref:5.2f}"
                f" (to nm discarded {t / t_nm:5.2f})   target 1.0"
            )
        print(
            f"  Parquet file                     {size / 1e6:7.2f} MB"
            f"   {size / rows:5.2f} bytes/row"
        )

        base = kernel_table(catalog, kernel)
        rng = np.random.default_rng(16)
        t = time.perf_counter()
        total_rows = total_bytes = 0
        tables = {}
        for i in range(1, n + 1):
            release = f"6.1.0-{i}-amd64"
            if i == n // 2:  # the real kernel, with the late export from kernel n // 3 on
                table = with_late_export(base) if i >= n // 3 else base
            else:
                table = derive(base, i, n, rng)
            directory = ds / f"release={release}" / "arch=amd64"
            directory.mkdir(parents=True, exist_ok=True)
            write_table(table, directory / FILE_NAME)
            total_rows += table.num_rows
            total_bytes += (directory / FILE_NAME).stat().st_size
            if i in (n // 2, n // 2 + 1):
                tables[i] = table
        t_gen = time.perf_counter() - t
        print(
            f"\n{n} kernels: {total_rows:,} rows, {total_bytes / 1e9:.2f} GB Parquet "
            f"({total_bytes / total_rows:.2f} bytes/row), written in {t_gen:.0f} s"
        )

    tables = {
        i: pq.read_table(ds / f"release=6.1.0-{i}-amd64" / "arch=amd64" / FILE_NAME)
        for i in (n // 2, n // 2 + 1)
    }
    db = work / "history.duckdb"
    t = time.perf_counter()
    stats = build_table(ds, db)
    t_db = time.perf_counter() - t
    print(
        f"  sorted DuckDB table (ksql history --save): {stats.rows:,} rows in {stats.ranges}"
        f" name ranges, built in {t_db:.0f} s ({db.stat().st_size / 1e9:.2f} GB)"
    )

    query = f"name={X} and exported"
    expect = f"6.1.0-{n // 3}-amd64"
    t_table, res = best(lambda: run_history(db, query, "name"), args.repeat)
    t_glob, res2 = best(lambda: run_history(ds, query, "name"), args.repeat)
    ok = [r[2] for r in res.rows] == [expect] and [r[2] for r in res2.rows] == [expect]
    with duckdb.connect(str(db), read_only=True) as con:
        sql = res.sql
        t_inner, _ = best(lambda: con.execute(sql).fetchall(), args.repeat)
    print(f"  since when is {X} exported: {expect if ok else 'MISMATCH'}")
    print(
        f"    sorted table, ksql history     {t_table:7.3f} s (query alone {t_inner:.3f} s)"
        f"   target {TARGETS['since_table']} s"
    )
    print(f"    Parquet glob, ksql history     {t_glob:7.3f} s   target {TARGETS['since_glob']} s")

    a, b = tables[n // 2], tables[n // 2 + 1]
    t_conv, _ = best(lambda: catalog_table(catalog), args.repeat) if catalog else (0.0, None)
    t_diff, changes = best(lambda: diff_tables(a, b), args.repeat)
    print(
        f"  diff of two full kernels ({a.num_rows:,} / {b.num_rows:,} rows), warm:"
        f" {t_diff:.2f} s, {len(changes):,} changes   target {TARGETS['diff']} s"
        f"  (catalog -> Arrow {t_conv:.2f} s per side)"
    )
    if cache is not None:
        shutil.rmtree(cache, ignore_errors=True)
    if not args.out:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
