"""The ksymtab entries behind ``__ksymtab_<name>`` labels, read the way the kernel lays
them out, for both ELF readers (the plain one of ``ksql check`` and the ``elf`` plugin's
numpy one) through the small :class:`EntryImage` surface each provides:

- an entry is two or three words -- value, name and, since 5.4, namespace -- or, since
  7290d5809571 ("module: use relative references for __ksymtab entries", 4.19), three
  int32 place-relative offsets on PREL32 architectures (12-byte entries on 64-bit); its
  size is inferred from the section's size and its label count;
- the namespace field is a pointer, a PREL32 offset, or in a relocatable ``.ko`` zero until
  relocated, so its RELA entry says where it points;
- without ``__crc_`` labels the CRC is the ``__kcrctab*`` u32 parallel to the entry
  (include/linux/export-internal.h);
- ``__kflagstab`` (55fcb926b6d8, 7.1): one flag byte per entry, bit 0 GPL-only.

Plain Python (no numpy): ``ksql check`` of one module imports it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from ksql.kernel.ksymnames import KSYM_FLAG_GPL_ONLY

ET_REL = 1  # a relocatable object (.ko, .o): symbol values are section offsets
SHN_LORESERVE = 0xFF00


class EntryImage(Protocol):
    """What the entries are read through: an ELF reader's header facts and accessors."""

    is64: bool
    little: bool
    e_type: int
    section_names: list[str]

    def index(self, name: str) -> int | None: ...
    def section_bytes(self, index: int) -> bytes: ...
    def section_addr(self, index: int) -> int: ...
    def section_size(self, index: int) -> int: ...
    def section_at(self, address: int) -> int | None: ...
    def relocation_targets(self, index: int) -> dict[int, tuple[int, int]]: ...
    def read(self, index: int, address: int, size: int) -> bytes | None: ...
    def cstring(self, index: int, address: int) -> str | None: ...
    def u32(self, chunk: bytes) -> int: ...
    def word(self, chunk: bytes) -> int: ...


class _Column(Protocol):
    """A list or a numpy array: indexed by row, each value taken as an int."""

    def __getitem__(self, row: int, /) -> Any: ...
    def __len__(self) -> int: ...


class EntrySymbols(Protocol):
    """The symbol table's section indexes and values."""

    @property
    def shndx(self) -> _Column: ...
    @property
    def value(self) -> _Column: ...


def section_index(shndx: int, sections: int) -> int | None:
    """A symbol's section, when it is one of the image's ``sections`` (not undefined, not
    one of the reserved indexes: absolute, COMMON, ...)."""
    return shndx if 0 < shndx < sections and shndx < SHN_LORESERVE else None


def export_symbol_record(image: EntryImage, syms: EntrySymbols, row: int) -> tuple[str, str]:
    """The licence ("GPL" or "") and namespace strings of the ``.export_symbol`` record an
    ``__export_symbol_<name>`` label points at (6.5+ objects; scripts/mod/modpost.c)."""
    sec = section_index(int(syms.shndx[row]), len(image.section_names))
    if sec is None:
        return "", ""
    value = int(syms.value[row])
    license = image.cstring(sec, value) or ""
    skip = len(license.encode("utf-8", "surrogateescape")) + 1
    return license, image.cstring(sec, value + skip) or ""


class KsymtabEntries:
    """The entries of the ksymtab sections that hold the labels at ``label_rows``."""

    def __init__(
        self,
        image: EntryImage,
        syms: EntrySymbols,
        label_rows: Iterable[int],
        per_section: dict[int, int] | None = None,
    ) -> None:
        """``per_section``: how many labels each section holds, when the caller counted
        them already (a numpy reader, in one pass)."""
        self.image = image
        self.syms = syms
        self.sections = len(image.section_names)
        flag_idx = image.index("__kflagstab")
        self.flags = image.section_bytes(flag_idx) if flag_idx is not None else None
        if per_section is None:
            per_section = {}
            for r in label_rows:
                sec = self.section_of(r)
                if sec is not None:
                    per_section[sec] = per_section.get(sec, 0) + 1
        word = 8 if image.is64 else 4
        self.entry: dict[int, int] = {}  # section -> entry size (0: not one of the layouts)
        for sec, count in per_section.items():
            size = image.section_size(sec)
            entry = size // count if count and size % count == 0 else 0
            self.entry[sec] = entry if entry in (8, 12, 2 * word, 3 * word) else 0
        self._relocs: dict[int, dict[int, tuple[int, int]]] = {}

    def section_of(self, row: int) -> int | None:
        return section_index(int(self.syms.shndx[row]), self.sections)

    def _base(self, sec: int) -> int:
        return 0 if self.image.e_type == ET_REL else self.image.section_addr(sec)

    def entry_index(self, sec: int, row: int) -> int | None:
        entry = self.entry.get(sec, 0)
        if not entry:
            return None
        rel = int(self.syms.value[row]) - self._base(sec)
        return rel // entry if rel % entry == 0 else None

    def flag_gpl(self, row: int) -> bool | None:
        """The ``__kflagstab`` GPL-only bit of the label's entry; None without flags."""
        sec = self.section_of(row)
        if self.flags is None or sec is None:
            return None
        i = self.entry_index(sec, row)
        if i is None or i >= len(self.flags):
            return None
        return bool(self.flags[i] & KSYM_FLAG_GPL_ONLY)

    def namespace(self, row: int) -> str | None:
        """The entry's namespace field: PREL32 (12-byte entries) or a pointer (3 words)."""
        sec = self.section_of(row)
        img = self.image
        word = 8 if img.is64 else 4
        entry = self.entry.get(sec or 0, 0)
        prel32 = img.is64 and entry == 12
        if sec is None or not (prel32 or entry == 3 * word):
            return None
        field_size = 4 if prel32 else word
        field = int(self.syms.value[row]) + 2 * field_size
        if img.e_type == ET_REL:
            target = self._relocated(sec, field)
            return None if target is None else img.cstring(*target)
        raw = img.read(sec, field, field_size)
        if raw is None:
            return None
        if prel32:  # place-relative: target = field address + signed offset
            off = int.from_bytes(raw, "little" if img.little else "big", signed=True)
            if off == 0:
                return None
            address = field + off
        else:
            address = img.word(raw)
        at = img.section_at(address)
        return None if at is None else img.cstring(at, address)

    def _relocated(self, sec: int, offset: int) -> tuple[int, int] | None:
        """(section, offset) a relocatable object's field at ``offset`` will point to."""
        table = self._relocs.get(sec)
        if table is None:
            table = self._relocs[sec] = self.image.relocation_targets(sec)
        hit = table.get(offset)
        if hit is None:
            return None
        sym, addend = hit
        if not 0 < sym < len(self.syms.shndx):
            return None
        target_sec = self.section_of(sym)
        if target_sec is None:
            return None
        return target_sec, int(self.syms.value[sym]) + addend

    def crc(self, row: int) -> int | None:
        """The kcrctab entry parallel to this ksymtab entry (vmlinux without __crc_)."""
        sec = self.section_of(row)
        if sec is None:
            return None
        name = self.image.section_names[sec]
        crc_sec = self.image.index(name.replace("__ksymtab", "__kcrctab", 1))
        i = self.entry_index(sec, row)
        if crc_sec is None or i is None:
            return None
        raw = self.image.read(crc_sec, self._base(crc_sec) + 4 * i, 4)
        return None if raw is None else self.image.u32(raw)
