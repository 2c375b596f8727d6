"""Merging facts from several sources by (module, name), without losing duplicates."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ksql.builder import CatalogBuilder
from ksql.catalog import Catalog
from ksql.model import Bind, ExportKind
from ksql.sink import RowSink
from tests.conftest import DATA, names

Load = Callable[..., Catalog]


def test_seed_kallsyms_plus_symvers_merge_into_one_row(load: Load) -> None:
    cat = load(DATA / "kallsyms-m2-excerpt.txt", DATA / "seed.Module.symvers")
    assert len(cat) == 4
    (sym,) = cat.lookup("rday_3")
    assert (sym.addr, sym.type, sym.export, sym.crc) == (
        0xFFFFFFFFA00F6570,
        "D",
        ExportKind.EXPORT_SYMBOL,
        0x291BCCCD,
    )
    assert [s.split(":")[0] for s in sym.sources] == ["kallsyms", "symvers"]
    assert names(cat, "exported and module=m2 and type=D") == ["rday_3"]


def test_merge_order_does_not_matter(load: Load) -> None:
    a = load(DATA / "seed.Module.symvers", DATA / "kallsyms-m2-excerpt.txt")
    (sym,) = a.lookup("rday_3")
    assert (sym.addr, sym.type, sym.export, sym.crc) == (
        0xFFFFFFFFA00F6570,
        "D",
        ExportKind.EXPORT_SYMBOL,
        0x291BCCCD,
    )


def test_symvers_precise_kind_wins_and_duplicates_survive(load: Load) -> None:
    cat = load(DATA / "System.map-6.1-excerpt", DATA / "Module.symvers-6.1-excerpt")
    kern_path = sorted(cat.lookup("kern_path"), key=lambda s: s.type)
    assert [(s.type, s.export, s.crc) for s in kern_path] == [
        ("T", ExportKind.EXPORT_SYMBOL, 0x04A093B8),
        ("d", ExportKind.NONE, None),
    ]
    user_read = sorted(cat.lookup("user_read"), key=lambda s: s.type)
    assert [(s.type, s.export) for s in user_read] == [
        ("T", ExportKind.EXPORT_SYMBOL_GPL),
        ("t", ExportKind.NONE),
    ]
    (dma,) = cat.lookup("dma_buf_export")
    assert (dma.namespace, dma.export) == ("DMA_BUF", ExportKind.EXPORT_SYMBOL_GPL)
    # Module exports with no kallsyms row of their own are added, not lost.
    assert names(cat, "module=usb_storage order by name") == [
        "usb_stor_host_template_init",
        "usb_stor_sense_invalidCDB",
    ]


def test_kaslr_slide_aligns_system_map_with_kallsyms(tmp_path: Path, load: Load) -> None:
    # /proc/kallsyms is relocated by KASLR; System.map has link-time addresses.
    slide = 0x2E00000
    kallsyms = tmp_path / "kallsyms"
    lines = [
        line.split(" ", 1) for line in (DATA / "System.map-6.1-excerpt").read_text().splitlines()
    ]
    kallsyms.write_text(
        "".join(f"{int(a, 16) + (slide if int(a, 16) else 0):016x} {rest}\n" for a, rest in lines)
    )
    cat = load(kallsyms, DATA / "System.map-6.1-excerpt")
    assert len(cat) == len(lines)
    user_read = sorted(cat.lookup("user_read"), key=lambda s: s.type)
    assert [s.addr for s in user_read] == [0xFFFFFFFF81442F30 + slide, 0xFFFFFFFF81464EE0 + slide]
    assert all(len(s.sources) == 2 for s in user_read)


def _build(*sinks: RowSink) -> Catalog:
    builder = CatalogBuilder()
    for sink in sinks:
        for batch in sink.batches():
            builder.add(batch, sink.source)
    return builder.build()


def test_references_do_not_merge_with_definitions() -> None:
    sinks = []
    for source, undefined in (("a", False), ("b", True)):
        sink = RowSink(source)
        sink.add("jiffies", module="m1", type="U" if undefined else "D")
        sinks.append(sink)
    cat = _build(*sinks)
    assert sorted(s.type for s in cat.lookup("jiffies")) == ["D", "U"]


def test_rows_added_by_row_and_by_column_agree() -> None:
    by_row, by_col = RowSink("r"), RowSink("c")
    by_row.add("f", addr=0x10, type="t", size=4)
    by_row.add("g", module="m", addr=None, type="U")
    by_col.extend(
        ["f", "g"], module=["vmlinux", "m"], addr=[0x10, None], type=["t", "U"], size=[4, None]
    )
    rows = []
    for sink in (by_row, by_col):
        cat = _build(sink)
        rows.append([s.as_dict() | {"source": None} for s in cat.symbols(range(len(cat)))])
    assert rows[0] == rows[1]
    assert rows[0][0]["bind"] == Bind.LOCAL.label


def test_growth_keeps_every_row() -> None:
    sinks = []
    for i in range(5):
        sink = RowSink(f"s{i}")
        sink.extend(
            [f"sym{i}_{j}" for j in range(700)],
            module=f"mod{i}",
            addr=np.arange(700, dtype=np.uint64),
            type="T",
        )
        sinks.append(sink)
    cat = _build(*sinks)
    assert len(cat) == 3500
    assert cat.columns().name[3499] == "sym4_699"
    assert cat.module_names() == [f"mod{i}" for i in range(5)]


def test_hidden_kallsyms_pairs_with_system_map_without_doubling(tmp_path: Path, load: Load) -> None:
    hidden = tmp_path / "kallsyms"
    # A kernel-sized table whose addresses are all 0 reads as hidden, not as real zeros.
    lines = (DATA / "System.map-6.1-excerpt").read_text().splitlines()
    filler = [f"ffffffff8{i:07x} t filler_{i}" for i in range(100)]
    hidden.write_text("".join(f"{0:016x} {line.split(' ', 1)[1]}\n" for line in lines + filler))
    cat = load(hidden, DATA / "System.map-6.1-excerpt")
    assert len(cat) == len(lines) + len(filler)
    user_read = sorted(cat.lookup("user_read"), key=lambda s: s.type)
    assert [(s.type, s.addr) for s in user_read] == [
        ("T", 0xFFFFFFFF81442F30),
        ("t", 0xFFFFFFFF81464EE0),
    ]


def test_derived_values_are_built_once_per_catalog() -> None:
    """Eight threads asking at once get one build; a build may ask for another derived
    value; another catalog builds its own."""
    import threading

    cat, other = Catalog(), Catalog()
    builds: list[str] = []

    def slow(tag: str) -> str:
        builds.append(tag)
        return tag + cat.derived("inner", lambda: "!")

    got: list[str] = []
    threads = [
        threading.Thread(target=lambda: got.append(cat.derived("k", lambda: slow("v"))))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == ["v!"] * 8 and builds == ["v"]
    assert other.derived("k", lambda: "w") == "w"


def test_a_symvers_meeting_many_modules_merges_as_one_meeting_few(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Module.symvers over 40 modules merges through indexes of just its own names; the
    catalog equals the one made with a whole name index per module."""
    from ksql import builder
    from ksql.testing import load

    kallsyms, symvers = [], []
    for m in range(40):
        for k in range(30):
            kallsyms.append(f"{m:08x}{k:08x} T f{k}_{m % 7}\t[mod{m}]")
            kallsyms.append(f"{m:08x}{k:08x} t s{k}\t[mod{m}]")
            kallsyms.append(f"0000000000000000 U printk\t[mod{m}]")
        symvers.append(f"0x{m:08x}\tf{m % 30}_{m % 7}\tmod{m}\tEXPORT_SYMBOL_GPL\tNS{m % 3}")
        symvers.append(f"0x{m + 1:08x}\tnew_{m}\tmod{m}\tEXPORT_SYMBOL\t")
    (tmp_path / "kallsyms").write_text("\n".join(kallsyms) + "\n")
    (tmp_path / "Module.symvers").write_text("\n".join(symvers) + "\n")
    sources = (tmp_path / "kallsyms", tmp_path / "Module.symvers")

    def rows(cat: Catalog) -> list[str]:
        return sorted(repr(s) for s in cat.symbols(range(len(cat))))

    few = rows(load(*sources))
    monkeypatch.setattr(builder, "_FEW_MODULES", 10**6)  # every module indexed whole
    assert rows(load(*sources)) == few
    assert sum("EXPORT_SYMBOL_GPL" in r and "NS" in r for r in few) == 40


def test_names_that_crossed_from_a_worker_make_the_same_name_column() -> None:
    """Batches unpickled (names joined, with their lengths) and batches made here, mixed,
    some taken in part by a merge, and one whose name column was replaced after it came:
    the catalog's name column is the one of every row's name."""
    import pickle

    from ksql.sink import Batch

    def batch(module: str, names: list[str], **more: object) -> Batch:
        return Batch.of(names, module=module, type="T", **more)

    made = [
        batch("a", ["x", "é_y", ""]),
        batch("b", []),
        batch("c", ["z", "x"]),
        batch("a", ["x", "w"], addr=[1, 2]),  # module a again: x merges, w is new
        batch("d", ["v", "u"]),
    ]
    crossed = [pickle.loads(pickle.dumps(b)) for b in made]
    assert crossed[0].packed is not None and crossed[0].packed.names is crossed[0]["name"]
    crossed[4].columns["name"] = ["v2", "u"]  # a stale packing must not be used
    for batches in (made, crossed):
        builder = CatalogBuilder()
        for b in batches:
            builder.add(b, "test:src")
        catalog = builder.build()
        column = catalog.columns().name
        every = column.tolist()
        # "\n" before each name and one at the end; each start is that newline's offset
        starts = [sum(len(n) + 1 for n in every[:i]) for i in range(len(every) + 1)]
        assert (column.blob, column.starts.tolist()) == ("\n" + "\n".join(every) + "\n", starts)
    assert column.tolist() == ["x", "é_y", "", "z", "x", "w", "v2", "u"]


def test_names_without_addresses_merge_as_through_a_whole_index(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch of names alone (a BTF) meeting a module with no name index yet is matched
    without building one (``merge._name_only``); the catalog equals the one a whole index
    makes, for every case the rules tell apart."""

    def build() -> Catalog:
        kallsyms = RowSink("kallsyms")
        for name, addr, letter in [
            ("one", 0x10, "T"),  # a single row: merges
            ("twin", 0x20, "T"),  # a global and a static namesake: the global one
            ("twin", 0x30, "t"),
            ("statics", 0x40, "t"),  # two statics: neither
            ("statics", 0x50, "t"),
            ("again", 0x60, "D"),  # named twice in the batch: both describe it
            ("ref", None, "U"),  # the batch's row is a definition: no merge
            ("_text", 0x0, "T"),
            ("kept", 0x70, "T"),  # not in the batch
        ]:
            kallsyms.add(name, module="vmlinux", addr=addr, type=letter)
        btf = RowSink("btf")
        for name in ["one", "twin", "statics", "again", "again", "ref", "absent", "_text"]:
            btf.add(name, module="vmlinux", decl=f"int {name}(void)")
        return _build(kallsyms, btf)

    def rows(cat: Catalog) -> list[str]:
        return [repr(s) for s in cat.symbols(range(len(cat)))]

    cat = build()
    fresh = rows(cat)
    monkeypatch.setattr(CatalogBuilder, "_fresh", lambda self, code: None)  # a whole index
    assert rows(build()) == fresh
    assert len(fresh) == 12  # "statics", "ref" and "absent" added
    assert [s.decl for s in cat.lookup("one")] == ["int one(void)"]
    assert sorted((s.type, s.decl) for s in cat.lookup("twin")) == [
        ("T", "int twin(void)"),
        ("t", ""),
    ]
