"""The load cache: a warm load equals a cold one, and any change to a source invalidates."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ksql import cache
from ksql.loading import load_catalog
from ksql.pluginmanager import Plugins
from tests.conftest import DATA

SOURCES = ["System.map-6.1-excerpt", "Module.symvers-6.1-excerpt", "m2.ko", "m3-6.12/m3.ko"]


def rows(cat: object) -> list[dict[str, object]]:
    from ksql.catalog import Catalog

    assert isinstance(cat, Catalog)
    return [s.as_dict() for s in cat.symbols(range(len(cat)))]


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KSQL_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def sources(tmp_path: Path) -> list[str]:
    out = []
    for name in SOURCES:
        target = tmp_path / name.replace("/", "_")
        shutil.copy(DATA / name, target)
        out.append(str(target))
    return out


def test_warm_load_equals_cold(plugins: Plugins, sources: list[str]) -> None:
    cold = load_catalog(sources, plugins)
    assert len(list(cache.directory().glob("*.npz"))) == 1
    warm = load_catalog(sources, plugins)
    assert rows(warm) == rows(cold)
    assert warm.module_info == cold.module_info and warm.notes == cold.notes
    assert [s for s, _ in warm.loaded] == [s for s, _ in cold.loaded]


def test_a_changed_source_is_read_again(plugins: Plugins, sources: list[str]) -> None:
    load_catalog(sources, plugins)
    symvers = Path(sources[1])
    symvers.write_text(symvers.read_text().replace("0x92997ed8", "0x12345678"))
    os.utime(symvers, ns=(1, 1))  # any other mtime invalidates, even an older one
    (printk,) = (s for s in load_catalog(sources, plugins).lookup("_printk") if s.exported)
    assert printk.crc == 0x12345678


def test_a_damaged_entry_is_ignored(plugins: Plugins, sources: list[str]) -> None:
    load_catalog(sources, plugins)
    for entry in cache.directory().glob("*.npz"):
        entry.write_bytes(b"garbage")
    assert len(load_catalog(sources, plugins)) > 0


def test_proc_is_never_cached(plugins: Plugins) -> None:
    from ksql.loading import resolve

    assert (
        resolve("/proc/kallsyms", plugins).source_type.fingerprint(Path("/proc/kallsyms")) is None
    )


def test_switched_off(
    plugins: Plugins, sources: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KSQL_NO_CACHE", "1")
    before = sorted(cache.directory().glob("*.npz"))
    load_catalog(sources[:1], plugins)
    assert sorted(cache.directory().glob("*.npz")) == before
