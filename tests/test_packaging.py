"""grammar/ and plugins/ ship as ksql.grammar and ksql.plugins in the wheel, the sdist and
an editable install (src/ksql/grammar and src/ksql/plugins are symlinks to them; MANIFEST.in
puts the folders themselves in the sdist)."""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import importlib.util
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from ksql.pluginmanager import BUILTIN_PLUGINS

ROOT = Path(__file__).parent.parent
SHIPPED = {
    "ksql/grammar/ksql.lark",
    "ksql/plugins/kallsyms.py",
    "ksql/plugins/symvers.py",
    "ksql/plugins/elf/__init__.py",
    "ksql/plugins/elf/reader.py",
    "ksql/py.typed",
    "ksql/query/parser.py",
}


def test_installed_package_carries_grammar_and_plugins() -> None:
    grammar = importlib.resources.files("ksql.grammar").joinpath("ksql.lark")
    assert grammar.is_file() and "start:" in grammar.read_text()
    for name in BUILTIN_PLUGINS:  # registered by import, not through entry points
        assert importlib.util.find_spec(f"ksql.plugins.{name}") is not None
    eps = {ep.name for ep in importlib.metadata.entry_points(group="ksql")}
    assert not eps & set(BUILTIN_PLUGINS)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # build makes the sdist, then the wheel from that sdist: both paths are exercised.
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    return out


def test_wheel_contents(dist: Path) -> None:
    (wheel,) = dist.glob("ksql-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        files = set(zf.namelist())
        entry_points = next(n for n in files if n.endswith("entry_points.txt"))
        eps = zf.read(entry_points).decode()
    assert files >= SHIPPED
    assert "[console_scripts]\nksql = ksql.cli:run\n" in eps
    assert "[ksql]" not in eps  # built-ins are registered by import
    assert not any(n.startswith(("tests/", "grammar/", "plugins/")) for n in files)


def test_sdist_contents(dist: Path) -> None:
    (sdist,) = dist.glob("ksql-*.tar.gz")
    with tarfile.open(sdist) as tf:
        files = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    assert {
        "grammar/ksql.lark",
        "plugins/kallsyms.py",
        "src/ksql/catalog.py",
        "pyproject.toml",
        "README.md",
    } <= files


def test_a_source_checkout_runs_without_installing(tmp_path: Path) -> None:
    # python -S skips site-packages' .pth files, so the editable install's path entry is
    # absent; the dependencies stay importable by path.
    import numpy

    site = Path(numpy.__file__).parent.parent
    env = dict(os.environ, PYTHONPATH=f"{ROOT / 'src'}{os.pathsep}{site}")
    m2 = str(ROOT / "tests/data/m2.ko")
    proc = subprocess.run(
        [sys.executable, "-S", "-m", "ksql", "query", "rday_3", "-s", m2],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        0,
        "0000000000000000 D rday_3\t[m2]\n",
        "",
    )


def test_the_parser_cache_is_private(tmp_path: Path) -> None:
    # Lark's cache=True would unpickle a predictable file in the shared temp directory.
    shared, private = tmp_path / "tmp", tmp_path / "cache"
    shared.mkdir()
    env = dict(os.environ, TMPDIR=str(shared), KSQL_CACHE_DIR=str(private))
    code = "from ksql.query.parser import parse, lex; parse('exported'); lex('x')"
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
    assert list(shared.iterdir()) == []
    assert sorted(p.name for p in private.iterdir()) == ["basic.lark-cache", "query.lark-cache"]
    assert all(p.stat().st_mode & 0o022 == 0 for p in private.iterdir())
