"""The facts cache (ksql.check.kstore): a warm ``ksql check`` of one module answers from it
without importing numpy or the plugins, with the verdicts of a cold run; a changed source,
a corrupt entry or a third-party plugin never gets a stale answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ksql.check import kstore
from ksql.check.kernel import catalog_part
from ksql.loading import load_catalog

DATA = Path(__file__).resolve().parent.parent / "data"
SYMVERS = DATA / "Module.symvers-6.1-excerpt"
# The command's own function, then what it imported (the ksql program itself ends the
# process as soon as the command returns).
PROBE = (
    "import sys\nfrom ksql.cli import main\ncode = main(sys.argv[1:])\nsys.stdout.flush()\n"
    "print(sorted(m for m in sys.modules if m in ('numpy', 'pluggy', 'ksql.plugins.elf')),"
    " file=sys.stderr); sys.exit(code)\n"
)


def _check(
    cache: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[dict[str, object], str]:
    environ = dict(os.environ, KSQL_CACHE_DIR=str(cache), **(env or {}))
    environ.pop("KSQL_NO_CACHE", None)
    argv = ["check", str(DATA / "m1.ko"), "-s", str(SYMVERS), "-f", "json", *args]
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, env=environ
    )
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout), done.stderr.strip().splitlines()[-1]


def test_warm_check_answers_from_the_facts_cache_without_numpy(tmp_path: Path) -> None:
    cold, cold_modules = _check(tmp_path)
    assert "numpy" in cold_modules  # the first run loads the catalog and stores the facts
    assert list(tmp_path.glob(f"*{kstore.SUFFIX}"))
    warm, warm_modules = _check(tmp_path)
    assert warm_modules == "[]"
    assert warm == cold


def test_a_changed_source_misses(tmp_path: Path) -> None:
    symvers = tmp_path / "Module.symvers"
    symvers.write_bytes(SYMVERS.read_bytes())
    key = kstore.key_for([str(symvers)])
    assert key is not None
    os.utime(symvers, ns=(1, 1))
    assert kstore.key_for([str(symvers)]) != key
    assert kstore.key_for([str(tmp_path)]) is None  # a directory: the full path


def test_the_stored_part_reads_back_equal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KSQL_CACHE_DIR", str(tmp_path))
    part = catalog_part(load_catalog([str(SYMVERS)], use_cache=False))
    key = kstore.key_for([str(SYMVERS)])
    assert key is not None
    kstore.store(key, part)
    back = kstore.load(key)
    assert back is not None
    assert back.exports.materialize() == part.exports.materialize()
    assert dict(back.exports).keys() == dict(part.exports).keys()
    for name in list(part.exports)[:50]:
        assert back.exports.get(name) == part.exports.get(name)
    assert back.exports.get("no_such_symbol") is None
    assert (back.proprietary, back.modules, back.version) == (
        part.proprietary,
        part.modules,
        part.version,
    )
    assert dict(back.depends) == dict(part.depends)
    assert kstore.load(key.replace('"', "'")) is None  # another key: a miss


def test_a_corrupt_entry_is_a_miss_and_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KSQL_CACHE_DIR", str(tmp_path))
    part = catalog_part(load_catalog([str(SYMVERS)], use_cache=False))
    key = kstore.key_for([str(SYMVERS)])
    assert key is not None
    kstore.store(key, part)
    (entry,) = tmp_path.glob(f"*{kstore.SUFFIX}")
    raw = bytearray(entry.read_bytes())
    raw[-10] ^= 0xFF
    entry.write_bytes(bytes(raw))
    assert kstore.load(key) is None
    assert not entry.exists()


def test_no_key_with_a_third_party_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    from ksql import entrypoints

    fake = [entrypoints.EntryPoint("demo", "demo_plugin", "demo 1.0")]
    monkeypatch.setattr(entrypoints, "entry_points", lambda group: fake)
    assert kstore.key_for([str(SYMVERS)]) is None
