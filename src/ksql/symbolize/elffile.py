"""ELF files for the symbolizer: a module as shipped or compressed by kmod (``.ko.xz``,
``.ko.gz``, ``.ko.zst``); a linked image mapped. Headers, sections and symbols are decoded
with ``struct`` and numpy (include/uapi/linux/elf.h ``Elf64_Ehdr``/``Elf32_Ehdr``,
``Elf64_Shdr``/``Elf32_Shdr``, ``Elf64_Sym``/``Elf32_Sym``): pyelftools parses each section
header through construct (~0.2 ms apiece, ~60 in a module with debug info) and is kept for
DWARF, whose sections are handed to it as streams over the file's bytes.
"""

from __future__ import annotations

import io
import mmap
import struct
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ksql.errors import SourceError
from ksql.values import frozen

MAX_BYTES = 512 << 20  # the largest Debian 6.1 module (amdgpu) is 13 MB
SHT_SYMTAB, SHT_NOBITS, SHT_RELA = 2, 8, 4
SHF_COMPRESSED = 0x800
EM_386, EM_X86_64 = 3, 62


def module_bytes(path: Path) -> bytes:
    """The ELF bytes of a module file, decompressed (bounded) when kmod compressed it."""
    try:
        raw = path.read_bytes()
        if raw.startswith(b"\xfd7zXZ\x00"):
            import lzma

            try:
                data = lzma.LZMADecompressor().decompress(raw, MAX_BYTES)
            except lzma.LZMAError as exc:
                raise ValueError(exc) from exc
        elif raw.startswith(b"\x1f\x8b"):
            import gzip

            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as f:
                data = f.read(MAX_BYTES)
        elif raw.startswith(b"\x28\xb5\x2f\xfd"):
            import zstandard

            data = zstandard.ZstdDecompressor().decompressobj().decompress(raw)[:MAX_BYTES]
        else:
            data = raw
    except OSError as exc:
        raise SourceError(path, f"cannot read: {exc.strerror or exc}") from exc
    except (EOFError, ValueError) as exc:
        raise SourceError(path, f"cannot decompress: {exc}") from exc
    if not data.startswith(b"\x7fELF"):
        raise SourceError(path, "not an ELF file (no \\x7fELF magic)", offset=0)
    return data


@frozen
class Section:
    """One section header."""

    index: int
    name: str
    type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int
    info: int
    addralign: int


class ElfFile:
    """An ELF file's header fields and sections, over its bytes (or a mapping of them)."""

    def __init__(self, path: Path, data: bytes | mmap.mmap) -> None:
        self.path, self.data = path, data
        if len(data) < 52 or bytes(data[:4]) != b"\x7fELF" or data[4] not in (1, 2):
            raise SourceError(path, "not an ELF file", offset=0)
        self.is64, self.little = data[4] == 2, data[5] == 1
        self.order = "<" if self.little else ">"
        head = self.order + ("HHIQQQIHHHHHH" if self.is64 else "HHIIIIIHHHHHH")
        if len(data) < struct.calcsize(head) + 16:
            raise SourceError(path, "truncated ELF header", offset=16)
        fields = struct.unpack_from(head, data, 16)
        self.type, self.machine = fields[0], fields[1]
        shoff, shentsize, shnum, shstrndx = fields[5], fields[10], fields[11], fields[12]
        w = "u8" if self.is64 else "u4"
        names = ["name", "type", "flags", "addr", "offset", "size", "link", "info", "align", "es"]
        kinds = ["u4", "u4", w, w, w, w, "u4", "u4", w, w]
        dtype = np.dtype([(n, self.order + k) for n, k in zip(names, kinds, strict=True)])
        if shentsize != dtype.itemsize or not shoff or shoff + shnum * shentsize > len(data):
            raise SourceError(path, "bad or truncated section header table", offset=shoff)
        table = np.frombuffer(data, dtype, shnum, shoff)
        if shstrndx == 0xFFFF and shnum:  # SHN_XINDEX: the index is in section 0's sh_link
            shstrndx = int(table["link"][0])
        rows = table.tolist()
        strtab = b""
        if shstrndx < shnum:
            strtab = self._bytes(int(rows[shstrndx][4]), int(rows[shstrndx][5]))
        self.sections = [
            Section(i, _cstr(strtab, r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8])
            for i, r in enumerate(rows)
        ]
        self._by_name: dict[str, Section] = {}
        for s in reversed(self.sections):
            self._by_name[s.name] = s

    def get(self, name: str) -> Section | None:
        """The first section called ``name``."""
        return self._by_name.get(name)

    def contents(self, sec: Section) -> bytes:
        """A section's bytes (empty for ``SHT_NOBITS``); SourceError past the file's end."""
        return b"" if sec.type == SHT_NOBITS else self._bytes(sec.offset, sec.size)

    def _bytes(self, offset: int, size: int) -> bytes:
        if offset + size > len(self.data):
            raise SourceError(self.path, "section runs past the end of the file", offset=offset)
        return bytes(self.data[offset : offset + size])

    def sym_dtype(self) -> np.dtype[np.void]:
        o = self.order
        if self.is64:
            fields = [("name", "u4"), ("info", "u1"), ("other", "u1"), ("shndx", "u2")]
            fields += [("value", "u8"), ("size", "u8")]
        else:
            fields = [("name", "u4"), ("value", "u4"), ("size", "u4"), ("info", "u1")]
            fields += [("other", "u1"), ("shndx", "u2")]
        return np.dtype([(n, o + t) for n, t in fields])

    def symtab(self) -> tuple[Section, npt.NDArray[np.void]] | None:
        """The ``.symtab`` section and its entries (a read-only view of the file)."""
        sec = next((s for s in self.sections if s.type == SHT_SYMTAB), None)
        if sec is None:
            return None
        dtype = self.sym_dtype()
        if sec.offset + sec.size > len(self.data):
            raise SourceError(self.path, ".symtab runs past the end of the file")
        return sec, np.frombuffer(self.data, dtype, sec.size // dtype.itemsize, sec.offset)

    def symbol_names(self, sec: Section, table: npt.NDArray[np.void]) -> list[str]:
        if sec.link >= len(self.sections):
            raise SourceError(self.path, f".symtab links to missing section {sec.link}")
        strtab = self.contents(self.sections[sec.link])
        return [_cstr(strtab, o) for o in table["name"].tolist()]


def _cstr(table: bytes, offset: int) -> str:
    if offset >= len(table):
        return ""
    end = table.find(b"\0", offset)
    return table[offset : end if end >= 0 else len(table)].decode("utf-8", "replace")
