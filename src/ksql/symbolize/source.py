"""Where a frame's code is: ``file:line`` and the inline chain from DWARF when the vmlinux or
``.ko`` has it, else the definition site (``defined_at``) the source-tree source recorded,
else nothing."""

from __future__ import annotations

import struct
from pathlib import Path

from ksql.catalog import Catalog
from ksql.errors import KsqlError
from ksql.kernel.modules import VMLINUX
from ksql.symbolize.dwarf import INIT_BIAS, LineTable
from ksql.symbolize.inline import Inlined
from ksql.symbolize.resolve import Frame, Symbolizer
from ksql.values import frozen


@frozen
class Site:
    """A frame's source: the line row's ``file:line`` (in the innermost inlined function),
    the inlined calls holding the address (innermost first), else the definition site."""

    source: str = ""
    defined_at: str = ""
    inlined: tuple[Inlined, ...] = ()

    def locations(self) -> str:
        """What ``addr2line -i`` prints, one location per line, as decode_stacktrace.sh
        (6.1) joins them: ``file:line`` then each call site, space-separated. binutils'
        addr2line.c translate_addresses() does not reset the row's discriminator between
        lines, so `` (discriminator N)`` repeats on every call site with a known line."""
        _, mark, disc = self.source.partition(" (discriminator ")
        tail = mark + disc if mark else ""
        calls = [
            i.call_source + ("" if i.call_source.endswith(":?") else tail) for i in self.inlined
        ]
        return " ".join([self.source, *calls])


class SourceFinder:
    """Source locations for frames, each file's line table opened on first need."""

    def __init__(self, catalog: Catalog, sym: Symbolizer) -> None:
        self.catalog = catalog
        self.sym = sym
        self._tables: dict[str, LineTable | None] = {}
        self._vmlinux = _vmlinux_path(catalog)

    def _table(self, path: str, placed: dict[int, tuple[bool, int]] | None) -> LineTable | None:
        if path not in self._tables:
            try:
                table: LineTable | None = LineTable(Path(path), placed)
            except (OSError, KsqlError, ValueError, IndexError, OverflowError, struct.error):
                table = None  # a file too damaged to read: its frames get no line
            self._tables[path] = table if table is not None and table.has_lines else None
        return self._tables[path]

    def source_of(self, frame: Frame) -> Site:
        """The frame's DWARF location and inline chain, else its definition site."""
        line, chain = self.locate(frame)
        return Site(line, "" if line else self.defined_at(frame), tuple(chain))

    def locate(self, frame: Frame) -> tuple[str, list[Inlined]]:
        """``file:line`` from DWARF ("" when unknown) and the inlined calls there."""
        if frame.module:
            image = self.sym.module(frame.module, frame.build_id)
            if image is None or frame.section not in image.section_offsets:
                return "", []
            table = self._table(str(image.path), image.placed)
            if table is None:
                return "", []
            init, start = image.section_offsets[frame.section]
            return table.locate(start + frame.section_offset + (INIT_BIAS if init else 0))
        if self._vmlinux is None or frame.address is None:
            return "", []
        table = self._table(self._vmlinux, None)
        return table.locate((frame.address - self.sym.kaslr) % (1 << 64)) if table else ("", [])

    def defined_at(self, frame: Frame) -> str:
        table = self.catalog.table("defined_at")
        if len(table) <= 1:  # no source tree loaded: skip the name scan
            return ""
        cols = self.catalog.columns()
        module = frame.module or VMLINUX
        sites: set[str] = set()
        fallback: set[str] = set()
        for r in self.catalog.rows_named(frame.name).tolist():
            site = table.strings[int(cols["defined_at"][r])]
            if not site:
                continue
            if self.catalog.modules.strings[int(cols["module"][r])] == module:
                sites.add(site)
            fallback.add(site)
        found = sites or fallback
        return next(iter(found)) if len(found) == 1 else ""


def _vmlinux_path(catalog: Catalog) -> str | None:
    """The ELF vmlinux among the catalog's sources, if one was loaded."""
    for label, _ in catalog.loaded:
        kind, _, path = label.partition(":")
        if kind == "elf" and not path.endswith((".ko", ".ko.xz", ".ko.gz", ".ko.zst", ".o")):
            return path
    return None
