"""Module look-ups: the committed ksym-test.ko (two objects with a static ``helper`` each, an
``.init.text`` function, a cold path) and a sample of Debian 6.1's module tree."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ksql.errors import KsqlError
from ksql.symbolize.module_image import ModuleImage
from ksql.symbolize.resolve import Ambiguous, Symbolizer

from .conftest import KSYM


@pytest.fixture(scope="module")
def ksym() -> ModuleImage:
    return ModuleImage(KSYM / "ksym-test.ko")


def test_layout(ksym: ModuleImage) -> None:
    """layout_sections(): exec sections in header order, .init.text in its own layout,
    text sizes page-aligned."""
    assert ksym.section_offsets == {
        ".text": (False, 0),
        ".text.unlikely": (False, 0x82),
        ".exit.text": (False, 0xA8),
        ".init.text": (True, 0),
    }
    assert (ksym.core_text, ksym.init_text) == (0x1000, 0x1000)
    assert ksym.build_id == "9578b3753e7f1cd0bd251f4cc27f675a4bd2252d"


@pytest.mark.parametrize(
    ("offset", "init", "expected"),
    [
        (0x5, False, "helper+0x5/0x10"),
        (0x45, False, "helper+0x5/0x30"),
        (0x14, False, "ksym_a_entry+0x4/0x30"),
        (0x75, False, "ksym_b_entry+0x5/0x12"),
        (0x93, False, "ksym_cold+0x11/0x13"),  # .text.unlikely
        (0x95, False, "ksym_a_entry.cold+0x0/0x13"),
        # ksym_exit and cleanup_module share .exit.text+0: the first in the symbol table
        # wins, and the last symbol runs to the end of the page-aligned core text
        (0xAC, False, "ksym_exit+0x4/0xf58"),
        (0x10, True, "ksym_init+0x10/0x1000"),
    ],
)
def test_lookup(ksym: ModuleImage, offset: int, init: bool, expected: str) -> None:
    hit = ksym.lookup(offset, init=init)
    assert hit is not None and f"{hit.name}+{hit.offset:#x}/{hit.size:#x}" == expected


def test_beyond_the_text(ksym: ModuleImage) -> None:
    assert ksym.lookup(0x1000) is None and ksym.lookup(-1) is None


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (("helper", 0x5, 0x10), (".text", 0x5)),
        (("helper", 0x5, 0x30), (".text", 0x45)),
        (("ksym_init", 0x10, None), (".init.text", 0x10)),
        (("ksym_cold", 0x3, None), (".text.unlikely", 0x3)),
        (("init_module", 0x2, None), (".init.text", 0x2)),
    ],
)
def test_locate_section_relative(
    sym: Symbolizer, spec: tuple[str, int, int | None], expected: tuple[str, int]
) -> None:
    name, off, size = spec
    frame = sym.locate(name, off, size, "ksym-test")  # "-" and "_" alike
    assert (frame.section, frame.section_offset) == expected
    assert frame.module == "ksym_test" and frame.address is None


def test_locate_errors(sym: Symbolizer) -> None:
    with pytest.raises(Ambiguous, match=r"helper\+0x5 \[ksym_test\]: ambiguous: 2 candidates"):
        sym.locate("helper", 0x5, None, "ksym_test")
    with pytest.raises(KsqlError, match="module not found"):
        sym.locate("x", 0, None, "no_such_module")
    with pytest.raises(KsqlError, match="no such text symbol"):
        sym.locate("nothing_here", 0, None, "ksym_test")


def test_build_id_must_match(sym: Symbolizer) -> None:
    assert sym.module("ksym_test", "9578b3753e7f1cd0bd251f4cc27f675a4bd2252d") is not None
    assert sym.module("ksym_test", "00" * 20) is None


def test_runtime_addresses_with_a_base(sym: Symbolizer) -> None:
    sym.bases["ksym_test"] = 0xFFFFFFFFC0A00000
    (frame,) = sym.describe([0xFFFFFFFFC0A00045])
    assert frame is not None and frame.text() == "helper+0x5/0x30 [ksym_test]"
    assert sym.locate("helper", 5, 0x30, "ksym_test").address == 0xFFFFFFFFC0A00045


def _sample(root: Path, every: int) -> list[Path]:
    files: list[Path] = []
    for top, dirs, names in os.walk(root):
        dirs.sort()
        files.extend(Path(top, n) for n in sorted(names) if n.endswith(".ko"))
    return files[::every]


def test_corpus_modules_round_trip() -> None:
    """A sample of Debian 6.1's modules: every text symbol %pS can print names its own
    start and last byte, and name+off/size leads back to its layout offset."""
    corpus = os.environ.get("KSQL_CORPUS")
    if not corpus or not Path(corpus, "modules").is_dir():
        pytest.skip("KSQL_CORPUS not set")
    checked = 0
    for path in _sample(Path(corpus, "modules"), 100):
        image = ModuleImage(path)
        seen: set[tuple[bool, int]] = set()
        for name, init, off in zip(
            image.names, image.init.tolist(), image.offsets.tolist(), strict=True
        ):
            if (init, off) in seen:
                continue  # a later alias: %pS prints the first
            seen.add((init, off))
            hit = image.lookup(off, init=init)
            if hit is None:  # a label at the very end of its layout's text
                continue
            assert (hit.name, hit.offset) == (name, 0), path
            last = image.lookup(off + hit.size - 1, init=init)
            assert last is not None and (last.name, last.offset) == (name, hit.size - 1)
            same = [c for c in image.candidates(name) if image.size_at(*c) == hit.size]
            assert (init, off) in same
            checked += 1
    assert checked > 2000
