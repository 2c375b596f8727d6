"""A module's own exports, found with the plain-Python reader (:mod:`.reader`) by the
rules of the ``elf`` plugin's :mod:`ksql.plugins.elf.kexports`: ``__ksymtab_`` labels and
their sections, ``__kstrtabns_`` namespaces or the entry's relocated namespace field,
``__crc_`` labels or the parallel ``__kcrctab`` entry, ``__kflagstab`` bits and
``.export_symbol`` records -- one symbol at a time instead of in numpy bulk, since a module
has tens of exports.
"""

from __future__ import annotations

from ksql.kernel.ksymnames import (
    CRC_PREFIX,
    EXPORT_SYMBOL_PREFIX,
    KSTRTABNS_PREFIX,
    KSYM_FLAG_GPL_ONLY,
    KSYMTAB_PREFIX,
    section_gpl,
)

from .reader import ET_REL, SHN_ABS, SHN_LORESERVE, SHT_NOBITS, LiteImage, LiteSymbols

# name -> (GPL-only, namespace, CRC)
Found = dict[str, tuple[bool, str, int | None]]
_PREFIXES = (KSYMTAB_PREFIX, KSTRTABNS_PREFIX, CRC_PREFIX, EXPORT_SYMBOL_PREFIX)


def find_exports(image: LiteImage, syms: LiteSymbols) -> Found:
    """Every export the image declares, by exported name."""
    found: dict[str, dict[str, int]] = {p: {} for p in _PREFIXES}
    for r, n in enumerate(syms.name):
        if n.startswith(_PREFIXES):
            prefix = next(p for p in _PREFIXES if n.startswith(p))
            found[prefix][n[len(prefix) :]] = r
    labels, crc_labels = found[KSYMTAB_PREFIX], found[CRC_PREFIX]
    out: Found = {}
    if labels:
        crcs = {n: c for n, r in crc_labels.items() if (c := _crc(image, syms, r)) is not None}
        spaces = {
            n: s
            for n, r in found[KSTRTABNS_PREFIX].items()
            if (s := _ns(image, syms, r)) is not None
        }
        tables = _Tables(image, syms, labels)
        for name, r in labels.items():
            gpl = tables.gpl(r)
            if gpl is None:
                continue
            ns = spaces.get(name)
            crc = crcs.get(name)
            ns = tables.namespace(r) if ns is None else ns
            crc = tables.crc(r) if crc is None else crc
            out[name] = (gpl, ns or "", crc)
    for name, r in found[EXPORT_SYMBOL_PREFIX].items():
        if name not in out:
            license, ns = _export_symbol(image, syms, r)
            crc = _crc(image, syms, crc_labels[name]) if name in crc_labels else None
            out[name] = (license == "GPL", ns, crc)
    return out


def _section_of(image: LiteImage, syms: LiteSymbols, row: int) -> int | None:
    idx = syms.shndx[row]
    return idx if 0 < idx < len(image.sections) and idx < SHN_LORESERVE else None


def _file_offset(image: LiteImage, syms: LiteSymbols, row: int, width: int) -> int | None:
    """File offset of the ``width`` bytes the symbol labels; None outside its section."""
    sec = _section_of(image, syms, row)
    if sec is None:
        return None
    sh = image.sections[sec]
    if sh.type == SHT_NOBITS or sh.offset + sh.size > len(image.data):
        return None
    rel = (syms.value[row] - (0 if image.e_type == ET_REL else sh.addr)) & (2**64 - 1)
    rel = rel - 2**64 if rel >= 2**63 else rel  # as int64: wraps below the base
    return sh.offset + rel if rel >= 0 and rel + width <= sh.size else None


def _crc(image: LiteImage, syms: LiteSymbols, row: int) -> int | None:
    if syms.shndx[row] == SHN_ABS:
        return syms.value[row] & 0xFFFFFFFF
    off = _file_offset(image, syms, row, 4)
    return None if off is None else image.u32(image.data[off : off + 4])


def _ns(image: LiteImage, syms: LiteSymbols, row: int) -> str | None:
    off = _file_offset(image, syms, row, 1)
    if off is None:
        return None
    if image.data[off] == 0:
        return ""
    end = image.data.find(b"\0", off)
    return image.data[off:end].decode("utf-8", "surrogateescape") if end > 0 else ""


def _export_symbol(image: LiteImage, syms: LiteSymbols, row: int) -> tuple[str, str]:
    sec = _section_of(image, syms, row)
    if sec is None:
        return "", ""
    license = image.cstring(sec, syms.value[row]) or ""
    skip = len(license.encode("utf-8", "surrogateescape")) + 1
    return license, image.cstring(sec, syms.value[row] + skip) or ""


class _Tables:
    """The ksymtab entries behind the labels: flavour, namespace field, parallel CRC."""

    def __init__(self, image: LiteImage, syms: LiteSymbols, labels: dict[str, int]) -> None:
        self.image = image
        self.syms = syms
        flag_idx = image.index("__kflagstab")
        self.flags = image.section_bytes(flag_idx) if flag_idx is not None else None
        per_section: dict[int, int] = {}
        for r in labels.values():
            sec = _section_of(image, syms, r)
            if sec is not None:
                per_section[sec] = per_section.get(sec, 0) + 1
        word = 8 if image.is64 else 4
        self.kinds: dict[int, bool | None] = {}
        self.entry: dict[int, int] = {}
        for sec, count in per_section.items():
            size = image.sections[sec].size
            self.kinds[sec] = section_gpl(image.section_names[sec])
            entry = size // count if count and size % count == 0 else 0
            self.entry[sec] = entry if entry in (8, 12, 2 * word, 3 * word) else 0
        self.relocs: dict[int, dict[int, tuple[int, int]]] = {}

    def gpl(self, row: int) -> bool | None:
        sec = _section_of(self.image, self.syms, row)
        if sec is None:
            return None
        gpl = self.kinds.get(sec)
        if gpl is not None and self.flags is not None:
            i = self._entry_index(sec, row)
            if i is not None and i < len(self.flags):
                gpl = bool(self.flags[i] & KSYM_FLAG_GPL_ONLY)
        return gpl

    def _entry_index(self, sec: int, row: int) -> int | None:
        entry = self.entry.get(sec, 0)
        if not entry:
            return None
        base = 0 if self.image.e_type == ET_REL else self.image.sections[sec].addr
        rel = self.syms.value[row] - base
        return rel // entry if rel % entry == 0 else None

    def namespace(self, row: int) -> str | None:
        """The entry's namespace field: PREL32 (12-byte entries) or a pointer (3 words)."""
        sec = _section_of(self.image, self.syms, row)
        img = self.image
        word = 8 if img.is64 else 4
        entry = self.entry.get(sec or 0, 0)
        prel32 = img.is64 and entry == 12
        if sec is None or not (prel32 or entry == 3 * word):
            return None
        field_size = 4 if prel32 else word
        field = self.syms.value[row] + 2 * field_size
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
        for i, s in enumerate(img.sections):
            if s.addr <= address < s.addr + s.size and s.addr > 0:
                return img.cstring(i, address)
        return None

    def _relocated(self, sec: int, offset: int) -> tuple[int, int] | None:
        """(section, offset) a relocatable object's field at ``offset`` will point to."""
        table = self.relocs.get(sec)
        if table is None:
            table = {}
            for off, info, addend in self.image.relocations_for(sec) or ():
                table[off] = (self.image.rela_symbol(info), addend)
            self.relocs[sec] = table
        hit = table.get(offset)
        if hit is None:
            return None
        sym, addend = hit
        if not 0 < sym < len(self.syms.shndx):
            return None
        target_sec = _section_of(self.image, self.syms, sym)
        if target_sec is None:
            return None
        return target_sec, self.syms.value[sym] + addend

    def crc(self, row: int) -> int | None:
        """The kcrctab entry parallel to this ksymtab entry (vmlinux without __crc_)."""
        sec = _section_of(self.image, self.syms, row)
        if sec is None:
            return None
        name = self.image.section_names[sec]
        crc_sec = self.image.index(name.replace("__ksymtab", "__kcrctab", 1))
        i = self._entry_index(sec, row)
        if crc_sec is None or i is None:
            return None
        base = 0 if self.image.e_type == ET_REL else self.image.sections[crc_sec].addr
        raw = self.image.read(crc_sec, base + 4 * i, 4)
        return None if raw is None else self.image.u32(raw)
