"""The README's plugin guide works as written: its plugin, test and pyproject, copied into a
fresh directory and pip-installed, load through the entry point and the test passes; the
public API is what the guide says; an edited plugin is never answered from the load cache."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import ksql

ROOT = Path(__file__).parent.parent


def _guide_files() -> dict[str, str]:
    """``{file name: contents}`` of the README's code blocks that start with ``# NAME``."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Writing a source plugin", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(?:python|toml)\n# (\S+)\n(.*?)```", section, re.S)
    return {name: body for name, body in blocks}


def _run(*argv: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv), capture_output=True, text=True, env=env, cwd=cwd, check=False, timeout=300
    )


def test_guide_plugin_installs_and_its_test_passes(tmp_path: Path) -> None:
    files = _guide_files()
    assert set(files) == {"ksql_demo.py", "test_ksql_demo.py", "pyproject.toml"}
    plugin_and_test = files["ksql_demo.py"] + files["test_ksql_demo.py"]
    assert len(plugin_and_test.strip().splitlines()) < 40
    project = tmp_path / "project"
    project.mkdir()
    for name, body in files.items():
        (project / name).write_text(body)
    site = tmp_path / "site"
    env = dict(os.environ)
    installed = _run(
        sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
        "--target", str(site), str(project), env=env, cwd=tmp_path,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    assert list(site.glob("ksql_demo-0.1.dist-info/entry_points.txt"))
    env["PYTHONPATH"] = str(site)
    (tmp_path / "a.list").write_text("#ksql-demo\nx_alloc m7 gpl\nx_free m7\n")
    tested = _run(
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(project),
        env=env, cwd=tmp_path,
    )  # fmt: skip
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "1 passed" in tested.stdout
    # Through the entry point, as a user runs it.
    queried = _run(
        sys.executable, "-m", "ksql", "query", "gpl", "-s", "a.list", "-f", "nm",
        env=env, cwd=tmp_path,
    )  # fmt: skip
    assert (queried.returncode, queried.stdout) == (0, "                 T x_alloc\t[m7]\n")
    broken = tmp_path / "b.list"
    broken.write_text("#ksql-demo\nx_alloc m7 GPL\n")
    failed = _run(
        sys.executable, "-m", "ksql", "query", "x", "-s", str(broken), env=env, cwd=tmp_path
    )
    assert (failed.returncode, failed.stderr) == (
        2,
        f"ksql: {broken}:2: expected NAME MODULE [gpl]\n",
    )


def test_public_api_is_what_all_says() -> None:
    from ksql import _EXPORTS  # the lazy table behind ksql.__getattr__

    assert sorted(ksql.__all__) == sorted(["__version__", *_EXPORTS])
    for name in _EXPORTS:
        assert getattr(ksql, name) is getattr(__import__(_EXPORTS[name], fromlist=[name]), name)


def test_an_edited_plugin_is_not_answered_from_the_cache(tmp_path: Path) -> None:
    plugin = tmp_path / "ksql_edited.py"
    source = (
        "import ksql\n"
        "class S(ksql.SourceType):\n"
        "    name = 'edited'\n"
        "    def recognizes(self, path, head): return head.startswith(b'#edited')\n"
        "    def load(self, path, sink): sink.add({name!r}, type='T')\n"
        "@ksql.hookimpl\n"
        "def ksql_register_sources(registry): registry.register(S())\n"
    )
    data = tmp_path / "x.edited"
    data.write_text("#edited\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path), KSQL_CACHE_DIR=str(tmp_path / "cache"))
    env.pop("KSQL_NO_CACHE", None)
    argv = [sys.executable, "-m", "ksql", "query", "", "-s", str(data), "-f", "names"]
    argv += ["--plugin", "ksql_edited"]
    seen = []
    for name in ("old_name", "new_name"):
        plugin.write_text(source.format(name=name))
        os.utime(plugin, ns=(0, len(seen) * 10**9))  # a new mtime even within one tick
        for _ in range(2):  # the second run of each is a cache hit
            seen.append(_run(*argv, env=env, cwd=tmp_path).stdout)
    assert seen == ["old_name\n", "old_name\n", "new_name\n", "new_name\n"]
    assert len(list((tmp_path / "cache").glob("*.entry"))) == 2
