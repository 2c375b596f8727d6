"""The ELF header and where the section header table lies, validated once for both ELF
readers: the plain one (:mod:`.reader`, one module for ``ksql check``) and the ``elf``
plugin's numpy one (``ksql.plugins.elf.reader``). Each decodes the table its own way; the
rules and the errors for a file that is not ELF, truncated or inconsistent live here.

The field layout is the ELF specification's (``Elf32_Ehdr``/``Elf64_Ehdr``,
``Elf{32,64}_Shdr``); the extended numbering (more than 0xff00 sections, or a section-name
table index past 0xff00) keeps the real values in section 0's ``sh_size`` and ``sh_link``.
"""

from __future__ import annotations

import struct
from pathlib import Path

from ksql.errors import SourceError

from .magic import ELF_MAGIC

SHN_XINDEX = 0xFFFF
# Elf64_Shdr / Elf32_Shdr: name, type, flags, addr, offset, size, link, info, addralign,
# entsize
SECTION_FORMAT = {True: "IIQQQQIIQQ", False: "IIIIIIIIII"}
_EHDR_TAIL = {True: "HHIQQQIHHHHHH", False: "HHIIIIIHHHHHH"}  # e_type .. e_shstrndx
_SH_SIZE, _SH_LINK = 5, 6


class ElfHeader:
    """What the readers need of the ELF header: class and byte order (``order`` is the
    ``struct`` prefix), ``e_type``, ``e_machine``, and the section header table:
    ``shnum`` entries of ``shentsize`` bytes at ``shoff`` (known to lie inside the file),
    the names in section ``shstrndx`` (known to exist)."""

    __slots__ = ("e_type", "is64", "little", "machine", "order", "shentsize", "shnum", "shoff",
                 "shstrndx")  # fmt: skip

    def __init__(self, path: Path | str, data: bytes) -> None:
        if len(data) < 52 or data[:4] != ELF_MAGIC:
            raise SourceError(path, "not an ELF file (no \\x7fELF magic)", offset=0)
        ei_class, ei_data = data[4], data[5]
        if ei_class not in (1, 2) or ei_data not in (1, 2):
            raise SourceError(path, f"bad ELF class/encoding {ei_class}/{ei_data}", offset=4)
        self.is64 = is64 = ei_class == 2
        self.little = ei_data == 1
        self.order = order = "<" if self.little else ">"
        if is64 and len(data) < 64:
            raise SourceError(path, "truncated ELF header", offset=len(data))
        fields = struct.unpack_from(order + _EHDR_TAIL[is64], data, 16)
        self.e_type, self.machine = fields[0], fields[1]
        shoff, shentsize, shnum, shstrndx = fields[5], fields[10], fields[11], fields[12]
        if shoff == 0:
            raise SourceError(path, "no section header table (stripped of sections?)")
        section = struct.Struct(order + SECTION_FORMAT[is64])
        first = section.unpack_from(data, shoff) if shoff + section.size <= len(data) else None
        if shnum == 0 and first is not None:
            shnum = first[_SH_SIZE]  # more than 0xff00 sections
        if shentsize != section.size:
            raise SourceError(
                path, f"section header size {shentsize}, expected {section.size}", offset=16
            )
        end = shoff + shnum * shentsize
        if end > len(data):
            raise SourceError(
                path,
                f"truncated: section headers end at {end}, file has {len(data)} bytes",
                offset=shoff,
            )
        if shstrndx == SHN_XINDEX and shnum and first is not None:
            shstrndx = first[_SH_LINK]
        if shstrndx >= shnum:
            raise SourceError(path, f"section name table index {shstrndx} out of range")
        self.shoff, self.shentsize, self.shnum, self.shstrndx = shoff, shentsize, shnum, shstrndx
