"""``ksql export --format parquet`` and ``ksql history``: the file layout and schema, values
round-tripped, and the SQL backend giving the numpy compiler's answer for every predicate
kind on the same rows."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from ksql.cli import main
from ksql.errors import QuerySyntaxError
from ksql.history.arrow import SCHEMA_VERSION, symbol_schema
from ksql.history.table import build_table, name_ranges
from ksql.model import COLUMNS
from ksql.query.compiler import compile_query
from ksql.query.sql import compile_sql
from ksql.testing import load

DATA = Path(__file__).parent / "data"
HIST = DATA / "history"
SOURCES = [
    DATA / "System.map-6.1-excerpt",
    DATA / "Module.symvers-6.1-excerpt",
    DATA / "m1.ko",
    DATA / "m2.ko",
    f"tree:{DATA / 'tree-6.1'}",
]


def run(*argv: str | Path) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([str(a) for a in argv])
    return code, out.getvalue()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ds")
    for path, release, version in (
        (HIST / "Module.symvers-6.1.0-47-excerpt", "6.1.0-47-amd64", "6.1.170-3"),
        (HIST / "Module.symvers-6.1.0-50-excerpt", "6.1.0-50-amd64", "6.1.176-1"),
    ):
        code, _ = run("export", root, "-s", path, "--release", release, "--distro-version", version)
        assert code == 0
    return root


def test_schema_is_derived_from_the_columns() -> None:
    schema = symbol_schema()
    assert schema.names == [c.field for c in COLUMNS]
    assert schema.metadata == {b"ksql.schema": SCHEMA_VERSION.encode()}
    assert str(schema.field("addr").type) == "uint64" and schema.field("addr").nullable


def test_export_layout_sort_and_values(tmp_path: Path) -> None:
    code, out = run("export", tmp_path, "-s", *[a for s in SOURCES for a in ("-s", s)][1:])
    assert code == 0 and out.endswith(f"symbols.parquet: {len(load(*SOURCES))} rows\n")
    files = sorted(tmp_path.rglob("*.parquet"))
    assert [f.relative_to(tmp_path).parts[:2] for f in files] == [
        ("release=6.1.0-53-amd64", "arch=amd64")
    ]
    meta = pq.ParquetFile(files[0]).metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"
    # Names are front-coded (sorted names share prefixes), every other string column is a
    # dictionary; DuckDB reads both.
    encodings = {
        meta.row_group(0).column(i).path_in_schema: meta.row_group(0).column(i).encodings
        for i in range(meta.num_columns)
    }
    assert "DELTA_BYTE_ARRAY" in encodings["name"]
    assert not meta.row_group(0).column(0).has_dictionary_page
    assert "RLE_DICTIONARY" in encodings["module"]
    names = duckdb.sql(f"SELECT name FROM read_parquet('{files[0]}')").fetchall()
    assert [n for (n,) in names] == pq.read_table(files[0])["name"].to_pylist()
    table = pq.read_table(files[0])
    assert table.schema.names == [c.field for c in COLUMNS] + ["vermagic", "distro_version"]
    keys = list(zip(table["name"].to_pylist(), table["module"].to_pylist(), strict=True))
    assert keys == sorted(keys) and len(keys) == len(load(*SOURCES))
    rows = {(r["name"], r["module"]): r for r in table.to_pylist()}
    assert rows[("rday_3", "m2")]["export"] == "EXPORT_SYMBOL"
    assert rows[("_printk", "vmlinux")]["crc"] == 0x92997ED8
    assert rows[("_printk", "vmlinux")]["addr"] is not None
    assert {r["vermagic"] for r in rows.values()} == {
        "6.1.0-53-amd64 SMP preempt mod_unload modversions "
    }


QUERIES = [
    "exported",
    "gpl",
    "defined",
    "undefined",
    "global",
    "local",
    "weak",
    "function",
    "data",
    "_printk",
    "name=rday_*",
    "name=[rx]day_?",
    "name~'^r.*_[0-9]$'",
    "name in (_printk, jiffies, nothing)",
    "module=m2",
    "module!=vmlinux",
    "module=m*",
    "type=T",
    "type=[dD]",
    "type~'[a-c]'",
    "type=?",
    "export=EXPORT_SYMBOL_GPL",
    "export=export_symbol*",
    "export~'GPL$'",
    "bind=local",
    "kind=function",
    'namespace=""',
    'namespace!=""',
    "crc > 0x80000000",
    "crc = 0x92997ed8",
    "addr >= 0xffffffff81000000",
    "not addr = 0",
    "size > 10",
    "section=.text",
    "section~'^\\.data'",
    "bits = 64",
    "source=*symvers*",
    "file=kernel/*",
    "exported_at~'printk'",
    'defined_at!=""',
    "not (exported or undefined) and module=m1",
]


@pytest.mark.parametrize("query", QUERIES)
def test_sql_gives_the_numpy_answer(query: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    catalog = load(*SOURCES)
    expected = compile_query(query).count(catalog)
    root = tmp_path_factory.getbasetemp() / "parity"
    if not root.exists():
        assert run("export", root, *[a for s in SOURCES for a in ("-s", s)])[0] == 0
    where, _ = compile_sql(query)
    files = f"{root}/*/*/symbols.parquet"
    sql = f"SELECT count(*) FROM read_parquet('{files}') WHERE {where}"
    got = duckdb.connect().execute(sql).fetchone()
    assert got is not None and got[0] == expected


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("license=GPL", "license is a .modinfo key, which the Parquet dataset does not hold"),
        ("exported order by addr", "history results are ordered by kernel or name"),
        ("export=EXPORT_SYMBOL_GLP", "bad export 'EXPORT_SYMBOL_GLP'"),
    ],
)
def test_sql_errors(query: str, message: str) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        compile_sql(query)
    assert info.value.message.startswith(message)


def test_history_by_kernel_and_by_name(dataset: Path) -> None:
    assert run("history", dataset, "gpl") == (
        0,
        "release         arch   rows\n6.1.0-47-amd64  amd64  5\n6.1.0-50-amd64  amd64  4\n",
    )
    code, out = run("history", dataset, "name=dqgrab or name=ip6_*", "--by", "name", "-f", "json")
    assert code == 0
    assert json.loads(out) == [
        {"name": n, "arch": "amd64", "first": r, "last": r, "kernels": 1}
        for n, r in (("dqgrab", "6.1.0-50-amd64"), ("ip6_dst_lookup_tunnel", "6.1.0-47-amd64"))
    ]
    assert run("history", dataset, "name=nothing", "--by", "name", "-f", "csv") == (
        1,
        "name,arch,first,last,kernels\n",
    )


def test_kernels_in_version_order(tmp_path: Path) -> None:
    for release in ("6.1.0-9-amd64", "6.1.0-10-amd64", "6.12.1-1-amd64"):
        src = HIST / "Module.symvers-6.1.0-50-excerpt"
        assert run("export", tmp_path, "-s", src, "--release", release)[0] == 0
    _, out = run("history", tmp_path, "name=_printk", "-f", "csv")
    assert [line.split(",")[0] for line in out.splitlines()[1:]] == [
        "6.1.0-9-amd64",
        "6.1.0-10-amd64",
        "6.12.1-1-amd64",
    ]


def test_history_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", str(tmp_path), "exported"]) == 2
    assert "no release=*/arch=*/symbols.parquet below" in capsys.readouterr().err
    assert main(["export", str(tmp_path), "-s", str(DATA / "Module.symvers-6.1-excerpt")]) == 2
    assert "cannot tell the kernel release" in capsys.readouterr().err
    assert main(["export", str(tmp_path), "-s", str(HIST / "x"), "--release", "a/b"]) == 2


def test_history_over_a_saved_duckdb_table(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "history.duckdb"
    expected = (
        0,
        "name,arch,first,last,kernels\n"
        "ip6_dst_lookup_tunnel,amd64,6.1.0-47-amd64,6.1.0-47-amd64,1\n",
    )
    query = ("name=ip6_* and gpl", "--by", "name", "-f", "csv")
    assert run("history", dataset, *query, "--save", db) == expected
    assert "rows of 2 kernels, sorted by name" in capsys.readouterr().err
    assert run("history", db, *query) == expected
    assert run("history", db, "gpl") == run("history", dataset, "gpl")


@pytest.mark.parametrize("per_range", [1, 7, 10**9])
def test_saved_table_is_every_row_in_name_order(
    dataset: Path, tmp_path: Path, per_range: int
) -> None:
    db = tmp_path / "t.duckdb"
    stats = build_table(dataset, db, rows_per_range=per_range)
    glob = f"read_parquet('{dataset}/*/*/symbols.parquet', hive_partitioning = true)"
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "SELECT * EXCLUDE (release, arch), release, arch FROM symbols"
        ).fetchall()
        want = con.execute(
            f"SELECT * EXCLUDE (release, arch), release, arch FROM {glob} ORDER BY name, release"
        ).fetchall()
    assert stats.rows == len(rows) == len(want) and stats.kernels == 2
    assert stats.ranges > 1 if per_range < 10 else stats.ranges == 1
    names = [r[0] for r in rows]
    assert names == sorted(names)
    assert sorted(map(repr, rows)) == sorted(map(repr, want))


def test_save_errors(dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", str(tmp_path / "nope"), "--save", str(tmp_path / "x.db")]) == 2
    assert "dataset directory written by ksql export" in capsys.readouterr().err
    assert not (tmp_path / "x.db").exists()
    (tmp_path / "a-dir").mkdir()
    assert main(["history", str(dataset), "--save", str(tmp_path / "a-dir")]) == 2
    assert capsys.readouterr().err == (
        f"ksql: {tmp_path / 'a-dir'}: cannot write the table there: Is a directory\n"
    )
    assert main(["history", str(dataset), "--save", str(tmp_path / "no" / "x.db")]) == 2
    assert "cannot build the table: IO Error" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-dir"]  # no temporary files left


def test_name_ranges_cover_every_string() -> None:
    assert name_ranges(["a", "b", "c", "d"], 1) == [(None, None)]
    assert name_ranges(["a", "b", "c", "d"], 2) == [(None, "c"), ("c", None)]
    assert name_ranges(["a", "a", "a", "b"], 4) == [(None, "a"), ("a", "b"), ("b", None)]


@pytest.mark.parametrize("cores", [1, 2])
def test_rows_sort_alike_on_one_or_two_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cores: int
) -> None:
    """Enough rows to split the sort at a first byte (names from "0" to "~", some alike in
    two modules): the order is the one-thread sort's, by name then module."""
    import random

    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from ksql.history.arrow import name_array
    from ksql.history.parquet import sorted_rows

    rng = random.Random(7)
    lines = []
    for i in range(6000):
        name = "".join(rng.choice("_abcxyzABZ09~") for _ in range(rng.randrange(1, 9)))
        lines.append(f"{i:016x} T {name}\t[mod{rng.randrange(3)}]")
    kallsyms = tmp_path / "kallsyms"
    kallsyms.write_text("\n".join(lines) + "\n")
    catalog = load(kallsyms)
    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: set(range(cores)))
    names = name_array(catalog)
    rank = np.arange(len(catalog.table("module").strings), dtype=np.int32)
    modules = catalog.table("module").strings
    rank[sorted(range(len(modules)), key=modules.__getitem__)] = np.arange(len(modules))
    module_rank = rank[catalog.columns()["module"]]
    got = sorted_rows(catalog, names, module_rank)
    keys = pa.table({"name": names, "module": module_rank})
    want = pc.sort_indices(keys, sort_keys=[("name", "ascending"), ("module", "ascending")])
    assert got.tolist() == want.to_numpy().tolist()


def test_groups_written_while_the_next_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With small row groups, :func:`write_sorted` makes the file that writing the sorted
    table at once makes: the same rows in the same groups, each group's names in order."""
    import ksql.history.parquet as parquet

    monkeypatch.setattr(parquet, "ROW_GROUP", 7)
    catalog = load(*SOURCES)
    kernel = parquet.Kernel("6.1.0-53-amd64", "amd64", "6.1.0-53-amd64 SMP", "6.1.158-1")
    path = parquet.export_parquet(catalog, tmp_path / "piped", kernel)
    whole = tmp_path / "whole.parquet"
    parquet.write_table(parquet.kernel_table(catalog, kernel), whole)
    piped, want = pq.ParquetFile(path), pq.ParquetFile(whole)
    assert piped.metadata.num_row_groups == want.metadata.num_row_groups > 3
    assert piped.read().equals(want.read())
    for g in range(piped.metadata.num_row_groups):
        names = piped.read_row_group(g, columns=["name"])["name"].to_pylist()
        assert len(names) <= 7 and names == want.read_row_group(g)["name"].to_pylist()


def test_a_failed_group_fails_the_export_and_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow.parquet as pq_module

    import ksql.history.parquet as parquet

    monkeypatch.setattr(parquet, "ROW_GROUP", 5)
    written = 0
    original = pq_module.ParquetWriter.write_table

    def full_after_two(self: object, table: object, **kw: object) -> None:
        nonlocal written
        written += 1
        if written > 2:
            raise OSError(28, "No space left on device")
        original(self, table, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(pq_module.ParquetWriter, "write_table", full_after_two)
    code, _ = run("export", tmp_path, "-s", DATA / "m2.ko", "-s", DATA / "m1.ko")
    assert code == 2 and written > 2
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]
