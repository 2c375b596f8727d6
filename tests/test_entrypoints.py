"""Entry points are scanned once per state of the import path, then read from the cache."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ksql import entrypoints


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KSQL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("KSQL_NO_CACHE", raising=False)


def _demo_dist(root: Path) -> None:
    info = root / "ksql_demo_ep-1.2.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ksql-demo-ep\nVersion: 1.2\n")
    (info / "entry_points.txt").write_text("[ksql]\ndemo_ep = ksql_demo_ep.plugin:hooks\n")


def test_scanned_once_then_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    _demo_dist(site)
    monkeypatch.setattr(sys, "path", [str(site), *sys.path])
    first = entrypoints.entry_points("ksql")
    assert (
        entrypoints.EntryPoint("demo_ep", "ksql_demo_ep.plugin:hooks", "ksql-demo-ep 1.2") in first
    )

    def no_scan(group: str) -> list[entrypoints.EntryPoint]:
        raise AssertionError("scanned again although nothing changed")

    monkeypatch.setattr(entrypoints, "_scan", no_scan)
    assert entrypoints.entry_points("ksql") == first


def test_an_installed_distribution_is_seen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.setattr(sys, "path", [str(site), *sys.path])
    before = entrypoints.entry_points("ksql")
    assert all(e.name != "demo_ep" for e in before)
    _demo_dist(site)  # installing changes the directory's modification time
    assert any(e.name == "demo_ep" for e in entrypoints.entry_points("ksql"))


def test_each_import_path_keeps_its_own_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = entrypoints.entry_points("ksql")
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.setattr(sys, "path", [str(other), *sys.path])  # as python -m ksql differs
    assert entrypoints.entry_points("ksql") == first
    monkeypatch.undo()
    monkeypatch.setenv("KSQL_CACHE_DIR", str(tmp_path / "cache"))

    def no_scan(group: str) -> list[entrypoints.EntryPoint]:
        raise AssertionError("the other path's list evicted this one")

    monkeypatch.setattr(entrypoints, "_scan", no_scan)
    assert entrypoints.entry_points("ksql") == first
