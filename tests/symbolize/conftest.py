"""Fixtures for the symbolizer: the corpus's System.map table, built once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ksql.loading import load_catalog
from ksql.symbolize.kernel_table import KernelTable
from ksql.symbolize.resolve import Symbolizer

KSYM = Path(__file__).parent.parent / "data" / "symbolize"


def _corpus() -> Path:
    path = os.environ.get("KSQL_CORPUS")
    if not path or not (Path(path) / "System.map").exists():
        pytest.skip("KSQL_CORPUS not set: run scripts/fetch-corpus.sh (./dev.sh test does)")
    return Path(path)


@pytest.fixture(scope="session")
def system_map() -> Path:
    return _corpus() / "System.map"


@pytest.fixture(scope="session")
def kernel(system_map: Path) -> KernelTable:
    return KernelTable(load_catalog([str(system_map)]))


@pytest.fixture
def sym(kernel: KernelTable) -> Symbolizer:
    return Symbolizer(kernel, module_paths=[KSYM])
