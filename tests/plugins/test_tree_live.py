"""Re-indexing one file (plugins/tree/live.py) and what the tree index keeps between runs
(plugins/tree/store.py), on the real files of tests/data/tree-6.1."""

from __future__ import annotations

import marshal
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ksql.model import ExportKind
from ksql.plugins.tree import store
from ksql.plugins.tree.live import FileSite, TreeIndex
from ksql.plugins.tree.store import listing
from ksql.testing import load, query

TREE = Path(__file__).parent.parent / "data" / "tree-6.1"
USB = "drivers/usb/storage/usb.c"


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the tree (to edit) and a private cache folder."""
    monkeypatch.delenv("KSQL_KCONFIG", raising=False)
    monkeypatch.delenv("KSQL_NO_CACHE", raising=False)
    monkeypatch.setenv("KSQL_CACHE_DIR", str(tmp_path / "cache"))
    copy = tmp_path / "linux"
    shutil.copytree(TREE, copy)
    return copy


def test_rescan_sites() -> None:
    index = TreeIndex.open(TREE)
    sites = {(s.field, s.name): s for s in index.rescan(USB)}
    assert sites["exported_at", "usb_stor_suspend"] == FileSite(
        "usb_stor_suspend", "exported_at", USB, 187, 1, "usb_storage",
        ExportKind.EXPORT_SYMBOL_GPL, "USB_STORAGE",
    )  # fmt: skip
    assert sites["defined_at", "usb_stor_suspend"].location == f"{USB}:169:5"
    assert sites["defined_at", "usb_stor_suspend"].function
    assert index.module_of("drivers/usb/storage/uas.c") is None  # CONFIG_USB_UAS not set
    header = index.rescan("include/linux/kthread.h")
    assert [s.location for s in header if s.name == "kthread_stop"] == [
        "include/linux/kthread.h:88:5"
    ]
    assert {s.field for s in header} == {"declared_at", "defined_at"} - {"defined_at"}


def test_rescan_buffer() -> None:
    """The editor's unsaved text, not the file: two lines more shift every site."""
    index = TreeIndex.open(TREE)
    data = b"\n\n" + (TREE / USB).read_bytes()
    (site,) = [s for s in index.rescan(USB, data) if s.name == "usb_stor_suspend"
               and s.field == "exported_at"]  # fmt: skip
    assert (site.line, site.col) == (189, 1)


@pytest.mark.parametrize("fork", [False, True])
def test_listing_restat(tree: Path, fork: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    # Forked, a child re-checks the second half of the folders (big trees only: forced here)
    monkeypatch.setattr(store, "_may_fork", lambda: fork)
    monkeypatch.setattr(store, "_BIG", 0)
    first = listing(tree, "x86")
    halfway = store._halfway(first)
    assert 0 < halfway < len(first.folders)
    # a folder with files in the child's half
    folders = list(zip(first.folders, first.names, strict=True))[halfway:]
    late, name = next((f, ns[0]) for f, ns in folders if f and ns)
    assert "kernel/kthread.c" in first.files and "Makefile" in first.files
    assert listing(tree, "x86") == first  # from the store, re-checked
    path = tree / "kernel/kthread.c"
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    again = listing(tree, "x86")
    assert again.files["kernel/kthread.c"][1] == st.st_mtime_ns + 10**9
    assert again.digest() != first.digest()
    (tree / "kernel/new.c").write_text("int x;\n")  # the folder's time changes: walked again
    assert "kernel/new.c" in listing(tree, "x86").files
    path = tree / late / name
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert listing(tree, "x86").files[f"{late}/{name}"][1] == st.st_mtime_ns + 10**9
    (tree / late / "new.h").write_text("int y;\n")
    assert f"{late}/new.h" in listing(tree, "x86").files


def test_one_changed_file_is_scanned_alone(tree: Path, submitted: list[str]) -> None:
    scanned = submitted
    (s,) = query(load(tree), "name=usb_stor_suspend")
    assert s.exported_at == f"{USB}:187:1"
    assert len(scanned) == 5
    scanned.clear()
    path = tree / USB
    path.write_bytes(b"\n" + path.read_bytes())
    (s,) = query(load(tree), "name=usb_stor_suspend")
    assert s.exported_at == f"{USB}:188:1"
    assert scanned == [USB]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # drivers/gpu/drm/amd/display/dc/dce/dce_i2c.c: ")" alone at column 0
        (b"\nbool dce_i2c_oem_device_present(\n\tstruct resource_pool *pool\n)\n{\n}\n",
         [("dce_i2c_oem_device_present", 2, 6, True, False)]),
        # drivers/gpu/drm/i915/gem/i915_gem_context.c: a #define before the body
        (b"\nstatic struct intel_context *\nlookup_user_engine(int flags)\n"
         b"#define LOOKUP_USER_INDEX BIT(0)\n{\n}\n",
         [("lookup_user_engine", 3, 1, True, False)]),
        # drivers/ata/libata-eh.c: an attribute with parentheses before the name
        (b"\nstatic __printf(2, 0) void __ata_ehi_pushv_desc(int a,\n\t\tint b)\n{\n}\n",
         [("__ata_ehi_pushv_desc", 2, 28, True, True)]),
        # arch/x86/events/intel/uncore_snb.c: empty bodies on their own line
        (b"\nstatic void a(int x)\n{}\n\nstatic void b(int x)\n{}\n",
         [("a", 2, 13, True, True), ("b", 5, 13, True, True)]),
        # a column-0 "if" in a macro (fs/reiserfs/fix_node.c) and an unknown macro's body
        (b"\nif (x)\n{\n}\nFOO(bar)\n{\n}\n", []),
        # kernel/sys.c: a definition macro with a body
        (b"\nSYSCALL_DEFINE1(umask, int, mask)\n{\n}\n",
         [("__do_sys_umask", 2, 1, True, False), ("__se_sys_umask", 2, 1, True, False),
          ("sys_umask", 2, 1, True, False)]),
        # variables and a definition macro at column 0
        (b"\nstatic int count __read_mostly = 1;\nDEFINE_MUTEX(lock);\nstruct a b[2];\n",
         [("count", 2, 12, False, True), ("lock", 3, 1, False, False),
          ("b", 4, 10, False, False)]),
    ],
)  # fmt: skip
def test_definitions(text: bytes, expected: list[tuple[str, int, int, bool, bool]]) -> None:
    from ksql.plugins.tree.scan import scan

    assert sorted(scan("x.c", text).definitions) == sorted(expected)


def test_a_fifo_in_a_files_place_is_skipped(tmp_path: Path) -> None:
    from ksql.plugins.tree.index import scan_paths
    from ksql.regular import read_regular as read_file

    (tmp_path / "a.c").write_bytes(b"int a;\n")
    os.mkfifo(tmp_path / "b.c")  # opened for reading, it would wait for a writer
    with pytest.raises(OSError, match="not a regular file"):
        read_file(str(tmp_path / "b.c"))
    assert read_file(str(tmp_path / "a.c")) == b"int a;\n"
    sites = marshal.loads(scan_paths(str(tmp_path), ["a.c", "b.c"]))
    assert [s[0] for s in sites] == ["a.c"]


@pytest.mark.parametrize(
    "damage",
    [
        lambda t: ("x",),  # not a FileSites record
        lambda t: (t[0], [("a", 1)], *t[2:]),  # an export of the wrong arity
        lambda t: (t[0], "exports", *t[2:]),  # not a list
        lambda t: (t[0], [("f", 1, 1, 999, "", True)], *t[2:]),  # no such export kind
    ],
)
def test_damaged_stored_sites_are_scanned_afresh(
    tree: Path, submitted: list[str], damage: Callable[[tuple[Any, ...]], tuple[Any, ...]]
) -> None:
    """Stored sites that marshal reads but in the wrong shape: the tree is scanned again
    and the store rewritten, as a damaged load cache entry is -- no error."""
    load(tree)
    cache = Path(os.environ["KSQL_CACHE_DIR"])
    (stored,) = cache.rglob("tree-sites-*")
    fmt, sites = marshal.loads(stored.read_bytes())
    size, mtime, record = sites[USB]
    sites[USB] = (size, mtime, damage(record))
    stored.write_bytes(marshal.dumps((fmt, sites)))
    for entry in cache.rglob("*.entry"):  # the load cache's: the tree is indexed again
        entry.unlink()
    submitted.clear()
    (s,) = query(load(tree), "name=usb_stor_suspend")
    assert s.exported_at == f"{USB}:187:1"
    assert USB in submitted
    for entry in cache.rglob("*.entry"):
        entry.unlink()
    submitted.clear()
    assert query(load(tree), "name=usb_stor_suspend")
    assert submitted == []  # the store was rewritten whole


def test_a_failed_child_leaves_the_listing_whole(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A forked helper that dies (killed, out of memory) gives no answer: its half of the
    walk is done in-process, and a re-check falls back to a walk -- the listing is whole."""

    class Failed:
        def __init__(self, work: Callable[[], bytes | None]) -> None:
            pass

        def result(self) -> None:
            return None

    monkeypatch.setattr(store, "_may_fork", lambda: False)
    whole = listing(tree, "x86")
    monkeypatch.setattr(store, "_may_fork", lambda: True)
    monkeypatch.setattr(store, "_BIG", 0)
    monkeypatch.setattr(store, "_Child", Failed)
    assert store.walk(tree.resolve(), "x86").files == whole.files
    assert listing(tree, "x86").files == whole.files  # the stored listing, re-checked
    assert store._restat(tree.resolve(), whole) is None  # no half answer is taken
