"""Sources decoded side by side by forked children (ksql.sideload): the catalog is the one a
load one by one makes, and a failure is the one a load one by one raises."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ksql import sideload
from ksql.catalog import Catalog
from ksql.errors import SourceError
from ksql.pluginmanager import load_plugins
from ksql.sink import RowSink
from ksql.source import SourceType
from ksql.testing import load

DATA = Path(__file__).parent / "data"
CORPUS = Path(os.environ.get("KSQL_CORPUS", "/nonexistent"))
SOURCES = [
    DATA / "System.map-6.1-excerpt",
    f"tree:{DATA / 'tree-6.1'}",
    DATA / "m1.ko",
    DATA / "Module.symvers-6.1-excerpt",
    DATA / "m2.ko",
]


def dump(catalog: Catalog) -> tuple[object, ...]:
    return (
        [repr(s) for s in catalog.symbols(range(len(catalog)))],
        catalog.module_info,
        catalog.problems,
        catalog.notes,
        catalog.loaded,
    )


@pytest.fixture
def forked(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every file source decoded by a child; the children's pids."""
    pids: list[int] = []
    init = sideload.Side.__init__

    def counted(self: sideload.Side, decode: object) -> None:
        init(self, decode)  # type: ignore[arg-type]
        pids.append(self.pid)

    monkeypatch.setattr(sideload, "SIDE_FROM", 0)
    monkeypatch.setattr(sideload, "usable", lambda: True)
    monkeypatch.setattr(sideload.Side, "__init__", counted)
    return pids


def no_children_left() -> bool:
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def test_the_catalog_is_the_one_by_one_load(
    forked: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    side_by_side = dump(load(*SOURCES))
    assert len(forked) == 4  # every file source; the tree loads here
    monkeypatch.setattr(sideload, "usable", lambda: False)
    assert side_by_side == dump(load(*SOURCES))
    assert no_children_left()


def test_a_child_that_dies_leaves_its_source_to_this_process(
    forked: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ksql import loading

    decode = loading.decode
    parent = os.getpid()

    def dies_in_a_child(resolved: loading.Resolved, forward: object = None) -> object:
        if os.getpid() != parent:
            os._exit(3)  # killed before it sends anything
        return decode(resolved, forward)  # type: ignore[arg-type]

    monkeypatch.setattr(loading, "decode", dies_in_a_child)
    got = dump(load(*SOURCES))
    monkeypatch.setattr(sideload, "usable", lambda: False)
    assert len(forked) == 4 and got == dump(load(*SOURCES))
    assert no_children_left()


def test_the_first_bad_source_is_the_error(forked: list[int], tmp_path: Path) -> None:
    """A bad file decoded aside fails the load with its own error, even when a later source
    (loaded here) fails too."""
    bad_elf = tmp_path / "vmlinux"
    bad_elf.write_bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 9 + b"\xff" * 48)
    bad_map = tmp_path / "System.map"
    bad_map.write_text("ffffffff81000000 T _text\nnot a symbol line\n")
    for sources in (
        [bad_elf, f"tree:{DATA / 'tree-6.1'}", f"kallsyms:{bad_map}"],
        [bad_elf, f"kallsyms:{bad_map}"],  # the map, read here, fails before the ELF is read
    ):
        with pytest.raises(SourceError) as first:
            load(*sources)
        assert str(bad_elf) in str(first.value)
    with pytest.raises(SourceError) as later:
        load(DATA / "m1.ko", f"kallsyms:{bad_map}")
    assert str(bad_map) in str(later.value)
    assert forked and no_children_left()


def test_only_big_files_go_aside(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from ksql import loading
    from ksql.pluginmanager import load_plugins

    monkeypatch.setattr(sideload, "usable", lambda: True)
    plugins = load_plugins()
    big = tmp_path / "System.map"
    text = (DATA / "System.map-6.1-excerpt").read_bytes()
    big.write_bytes(text * (1 + (DATA / "m1.ko").stat().st_size // len(text)))
    monkeypatch.setattr(sideload, "SIDE_FROM", big.stat().st_size)
    small = loading.resolve(str(DATA / "m1.ko"), plugins)
    tree = loading.resolve(f"tree:{DATA / 'tree-6.1'}", plugins)
    large = loading.resolve(str(big), plugins)
    monkeypatch.setattr(sideload, "Side", lambda decode: pytest.fail("a child was started"))
    assert loading._sides([large]) == {}  # one source: nothing to overlap
    assert loading._sides([small, tree]) == {}  # no big file
    monkeypatch.setattr(sideload, "Side", lambda decode: "child")
    assert loading._sides([large, tree]) == {0: "child"}
    assert loading._sides([tree, large]) == {1: "child"}  # parsed while the tree loads
    assert loading._sides([large, large]) == {0: "child"}  # the last stays here


class Plain(SourceType):
    """A source type that says nothing of what its loads leave or read."""

    name = "plain"

    def recognizes(self, path: Path, head: bytes) -> bool:
        return False

    def load(self, path: Path, sink: RowSink) -> None:
        raise AssertionError("not loaded here")


def test_one_source_that_may_depend_on_another_loads_all_one_by_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ksql import loading

    monkeypatch.setattr(sideload, "usable", lambda: True)
    monkeypatch.setattr(sideload, "SIDE_FROM", 0)
    monkeypatch.setattr(sideload, "Side", lambda decode: "child")
    plugins = load_plugins()
    files = [loading.resolve(str(DATA / n), plugins) for n in ("m1.ko", "System.map-6.1-excerpt")]
    assert loading._sides(files) == {0: "child"}
    other = loading.Resolved(Plain(), DATA / "m2.ko")
    assert loading._sides([*files, other]) == {}
    monkeypatch.setenv("KSQL_ELF_BTF", "1")  # module BTF continues an earlier vmlinux's
    assert loading._sides(files) == {}


@pytest.mark.corpus
def test_a_vmlinux_decoded_aside_is_the_base_of_module_btf_read_after_it(
    forked: list[int],
) -> None:
    from ksql.plugins.btf import bases

    vmlinux = CORPUS / "vmlinux"
    if not vmlinux.exists():
        pytest.skip("needs the corpus vmlinux")
    bases.forget()
    try:
        load(vmlinux, DATA / "m1.ko")
        assert forked and bases.base_path(DATA / "m1.ko") == vmlinux.resolve()
    finally:
        bases.forget()


def test_an_interrupt_stops_the_children_without_waiting_for_them(
    forked: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ksql.plugins.kallsyms import NmText

    def interrupted(self: NmText, path: Path, sink: RowSink) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(NmText, "load", interrupted)
    monkeypatch.setattr(sideload.Side, "batches", lambda self: pytest.fail("waited for"))
    with pytest.raises(KeyboardInterrupt):
        load(DATA / "m1.ko", DATA / "System.map-6.1-excerpt")
    assert forked and no_children_left()
