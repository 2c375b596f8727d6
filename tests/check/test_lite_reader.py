"""The plain-Python module reader (ksql.elf.modfacts) finds exactly the facts the ``elf``
plugin's numpy reader finds: on every module and object of tests/data (ET_REL of 6.1, 6.12
and 7.2 with __kflagstab, .o files with .export_symbol, seven architectures) and on a
stride of Debian's 6.1 module tree; and it refuses what the bulk reader refuses."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ksql.elf import modfacts
from ksql.errors import SourceError
from ksql.plugins.elf import loadfacts
from ksql.plugins.elf.files import module_files

DATA = Path(__file__).resolve().parent.parent / "data"


def _facts(read: object, path: Path) -> object:
    try:
        return read(path)  # type: ignore[operator]
    except SourceError as exc:
        return ("error", type(exc).__name__)


def _same(path: Path) -> None:
    assert _facts(modfacts.read_facts, path) == _facts(loadfacts.read_facts, path), path


@pytest.mark.parametrize(
    "path",
    sorted(p for p in DATA.rglob("*") if p.name.endswith((".ko", ".ko.xz", ".o"))),
    ids=lambda p: str(p.relative_to(DATA)),
)
def test_lite_reader_agrees_on_test_data(path: Path) -> None:
    _same(path)


@pytest.mark.corpus
def test_lite_reader_agrees_on_the_corpus(corpus: Path) -> None:
    files = module_files(corpus / "modules")
    stride = int(os.environ.get("KSQL_LITE_STRIDE", "16"))  # 1: all 4,022 modules
    for path in files[::stride]:
        _same(path)


@pytest.mark.parametrize(
    "data",
    [b"", b"\x7fELF", b"\x7fELF\x03\x01" + bytes(60), b"\x7fELF\x02\x01" + bytes(58)],
    ids=["empty", "magic-only", "bad-class", "no-sections"],
)
def test_lite_reader_refuses_what_the_bulk_reader_refuses(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "bad.ko"
    path.write_bytes(data)
    with pytest.raises(SourceError):
        modfacts.read_facts(path)
    with pytest.raises(SourceError):
        loadfacts.read_facts(path)


def test_truncated_module_is_a_source_error_in_both(tmp_path: Path) -> None:
    raw = (DATA / "m1.ko").read_bytes()
    for cut in (64, len(raw) // 2, len(raw) - 100):
        path = tmp_path / "cut.ko"
        path.write_bytes(raw[:cut])
        _same(path)


def test_section_flavours_agree_with_the_export_kinds() -> None:
    from ksql.kernel.ksymnames import SECTION_GPL
    from ksql.kernel.ksymtab import SECTION_EXPORTS

    assert {s: k.gpl_only for s, k in SECTION_EXPORTS.items()} == SECTION_GPL
