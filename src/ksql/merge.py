"""The merge rules: facts about one symbol from several sources meet by ``(module, name)``;
addresses (aligned across KASLR by ``_text``) tell static namesakes apart, file order pairs
them when one side's addresses are hidden, and a Module.symvers export goes to the global
definition. Then each column merges by its schema rule (:class:`~ksql.schema.Merge`):
unknown values fill in, a precise export kind beats "exported, flavour unknown".

Pure functions over the columns a :class:`~ksql.builder.CatalogBuilder` is filling.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from ksql.model import COLUMNS, Bind, ExportKind
from ksql.schema import Encoding, Merge
from ksql.sink import Batch
from ksql.storage import StringTable

Arrays = Mapping[str, npt.NDArray[Any]]
Index = dict[str, list[int]]

# Plain ints for the hot loops: IntEnum attribute access costs ~1 us a time.
_BIND_LOCAL = int(Bind.LOCAL)
_EXPORTED = int(ExportKind.EXPORTED)
# The symbol every vmlinux symbol table has at the image start: the KASLR slide between a
# System.map (link-time addresses) and /proc/kallsyms (runtime addresses) is the difference
# of its two addresses, since the kernel image is relocated as one block
# (arch/x86/boot/compressed/kaslr.c).
_ANCHOR = "_text"
_KNOWN = next(c.known_key for c in COLUMNS if c.name == "addr")
_FILLED = [c for c in COLUMNS if c.merge is Merge.FILL]
_PRECISE = [c for c in COLUMNS if c.merge is Merge.EXPORT]


def targets(
    data: Arrays,
    index_of: Callable[[int], Index],
    b: Batch,
    mod: npt.NDArray[np.uint32],
    rows: npt.NDArray[np.intp],
    keep: npt.NDArray[np.bool_],
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """(existing rows, batch rows) that describe the same symbols; ``rows`` are the batch
    rows whose module already has rows (``mod``: module codes), ``index_of(code)`` is that
    module's name index. Merged batch rows are cleared in ``keep``."""
    found: list[int] = []
    sources: list[int] = []
    b_name, b_type = b["name"], b["type"]
    for code in np.unique(mod[rows]):
        in_module = rows[mod[rows] == code]
        index = index_of(int(code))
        names = [b_name[i] for i in in_module]
        letters = b_type[in_module].tolist()
        counts = Counter(zip(names, letters, strict=True))
        seen: Counter[tuple[str, int]] = Counter()
        slide = _slide(data, b, in_module, names, index)
        for i, name, letter in zip(in_module.tolist(), names, letters, strict=True):
            candidates = index.get(name)
            if not candidates:
                continue
            key = (name, letter)
            target = _pick(data, candidates, b, i, slide, seen[key], counts[key])
            seen[key] += 1
            if target is not None:
                found.append(target)
                sources.append(i)
                keep[i] = False
    return np.array(found, dtype=np.intp), np.array(sources, dtype=np.intp)


def name_index(names: list[str], rows: list[int]) -> Index:
    """name -> rows of one module; static duplicates keep every row, in order."""
    index = {name: [r] for name, r in zip(names, rows, strict=True)}
    if len(index) != len(names):
        dupes = {name for name, count in Counter(names).items() if count > 1}
        for name in dupes:
            index[name] = []
        for name, r in zip(names, rows, strict=True):
            if name in dupes:
                index[name].append(r)
    return index


def _slide(
    data: Arrays,
    b: Batch,
    rows: npt.NDArray[np.intp],
    names: list[str],
    index: dict[str, list[int]],
) -> int:
    here = index.get(_ANCHOR)
    if not here or len(here) != 1 or _ANCHOR not in names:
        return 0
    at = int(rows[names.index(_ANCHOR)])
    if not (data[_KNOWN][here[0]] and b[_KNOWN][at]):
        return 0
    ours = int(data["addr"][here[0]])
    theirs = int(b["addr"][at])
    return (ours - theirs) % 2**64


def _pick(
    d: Arrays, candidates: list[int], b: Batch, i: int, slide: int, nth: int, same_key: int
) -> int | None:
    """The existing row that row ``i`` of ``b`` describes, or None for a new row.

    ``nth`` / ``same_key``: this row is the nth of ``same_key`` batch rows with its name
    and letter. Addresses decide when both sides have them; otherwise rows pair up in
    file order (both symbol tables are sorted by address), and only when both sides
    have as many rows of that name and letter -- static duplicates never collapse.
    """
    undef = bool(b["undefined"][i])
    cands = [r for r in candidates if bool(d["undefined"][r]) == undef]
    if not cands:
        return None
    if b[_KNOWN][i]:
        target = (int(b["addr"][i]) + slide) % 2**64
        known = d[_KNOWN]
        hit = next((r for r in cands if known[r] and int(d["addr"][r]) == target), None)
        if hit is not None:
            return hit
        if len(cands) == 1 and same_key == 1:
            return cands[0]
        letter = b["type"][i]
        alike = [r for r in cands if d["type"][r] == letter and not known[r]]
        return alike[nth] if len(alike) == same_key else None
    if len(cands) == 1:
        return cands[0]
    # No address to tell them apart (Module.symvers): an export names the global one.
    globals_ = [r for r in cands if d["bind"][r] != _BIND_LOCAL]
    return globals_[0] if len(globals_) == 1 else None


def fill(
    data: Arrays,
    tables: Mapping[str, StringTable],
    r: npt.NDArray[np.intp],
    i: npt.NDArray[np.intp],
    b: Batch,
) -> None:
    """Rows ``r`` learn from batch rows ``i`` what they do not know yet, column by column
    as the schema says."""
    for spec in _FILLED:
        ours = data[spec.name]
        if spec.encoding is Encoding.INTERNED:  # code 0 is the column's default: unknown
            theirs = tables[spec.name].encode([b[spec.name][k] for k in i])
            known = theirs != 0
            take = (ours[r] == 0) & known
        elif spec.nullable:
            theirs = b[spec.name][i]
            take = ~data[spec.known_key][r] & b[spec.known_key][i]
            data[spec.known_key][r[take]] = True
        else:
            theirs = b[spec.name][i]
            take = ours[r] == spec.unknown
        ours[r[take]] = theirs[take]
    for spec in _PRECISE:
        theirs, mine = b[spec.name][i], data[spec.name][r]
        # A precise kind (EXPORT_SYMBOL_GPL...) beats "exported, flavour unknown".
        better = ((theirs > _EXPORTED) & (mine <= _EXPORTED)) | ((theirs > 0) & (mine == 0))
        data[spec.name][r[better]] = theirs[better]
