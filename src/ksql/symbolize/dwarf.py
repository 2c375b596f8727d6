"""``file:line`` and inline chains for an address from DWARF, lazily (never a whole-file
decode): the address's compile unit comes from ``.debug_aranges``, and only that unit's line
program is run (:mod:`~ksql.symbolize.lines`) and its functions indexed
(:mod:`~ksql.symbolize.inline`), each once. A vmlinux is mapped and read in place. In a
``.ko`` (relocatable) every section starts at 0, so ``.text+0x10`` and ``.init.text+0x10``
would share line rows (what makes addr2line answer wrongly for ``.init.text`` frames): the
file is read with each text symbol moved to its section's offset in the module layout
before its ``.debug_*`` relocations are applied, so rows carry layout offsets, unique
across the module's sections.
"""

from __future__ import annotations

import io
import mmap
import os
from bisect import bisect_right
from pathlib import Path

import numpy as np
from elftools.dwarf.dwarfinfo import DWARFInfo
from elftools.dwarf.lineprogram import LineProgram

from ksql.symbolize.aranges import UnitRanges
from ksql.symbolize.dwarfinfo import dwarf_info
from ksql.symbolize.elffile import EM_X86_64, SHT_RELA, ElfFile, module_bytes
from ksql.symbolize.inline import Inlined, UnitFunctions, unit_spans
from ksql.symbolize.lines import sequences

INIT_BIAS = 1 << 40  # init-layout offsets, kept apart from core-layout ones


Row = tuple[int, int, str, int, int]  # address, end of its sequence, file, line, discriminator


class LineTable:
    """Line look-ups in one ELF file with DWARF (vmlinux addresses, or module layout
    offsets: ``INIT_BIAS`` added for the init layout)."""

    def __init__(self, path: Path, placed: dict[int, tuple[bool, int]] | None = None) -> None:
        self._fallback: bytes | None = None  # a module pyelftools must relocate itself
        if placed is None:  # a linked image (vmlinux: 100-300 MB): mapped, read in place
            with path.open("rb") as f:
                mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            self._elf = ElfFile(path, mapped)
        else:
            raw = module_bytes(path)
            elf = ElfFile(path, raw)  # headers only: moving symbols keeps them
            data = _moved_symbols(elf, raw, placed)
            relocated = _relocated_debug(elf, data)
            if relocated is None:
                self._fallback = data
            self._elf = ElfFile(path, relocated if relocated is not None else data)
        self._dwarf: DWARFInfo | None = None
        self._rows: dict[int, tuple[list[int], list[Row]]] = {}
        self._programs: dict[int, tuple[LineProgram | None, str]] = {}
        self._functions: dict[int, UnitFunctions] = {}
        self._aranges: UnitRanges | None = None
        self.has_lines = self._elf.get(".debug_line") is not None

    def units_decoded(self) -> int:
        """How many compile units' line programs have been decoded (look-ups are lazy:
        one per unit an address falls in)."""
        return len(self._rows)

    def _info(self) -> DWARFInfo:
        if self._dwarf is None:
            if self._fallback is not None:
                from elftools.elf.elffile import ELFFile

                elf = ELFFile(io.BytesIO(self._fallback))
                self._dwarf = elf.get_dwarf_info(relocate_dwarf_sections=True)
            else:
                self._dwarf = dwarf_info(self._elf)
        return self._dwarf

    def line(self, address: int) -> str:
        """``file:line`` of ``address`` as addr2line prints it (`` (discriminator N)``
        when the row has one); "" when no line row covers it."""
        hit = self._row(address)
        return _where(hit[1]) if hit is not None else ""

    def locate(self, address: int) -> tuple[str, list[Inlined]]:
        """``file:line`` of ``address`` and the inlined calls holding it, innermost first
        (``addr2line -i``: the row's location, then each call site); ("", []) when no line
        row covers it."""
        hit = self._row(address)
        return (_where(hit[1]), self._chain(hit[0], address)) if hit is not None else ("", [])

    def _row(self, address: int) -> tuple[int, Row] | None:
        """The unit and line row covering ``address``."""
        if not self.has_lines:
            return None
        try:
            for cu_offset in self._units_for(address):
                row = _find(self._unit_rows(cu_offset), address)
                if row is not None:
                    return cu_offset, row
        except Exception:  # pyelftools on corrupt DWARF raises anything (asserts too)
            return None
        return None

    def _chain(self, cu_offset: int, address: int) -> list[Inlined]:
        try:
            if cu_offset not in self._functions:
                info = self._info()
                self._functions[cu_offset] = UnitFunctions(info, info.get_CU_at(cu_offset))
            program, comp_dir = self._program(cu_offset)
            if program is None:
                return []
            return self._functions[cu_offset].chain(address, lambda i: _file(program, i, comp_dir))
        except Exception:  # pyelftools on a corrupt unit raises anything (asserts too):
            return []  # the frame keeps its line, loses its chain

    def _units_for(self, address: int) -> list[int]:
        if self._aranges is None:
            info = self._info()
            section = info.debug_aranges_sec
            if section is not None:
                self._aranges = UnitRanges.read(section.stream, info.config.little_endian)
            if self._aranges is None or not len(self._aranges):
                self._aranges = UnitRanges(unit_spans(info))  # each unit's top DIE
        off = self._aranges.unit_at(address)
        return [off] if off is not None else []

    def _program(self, cu_offset: int) -> tuple[LineProgram | None, str]:
        """A unit's line program (its header read, no row decoded) and compile directory."""
        if cu_offset not in self._programs:
            info = self._info()
            cu = info.get_CU_at(cu_offset)
            comp_dir = _attr(cu.get_top_DIE(), "DW_AT_comp_dir")
            self._programs[cu_offset] = (info.line_program_for_CU(cu), comp_dir)
        return self._programs[cu_offset]

    def _unit_rows(self, cu_offset: int) -> tuple[list[int], list[Row]]:
        """(addresses, rows) of one unit's line program, sorted by address."""
        if cu_offset in self._rows:
            return self._rows[cu_offset]
        program, comp_dir = self._program(cu_offset)
        rows: list[Row] = []
        if program is not None:
            files: dict[int, str] = {}
            for seq, end in sequences(program, self._info().config.little_endian):
                for a, f, ln, d in seq:
                    if f not in files:
                        files[f] = _file(program, f, comp_dir)
                    rows.append((a, end, files[f], ln, d))
        rows.sort(key=lambda r: r[0])
        self._rows[cu_offset] = ([r[0] for r in rows], rows)
        return self._rows[cu_offset]


def _where(row: Row) -> str:
    """A row as addr2line.c translate_addresses() prints it."""
    return f"{row[2]}:{row[3]}" + (f" (discriminator {row[4]})" if row[4] else "")


def _find(table: tuple[list[int], list[Row]], address: int) -> Row | None:
    """The last row at or below ``address`` in a sequence that covers it."""
    starts, rows = table
    i = bisect_right(starts, address)
    while i > 0:
        i -= 1
        if address < rows[i][1]:
            return rows[i]
    return None


def _attr(die: object, name: str) -> str:
    attrs = getattr(die, "attributes", {})
    value = attrs[name].value if name in attrs else b""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _file(program: LineProgram, index: int, comp_dir: str) -> str:
    """A file index's path, relative to the compilation directory when inside it (as
    decode_stacktrace.sh prints after stripping its base path)."""
    version = program.header["version"]
    entries = program.header["file_entry"]
    i = index if version >= 5 else index - 1
    if not 0 <= i < len(entries):
        return "??"
    entry = entries[i]
    name = entry.name.decode("utf-8", "replace")
    dirs = program.header["include_directory"]
    d = entry.dir_index if version >= 5 else entry.dir_index - 1
    directory = dirs[d].decode("utf-8", "replace") if 0 <= d < len(dirs) else ""
    if version < 5 and entry.dir_index == 0:
        directory = ""
    path = os.path.join(directory, name) if directory else name
    if comp_dir and path.startswith(comp_dir.rstrip("/") + "/"):
        path = path[len(comp_dir.rstrip("/")) + 1 :]
    return os.path.normpath(path)


def _moved_symbols(elf: ElfFile, data: bytes, placed: dict[int, tuple[bool, int]]) -> bytes:
    """``data`` with each symbol defined in a placed section moved to its layout offset."""
    found = elf.symtab()
    if found is None or not placed:
        return data
    sec, _ = found
    dtype = elf.sym_dtype()
    out = bytearray(data)
    table = np.frombuffer(out, dtype, sec.size // dtype.itemsize, sec.offset)
    bias = np.zeros(max(placed) + 1, dtype=np.uint64)
    for index, (init, offset) in placed.items():
        bias[index] = offset + (INIT_BIAS if init else 0)
    shndx = table["shndx"].astype(np.int64)
    inside = shndx < len(bias)
    moved = table["value"].astype(np.uint64)
    moved[inside] += bias[shndx[inside]]
    table["value"] = moved
    return bytes(out)


# arch/x86/include/asm/elf.h (and the psABI): the relocation types DWARF sections use.
R_X86_64_64, R_X86_64_32, R_X86_64_32S = 1, 10, 11


def _relocated_debug(elf: ElfFile, data: bytes) -> bytes | None:
    """``data`` with the RELA entries of its ``.debug_*`` sections applied in place (x86-64:
    S + A, 8 or 4 bytes); None for other machines, which pyelftools relocates itself.
    pyelftools' own pass parses each entry through construct: ~1 s for a 117 KB module."""
    if elf.machine != EM_X86_64 or not elf.little or not elf.is64:
        return None
    found = elf.symtab()
    if found is None:
        return None
    sec, _ = found
    values = np.frombuffer(data, elf.sym_dtype(), sec.size // 24, sec.offset)["value"]
    rela = np.dtype([("offset", "<u8"), ("info", "<u8"), ("addend", "<i8")])
    out = bytearray(data)
    view = np.frombuffer(out, np.uint8)
    for rel in elf.sections:
        if rel.type != SHT_RELA or rel.info >= len(elf.sections):
            continue
        target = elf.sections[rel.info]
        if not target.name.startswith(".debug_"):
            continue
        if rel.offset + rel.size > len(data):
            return None
        entries = np.frombuffer(data, rela, rel.size // 24, rel.offset)
        syms = (entries["info"] >> np.uint64(32)).astype(np.int64)
        kinds = entries["info"] & np.uint64(0xFFFFFFFF)
        if len(syms) and int(syms.max()) >= len(values):
            return None
        results = values[syms].astype(np.int64) + entries["addend"]  # S + A, modulo 2**64
        offsets = entries["offset"].astype(np.int64)
        base, size = target.offset, target.size
        wide = kinds == R_X86_64_64
        narrow = (kinds == R_X86_64_32) | (kinds == R_X86_64_32S)
        if not (wide | narrow).all():
            return None
        for mask, width, dtype in ((wide, 8, "<i8"), (narrow, 4, "<u4")):
            at = offsets[mask]
            if len(at) and (at.min() < 0 or at.max() + width > size):
                return None
            value = results[mask] if width == 8 else results[mask] & 0xFFFFFFFF
            raw = value.astype(dtype).view(np.uint8).reshape(-1, width)
            view[(base + at)[:, None] + np.arange(width)] = raw
    return bytes(out)
