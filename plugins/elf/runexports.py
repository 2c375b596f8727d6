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

import numpy as np
import numpy.typing as npt

from ksql.kernel.ksymtab import (
    CRC_PREFIX,
    EXPORT_SYMBOL_PREFIX,
    KSTRTABNS_PREFIX,
    KSYMTAB_PREFIX,
)
from ksql.model import ExportKind

from .kexports import LABELS, Export, by_label, export_section_kind, find_exports, label_rows
from .reader import SHN_ABS, SHN_LORESERVE, SHT_NOBITS, ElfImage, Symbols
from .slips import SLIPS

if TYPE_CHECKING:
    from .batch import Run

I64 = npt.NDArray[np.int64]


def run_exports(run: Run) -> tuple[dict[int, dict[str, Export]], set[int]]:
    """The exports of each file of the run that has one, and the files whose reading
    failed (to decode on their own, which words the error)."""
    found = label_rows(run.names, run.head)
    per_file: dict[int, dict[str, list[int]]] = {}
    fid = run.fid.tolist()
    for prefix, rows in found.items():
        for r in rows:
            per_file.setdefault(fid[r], {}).setdefault(prefix, []).append(r)
    labels = _Labels()
    slow: list[int] = []
    for i, rows_of in per_file.items():
        if KSYMTAB_PREFIX not in rows_of and EXPORT_SYMBOL_PREFIX not in rows_of:
            continue
        if not labels.add(run, i, rows_of):
            slow.append(i)
    out, unread = labels.read(run)
    odd: set[int] = set()
    for i in [*slow, *unread]:
        try:
            out[i] = _one_file(run, i, per_file[i])
        except SLIPS:
            odd.add(i)
    return out, odd


class _Labels:
    """The common layout's labels of a run, one row per export: its file, its name and the
    rows of its ``__ksymtab_``, ``__kstrtabns_`` and ``__crc_`` labels."""

    def __init__(self) -> None:
        self.file: list[int] = []
        self.name: list[str] = []
        self.rows: tuple[list[int], list[int], list[int]] = ([], [], [])

    def add(self, run: Run, i: int, found: dict[str, list[int]]) -> bool:
        """File ``i``'s labels, when it has the common layout (else False: read it on its
        own)."""
        if EXPORT_SYMBOL_PREFIX in found or run.index(i, "__kflagstab") is not None:
            return False
        names = run.names
        labels = by_label(names, found.get(KSYMTAB_PREFIX, []), KSYMTAB_PREFIX)
        spaces = by_label(names, found.get(KSTRTABNS_PREFIX, []), KSTRTABNS_PREFIX)
        crcs = by_label(names, found.get(CRC_PREFIX, []), CRC_PREFIX)
        if not labels.keys() <= spaces.keys() or not labels.keys() <= crcs.keys():
            return False
        self.file.extend([i] * len(labels))
        self.name.extend(labels)
        self.rows[0].extend(labels.values())
        self.rows[1].extend(spaces[n] for n in labels)
        self.rows[2].extend(crcs[n] for n in labels)
        return True

    def read(self, run: Run) -> tuple[dict[int, dict[str, Export]], set[int]]:
        """Every export these labels describe, by file; and the files one of whose labels
        points outside its section (to read on their own)."""
        files = np.array(self.file, dtype=np.intp)
        places = _Places(run, files)
        kinds = places.kinds(np.array(self.rows[0], dtype=np.intp))
        spaces = places.offsets(np.array(self.rows[1], dtype=np.intp), 1)
        crc_rows = np.array(self.rows[2], dtype=np.intp)
        crcs = places.offsets(crc_rows, 4)
        absolute = (run.shndx[crc_rows] == SHN_ABS).tolist()
        values = run.value[crc_rows].tolist()
        out: dict[int, dict[str, Export]] = {}
        unread: set[int] = set()
        for j, (i, name, kind, ns_at, crc_at) in enumerate(
            zip(self.file, self.name, kinds, spaces.tolist(), crcs.tolist(), strict=True)
        ):
            if kind is None or i in unread:
                continue
            if ns_at < 0 or (crc_at < 0 and not absolute[j]):
                unread.add(i)  # no label said it: the ksymtab entry must
                continue
            data = run.files[i].data
            if not data[ns_at]:
                ns = ""
            else:
                end = data.find(b"\0", ns_at)
                ns = bytes(data[ns_at:end]).decode("utf-8", "surrogateescape") if end > 0 else ""
            if absolute[j]:
                crc = values[j] & 0xFFFFFFFF
            else:
                little = run.files[i].header.little
                crc = int.from_bytes(data[crc_at : crc_at + 4], "little" if little else "big")
            out.setdefault(i, {})[name] = Export(kind, ns, crc)
        for i in unread:
            out.pop(i, None)
        return out, unread


class _Places:
    """Where labels of a run's files point, for many labels at once (``files``: each
    label's file), as :mod:`.kexports` reads one file's."""

    def __init__(self, run: Run, files: npt.NDArray[np.intp]) -> None:
        self.run = run
        self.nsec = np.array(run.nsec, dtype=np.int64)[files]
        self.base = run.secbase[files]
        self.size_of_file = np.array([len(f.data) for f in run.files], dtype=np.int64)[files]
        self.kind_of: dict[str, ExportKind | None] = {}

    def _sections(self, rows: npt.NDArray[np.intp]) -> tuple[npt.NDArray[np.bool_], I64]:
        """Whether each label lies in one of its file's sections, and that section's row
        in the run's table."""
        sec = self.run.shndx[rows].astype(np.int64)
        valid = (sec > 0) & (sec < self.nsec) & (sec < SHN_LORESERVE)
        return valid, np.where(valid, sec + self.base, 0)

    def kinds(self, rows: npt.NDArray[np.intp]) -> list[ExportKind | None]:
        """The flavour each ``__ksymtab_`` label's section says (None: not a ksymtab)."""
        valid, at = self._sections(rows)
        names = self.run.section_names
        out: list[ExportKind | None] = []
        for ok, g in zip(valid.tolist(), at.tolist(), strict=True):
            if not ok:
                out.append(None)
                continue
            name = names[g]
            if name not in self.kind_of:
                self.kind_of[name] = export_section_kind(name)
            out.append(self.kind_of[name])
        return out

    def offsets(self, rows: npt.NDArray[np.intp], width: int) -> I64:
        """The file offset of the ``width`` bytes each label marks (a relocatable file's
        symbol value is its section offset), or -1 outside its section's contents."""
        valid, at = self._sections(rows)
        secs = self.run.secs[at]
        start = secs["offset"].astype(np.uint64)
        size = secs["size"].astype(np.uint64)
        rel = self.run.value[rows]
        end = self.size_of_file.astype(np.uint64)
        room = np.where(start <= end, end - start, 0)  # no wrap-around on crafted offsets
        ok = (
            valid
            & (secs["type"] != SHT_NOBITS)
            & (start <= end)
            & (size <= room)
            & (size >= np.uint64(width))
        )
        ok &= rel <= np.where(ok, size - np.uint64(width), 0)
        out: I64 = np.where(ok, (start + rel).astype(np.int64), -1)
        return out


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
        run.by_name(i),
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
