"""Re-indexing one file (plugins/tree/live.py) and what the tree index keeps between runs
(plugins/tree/store.py), on the real files of tests/data/tree-6.1."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from ksql.plugins.tree import index as tree_index
from ksql.plugins.tree.live import FileSite, TreeIndex
from ksql.plugins.tree.store import listing

from ksql.model import ExportKind
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


def test_listing_restat(tree: Path) -> None:
    first = listing(tree, "x86")
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


def test_one_changed_file_is_scanned_alone(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scanned: list[str] = []
    submit = tree_index.Scanner.submit

    def spy(self: tree_index.Scanner, files: list[str]) -> None:
        scanned.extend(files)
        submit(self, files)

    monkeypatch.setattr(tree_index.Scanner, "submit", spy)
    (s,) = query(load(tree), "name=usb_stor_suspend")
    assert s.exported_at == f"{USB}:187:1"
    assert len(scanned) == 5
    scanned.clear()
    path = tree / USB
    path.write_bytes(b"\n" + path.read_bytes())
    (s,) = query(load(tree), "name=usb_stor_suspend")
    assert s.exported_at == f"{USB}:188:1"
    assert scanned == [USB]
