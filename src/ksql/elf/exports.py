"""A module's own exports, found with the plain-Python reader (:mod:`.reader`) by the
rules of the ``elf`` plugin's :mod:`ksql.plugins.elf.kexports`: ``__ksymtab_`` labels and
their sections, ``__kstrtabns_`` namespaces, ``__crc_`` labels and ``.export_symbol``
records -- one symbol at a time instead of in numpy bulk, since a module has tens of
exports. The ksymtab entries themselves (namespace field, parallel ``__kcrctab``,
``__kflagstab`` bits) are read by :mod:`ksql.kernel.ksymentries`, as the plugin reads them.
"""

from __future__ import annotations

from ksql.kernel.ksymentries import KsymtabEntries, export_symbol_record, section_index
from ksql.kernel.ksymnames import (
    CRC_PREFIX,
    EXPORT_SYMBOL_PREFIX,
    KSTRTABNS_PREFIX,
    KSYMTAB_PREFIX,
    section_gpl,
)

from .reader import ET_REL, SHN_ABS, SHT_NOBITS, LiteImage, LiteSymbols

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
        tables = KsymtabEntries(image, syms, labels.values())
        flavour: dict[int, bool | None] = {}  # section -> GPL-only, by its name
        for name, r in labels.items():
            sec = tables.section_of(r)
            if sec is None:
                continue
            if sec not in flavour:
                flavour[sec] = section_gpl(image.section_names[sec])
            gpl = flavour[sec]
            if gpl is None:
                continue
            flag = tables.flag_gpl(r)
            gpl = gpl if flag is None else flag
            ns = spaces.get(name)
            crc = crcs.get(name)
            ns = tables.namespace(r) if ns is None else ns
            crc = tables.crc(r) if crc is None else crc
            out[name] = (gpl, ns or "", crc)
    for name, r in found[EXPORT_SYMBOL_PREFIX].items():
        if name not in out:
            license, ns = export_symbol_record(image, syms, r)
            crc = _crc(image, syms, crc_labels[name]) if name in crc_labels else None
            out[name] = (license == "GPL", ns, crc)
    return out


def _section_of(image: LiteImage, syms: LiteSymbols, row: int) -> int | None:
    return section_index(syms.shndx[row], len(image.sections))


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
