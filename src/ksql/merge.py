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
from itertools import repeat
from typing import Any

import numpy as np
import numpy.typing as npt

from ksql.coded import take as take_rows
from ksql.model import COLUMNS, Bind, ExportKind
from ksql.schema import Encoding, Merge
from ksql.sink import Batch
from ksql.storage import StringTable

Arrays = Mapping[str, npt.NDArray[Any]]
# name -> its row, or its rows (a list) when static namesakes share it: a list per name
# cost 3x the dict itself (~0.1 s for a kallsyms' 120,000 vmlinux names).
Index = dict[str, int | list[int]]
Named = tuple[npt.NDArray[np.intp], list[str]]  # a module's rows and their names

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
    fresh: Callable[[int], Named | None] | None = None,
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """(existing rows, batch rows) that describe the same symbols; ``rows`` are the batch
    rows whose module already has rows (``mod``: module codes), ``index_of(code)`` is that
    module's name index. Merged batch rows are cleared in ``keep``. ``fresh(code)``: the
    module's rows and names when it has no index yet, for :func:`_name_only`."""
    found: list[int] = []
    sources: list[int] = []
    b_name, b_type = b["name"], b["type"]
    # The rows of each module, in order: grouped by one stable sort (a Module.symvers
    # meets 930 modules; a mask per module scanned every row each time).
    order = np.argsort(mod[rows], kind="stable")
    by_module = rows[order]
    present, first = np.unique(mod[by_module], return_index=True)
    ends = [*first[1:].tolist(), len(rows)]
    for code, start, end in zip(present.tolist(), first.tolist(), ends, strict=True):
        in_module = by_module[start:end]
        names = [b_name[i] for i in in_module]
        here = None if fresh is None or b[_KNOWN][in_module].any() else fresh(code)
        if here is None:
            index = index_of(code)
            easy = _unambiguous(data, index, b, in_module, names)
        else:
            index, easy = _name_only(data, b, in_module, names, *here)
        if easy is not None:
            hit, at, easy_targets = easy
            found.extend(easy_targets.tolist())
            sources.extend(in_module[at].tolist())
            keep[in_module[at]] = False
            in_module = in_module[~hit]
            names = [names[k] for k in np.flatnonzero(~hit).tolist()]
        letters = b_type[in_module].tolist()
        counts = Counter(zip(names, letters, strict=True))
        seen: Counter[tuple[str, int]] = Counter()
        slide = _slide(data, b, in_module, names, index)
        for i, name, letter in zip(in_module.tolist(), names, letters, strict=True):
            candidates = rows_of(index, name)
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


def _unambiguous(
    data: Arrays, index: Index, b: Batch, rows: npt.NDArray[np.intp], names: list[str]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.intp], npt.NDArray[np.intp]] | None:
    """The batch rows :func:`_pick` decides without looking at anything but ``undefined``,
    all at once: no address, a name no other row of the batch has, and one row of that
    name here -- they describe that row when both agree on ``undefined``, else none.
    (hit mask over ``rows``, positions in ``rows`` that merge, their targets.) On a vmlinux
    BTF batch (no addresses) merging into /proc/kallsyms that is every row: a per-row pick
    cost ~0.5 s there."""
    many = _repeated(names) if len(set(names)) != len(names) else set()
    found = list(map(index.get, names))
    one = np.fromiter(
        (type(c) is int and n not in many for c, n in zip(found, names, strict=True)),
        np.bool_,
        len(names),
    )
    hit = one & ~b[_KNOWN][rows]
    if not hit.any():
        return None
    at = np.flatnonzero(hit)
    target = np.fromiter(map(found.__getitem__, at.tolist()), np.intp, len(at))
    return _agreeing(data, b, rows, hit, at, target)


def _agreeing(
    data: Arrays,
    b: Batch,
    rows: npt.NDArray[np.intp],
    hit: npt.NDArray[np.bool_],
    at: npt.NDArray[np.intp],
    target: npt.NDArray[np.intp],
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Of the hits (positions ``at`` in ``rows``, one existing row ``target`` each), those
    that agree on ``undefined`` with their row: (hit mask, their positions, their targets)."""
    agree = data["undefined"][target] == b["undefined"][rows[at]]
    return hit, at[agree], target[agree]


def _repeated(names: list[str]) -> set[str]:
    """The names given more than once."""
    return {name for name, count in Counter(names).items() if count > 1}


def _name_only(
    data: Arrays,
    b: Batch,
    rows: npt.NDArray[np.intp],
    names: list[str],
    here: npt.NDArray[np.intp],
    here_names: list[str],
) -> tuple[Index, tuple[npt.NDArray[np.bool_], npt.NDArray[np.intp], npt.NDArray[np.intp]] | None]:
    """:func:`_unambiguous` for batch ``rows`` without addresses (a BTF's names) meeting a
    module that has no name index yet (rows ``here``, named ``here_names``), without
    building one: each of the module's names is looked up among the batch's (a dict of the
    batch's names, one C-level pass over the module's), and numpy counts the module's rows
    per batch name. Also returns the index :func:`_pick` needs for the rows left, of just
    the names those rows share with the module. A vmlinux BTF meeting /proc/kallsyms (56 k
    names, 122 k rows): the merge took 230-330 ms with a whole index, 120-150 ms so."""
    n = len(names)
    at = dict(zip(names, range(n), strict=True))  # a name's last batch position
    many = _repeated(names) if len(at) != n else set()
    match = np.fromiter(map(at.get, here_names, repeat(-1)), np.intp, len(here_names))
    seen = match >= 0
    count = np.bincount(match[seen], minlength=n)
    target = np.full(n, -1, dtype=np.intp)
    target[match[seen]] = here[seen]  # the one row where the count is one
    one = count == 1
    if many:
        alone = np.fromiter((name not in many for name in names), np.bool_, n)
        one &= alone
    # The rows left keep their look-up: of names met here, those rows' positions (each row's
    # own unless the batch names it twice).
    left = np.zeros(n, dtype=np.bool_)
    last = np.fromiter(map(at.__getitem__, names), np.intp, n) if many else np.arange(n)
    left[last[~one]] = True
    wanted = seen.copy()
    wanted[seen] = left[match[seen]]
    picked = np.flatnonzero(wanted)
    index = name_index([here_names[k] for k in picked.tolist()], here[picked].tolist())
    if not one.any():
        return index, None
    hit = np.flatnonzero(one)
    return index, _agreeing(data, b, rows, one, hit, target[hit])


def name_index(names: list[str], rows: list[int]) -> Index:
    """name -> row of one module; static duplicates keep every row, in order."""
    index: Index = dict(zip(names, rows, strict=True))
    if len(index) != len(names):
        dupes = _repeated(names)
        for name in dupes:
            index[name] = []
        for name, r in zip(names, rows, strict=True):
            if name in dupes:
                index[name].append(r)  # type: ignore[union-attr]
    return index


def rows_of(index: Index, name: str) -> list[int]:
    """The rows ``index`` has for ``name`` (none: an empty list)."""
    found = index.get(name)
    if found is None:
        return []
    return [found] if type(found) is int else found  # type: ignore[return-value]


def index_add(index: Index, name: str, row: int) -> None:
    """``row`` (a new row) has ``name`` too."""
    found = index.get(name)
    if found is None:
        index[name] = row
    elif type(found) is int:
        index[name] = [found, row]
    else:
        found.append(row)  # type: ignore[union-attr]


def _slide(
    data: Arrays,
    b: Batch,
    rows: npt.NDArray[np.intp],
    names: list[str],
    index: Index,
) -> int:
    here = rows_of(index, _ANCHOR)
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
            values = b[spec.name]
            if values.count(spec.default) == len(values):
                continue  # the source left it unknown: nothing to learn
            theirs = tables[spec.name].encode(take_rows(values, i))
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
