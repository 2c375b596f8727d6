"""``ksql history``: the query language over many kernels, on DuckDB. The dataset is a
directory of ``ksql export`` Parquet files (``release=…/arch=…/symbols.parquet``) or a
DuckDB database holding them as table ``symbols``; the query compiles to SQL
(:mod:`ksql.query.sql`), DuckDB reads only the columns it needs.

Kernels are ordered by the numbers in their release (``6.1.0-9`` before ``6.1.0-10``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from ksql.errors import KsqlError
from ksql.history.parquet import FILE_NAME
from ksql.values import frozen

VERSION_KEY = "list_transform(regexp_extract_all({0}, '[0-9]+'), lambda x: x::BIGINT)"


@frozen
class Result:
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    sql: str


def dataset_sql(path: Path) -> str:
    """A FROM item over the dataset at ``path``."""
    if path.is_dir():
        files = list(path.glob(f"*/*/{FILE_NAME}"))
        if not files:
            raise KsqlError(
                f"{path}: no release=*/arch=*/{FILE_NAME} below; write one with "
                f"ksql export --format parquet {path} -s SOURCE"
            )
        glob = str(path / "*" / "*" / FILE_NAME).replace("'", "''")
        return f"read_parquet('{glob}', hive_partitioning = true, union_by_name = true)"
    if path.is_file():
        return "symbols"
    raise KsqlError(f"{path}: no such dataset directory or DuckDB file")


def history_sql(source: str, where: str, by: str, limit: int | None) -> str:
    key = VERSION_KEY.format("release")
    tail = f" LIMIT {limit}" if limit is not None else ""
    if by == "kernel":
        return (
            f"SELECT release, arch, count(*) FILTER (WHERE {where}) AS rows FROM {source}"
            f" GROUP BY release, arch ORDER BY {key}, release, arch{tail}"
        )
    return (
        f"SELECT name, arch, arg_min(release, {key}) AS first, arg_max(release, {key}) AS last,"
        f" count(DISTINCT release) AS kernels FROM {source} WHERE {where}"
        f" GROUP BY name, arch ORDER BY name, arch{tail}"
    )


def run_history(path: Path, query: str, by: str) -> Result:
    import duckdb

    from ksql.query.sql import compile_sql

    where, limit = compile_sql(query)
    source = dataset_sql(path)
    sql = history_sql(source, where, by, limit)
    try:
        con = duckdb.connect(str(path), read_only=True) if source == "symbols" else duckdb.connect()
    except duckdb.Error as exc:
        raise KsqlError(f"{path}: not a DuckDB database: {exc}") from None
    try:
        # DuckDB draws a progress bar on stderr for long scans: for a person at a terminal
        # only, never into a log or a pipe.
        con.execute(f"SET enable_progress_bar = {str(sys.stderr.isatty()).lower()}")
        cursor = con.execute(sql)
        columns = tuple(d[0] for d in cursor.description)
        return Result(columns, cursor.fetchall(), sql)
    except duckdb.Error as exc:  # a regular expression RE2 refuses, a damaged file
        first = str(exc).splitlines()[0]
        raise KsqlError(f"history: {first}") from None
    finally:
        con.close()
