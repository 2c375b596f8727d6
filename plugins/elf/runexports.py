"""The exports of a run of modules (:mod:`.batch`): :func:`.kexports.find_exports`'s answer
for every file at once.

The labels are found in one scan of the run's names. A file whose every ``__ksymtab_``
label has its ``__kstrtabns_`` and ``__crc_`` labels beside it (5.4 to 6.4 with
CONFIG_MODVERSIONS, every Debian kernel of those) is read here, label by label, in plain
Python: a few microseconds each, where the one-file reader's small numpy calls cost ~0.9 ms
a file (929 exporting modules of Debian's 6.1). Any other file (no namespace labels as from
6.5, ``.export_symbol`` records, ``__kflagstab``, a label outside its section) goes to
:func:`.kexports.find_exports`, which reads the ksymtab entries themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ksql.kernel.ksymentries import section_index
from ksql.kernel.ksymtab import (
    CRC_PREFIX,
    EXPORT_SYMBOL_PREFIX,
    KSTRTABNS_PREFIX,
    KSYMTAB_PREFIX,
)
from ksql.model import ExportKind

from .kexports import LABELS, Export, by_label, export_section_kind, find_exports, label_rows
from .reader import SHN_ABS, SHT_NOBITS, ElfImage, Symbols
from .slips import SLIPS

if TYPE_CHECKING:
    from .batch import Run


def run_exports(run: Run) -> tuple[dict[int, dict[str, Export]], set[int]]:
    """The exports of each file of the run that has one, and the files whose reading
    failed (to decode on their own, which words the error)."""
    found = label_rows(run.names, run.head)
    per_file: dict[int, dict[str, list[int]]] = {}
    fid = run.fid
    for prefix, rows in found.items():
        for r in rows:
            per_file.setdefault(int(fid[r]), {}).setdefault(prefix, []).append(r)
    out: dict[int, dict[str, Export]] = {}
    odd: set[int] = set()
    for i, labels in per_file.items():
        if KSYMTAB_PREFIX not in labels and EXPORT_SYMBOL_PREFIX not in labels:
            continue
        got = _read(run, i, labels)
        if got is None:
            try:
                got = _one_file(run, i, labels)
            except SLIPS:
                odd.add(i)
                continue
        out[i] = got
    return out, odd


def _read(run: Run, i: int, found: dict[str, list[int]]) -> dict[str, Export] | None:
    """The common layout's exports, or None for :func:`_one_file`."""
    if EXPORT_SYMBOL_PREFIX in found or "__kflagstab" in run.by_name[i]:
        return None
    names = run.names
    labels = by_label(names, found.get(KSYMTAB_PREFIX, []), KSYMTAB_PREFIX)
    spaces = by_label(names, found.get(KSTRTABNS_PREFIX, []), KSTRTABNS_PREFIX)
    crcs = by_label(names, found.get(CRC_PREFIX, []), CRC_PREFIX)
    if not labels.keys() <= spaces.keys() or not labels.keys() <= crcs.keys():
        return None
    file = _File(run, i)
    out: dict[str, Export] = {}
    for name, r in labels.items():
        sec = section_index(int(run.shndx[r]), file.nsec)
        kind = None if sec is None else file.kind(sec)
        if kind is None:
            continue
        ns, crc = file.namespace(spaces[name]), file.crc(crcs[name])
        if ns is None or crc is None:
            return None
        out[name] = Export(kind, ns, crc)
    return out


class _File:
    """One file of the run, read at its labels' places as :mod:`.kexports` does."""

    def __init__(self, run: Run, i: int) -> None:
        self.run = run
        self.data = run.files[i].data
        self.little = run.files[i].header.little
        self.base = int(run.secbase[i])
        self.nsec = run.nsec[i]

    def kind(self, sec: int) -> ExportKind | None:
        return export_section_kind(self.run.section_names[self.base + sec])

    def offset(self, r: int, width: int) -> int | None:
        """Where the ``width`` bytes label ``r`` marks lie in the file (a relocatable
        file's symbol value is its section offset), when inside its section."""
        sec = section_index(int(self.run.shndx[r]), self.nsec)
        if sec is None:
            return None
        row = self.base + sec
        start, size = self.run.offsets[row], self.run.sizes[row]
        if self.run.types[row] == SHT_NOBITS or start + size > len(self.data):
            return None
        rel = int(self.run.value[r])
        return start + rel if rel + width <= size else None

    def namespace(self, r: int) -> str | None:
        off = self.offset(r, 1)
        if off is None:
            return None
        if not self.data[off]:
            return ""
        end = self.data.find(b"\0", off)
        return bytes(self.data[off:end]).decode("utf-8", "surrogateescape") if end > 0 else ""

    def crc(self, r: int) -> int | None:
        if int(self.run.shndx[r]) == SHN_ABS:
            return int(self.run.value[r]) & 0xFFFFFFFF
        off = self.offset(r, 4)
        if off is None:
            return None
        return int.from_bytes(self.data[off : off + 4], "little" if self.little else "big")


def _one_file(run: Run, i: int, found: dict[str, list[int]]) -> dict[str, Export]:
    """:func:`.kexports.find_exports` on file ``i`` alone."""
    file = run.files[i]
    s, e = int(run.symbase[i]), int(run.symbase[i]) + run.counts[i]
    base, n = int(run.secbase[i]), run.nsec[i]
    image = ElfImage.of_table(
        file.path,
        file.data,
        file.header,
        run.secs[base : base + n],
        run.section_names[base : base + n],
        run.by_name[i],
    )
    syms = Symbols(
        name=run.names[s:e],
        info=run.info[s:e],
        shndx=run.shndx[s:e],
        value=run.value[s:e],
        size=run.size[s:e],
        head=run.head[s:e],
    )
    return find_exports(image, syms, {p: [r - s for r in found.get(p, [])] for p in LABELS})
