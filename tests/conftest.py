"""Shared fixtures: the tiny real data files under tests/data and a catalog loader."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ksql.catalog import Catalog
from ksql.loading import load_catalog
from ksql.pluginmanager import Plugins, load_plugins
from ksql.query.compiler import compile_query
from ksql.render import render_nm

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def plugins() -> Plugins:
    return load_plugins()


@pytest.fixture
def load(plugins: Plugins) -> Callable[..., Catalog]:
    def _load(*specs: str | Path) -> Catalog:
        return load_catalog([str(s) for s in specs], plugins)

    return _load


def nm_lines(catalog: Catalog) -> list[str]:
    """Every row as ``nm -p`` prints it: ``--format nm`` lines without the module tag."""
    out = io.StringIO()
    render_nm(catalog, np.arange(len(catalog)), out)
    return [line.split("\t")[0] for line in out.getvalue().splitlines()]


def binutils_knows(path: Path) -> bool:
    """Whether this machine's binutils decode ``path``'s machine (binutils-multiarch, or the
    native target). A binutils built for one target still reads any ELF file through its
    generic ``elf64-little`` target, but then applies none of the machine's rules (ARM's
    ``$x``/``$d`` mapping symbols are printed, not hidden), so reading is not knowing."""
    objdump = shutil.which("objdump")
    if objdump is None or shutil.which("nm") is None:
        return False
    proc = subprocess.run([objdump, "-f", str(path)], capture_output=True, text=True, check=False)
    generic = re.search(r"file format elf(32|64)-(little|big)$", proc.stdout, re.M)
    return proc.returncode == 0 and generic is None


def names(catalog: Catalog, query: str) -> list[str]:
    """Names of the rows ``query`` returns, in result order."""
    return [catalog.columns().name[r] for r in compile_query(query).rows(catalog)]


@pytest.fixture
def corpus() -> Path:
    """The Debian kernel corpus (scripts/fetch-corpus.sh); skips when absent."""
    path = os.environ.get("KSQL_CORPUS")
    if not path or not (Path(path) / "Module.symvers").exists():
        pytest.skip("KSQL_CORPUS not set: run scripts/fetch-corpus.sh (./dev.sh test does)")
    return Path(path)


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests never read or fill the user's decoded-source cache."""
    os.environ["KSQL_CACHE_DIR"] = str(tmp_path_factory.mktemp("ksql-cache"))


@pytest.fixture(autouse=True, scope="session")
def _private_xdg(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests never read the user's configuration nor write the user's REPL history."""
    os.environ["XDG_CONFIG_HOME"] = str(tmp_path_factory.mktemp("xdg-config"))
    os.environ["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("xdg-state"))
    os.environ.pop("KSQL_SOURCES", None)
