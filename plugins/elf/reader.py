"""A bulk ELF reader: the ELF header, the section header table and the symbol table decoded
with numpy structured dtypes straight from the file's bytes.

pyelftools' ``ELFFile`` builds one Python object per section and per symbol: 0.72 ms per
Debian module just to list the sections (2.9 s for the 4,023 modules of 6.1, where
``nm -p`` needs 0.6 s for everything). Here one ``np.frombuffer`` call decodes a whole table;
the tests check the decoding (and the constants) against pyelftools and binutils. Every
offset is bounds-checked: a bad file is a SourceError.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ksql.elf.contents import Contents
from ksql.elf.header import ElfHeader
from ksql.errors import SourceError
from ksql.values import frozen

# include/uapi/linux/elf.h. Written out, not taken from pyelftools' tables: importing those
# (elftools.elf.enums pulls in its bundled construct, and that pdb) cost every cold load
# ~23 ms (python -X importtime); tests/plugins/test_elf.py checks them against pyelftools.
SHT_SYMTAB = 2
SHT_RELA = 4
SHT_NOBITS = 8
SHT_SYMTAB_SHNDX = 18
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 0x1, 0x2, 0x4
SHN_UNDEF = 0
SHN_LORESERVE = 0xFF00
SHN_ABS = 0xFFF1
SHN_COMMON = 0xFFF2
SHN_XINDEX = 0xFFFF
ET_REL, ET_EXEC, ET_DYN = 1, 2, 3


@functools.cache
def dtypes(is64: bool, order: str) -> tuple[np.dtype, np.dtype, np.dtype]:
    if is64:
        sh = [
            ("name", "u4"),
            ("type", "u4"),
            ("flags", "u8"),
            ("addr", "u8"),
            ("offset", "u8"),
            ("size", "u8"),
            ("link", "u4"),
            ("info", "u4"),
            ("addralign", "u8"),
            ("entsize", "u8"),
        ]
        sym = [
            ("name", "u4"),
            ("info", "u1"),
            ("other", "u1"),
            ("shndx", "u2"),
            ("value", "u8"),
            ("size", "u8"),
        ]
        rela = [("offset", "u8"), ("info", "u8"), ("addend", "i8")]
    else:
        sh = [
            ("name", "u4"),
            ("type", "u4"),
            ("flags", "u4"),
            ("addr", "u4"),
            ("offset", "u4"),
            ("size", "u4"),
            ("link", "u4"),
            ("info", "u4"),
            ("addralign", "u4"),
            ("entsize", "u4"),
        ]
        sym = [
            ("name", "u4"),
            ("value", "u4"),
            ("size", "u4"),
            ("info", "u1"),
            ("other", "u1"),
            ("shndx", "u2"),
        ]
        rela = [("offset", "u4"), ("info", "u4"), ("addend", "i4")]

    def dt(fields: list[tuple[str, str]]) -> np.dtype:
        return np.dtype([(n, order + t) for n, t in fields])

    return dt(sh), dt(sym), dt(rela)


@frozen
class Symbols:
    """The symbol table as columns (index 0, the null symbol, included)."""

    name: list[str]
    info: npt.NDArray[np.uint8]
    shndx: npt.NDArray[np.uint32]
    value: npt.NDArray[np.uint64]
    size: npt.NDArray[np.uint64]
    head: npt.NDArray[np.uint8]  # (n, 4): each name's first 4 bytes, zeros after its end


class ElfImage(Contents):
    """One ELF file in memory: header fields, sections, and readers for their contents."""

    def __init__(self, path: Path | str, data: bytes) -> None:
        h = ElfHeader(path, data)
        self._setup(
            path, data, h, np.frombuffer(data, dtypes(h.is64, h.order)[0], h.shnum, h.shoff)
        )
        self.section_names = names_at(
            self.section_bytes(h.shstrndx), self.sections["name"], self.path, "section"
        )
        self._by_name = {n: i for i, n in reversed(list(enumerate(self.section_names)))}

    @classmethod
    def of_table(
        cls,
        path: Path | str,
        data: bytes,
        header: ElfHeader,
        sections: npt.NDArray[np.void],
        section_names: list[str],
        by_name: dict[str, int],
    ) -> ElfImage:
        """The image of a file whose section table and names the caller decoded already
        (:mod:`.batch`, many files at once), from the same header and bytes."""
        self = cls.__new__(cls)
        self._setup(path, data, header, sections)
        self.section_names, self._by_name = section_names, by_name
        return self

    def _setup(
        self, path: Path | str, data: bytes, h: ElfHeader, sections: npt.NDArray[np.void]
    ) -> None:
        self.path = str(path)
        self.data = data
        self.is64, self.little = h.is64, h.little
        self._sh_dtype, self._sym_dtype, self._rela_dtype = dtypes(h.is64, h.order)
        self.e_type, self.machine = h.e_type, h.machine
        self.sections = sections

    def section_bytes(self, index: int) -> bytes:
        sh = self.sections[index]
        if sh["type"] == SHT_NOBITS:
            return b""
        start, size = int(sh["offset"]), int(sh["size"])
        if start + size > len(self.data):
            raise SourceError(
                self.path,
                f"section {index} ({self._name(index)}) runs past the end of the file "
                f"({start}+{size} > {len(self.data)})",
                offset=start,
            )
        return self.data[start : start + size]

    def _name(self, index: int) -> str:
        names = getattr(self, "section_names", None)
        return names[index] if names else "?"

    def symbols(self) -> Symbols | None:
        """The ``.symtab`` (None when the file has none)."""
        found = np.flatnonzero(self.sections["type"] == SHT_SYMTAB)
        if not len(found):
            return None
        index = int(found[0])
        sh = self.sections[index]
        if sh["entsize"] and sh["entsize"] != self._sym_dtype.itemsize:
            raise SourceError(self.path, f"symbol size {sh['entsize']} in .symtab")
        raw = self.section_bytes(index)
        count = len(raw) // self._sym_dtype.itemsize
        table = np.frombuffer(raw, self._sym_dtype, count)
        link = int(sh["link"])
        if link >= len(self.sections):
            raise SourceError(self.path, f".symtab links to missing section {link}")
        strtab = self.section_bytes(link)
        shndx = table["shndx"].astype(np.uint32)
        xindex = np.flatnonzero(
            (self.sections["type"] == SHT_SYMTAB_SHNDX) & (self.sections["link"] == index)
        )
        if len(xindex) and (shndx == SHN_XINDEX).any():
            word = np.dtype(("<" if self.little else ">") + "u4")
            ext = np.frombuffer(self.section_bytes(int(xindex[0])), word, count)
            shndx = np.where(shndx == SHN_XINDEX, ext, shndx)
        names = names_at(strtab, table["name"], self.path)  # checks every offset first
        return Symbols(
            name=names,
            info=table["info"].astype(np.uint8),
            shndx=shndx,
            value=table["value"].astype(np.uint64),
            size=table["size"].astype(np.uint64),
            head=heads(strtab, table["name"]),
        )

    def relocations_for(self, target: int) -> npt.NDArray[np.void] | None:
        """The RELA entries that apply to section ``target`` (None when there are none)."""
        found = np.flatnonzero(
            (self.sections["type"] == SHT_RELA) & (self.sections["info"] == target)
        )
        if not len(found):
            return None
        raw = self.section_bytes(int(found[0]))
        return np.frombuffer(raw, self._rela_dtype, len(raw) // self._rela_dtype.itemsize)

    def rela_symbol(self, info: int) -> int:
        return info >> 32 if self.is64 else info >> 8

    def relocation_targets(self, target: int) -> dict[int, tuple[int, int]]:
        """Section ``target``'s relocations: offset -> (symbol index, addend)."""
        rela = self.relocations_for(target)
        if rela is None:
            return {}
        columns = (rela["offset"].tolist(), rela["info"].tolist(), rela["addend"].tolist())
        return {
            off: (self.rela_symbol(info), addend)
            for off, info, addend in zip(*columns, strict=True)
        }

    def section_addr(self, index: int) -> int:
        return int(self.sections[index]["addr"])

    def section_type(self, index: int) -> int:
        return int(self.sections[index]["type"])

    def section_flags(self, index: int) -> int:
        return int(self.sections[index]["flags"])

    def section_size(self, index: int) -> int:
        return int(self.sections[index]["size"])

    def section_at(self, address: int) -> int | None:
        """The first allocated section (address above 0) that holds ``address``."""
        secs = self.sections
        hit = np.flatnonzero(
            (secs["addr"] <= address) & (address < secs["addr"] + secs["size"]) & (secs["addr"] > 0)
        )
        return int(hit[0]) if len(hit) else None

    def file_offset(self, index: int, address: int) -> int | None:
        """File offset of ``address`` inside section ``index`` (an address for linked
        images, a section offset for relocatable objects), or None when outside it."""
        sh = self.sections[index]
        base = 0 if self.e_type == ET_REL else int(sh["addr"])
        rel = address - base
        if sh["type"] == SHT_NOBITS or not 0 <= rel < int(sh["size"]):
            return None
        return int(sh["offset"]) + rel

    def section_end(self, index: int) -> int:
        sh = self.sections[index]
        return int(sh["offset"]) + int(sh["size"])


def heads(strtab: bytes, offsets: npt.NDArray[np.integer[Any]]) -> npt.NDArray[np.uint8]:
    """Each name's first four bytes, zero from its terminating NUL on: prefix tests on
    every symbol in a few numpy operations instead of one Python call per name (riscv64
    modules hold ~40 local labels per real symbol)."""
    table = np.frombuffer(strtab + b"\0\0\0\0", dtype=np.uint8)
    head: npt.NDArray[np.uint8] = table[offsets.astype(np.int64)[:, None] + np.arange(4)]
    head *= np.cumprod(head != 0, axis=1, dtype=np.uint8)
    return head


def _tails(strtab: bytes, offs: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]) -> list[str]:
    """The strings at ``offs``, each up to ``ends`` (its NUL, or the table's end), gathered
    in one numpy take and decoded at once: vmlinux has 15.8 k tail-merged names, one slice
    each cost 25 of the 52 ms its names took. A crafted table whose strings overlap
    beyond reason is read one string at a time."""
    buf = np.frombuffer(strtab + b"\0", dtype=np.uint8)
    lengths = ends - offs + 1  # each with its NUL
    total = int(lengths.sum())
    if total > 4 * len(buf):
        return [_cstr(strtab, int(o)) for o in offs.tolist()]
    first = np.cumsum(lengths) - lengths
    picked = buf[np.arange(total) - np.repeat(first - offs, lengths)]
    text: str = picked.tobytes().decode("utf-8", "surrogateescape")
    return text.split("\0")[:-1]


def _cstr(table: bytes, offset: int) -> str:
    end = table.find(b"\0", offset)
    if offset >= len(table):
        return ""
    return table[offset : end if end >= 0 else len(table)].decode("utf-8", "surrogateescape")


def names_at(
    strtab: bytes, offsets: npt.NDArray[np.integer[Any]], path: str, what: str = "symbol"
) -> list[str]:
    """Symbol names by their string-table offsets. Linkers write each name once, in symbol
    order, so splitting the table at NULs and matching offsets is exact; names that point
    into the middle of another (tail-merged) are gathered apart (:func:`_tails`)."""
    names: list[str] = name_objects(strtab, offsets, path, what).tolist()
    if b"\n" in strtab:
        # A newline is no byte of a C identifier or a section name, and ksql keeps names
        # newline-separated: a table holding one is crafted or corrupt.
        holder_of = next((i for i, n in enumerate(names) if "\n" in n), None)
        if holder_of is not None:
            raise SourceError(path, f"{what} {holder_of}: its name holds a newline byte")
    return names


def name_objects(
    strtab: bytes, offsets: npt.NDArray[np.integer[Any]], path: str, what: str = "symbol"
) -> npt.NDArray[np.object_]:
    """:func:`names_at` as an object array, the newline check left to the caller (a table
    known to hold none)."""
    try:  # symbol names are ASCII in practice: one C-level decode and split
        pieces: list[str] = strtab.decode("ascii").split("\0")
    except UnicodeDecodeError:
        pieces = [p.decode("utf-8", "surrogateescape") for p in strtab.split(b"\0")]
    # Where each piece starts and ends (its NUL, or the table's end), in bytes: from the
    # NULs' places, not a len() per piece.
    nul = np.flatnonzero(np.frombuffer(strtab, dtype=np.uint8) == 0)
    starts = np.zeros(len(pieces), dtype=np.int64)
    starts[1:] = nul + 1
    ends = np.append(nul, len(strtab))
    offs = offsets.astype(np.int64)
    if len(offs) and int(offs.max()) >= max(len(strtab), 1):
        bad = int(np.flatnonzero(offs >= len(strtab))[0])
        raise SourceError(
            path,
            f"{what} {bad}: name offset {int(offs[bad])} is past the "
            f"string table ({len(strtab)} bytes)",
        )
    pos = np.searchsorted(starts, offs)
    pos = np.minimum(pos, len(pieces) - 1)
    exact = starts[pos] == offs
    table = np.empty(len(pieces), dtype=object)
    table[:] = pieces
    found = table[pos]
    # Offsets into the middle of a string: linkers share tails (vmlinux's "foo" is the end
    # of "__kstrtab_foo"), so the name is the rest of the string that holds the offset.
    inner = np.flatnonzero(~exact)
    if len(inner):
        holder = np.searchsorted(starts, offs[inner], side="right") - 1
        found[inner] = _tails(strtab, offs[inner], ends[holder])
    return found
