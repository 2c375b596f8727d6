"""A module's symbol table as the kernel's module kallsyms sees it once loaded: the ``.ko``'s
symbols placed at their offsets in the module's text layout, so ``%pS`` names, sizes and
reverse look-ups work section-relatively (no load address needed) and, given the base from
``/proc/modules``, on runtime addresses too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from elftools.common.exceptions import ELFError
from elftools.elf.sections import NoteSection, SymbolTableSection

from ksql.errors import SourceError
from ksql.kernel.kallsyms import is_arm_mapping_symbol, module_text_layout
from ksql.kernel.modules import module_name_of_file
from ksql.symbolize.elffile import module_bytes, open_elf


@dataclass(frozen=True, slots=True)
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
            self._read(open_elf(path, data))
        except (ELFError, KeyError, ValueError) as exc:
            raise SourceError(path, f"bad ELF file: {exc}") from exc

    def _read(self, elf: object) -> None:
        from elftools.elf.elffile import ELFFile

        assert isinstance(elf, ELFFile)
        secs = list(elf.iter_sections())
        placed, self.core_text, self.init_text = module_text_layout(
            [s.name for s in secs],
            [int(s["sh_flags"]) for s in secs],
            [int(s["sh_size"]) for s in secs],
            [int(s["sh_addralign"]) for s in secs],
        )
        self.placed = placed  # section index -> (init layout, offset)
        self.section_offsets = {secs[i].name: p for i, p in placed.items()}
        self.build_id = ""
        names: list[str] = []
        init: list[bool] = []
        offsets: list[int] = []
        for s in secs:
            if isinstance(s, NoteSection) and s.name == ".note.gnu.build-id":
                for note in s.iter_notes():
                    if note["n_type"] == "NT_GNU_BUILD_ID":
                        self.build_id = str(note["n_desc"])
            if not isinstance(s, SymbolTableSection) or s["sh_type"] != "SHT_SYMTAB":
                continue
            # kernel/module/kallsyms.c find_kallsyms_symbol(): defined, named symbols that
            # are not ARM mapping symbols, in symbol-table order (the first at an address
            # wins: it compares with ">", not ">=").
            for sym in s.iter_symbols():
                shndx = sym["st_shndx"]
                where = placed.get(shndx) if isinstance(shndx, int) else None
                if where is None or not sym.name or is_arm_mapping_symbol(sym.name):
                    continue
                names.append(sym.name)
                init.append(where[0])
                offsets.append(where[1] + int(sym["st_value"]))
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
