"""The tree source on a few real files of Debian's 6.1 kernel source tree (tests/data/
tree-6.1: the top Makefile and Kbuild, the Makefiles on the way to kernel/, kernel/sched/
and drivers/usb/storage/, and an excerpt of Debian's config as .config)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ksql.catalog import Catalog
from ksql.kernel.kbuild import Kbuild, module_of_file, read_config, scan_kbuild
from ksql.plugins.tree import is_headers_tree, is_source_tree
from ksql.plugins.tree.rows import RowBuilder
from ksql.plugins.tree.scan import scan
from ksql.plugins.tree.sites import FileSites
from ksql.plugins.tree.store import walk
from ksql.sink import RowSink
from ksql.testing import load, names, query

TREE = Path(__file__).parent.parent / "data" / "tree-6.1"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    mp = pytest.MonkeyPatch()
    mp.delenv("KSQL_KCONFIG", raising=False)
    try:
        return load(TREE)
    finally:
        mp.undo()


@pytest.mark.parametrize(
    ("name", "row"),
    [
        ("kthread_stop", ("vmlinux", "global", "function", "EXPORT_SYMBOL", "",
                          "kernel/kthread.c:718:1", "kernel/kthread.c:698:5",
                          "include/linux/kthread.h:88:5")),
        ("kthread_create_worker", ("vmlinux", "global", "function", "EXPORT_SYMBOL", "",
                                   "kernel/kthread.c:904:1", "kernel/kthread.c:893:1",
                                   "include/linux/kthread.h:190:1")),
        # Makefile: ccflags-y += -DDEFAULT_SYMBOL_NAMESPACE=USB_STORAGE; CONFIG_USB_STORAGE=m
        ("usb_stor_suspend", ("usb_storage", "global", "function", "EXPORT_SYMBOL_GPL",
                              "USB_STORAGE", "drivers/usb/storage/usb.c:187:1",
                              "drivers/usb/storage/usb.c:169:5", "")),
        # built because kernel/sched/build_utility.c includes completion.c
        ("complete", ("vmlinux", "global", "function", "EXPORT_SYMBOL", "",
                      "kernel/sched/completion.c:39:1", "kernel/sched/completion.c:28:6", "")),
        ("kthread_create_lock", ("vmlinux", "local", "object", "none", "", "",
                                 "kernel/kthread.c:34:8", "")),
        ("to_kthread", ("vmlinux", "local", "function", "none", "", "",
                        "kernel/kthread.c:73:31", "")),
    ],
)  # fmt: skip
def test_sites(catalog: Catalog, name: str, row: tuple[str, ...]) -> None:
    (s,) = query(catalog, f"name={name}")
    got = (s.module, s.bind.label, s.kind.label, s.export.label, s.namespace, s.exported_at,
           s.defined_at, s.declared_at)  # fmt: skip
    assert got == row


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("exported", 53),
        ("file=drivers/usb/storage/* and exported", 10),
        ("file=include/linux/kthread.h", 41),
        ('file~"^kernel/sched/"', 17),
        ("defined_at=kernel/kthread.c:*", 61),
        ("module=usb_storage and gpl and namespace=USB_STORAGE", 10),
    ],
)
def test_queries(catalog: Catalog, text: str, count: int) -> None:
    assert len(names(catalog, text)) == count


@pytest.mark.parametrize(
    ("path", "module"),
    [
        ("kernel/kthread.c", "vmlinux"),  # obj-y
        ("drivers/usb/storage/usb.c", "usb_storage"),  # usb-storage-y, CONFIG_USB_STORAGE=m
        ("kernel/sched/build_utility.c", "vmlinux"),
        ("kernel/sched/completion.c", "vmlinux"),  # #include "completion.c"
        ("drivers/usb/storage/uas.c", None),  # CONFIG_USB_UAS not set
        ("kernel/kthread.h", None),
    ],
)
def test_module_of_file(path: str, module: str | None) -> None:
    assert module_of_file(TREE, path, read_config(TREE / ".config")) == module


def test_kbuild_from_a_listing_is_kbuild_from_stat() -> None:
    config = read_config(TREE / ".config")
    listed = walk(TREE, "x86").files
    by_stat, by_listing = scan_kbuild(TREE, config), scan_kbuild(TREE, config, listed)
    assert by_listing.files == by_stat.files
    assert "drivers/usb/storage/usb.c" in by_listing.files
    assert by_listing.namespaces == by_stat.namespaces
    # a file the listing does not hold is not built, though it is there
    del listed["drivers/usb/storage/usb.c"]
    assert "drivers/usb/storage/usb.c" not in scan_kbuild(TREE, config, listed).files


def test_layouts() -> None:
    assert is_source_tree(TREE)
    assert not is_headers_tree(TREE)
    assert not is_source_tree(TREE / "kernel")


def test_scan_counts() -> None:
    data = (TREE / "kernel/kthread.c").read_bytes()
    sites = scan("kernel/kthread.c", data)
    assert (len(sites.exports), len(sites.definitions)) == (30, 61)
    assert sites.exports[0] == ("kthread_should_stop", 159, 1, 2, "", True)
    header = scan("include/linux/kthread.h", (TREE / "include/linux/kthread.h").read_bytes(),
                  headers=True)  # fmt: skip
    assert len(header.declarations) == 41


def test_only_included_files_beside_built_ones_are_scanned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, submitted: list[str]
) -> None:
    """kernel/sched/completion.c is built only as build_utility.c's #include, and is
    scanned; a .c file beside them that nothing builds or includes is not."""
    tree = tmp_path / "tree"
    shutil.copytree(TREE, tree)
    (tree / "kernel/sched/stray.c").write_text("int stray(void)\n{\n\treturn 0;\n}\n")
    monkeypatch.setenv("KSQL_NO_CACHE", "1")
    monkeypatch.delenv("KSQL_KCONFIG", raising=False)
    catalog = load(tree)
    assert "kernel/sched/completion.c" in submitted
    assert "kernel/sched/build_utility.c" in submitted
    assert "kernel/sched/stray.c" not in submitted
    assert not query(catalog, "name=stray")
    assert query(catalog, "name=complete")


def test_headers_tree_declares(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A headers tree (the Makefiles and headers, no .c file) gives its declarations."""
    tree = tmp_path / "headers"
    shutil.copytree(TREE, tree, ignore=shutil.ignore_patterns("*.c"))
    assert is_headers_tree(tree)
    monkeypatch.setenv("KSQL_NO_CACHE", "1")
    catalog = load(f"tree:{tree}")
    (row,) = query(catalog, "name=kthread_stop")
    assert (row.declared_at, row.defined_at, row.module) == (
        "include/linux/kthread.h:88:5",
        "",
        "vmlinux",
    )
    declared = {s.name for s in query(catalog, "declared_at=*")}
    assert len(declared) == len(catalog) > 30


def test_a_site_from_the_earlier_file_wins_in_any_order() -> None:
    """init/version.c's weak init_uts_ns, then the definition it includes from
    init/version-timestamp.c: the earlier file in the tree's order gives the site, whether
    its sites come in first or last (built files go in while the others are scanned)."""
    weak = scan("init/version.c", b"struct uts_namespace init_uts_ns __weak;\n")
    real = scan("init/version-timestamp.c", b"\n\nstruct uts_namespace init_uts_ns = {\n};\n")
    rows = []
    for order in ((real, weak), (weak, real)):
        builder = RowBuilder(Kbuild({"init/version.c": "vmlinux"}), strict=False)
        for sites in order:
            rank = 0 if sites is real else 1  # init/version-timestamp.c sorts first
            builder.add(FileSites.from_tuple(sites.as_tuple()), rank)
        sink = RowSink("test")
        builder.emit(sink)
        rows.append([dict(zip(b.columns, r, strict=True)) for b in sink.batches()
                     for r in zip(*b.columns.values(), strict=True)])  # fmt: skip
    assert rows[0] == rows[1]
    assert [r["defined_at"] for r in rows[0]] == ["init/version-timestamp.c:3:22"]


def test_a_table_shows_the_sites(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from ksql.query.compiler import compile_query
    from ksql.render import render_table

    monkeypatch.setenv("KSQL_NO_CACHE", "1")
    catalog = load(f"tree:{TREE}")
    rows = compile_query("name=usb_stor_suspend").rows(catalog)
    out = io.StringIO()
    render_table(catalog, rows, out)
    head, row = out.getvalue().splitlines()
    base = ["addr", "type", "name", "module", "export", "namespace", "crc"]
    assert head.split() == [*base, "exported_at", "defined_at"]  # no declaration here
    usb = "drivers/usb/storage/usb.c"
    assert row.split()[-2:] == [f"{usb}:187:1", f"{usb}:169:5"]
    out = io.StringIO()
    render_table(catalog, rows, out, width=110)  # a narrow terminal: sites lose their folders
    head, row = out.getvalue().splitlines()
    assert max(len(head), len(row)) <= 110
    assert row.split()[-2:] == ["…/usb.c:187:1", "…/usb.c:169:5"]
    out = io.StringIO()
    render_table(catalog, rows, out, width=100)  # below the floors: cut to them, no further
    assert out.getvalue().splitlines()[1].split()[-1] == "…/usb.c:169:5"
