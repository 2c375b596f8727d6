"""Exports in an ELF image (vmlinux, ``.ko``, ``.o``): which symbols are exported, with what
flavour, namespace and CRC.

- ``__ksymtab_<name>`` labels sit in section ``__ksymtab`` or ``__ksymtab_gpl`` (also
  ``__ksymtab_unused*`` and ``__ksymtab_gpl_future`` until 367948220fce / f1c3d73e973c, 5.12;
  in ``.o`` files ``___ksymtab+<name>`` / ``___ksymtab_gpl+<name>``). Since 7290d5809571
  ("module: use relative references for __ksymtab entries", 4.19) an entry is three int32
  place-relative offsets (value, name, namespace) on PREL32 architectures, else pointers.
- Namespaces: ``__kstrtabns_<name>`` labels from 69923208431e (5.4) until ddb5cdbafaaa
  ("kbuild: generate KSYMTAB entries by modpost", 6.5); afterwards only the entry's
  namespace field, which in a ``.ko`` is zero until relocated, so its RELA entry is read.
  cdd30ebb1b9f (6.13) changed the source spelling to string literals, not the binary.
- ``.export_symbol`` (6.5+, ``.o`` only): ``__export_symbol_<name>`` -> license string
  ("GPL" or "") and namespace string.
- ``__kflagstab`` (55fcb926b6d8, 7.1): every export in ``__ksymtab``, one flag byte per entry,
  bit 0 = GPL-only.
- CRCs: ``__crc_<name>`` -- absolute symbols whose value is the CRC in old kernels, else a
  u32 in ``__kcrctab*``; without labels the kcrctab entry parallel to the ksymtab entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import compress
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from ksql.kernel.ksymentries import KsymtabEntries, export_symbol_record, section_index
from ksql.kernel.ksymtab import (
    CRC_PREFIX,
    EXPORT_SYMBOL_PREFIX,
    KSTRTABNS_PREFIX,
    KSYMTAB_PREFIX,
    SECTION_EXPORTS,
    export_targets,
)
from ksql.model import ExportKind

from .reader import (
    ET_REL,
    SHN_ABS,
    SHN_LORESERVE,
    SHT_NOBITS,
    ElfImage,
    Symbols,
)


class Export(NamedTuple):
    """One export's flavour, namespace and CRC. A named tuple, not a frozen dataclass:
    vmlinux makes 10.5 k of them, at ~0.2 us each rather than ~2 us."""

    kind: ExportKind
    namespace: str
    crc: int | None


def export_section_kind(section: str) -> ExportKind | None:
    """``__ksymtab_gpl`` -> GPL; ``.o`` spellings ``___ksymtab_gpl+name`` too."""
    if section.startswith("___ksymtab"):
        section = section[1:].split("+", 1)[0]
    return SECTION_EXPORTS.get(section)


_UNDERSCORE = ord("_")


LABELS = (KSYMTAB_PREFIX, KSTRTABNS_PREFIX, CRC_PREFIX, EXPORT_SYMBOL_PREFIX)


def label_rows(names: list[str], head: npt.NDArray[np.uint8]) -> dict[str, list[int]]:
    """The rows of each kind of export label (:data:`LABELS`), in row order. Each kind
    is looked for among the names that start as its label does ("__ks", "__cr", "__ex"),
    one comprehension each: a regular expression over vmlinux's 42 k candidates took 57 ms,
    this 8."""
    under = (head[:, 0] == _UNDERSCORE) & (head[:, 1] == _UNDERSCORE)
    two = (head[:, 2].astype(np.uint16) << 8) | head[:, 3]
    out: dict[str, list[int]] = {}
    for prefix in LABELS:
        code = (ord(prefix[2]) << 8) | ord(prefix[3])
        rows = np.flatnonzero(under & (two == code)).tolist()
        out[prefix] = [r for r in rows if names[r].startswith(prefix)]
    return out


def by_label(names: list[str], rows: list[int], prefix: str) -> dict[str, int]:
    """Exported name -> row of its label (the last such label)."""
    return {names[r][len(prefix) :]: r for r in rows}


def find_exports(
    image: ElfImage, syms: Symbols, found: dict[str, list[int]] | None = None
) -> dict[str, Export]:
    """Every export the image declares, by exported name (``found``: its
    :func:`label_rows`, when known)."""
    names = syms.name
    found = label_rows(names, syms.head) if found is None else found
    labels = by_label(names, found[KSYMTAB_PREFIX], KSYMTAB_PREFIX)
    ns_labels = by_label(names, found[KSTRTABNS_PREFIX], KSTRTABNS_PREFIX)
    crc_labels = by_label(names, found[CRC_PREFIX], CRC_PREFIX)
    export_symbols = by_label(names, found[EXPORT_SYMBOL_PREFIX], EXPORT_SYMBOL_PREFIX)
    out: dict[str, Export] = {}
    if labels:
        crcs = _crcs(image, syms, crc_labels)
        spaces = _namespaces(image, syms, ns_labels)
        tables = _Tables(image, syms, labels)
        label_names = list(labels)
        kinds = tables.kinds_of(np.array([labels[n] for n in label_names], dtype=np.intp))
        for name, kind in zip(label_names, kinds, strict=True):
            if kind is None:
                continue
            ns = spaces.get(name)
            crc = crcs.get(name)
            if ns is None or crc is None:  # no label said it: read the ksymtab entry
                r = labels[name]
                ns = tables.namespace(r) if ns is None else ns
                crc = tables.crc(r) if crc is None else crc
            out[name] = Export(kind, ns or "", crc)
    for name, r in export_symbols.items():
        if name not in out:
            license, ns = export_symbol_record(image, syms, r)
            kind = ExportKind.EXPORT_SYMBOL_GPL if license == "GPL" else ExportKind.EXPORT_SYMBOL
            out[name] = Export(kind, ns, crcs_or_none(image, syms, crc_labels, name))
    return out


def _file_offsets(
    image: ElfImage, syms: Symbols, rows: npt.NDArray[np.intp], width: int
) -> npt.NDArray[np.int64]:
    """File offsets of the ``width`` bytes each symbol in ``rows`` labels; -1 where that
    is not inside its section's contents. One vectorized pass per section."""
    out = np.full(len(rows), -1, dtype=np.int64)
    shndx = syms.shndx[rows]
    values = syms.value[rows]
    for sec in np.unique(shndx).tolist():
        if section_index(sec, len(image.sections)) is None:
            continue
        sh = image.sections[sec]
        start, size = int(sh["offset"]), int(sh["size"])
        if sh["type"] == SHT_NOBITS or start + size > len(image.data):
            continue
        pick = np.flatnonzero(shndx == sec)
        base = 0 if image.e_type == ET_REL else int(sh["addr"])
        rel = (values[pick] - np.uint64(base)).astype(np.int64)  # wraps below the base
        ok = (rel >= 0) & (rel + width <= size)
        out[pick[ok]] = start + rel[ok]
    return out


def _namespaces(image: ElfImage, syms: Symbols, ns_labels: dict[str, int]) -> dict[str, str]:
    """The strings ``__kstrtabns_`` labels point at; most are empty, so only the first
    byte is read for all of them."""
    if not ns_labels:
        return {}
    names = list(ns_labels)
    offs = _file_offsets(image, syms, np.array([ns_labels[n] for n in names]), 1)
    buf = np.frombuffer(image.data, dtype=np.uint8)
    valid = offs >= 0
    first = np.zeros(len(offs), dtype=np.uint8)
    first[valid] = buf[offs[valid]]
    out = {n: "" for n, v in zip(names, valid.tolist(), strict=True) if v}
    for i in np.flatnonzero(valid & (first != 0)).tolist():
        end = image.data.find(b"\0", int(offs[i]))
        if end > 0:
            out[names[i]] = bytes(image.data[int(offs[i]) : end]).decode("utf-8", "surrogateescape")
    return out


def crcs_or_none(
    image: ElfImage, syms: Symbols, crc_labels: dict[str, int], name: str
) -> int | None:
    return _crcs(image, syms, {name: crc_labels[name]}).get(name) if name in crc_labels else None


def _crcs(image: ElfImage, syms: Symbols, crc_labels: dict[str, int]) -> dict[str, int]:
    """CRC values of the ``__crc_`` labels, read in bulk."""
    if not crc_labels:
        return {}
    names = list(crc_labels)
    rows = np.array([crc_labels[n] for n in names], dtype=np.intp)
    out: dict[str, int] = {}
    absolute = syms.shndx[rows] == SHN_ABS
    for i in np.flatnonzero(absolute).tolist():
        out[names[i]] = int(syms.value[rows[i]]) & 0xFFFFFFFF
    offs = _file_offsets(image, syms, rows, 4)
    ok = np.flatnonzero((offs >= 0) & ~absolute)
    if len(ok):
        buf = np.frombuffer(image.data, dtype=np.uint8)
        word = np.dtype(("<" if image.little else ">") + "u4")
        got = buf[offs[ok][:, None] + np.arange(4)].copy().view(word).ravel()
        for i, crc in zip(ok.tolist(), got.tolist(), strict=True):
            out[names[i]] = crc
    return out


class _Tables(KsymtabEntries):
    """The ksymtab entries behind the labels (:class:`KsymtabEntries`), with each
    section's flavour as an :class:`ExportKind`."""

    def __init__(self, image: ElfImage, syms: Symbols, labels: dict[str, int]) -> None:
        shndx = syms.shndx[np.fromiter(labels.values(), np.intp, len(labels))]
        valid = (shndx > 0) & (shndx < len(image.section_names)) & (shndx < SHN_LORESERVE)
        sections, counts = np.unique(shndx[valid], return_counts=True)
        per_section = dict(zip(sections.tolist(), counts.tolist(), strict=True))
        super().__init__(image, syms, labels.values(), per_section)
        self.shndx = syms.shndx
        self.kinds: dict[int, ExportKind | None] = {
            sec: export_section_kind(image.section_names[sec]) for sec in self.entry
        }

    def kinds_of(self, rows: npt.NDArray[np.intp]) -> list[ExportKind | None]:
        """:meth:`kind` of many labels: one lookup per section unless flags decide."""
        if self.flags is not None:
            return [self.kind(int(r)) for r in rows]
        shndx = self.shndx[rows].tolist()
        return [self.kinds.get(s) for s in shndx]

    def kind(self, row: int) -> ExportKind | None:
        sec = self.section_of(row)
        kind = None if sec is None else self.kinds.get(sec)
        if kind is not None:
            gpl = self.flag_gpl(row)
            if gpl is not None:
                kind = ExportKind.EXPORT_SYMBOL_GPL if gpl else ExportKind.EXPORT_SYMBOL
        return kind


def no_exports(n: int) -> tuple[npt.NDArray[np.uint8], list[str], npt.NDArray[np.int64]]:
    """Export kind, namespace and CRC columns of ``n`` rows that export nothing."""
    return np.zeros(n, dtype=np.uint8), [""] * n, np.full(n, -1, dtype=np.int64)


def mark(
    exports: dict[str, Export],
    names: list[str],
    undefined: npt.NDArray[np.bool_],
    local: npt.NDArray[np.bool_],
) -> tuple[npt.NDArray[np.uint8], list[str], npt.NDArray[np.int64]]:
    """Export kind, namespace and CRC columns for rows named ``names``: each export marks
    the defined row of its name, the global one where static namesakes exist."""
    rows, chosen = marked(exports, names, undefined, local)
    return export_columns(len(names), rows, chosen)


def marked(
    exports: dict[str, Export],
    names: list[str],
    undefined: Sequence[bool] | npt.NDArray[np.bool_],
    local: Sequence[bool] | npt.NDArray[np.bool_],
    first: int = 0,
) -> tuple[list[int], list[Export]]:
    """The rows the exports mark and the exports, for rows ``first``, ``first + 1``, ...
    named ``names`` (``undefined`` and ``local`` indexed by those row numbers)."""
    # The rows that carry an export's name, found at C speed (vmlinux: 127 k names).
    hits = compress(range(first, first + len(names)), map(exports.__contains__, names))
    best = export_targets(((names[j - first], j) for j in hits), undefined, local)
    return list(best.values()), [exports[name] for name in best]


def export_columns(
    n: int, rows: list[int], chosen: list[Export]
) -> tuple[npt.NDArray[np.uint8], list[str], npt.NDArray[np.int64]]:
    """Export kind, namespace and CRC columns of ``n`` rows, ``chosen[k]`` at ``rows[k]``."""
    export, namespace, crc = no_exports(n)
    if rows:
        at = np.array(rows, dtype=np.intp)
        export[at] = [e.kind for e in chosen]
        crc[at] = [-1 if e.crc is None else e.crc for e in chosen]
        for j, e in zip(rows, chosen, strict=True):
            if e.namespace:
                namespace[j] = e.namespace
    return export, namespace, crc
