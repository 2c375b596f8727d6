"""pyelftools' ``DWARFInfo`` over an :class:`~ksql.symbolize.elffile.ElfFile`'s sections,
without pyelftools' ELF reader: sections up to 32 MB are copied into ``BytesIO`` (read at C
speed; ``.debug_line`` of a vmlinux is 15 MB), larger ones (``.debug_info``, 150 MB) stay
windows on the file's mapping, read only where a unit is parsed. Nothing is relocated here:
a linked image's ``.rel.debug_*`` (kept by the linker's ``--emit-relocs``) are already
applied, and modules come relocated (:mod:`ksql.symbolize.dwarf`). Compressed sections
(``SHF_COMPRESSED``, ``.zdebug_*``) go through pyelftools' own reader, which inflates them.
"""

from __future__ import annotations

import io
import mmap
from typing import IO, cast

from elftools.dwarf.dwarfinfo import DebugSectionDescriptor, DwarfConfig, DWARFInfo

from ksql.symbolize.elffile import EM_386, EM_X86_64, SHF_COMPRESSED, ElfFile, Section

COPY_BYTES = 32 << 20
# DWARFInfo's keyword for each section it reads (pyelftools elffile.py get_dwarf_info()).
_SECTIONS = {
    "debug_info_sec": ".debug_info",
    "debug_aranges_sec": ".debug_aranges",
    "debug_abbrev_sec": ".debug_abbrev",
    "debug_str_sec": ".debug_str",
    "debug_loc_sec": ".debug_loc",
    "debug_ranges_sec": ".debug_ranges",
    "debug_line_sec": ".debug_line",
    "debug_addr_sec": ".debug_addr",
    "debug_str_offsets_sec": ".debug_str_offsets",
    "debug_line_str_sec": ".debug_line_str",
    "debug_loclists_sec": ".debug_loclists",
    "debug_rnglists_sec": ".debug_rnglists",
}
_UNUSED = (
    "debug_frame_sec",
    "eh_frame_sec",
    "debug_pubtypes_sec",
    "debug_pubnames_sec",
    "debug_sup_sec",
    "gnu_debugaltlink_sec",
    "debug_types_sec",
)
_ARCH = {EM_386: "x86", EM_X86_64: "x64"}  # pyelftools' get_machine_arch() names


class _Window:
    """A read-only file-like view of ``size`` bytes at ``start`` of a mapping."""

    def __init__(self, data: mmap.mmap, start: int, size: int) -> None:
        self._data, self._start, self._size, self._pos = data, start, size, 0

    def seek(self, pos: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._size}[whence]
        self._pos = max(0, base + pos)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, n: int = -1) -> bytes:
        pos = self._pos
        end = self._size if n < 0 else min(self._size, pos + n)
        if end <= pos:
            return b""
        self._pos = end
        return self._data[self._start + pos : self._start + end]


def dwarf_info(elf: ElfFile) -> DWARFInfo:
    """The DWARF of ``elf`` (whose ``.debug_*`` need no relocation)."""
    debug = [s for s in elf.sections if s.name.startswith((".debug_", ".zdebug_"))]
    if any(s.flags & SHF_COMPRESSED or s.name.startswith(".zdebug_") for s in debug):
        from elftools.elf.elffile import ELFFile

        stream = io.BytesIO(bytes(elf.data))
        return ELFFile(stream).get_dwarf_info(relocate_dwarf_sections=False)
    found = {arg: elf.get(name) for arg, name in _SECTIONS.items()}
    sections = {arg: _descriptor(elf, s) if s else None for arg, s in found.items()}
    config = DwarfConfig(
        little_endian=elf.little,
        machine_arch=_ARCH.get(elf.machine, ""),
        default_address_size=8 if elf.is64 else 4,
    )
    return DWARFInfo(config=config, **sections, **dict.fromkeys(_UNUSED))


def _descriptor(elf: ElfFile, sec: Section) -> DebugSectionDescriptor:
    if sec.size <= COPY_BYTES or not isinstance(elf.data, mmap.mmap):
        stream: IO[bytes] = io.BytesIO(elf.contents(sec))
    else:
        if sec.offset + sec.size > len(elf.data):
            elf.contents(sec)  # raises the SourceError
        stream = cast(IO[bytes], _Window(elf.data, sec.offset, sec.size))
    return DebugSectionDescriptor(
        stream=stream, name=sec.name, global_offset=sec.offset, size=sec.size, address=sec.addr
    )
