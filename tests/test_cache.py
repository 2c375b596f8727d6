"""The load cache: a warm load equals a cold one, and any change to a source invalidates."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ksql import cache, private
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
    assert len(list(private.directory().glob(f"*{cache.SUFFIX}"))) == 1
    warm = load_catalog(sources, plugins)
    assert rows(warm) == rows(cold)
    assert warm.module_info == cold.module_info and warm.notes == cold.notes
    assert [s for s, _ in warm.loaded] == [s for s, _ in cold.loaded]


def test_a_warm_catalog_outlives_its_entry_replaced_or_removed(
    plugins: Plugins, sources: list[str]
) -> None:
    """A warm catalog's columns are views of its mapped entry: a later store (a new file
    renamed over it) or removal leaves them whole."""
    cold = load_catalog(sources, plugins)
    warm = load_catalog(sources, plugins)
    (entry,) = private.directory().glob(f"*{cache.SUFFIX}")
    cache.write_entry(entry, {"meta": np.frombuffer(b"{}", dtype=np.uint8)})  # a short one
    assert entry.stat().st_size < 200
    entry.unlink()
    load_catalog(sources, plugins)  # a cold load stores the entry again
    assert rows(warm) == rows(cold)


def test_a_long_lived_catalog_is_copied_out_of_its_entry(
    plugins: Plugins, sources: list[str]
) -> None:
    """The language server's and the REPL's catalogs do not keep their entry mapped: cut
    short in place, the file would take the process down (SIGBUS) at the next touch."""
    cold = load_catalog(sources, plugins)
    kept = load_catalog(sources, plugins, long_lived=True)
    (entry,) = private.directory().glob(f"*{cache.SUFFIX}")
    with entry.open("r+b") as f:
        f.truncate(64)  # in place, as nothing in ksql does
    assert rows(kept) == rows(cold)


def test_a_changed_source_is_read_again(plugins: Plugins, sources: list[str]) -> None:
    load_catalog(sources, plugins)
    symvers = Path(sources[1])
    symvers.write_text(symvers.read_text().replace("0x92997ed8", "0x12345678"))
    os.utime(symvers, ns=(1, 1))  # any other mtime invalidates, even an older one
    (printk,) = (s for s in load_catalog(sources, plugins).lookup("_printk") if s.exported)
    assert printk.crc == 0x12345678


def test_a_damaged_entry_is_ignored(plugins: Plugins, sources: list[str]) -> None:
    load_catalog(sources, plugins)
    for entry in private.directory().glob(f"*{cache.SUFFIX}"):
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
    before = sorted(private.directory().glob(f"*{cache.SUFFIX}"))
    load_catalog(sources[:1], plugins)
    assert sorted(private.directory().glob(f"*{cache.SUFFIX}")) == before


def _entry() -> Path:
    (entry,) = private.directory().glob(f"*{cache.SUFFIX}")
    return entry


def _rewrite(entry: Path, change: Callable[[dict[str, np.ndarray]], None]) -> None:
    """Re-save ``entry`` with its arrays changed by ``change`` (a forged, well-formed entry:
    its CRC-32 holds)."""
    arrays = cache.read_entry(entry)
    change(arrays)
    cache.write_entry(entry, arrays)


def _meta(change: Callable[[dict[str, object]], None]) -> Callable[[dict[str, np.ndarray]], None]:
    def edit(arrays: dict[str, np.ndarray]) -> None:
        meta = json.loads(bytes(arrays["meta"]).decode())
        change(meta)
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)

    return edit


def _set(key: str, value: Callable[[np.ndarray], np.ndarray]) -> Callable[[dict], None]:
    def edit(arrays: dict[str, np.ndarray]) -> None:
        arrays[key] = value(arrays[key])

    return edit


def _flip(offset: int) -> Callable[[Path], None]:
    def damage(entry: Path) -> None:
        data = bytearray(entry.read_bytes())
        data[offset % len(data)] ^= 0x10
        entry.write_bytes(bytes(data))

    return damage


def _fifo(entry: Path) -> None:
    entry.unlink()
    os.mkfifo(entry)


def _directory(entry: Path) -> None:
    entry.unlink()
    (entry / "inside").mkdir(parents=True)


def _symlink(entry: Path) -> None:
    target = entry.with_suffix(".elsewhere")
    entry.rename(target)
    entry.symlink_to(target)


def _group_writable(entry: Path) -> None:
    entry.chmod(0o666)


DAMAGE: dict[str, Callable[[Path], None]] = {
    "empty": lambda e: e.write_bytes(b""),
    "truncated": lambda e: e.write_bytes(e.read_bytes()[: e.stat().st_size // 2]),
    "garbage": lambda e: e.write_bytes(b"garbage" * 100),
    "bit flip early": _flip(200),
    "bit flip middle": _flip(5000),
    "bit flip late": _flip(-300),
    "fifo": _fifo,
    "directory": _directory,
    "symlink": _symlink,
    "group-writable": _group_writable,
    "short column": lambda e: _rewrite(e, _set("a.addr", lambda a: a[:-1])),
    "long column": lambda e: _rewrite(e, _set("a.type", lambda a: np.append(a, a[:1]))),
    "wrong dtype": lambda e: _rewrite(e, _set("a.size", lambda a: a.astype(np.int32))),
    "module code out of range": lambda e: _rewrite(
        e, _set("a.module", lambda a: a.astype(np.uint32) + 10**6)
    ),
    "source set out of range": lambda e: _rewrite(e, _set("a.sources", lambda a: a + 99)),
    "export kind out of range": lambda e: _rewrite(e, _set("a.export", lambda a: a + 200)),
    "letter not nm's": lambda e: _rewrite(e, _set("a.type", lambda a: np.full_like(a, 1))),
    "offsets off by one": lambda e: _rewrite(e, _set("starts", lambda a: a + 1)),
    "one name too many": lambda e: _rewrite(
        e, _set("blob", lambda a: np.append(a, np.frombuffer(b"x\n", np.uint8)))
    ),
    "missing meta key": lambda e: _rewrite(e, _meta(lambda m: m.pop("tables"))),
    "module table cut": lambda e: _rewrite(
        e,
        _meta(lambda m: m["tables"].update(module=m["tables"]["module"][:1])),  # type: ignore[index, attr-defined]
    ),
    "planted for other sources": lambda e: _rewrite(e, _meta(lambda m: m.update(identity="[0]"))),
}


class _Hung(BaseException):
    pass


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_entry_is_a_miss_and_is_rewritten(
    plugins: Plugins, sources: list[str], damage: str
) -> None:
    cold = rows(load_catalog(sources, plugins))
    entry = _entry()
    DAMAGE[damage](entry)

    def hung(signum: int, frame: object) -> None:
        raise _Hung(damage)  # not an Exception: nothing in ksql may swallow it

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)  # a FIFO once hung the load: fail instead of hanging the suite
    try:
        assert rows(load_catalog(sources, plugins)) == cold
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    rewritten = _entry()
    assert rewritten.is_file() and not rewritten.is_symlink()
    assert stat.S_IMODE(rewritten.stat().st_mode) & 0o022 == 0
    assert rows(load_catalog(sources, plugins)) == cold  # and read back


def test_killed_writers_leave_no_temporary_files_behind(
    plugins: Plugins, sources: list[str]
) -> None:
    folder = private.directory()
    folder.mkdir(parents=True, mode=0o700)
    old, fresh = folder / f".old{cache.TMP_SUFFIX}", folder / f".fresh{cache.TMP_SUFFIX}"
    for tmp in (old, fresh):
        tmp.write_bytes(b"x" * 1000)
    os.utime(old, (1, 1))
    load_catalog(sources, plugins)
    assert not old.exists() and fresh.exists()  # a fresh one may be another run's


def test_a_shared_cache_directory_is_not_used(
    plugins: Plugins, sources: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("KSQL_CACHE_DIR", str(shared))
    load_catalog(sources, plugins)
    assert list(shared.iterdir()) == []


TREE = DATA / "tree-6.1"


def test_large_tables_are_members_split_on_first_use(
    plugins: Plugins, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A table of more than BIG_TABLE strings (the tree's sites) is stored as one member of
    newline-joined strings, not JSON, and comes back equal; a forged count is a miss."""
    monkeypatch.delenv("KSQL_KCONFIG", raising=False)
    cold = rows(load_catalog([str(TREE)], plugins))
    members = cache.read_entry(_entry())
    stored = sorted(k for k in members if k.startswith("t."))
    assert "t.defined_at" in stored
    meta = json.loads(bytes(members["meta"]).decode())
    assert meta["tables"]["defined_at"] == len(members["t.defined_at"].tobytes().split(b"\n"))
    warm = load_catalog([str(TREE)], plugins)
    assert rows(warm) == cold
    _rewrite(_entry(), _meta(lambda m: m["tables"].update(defined_at=3)))  # type: ignore[attr-defined]
    assert rows(load_catalog([str(TREE)], plugins)) == cold
    assert "t.defined_at" in cache.read_entry(_entry())  # rewritten


def test_a_table_with_a_newline_stays_json() -> None:
    assert cache._join(["a", "b\nc"]) is None
    member = cache._join(["a", "", "é"])
    assert member is not None
    assert cache._split(member, 3).split() == ["a", "", "é"]
    with pytest.raises(ValueError, match="wrong number"):
        cache._split(member, 2)
