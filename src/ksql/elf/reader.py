"""A small ELF reader in plain Python (``struct``) for one module's few kilobytes of headers
and symbols: the fields, checks and errors of the ``elf`` plugin's bulk reader
(:class:`ksql.plugins.elf.reader.ElfImage`), with sections and symbols as tuples and lists
instead of numpy arrays. ``ksql check`` of a single module reads through it (numpy's import
alone costs ten times the whole decode of a module); the tests check it against the bulk
reader on every module of the corpus.
"""

from __future__ import annotations

import struct
from pathlib import Path

from ksql.errors import SourceError

from .contents import Contents
from .header import SECTION_FORMAT, ElfHeader

# ELF constants, as in ksql.plugins.elf.reader (which takes them from pyelftools' tables)
SHT_SYMTAB, SHT_RELA, SHT_NOBITS, SHT_SYMTAB_SHNDX = 2, 4, 8, 18
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 0x1, 0x2, 0x4
SHN_UNDEF, SHN_LORESERVE, SHN_ABS, SHN_COMMON, SHN_XINDEX = 0, 0xFF00, 0xFFF1, 0xFFF2, 0xFFFF
ET_REL = 1


class Section:
    """One section header (plain class: a NamedTuple or dataclass costs more to define than
    a small module takes to read)."""

    __slots__ = (
        "addr",
        "addralign",
        "entsize",
        "flags",
        "info",
        "link",
        "name",
        "offset",
        "size",
        "type",
    )

    def __init__(
        self,
        name: int,
        type: int,
        flags: int,
        addr: int,
        offset: int,
        size: int,
        link: int,
        info: int,
        addralign: int,
        entsize: int,
    ) -> None:
        self.name, self.type, self.flags, self.addr, self.offset = name, type, flags, addr, offset
        self.size, self.link, self.info, self.addralign = size, link, info, addralign
        self.entsize = entsize


class LiteSymbols:
    """The symbol table as lists (index 0, the null symbol, included)."""

    __slots__ = ("info", "name", "shndx", "value")

    def __init__(self, name: list[str], info: list[int], shndx: list[int], value: list[int]):
        self.name, self.info, self.shndx, self.value = name, info, shndx, value


class LiteImage(Contents):
    """One ELF file in memory: header fields, sections, and readers for their contents."""

    def __init__(self, path: Path | str, data: bytes) -> None:
        self.path = str(path)
        self.data = data
        h = ElfHeader(path, data)
        self.is64, self.little, self.order = h.is64, h.little, h.order
        self.e_type, self.machine = h.e_type, h.machine
        o = self.order
        self._sh = struct.Struct(o + SECTION_FORMAT[h.is64])
        if self.is64:
            self._sym = struct.Struct(o + "IBBHQQ")
            self._rela = struct.Struct(o + "QQq")
        else:
            self._sym = struct.Struct(o + "IIIBBH")
            self._rela = struct.Struct(o + "IIi")
        end = h.shoff + h.shnum * h.shentsize
        self.sections = [Section(*f) for f in self._sh.iter_unpack(data[h.shoff : end])]
        self.section_names: list[str] = []
        self.section_names = names_at(
            self.section_bytes(h.shstrndx), [s.name for s in self.sections], self.path, "section"
        )
        self._by_name = {n: i for i, n in reversed(list(enumerate(self.section_names)))}

    def section_bytes(self, index: int) -> bytes:
        sh = self.sections[index]
        if sh.type == SHT_NOBITS:
            return b""
        if sh.offset + sh.size > len(self.data):
            name = self.section_names[index] if self.section_names else "?"
            raise SourceError(
                self.path,
                f"section {index} ({name}) runs past the end of the file "
                f"({sh.offset}+{sh.size} > {len(self.data)})",
                offset=sh.offset,
            )
        return self.data[sh.offset : sh.offset + sh.size]

    def symbols(self) -> LiteSymbols | None:
        """The ``.symtab`` (None when the file has none)."""
        index = next((i for i, s in enumerate(self.sections) if s.type == SHT_SYMTAB), None)
        if index is None:
            return None
        sh = self.sections[index]
        if sh.entsize and sh.entsize != self._sym.size:
            raise SourceError(self.path, f"symbol size {sh.entsize} in .symtab")
        raw = self.section_bytes(index)
        count = len(raw) // self._sym.size
        rows = list(self._sym.iter_unpack(raw[: count * self._sym.size]))
        if sh.link >= len(self.sections):
            raise SourceError(self.path, f".symtab links to missing section {sh.link}")
        strtab = self.section_bytes(sh.link)
        if self.is64:  # name, info, other, shndx, value, size
            info, shndx, value = [r[1] for r in rows], [r[3] for r in rows], [r[4] for r in rows]
        else:  # name, value, size, info, other, shndx
            info, shndx, value = [r[3] for r in rows], [r[5] for r in rows], [r[1] for r in rows]
        xindex = next(
            (
                i
                for i, s in enumerate(self.sections)
                if s.type == SHT_SYMTAB_SHNDX and s.link == index
            ),
            None,
        )
        if xindex is not None and SHN_XINDEX in shndx:
            ext = self.section_bytes(xindex)
            if len(ext) < 4 * count:
                raise ValueError("SHT_SYMTAB_SHNDX section shorter than the symbol table")
            words = struct.unpack_from(f"{self.order}{count}I", ext)
            shndx = [words[i] if s == SHN_XINDEX else s for i, s in enumerate(shndx)]
        names = names_at(strtab, [r[0] for r in rows], self.path)
        return LiteSymbols(names, info, shndx, value)

    def relocations_for(self, target: int) -> list[tuple[int, int, int]] | None:
        """The RELA entries (offset, info, addend) that apply to section ``target``."""
        found = next(
            (i for i, s in enumerate(self.sections) if s.type == SHT_RELA and s.info == target),
            None,
        )
        if found is None:
            return None
        raw = self.section_bytes(found)
        whole = len(raw) // self._rela.size * self._rela.size
        return list(self._rela.iter_unpack(raw[:whole]))

    def rela_symbol(self, info: int) -> int:
        return info >> 32 if self.is64 else info >> 8

    def relocation_targets(self, target: int) -> dict[int, tuple[int, int]]:
        """Section ``target``'s relocations: offset -> (symbol index, addend)."""
        rela = self.relocations_for(target) or ()
        return {off: (self.rela_symbol(info), addend) for off, info, addend in rela}

    def section_addr(self, index: int) -> int:
        return self.sections[index].addr

    def section_type(self, index: int) -> int:
        return self.sections[index].type

    def section_flags(self, index: int) -> int:
        return self.sections[index].flags

    def section_size(self, index: int) -> int:
        return self.sections[index].size

    def section_at(self, address: int) -> int | None:
        """The first allocated section (address above 0) that holds ``address``."""
        for i, s in enumerate(self.sections):
            if s.addr <= address < s.addr + s.size and s.addr > 0:
                return i
        return None

    def file_offset(self, index: int, address: int) -> int | None:
        sh = self.sections[index]
        rel = address - (0 if self.e_type == ET_REL else sh.addr)
        if sh.type == SHT_NOBITS or not 0 <= rel < sh.size:
            return None
        return sh.offset + rel

    def section_end(self, index: int) -> int:
        sh = self.sections[index]
        return sh.offset + sh.size


def names_at(strtab: bytes, offsets: list[int], path: str, what: str = "symbol") -> list[str]:
    """The NUL-terminated strings at ``offsets`` (a name may be the tail of another)."""
    if offsets and max(offsets) >= max(len(strtab), 1):
        bad = next(i for i, o in enumerate(offsets) if o >= len(strtab))
        raise SourceError(
            path,
            f"{what} {bad}: name offset {offsets[bad]} is past the "
            f"string table ({len(strtab)} bytes)",
        )
    out: list[str] = []
    seen: dict[int, str] = {}
    for off in offsets:
        name = seen.get(off)
        if name is None:
            end = strtab.find(b"\0", off)
            raw = strtab[off : end if end >= 0 else len(strtab)]
            name = seen[off] = raw.decode("utf-8", "surrogateescape")
            if "\n" in name:
                raise SourceError(path, f"{what} {len(out)}: its name holds a newline byte")
        out.append(name)
    return out
