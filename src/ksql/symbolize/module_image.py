"""A module's symbol table as the kernel's module kallsyms sees it once loaded: the ``.ko``'s
symbols placed at their offsets in the module's text layout, so ``%pS`` names, sizes and
reverse look-ups work section-relatively (no load address needed) and, given the base from
``/proc/modules``, on runtime addresses too.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from ksql.errors import SourceError
from ksql.kernel.kallsyms import is_arm_mapping_symbol, module_text_layout
from ksql.kernel.modules import module_name_of_file
from ksql.symbolize.elffile import ElfFile, module_bytes
from ksql.values import frozen


@frozen
class ModHit:
    """``%pS`` for an offset inside a module's text layout."""

    name: str
    offset: int
    size: int
    init: bool  # in the init layout (``.init.text``), not the core one
    layout_offset: int  # the symbol's offset from its layout's base


class ModuleImage:
    """One ``.ko`` file's text symbols, each at (layout, offset) as
    kernel/module/main.c layout_sections() would place them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        data = module_bytes(path)
        self.name = module_name_of_file(path.name)
        try:
            self._read(ElfFile(path, data))
        except (KeyError, ValueError, IndexError, OverflowError, struct.error) as exc:
            raise SourceError(path, f"bad ELF file: {exc}") from exc

    def _read(self, elf: ElfFile) -> None:
        secs = elf.sections
        placed, self.core_text, self.init_text = module_text_layout(
            [s.name for s in secs],
            [s.flags for s in secs],
            [s.size for s in secs],
            [s.addralign for s in secs],
        )
        self.placed = placed  # section index -> (init layout, offset)
        self.section_offsets = {secs[i].name: p for i, p in placed.items()}
        note = elf.get(".note.gnu.build-id")
        self.build_id = _build_id(elf.contents(note), elf.order) if note else ""
        names: list[str] = []
        init: list[bool] = []
        offsets: list[int] = []
        found = elf.symtab()
        if found is not None:
            # kernel/module/kallsyms.c find_kallsyms_symbol(): defined, named symbols that
            # are not ARM mapping symbols, in symbol-table order (the first at an address
            # wins: it compares with ">", not ">=").
            sec, table = found
            all_names = elf.symbol_names(sec, table)
            for name, shndx, value in zip(
                all_names, table["shndx"].tolist(), table["value"].tolist(), strict=True
            ):
                where = placed.get(shndx)
                if where is None or not name or is_arm_mapping_symbol(name):
                    continue
                names.append(name)
                init.append(where[0])
                offsets.append(where[1] + value)
        if not names and not placed:
            raise SourceError(self.path, "no text symbols (stripped module?)")
        self.names = names
        self.init = np.array(init, dtype=bool)
        self.offsets = np.array(offsets, dtype=np.int64)

    def lookup(self, offset: int, *, init: bool = False) -> ModHit | None:
        """find_kallsyms_symbol() for an offset from the core (or init) layout's base: the
        greatest symbol at or below it (the first in table order among equals); the size runs
        to the next symbol above it, or to the end of the layout's text."""
        end = self.init_text if init else self.core_text
        if not 0 <= offset < end:
            return None
        mask = self.init == init
        vals = self.offsets[mask]
        idx = np.flatnonzero(mask)
        below = vals <= offset
        if not below.any():
            return None
        best_val = int(vals[below].max())
        best = int(idx[np.flatnonzero(below & (vals == best_val))[0]])
        above = vals[vals > offset]
        nextval = min(int(above.min()), end) if len(above) else end
        return ModHit(self.names[best], offset - best_val, nextval - best_val, init, best_val)

    def candidates(self, name: str) -> list[tuple[bool, int]]:
        """(init, layout offset) of every symbol called ``name``."""
        return [
            (bool(self.init[i]), int(self.offsets[i]))
            for i, n in enumerate(self.names)
            if n == name
        ]

    def size_at(self, init: bool, offset: int) -> int:
        hit = self.lookup(offset, init=init)
        return hit.size if hit is not None else 0

    def section_of(self, init: bool, offset: int) -> tuple[str, int] | None:
        """The section holding a layout offset, and the offset inside it."""
        best: tuple[str, int] | None = None
        for name, (sec_init, start) in self.section_offsets.items():
            if sec_init == init and start <= offset and (best is None or start >= best[1]):
                best = (name, start)
        return None if best is None else (best[0], offset - best[1])


NT_GNU_BUILD_ID = 3  # include/uapi/linux/elf.h


def _build_id(notes: bytes, order: str) -> str:
    """The GNU build ID in a note section (Elf_Nhdr: namesz, descsz, type; name and
    descriptor each padded to 4 bytes), as hex."""
    at = 0
    while at + 12 <= len(notes):
        namesz, descsz, kind = struct.unpack_from(order + "III", notes, at)
        name_at = at + 12
        desc_at = name_at + (namesz + 3) // 4 * 4
        if desc_at + descsz > len(notes):
            break
        if kind == NT_GNU_BUILD_ID and notes[name_at : name_at + namesz] == b"GNU\0":
            return notes[desc_at : desc_at + descsz].hex()
        at = desc_at + (descsz + 3) // 4 * 4
    return ""
