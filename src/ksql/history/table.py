"""``ksql history DIR --save DB``: the dataset as one DuckDB table ``symbols`` sorted by
(name, release), so that "since when is X exported" reads one of its row groups.

DuckDB keeps a min/max per column for every row group of a table (122,880 rows); with the
rows in name order, ``name = 'X'`` skips all groups but the one or two holding X. One
``CREATE TABLE … ORDER BY name`` over 100 kernels (92 M rows) did not finish on a 2-core
machine: the sort spilled 10 GB and ran for more than an hour. The Parquet files are
already sorted by name (:func:`ksql.history.parquet.write_table`), so the table is built in
name ranges instead: each range's rows are read through the files' row-group statistics
(only the groups that overlap it), sorted in memory and appended. The ranges are the
quantiles of one kernel's names; each holds about :data:`ROWS_PER_RANGE` rows of the whole
dataset.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

from ksql.errors import KsqlError
from ksql.values import frozen

# Rows sorted at a time: ~2 M rows of every column fit in a few hundred MB of DuckDB's
# memory, so no range spills to disk.
ROWS_PER_RANGE = 2_000_000


@frozen
class TableStats:
    rows: int
    kernels: int
    ranges: int


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def name_ranges(names: list[str], count: int) -> list[tuple[str | None, str | None]]:
    """``count`` half-open ranges [lo, hi) covering every string, split at quantiles of the
    sorted ``names``; ``None`` is an open end."""
    cuts: list[str] = []
    for i in range(1, count):
        cut = names[i * len(names) // count]
        if not cuts or cut > cuts[-1]:
            cuts.append(cut)
    bounds: list[str | None] = [None, *cuts, None]
    return list(itertools.pairwise(bounds))


def _range_sql(lo: str | None, hi: str | None) -> str:
    parts = []
    if lo is not None:
        parts.append(f"name >= {_lit(lo)}")
    if hi is not None:
        parts.append(f"name < {_lit(hi)}")
    return " AND ".join(parts) or "true"


def build_table(dataset: Path, db: Path, rows_per_range: int = ROWS_PER_RANGE) -> TableStats:
    """Write ``db`` (replaced atomically) with table ``symbols``: every row of the Parquet
    dataset at ``dataset``, ``release`` and ``arch`` included, sorted by (name, release)."""
    import duckdb

    from ksql.history.query import dataset_sql

    if not dataset.is_dir():
        raise KsqlError(f"{dataset}: --save reads a dataset directory written by ksql export")
    source = dataset_sql(dataset)
    tmp = db.with_name(f".{db.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        with duckdb.connect(str(tmp)) as con:
            con.execute("SET enable_progress_bar = false")
            first = con.execute(f"SELECT count(*), count(DISTINCT release) FROM {source}")
            total, kernels = first.fetchone() or (0, 0)
            one = sorted(dataset.glob("*/*/symbols.parquet"))[-1]  # any kernel's names do
            names = [
                r[0]
                for r in con.execute(
                    "SELECT DISTINCT name FROM read_parquet(?) ORDER BY name", [str(one)]
                ).fetchall()
            ]
            ranges = name_ranges(names, max(1, -(-total // rows_per_range)))
            for i, (lo, hi) in enumerate(ranges):
                select = f"SELECT * FROM {source} WHERE {_range_sql(lo, hi)} ORDER BY name, release"
                if i == 0:
                    con.execute(f"CREATE TABLE symbols AS {select}")
                else:
                    con.execute(f"INSERT INTO symbols {select}")
            con.execute("CHECKPOINT")
        tmp.replace(db)
    except duckdb.Error as exc:
        first_line = str(exc).splitlines()[0]
        raise KsqlError(f"{db}: cannot build the table: {first_line}") from None
    except OSError as exc:  # the place is a directory, or not ours to write
        raise KsqlError(f"{db}: cannot write the table there: {exc.strerror}") from None
    finally:
        tmp.unlink(missing_ok=True)
        tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
    return TableStats(int(total), int(kernels), len(ranges))
