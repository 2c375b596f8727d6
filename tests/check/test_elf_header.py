"""The ELF header rules (ksql.elf.header) as both readers meet them: the plain one
(ksql.elf.reader) and the elf plugin's numpy one refuse each damaged header of a real module
with the same message at the same byte offset."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from ksql.elf.header import ElfHeader
from ksql.elf.reader import LiteImage
from ksql.errors import SourceError
from ksql.plugins.elf.reader import ElfImage

M1 = (Path(__file__).resolve().parent.parent / "data" / "m1.ko").read_bytes()
# Elf64_Ehdr offsets: e_shoff 40, e_shentsize 58, e_shnum 60, e_shstrndx 62.
SHOFF, SHNUM = struct.unpack_from("<Q", M1, 40)[0], struct.unpack_from("<H", M1, 60)[0]


def _patched(offset: int, fmt: str, value: int) -> bytes:
    data = bytearray(M1)
    struct.pack_into(fmt, data, offset, value)
    return bytes(data)


CASES: list[tuple[str, bytes, str, int | None]] = [
    ("not ELF", b"\x7fELG" + M1[4:], "not an ELF file (no \\x7fELF magic)", 0),
    ("too short", M1[:40], "not an ELF file (no \\x7fELF magic)", 0),
    ("class 3", M1[:4] + b"\x03" + M1[5:], "bad ELF class/encoding 3/1", 4),
    ("truncated header", M1[:60], "truncated ELF header", 60),
    ("no section table", _patched(40, "<Q", 0), "no section header table (stripped of sections?)",
     None),
    ("entry size", _patched(58, "<H", 60), "section header size 60, expected 64", 16),
    ("table past the end", M1[: SHOFF + 64 * SHNUM - 1],
     f"truncated: section headers end at {SHOFF + 64 * SHNUM}, file has "
     f"{SHOFF + 64 * SHNUM - 1} bytes", SHOFF),
    ("name table index", _patched(62, "<H", SHNUM),
     f"section name table index {SHNUM} out of range", None),
]  # fmt: skip


@pytest.mark.parametrize(("data", "message", "offset"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])  # fmt: skip
@pytest.mark.parametrize("reader", [ElfHeader, LiteImage, ElfImage])
def test_each_reader_refuses_a_damaged_header_alike(
    reader: Callable[[str, bytes], object], data: bytes, message: str, offset: int | None
) -> None:
    with pytest.raises(SourceError) as info:
        reader("m1.ko", data)
    assert (info.value.message, info.value.offset) == (message, offset)


def test_the_real_header() -> None:
    h = ElfHeader("m1.ko", M1)
    assert (h.is64, h.little, h.order, h.e_type, h.machine) == (True, True, "<", 1, 62)
    assert (h.shoff, h.shnum, h.shentsize) == (SHOFF, SHNUM, 64)
    assert LiteImage("m1.ko", M1).section_names == list(ElfImage("m1.ko", M1).section_names)
