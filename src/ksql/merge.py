"""Merging a batch into a catalog: facts about one symbol from several sources meet by
``(module, name)``; addresses (aligned across KASLR by ``_text``) tell static namesakes apart,
file order pairs them when one side's addresses are hidden, and a Module.symvers export
goes to the global definition. Unknown fields fill in; a precise export kind beats
"exported, flavour unknown"; every row remembers its sources.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ksql.batch import ADDR_NONE, INT_NONE, Batch
from ksql.columns import UNKNOWN_LETTER
from ksql.model import Bind, ExportKind, Kind

if TYPE_CHECKING:
    from ksql.catalog import Catalog

# Plain ints for the hot loops: IntEnum attribute access costs ~1 us a time.
_BIND_UNKNOWN, _BIND_LOCAL = int(Bind.UNKNOWN), int(Bind.LOCAL)
_KIND_UNKNOWN = int(Kind.UNKNOWN)
_EXPORTED = int(ExportKind.EXPORTED)
# The symbol every vmlinux symbol table has at the image start: the KASLR slide between a
# System.map (link-time addresses) and /proc/kallsyms (runtime addresses) is the difference
# of its two addresses, since the kernel image is relocated as one block
# (arch/x86/boot/compressed/kaslr.c).
_ANCHOR = "_text"


def merge(
    cat: Catalog,
    b: Batch,
    mod: npt.NDArray[np.uint32],
    rows: npt.NDArray[np.intp],
    label: int,
    keep: npt.NDArray[np.bool_],
) -> None:
    targets: list[int] = []
    sources: list[int] = []
    for code in np.unique(mod[rows]):
        in_module = rows[mod[rows] == code]
        index = _module_index(cat, int(code))
        names = [b.name[i] for i in in_module]
        letters = b.type[in_module].tolist()
        counts = Counter(zip(names, letters, strict=True))
        seen: Counter[tuple[str, int]] = Counter()
        slide = _slide(cat, b, in_module, names, index)
        for i, name, letter in zip(in_module.tolist(), names, letters, strict=True):
            candidates = index.get(name)
            if not candidates:
                continue
            key = (name, letter)
            target = _pick(cat, candidates, b, i, slide, seen[key], counts[key])
            seen[key] += 1
            if target is not None:
                targets.append(target)
                sources.append(i)
                keep[i] = False
    if targets:
        _merge_rows(cat, np.array(targets), np.array(sources), b, label)


def _module_index(cat: Catalog, code: int) -> dict[str, list[int]]:
    index = cat._merge_index.get(code)
    if index is None:
        rows = np.flatnonzero(cat._data["module"][: cat._n] == code).tolist()
        names = cat._data["name"][rows].tolist()
        index = {name: [r] for name, r in zip(names, rows, strict=True)}
        if len(index) != len(names):  # static duplicates: every row, in order
            dupes = {name for name, count in Counter(names).items() if count > 1}
            for name in dupes:
                index[name] = []
            for name, r in zip(names, rows, strict=True):
                if name in dupes:
                    index[name].append(r)
        cat._merge_index[code] = index
    return index


def _slide(
    cat: Catalog,
    b: Batch,
    rows: npt.NDArray[np.intp],
    names: list[str],
    index: dict[str, list[int]],
) -> int:
    here = index.get(_ANCHOR)
    if not here or len(here) != 1 or _ANCHOR not in names:
        return 0
    ours = int(cat._data["addr"][here[0]])
    theirs = int(b.addr[rows[names.index(_ANCHOR)]])
    if ADDR_NONE in (ours, theirs):
        return 0
    return (ours - theirs) % 2**64


def _pick(
    cat: Catalog, candidates: list[int], b: Batch, i: int, slide: int, nth: int, same_key: int
) -> int | None:
    """The existing row that row ``i`` of ``b`` describes, or None for a new row.

    ``nth`` / ``same_key``: this row is the nth of ``same_key`` batch rows with its name
    and letter. Addresses decide when both sides have them; otherwise rows pair up in
    file order (both symbol tables are sorted by address), and only when both sides
    have as many rows of that name and letter -- static duplicates never collapse.
    """
    d = cat._data
    undef = bool(b.undefined[i])
    cands = [r for r in candidates if bool(d["undefined"][r]) == undef]
    if not cands:
        return None
    addr = int(b.addr[i])
    if addr != ADDR_NONE:
        target = (addr + slide) % 2**64
        if any(int(d["addr"][r]) == target for r in cands):
            return next(r for r in cands if int(d["addr"][r]) == target)
        if len(cands) == 1 and same_key == 1:
            return cands[0]
        letter = b.type[i]
        alike = [r for r in cands if d["type"][r] == letter and int(d["addr"][r]) == ADDR_NONE]
        return alike[nth] if len(alike) == same_key else None
    if len(cands) == 1:
        return cands[0]
    # No address to tell them apart (Module.symvers): an export names the global one.
    globals_ = [r for r in cands if d["bind"][r] != _BIND_LOCAL]
    return globals_[0] if len(globals_) == 1 else None


def _merge_rows(
    cat: Catalog, r: npt.NDArray[np.intp], i: npt.NDArray[np.intp], b: Batch, label: int
) -> None:
    """Fill what rows ``r`` do not know yet from batch rows ``i``, column by column."""
    d = cat._data
    for col, unknown in (
        ("addr", ADDR_NONE),
        ("type", UNKNOWN_LETTER),
        ("size", INT_NONE),
        ("bind", _BIND_UNKNOWN),
        ("kind", _KIND_UNKNOWN),
        ("crc", INT_NONE),
    ):
        fill = d[col][r] == unknown
        d[col][r[fill]] = getattr(b, col)[i[fill]]
    for col, table in (("section", cat.sections), ("namespace", cat.namespaces)):
        codes = table.encode([getattr(b, col)[k] for k in i])
        fill = (d[col][r] == 0) & (codes != 0)
        d[col][r[fill]] = codes[fill]
    theirs, ours = b.export[i], d["export"][r]
    # A precise kind (EXPORT_SYMBOL_GPL...) beats "exported, flavour unknown".
    better = ((theirs > _EXPORTED) & (ours <= _EXPORTED)) | ((theirs > 0) & (ours == 0))
    d["export"][r[better]] = theirs[better]
    sets = d["source"][r]
    for code in np.unique(sets).tolist():
        labels = cat._source_sets[code]
        if label not in labels:
            sets[sets == code] = cat._source_set((*labels, label))
    d["source"][r] = sets
