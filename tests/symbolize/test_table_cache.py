"""The core table's derived arrays kept between runs: a second table from the same catalog
reads them back and answers as the first; a damaged or foreign entry is a miss (removed,
rebuilt), never an error; ``KSQL_NO_CACHE`` turns it off."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ksql.catalog import Catalog
from ksql.loading import load_catalog
from ksql.private import private_folder
from ksql.symbolize import table_cache
from ksql.symbolize.kernel_table import KernelTable


@pytest.fixture
def catalog(system_map: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Catalog:
    monkeypatch.setenv("KSQL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("KSQL_NO_CACHE", raising=False)
    return load_catalog([str(system_map)])


def _entry(catalog: Catalog) -> Path:
    folder = private_folder(create=False)
    assert folder is not None
    return folder / f"{table_cache.digest(catalog)}{table_cache.SUFFIX}"


NAMES = ["schedule", "type_show", "do_sys_openat2", "_stext", "no_such_symbol"]


def _answers(table: KernelTable) -> list[object]:
    table.prefetch(NAMES)
    hits = table.lookup(table.addrs[:: max(1, len(table.addrs) // 500)] + np.uint64(1))
    return [[table.starts_named(n) for n in NAMES], hits, table.bound("_end")]


def test_second_table_reads_the_entry(catalog: Catalog) -> None:
    first = KernelTable(catalog)
    assert _entry(catalog).is_file()
    second = KernelTable(catalog)
    assert second._name_sorted is not None
    assert (first.rows == second.rows).all() and (first.addrs == second.addrs).all()
    assert _answers(first) == _answers(second)


def test_damaged_entry_is_a_miss(catalog: Catalog) -> None:
    expected = _answers(KernelTable(catalog))
    entry = _entry(catalog)
    data = bytearray(entry.read_bytes())
    data[len(data) // 2] ^= 0xFF
    entry.write_bytes(bytes(data))
    assert table_cache.load(table_cache.digest(catalog), len(catalog)) is None
    assert not entry.exists()  # removed, rewritten by the next table
    assert _answers(KernelTable(catalog)) == expected
    assert entry.is_file()


def test_no_cache(catalog: Catalog, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KSQL_NO_CACHE", "1")
    table = KernelTable(catalog)
    assert table._name_sorted is None
    assert not _entry(catalog).exists()
    monkeypatch.delenv("KSQL_NO_CACHE")
    assert _answers(table) == _answers(KernelTable(catalog))
