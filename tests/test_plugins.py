"""The plugin system: entry points, --plugin, --block, and that every hook is tested and
documented."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ksql import hookspecs
from ksql.errors import PluginError
from ksql.loading import default_sources
from ksql.pluginmanager import load_plugins
from ksql.source import RunningKernel

ROOT = Path(__file__).parent.parent
DEMO = Path(__file__).parent / "plugins" / "demo"
HOOKS = sorted(name for name in dir(hookspecs) if name.startswith("ksql_"))


def ksql(*argv: str, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [sys.executable, "-m", "ksql", *argv],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_hook_ksql_register_sources() -> None:
    plugins = load_plugins()
    assert plugins.registry.names() == ["btf", "elf", "kallsyms", "symvers", "tree"]
    # Built-ins are registered by import, under the names --block takes.
    loaded = {name for name, _ in plugins.manager.list_name_plugin()}
    assert loaded >= {"btf", "elf", "kallsyms", "symvers"}


def test_hook_ksql_default_sources() -> None:
    found = default_sources(load_plugins(), RunningKernel("6.1.0-56-amd64", "x86_64"))
    assert [(d.source_type, str(d.path)) for d in found] == [
        ("symvers", "/lib/modules/6.1.0-56-amd64/build/Module.symvers"),
        ("kallsyms", "/proc/kallsyms"),
        ("kallsyms", "/boot/System.map-6.1.0-56-amd64"),
        ("btf", "/sys/kernel/btf/vmlinux"),
    ]


def test_external_plugin_from_entry_point_metadata() -> None:
    proc = ksql("query", "gpl", "-s", str(DEMO / "symbols.list"), "-f", "names", pythonpath=DEMO)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "demo_alloc\n", "")
    proc = ksql("sources", pythonpath=DEMO)
    assert "  demo       demo symbol list  [demo]\n" in proc.stdout
    assert "/nonexistent/demo-" in proc.stdout


def test_plugin_option_loads_a_module() -> None:
    env_path = DEMO  # importable, but its dist-info is not what loads it here
    proc = ksql(
        "query",
        "module=demo_mod",
        "-s",
        f"demo:{DEMO / 'symbols.list'}",
        "-f",
        "names",
        "--plugin",
        "ksql_demo",
        "--block",
        "demo",
        pythonpath=env_path,
    )
    # --block demo stops the entry point; --plugin ksql_demo registers it under its module name.
    assert (proc.returncode, proc.stdout) == (0, "demo_free\n")


def test_blocking_a_builtin() -> None:
    proc = ksql("query", "x", "-s", "tests/data/seed.Module.symvers", "--block", "symvers")
    assert proc.returncode == 2
    assert (
        "not a symbol source ksql recognises (known types: btf, elf, kallsyms, tree;" in proc.stderr
    )


def test_bad_plugin_module_is_a_clear_error() -> None:
    with pytest.raises(PluginError, match="--plugin no_such_module: cannot import it"):
        load_plugins(["no_such_module"])


def test_misspelled_hook_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "typo_plugin.py").write_text(
        "from ksql.hookspecs import hookimpl\n@hookimpl\ndef ksql_register_source(registry): pass\n"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        with pytest.raises(PluginError, match="ksql_register_source"):
            load_plugins(["typo_plugin"])
    finally:
        sys.path.remove(str(tmp_path))


def test_every_hook_has_a_test_and_documentation() -> None:
    tests = set()
    for path in Path(__file__).parent.rglob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef):
                tests.add(node.name)
    readme = (ROOT / "README.md").read_text()
    assert HOOKS, "no hooks found"
    for hook in HOOKS:
        assert f"test_hook_{hook}" in tests, f"hook {hook} has no test_hook_{hook}"
        assert f"`{hook}" in readme, f"hook {hook} is not documented in README.md"
