"""Kernel export conventions shared by the sources: which labels and sections mark a symbol
as exported, and with which flavour.

``EXPORT_SYMBOL(x)`` emits a ``struct kernel_symbol __ksymtab_x`` into section ``__ksymtab``
(``__ksymtab_gpl`` for ``EXPORT_SYMBOL_GPL``; ``__ksymtab_unused``, ``__ksymtab_unused_gpl``
and ``__ksymtab_gpl_future`` until 5.13), bracketed in vmlinux by ``__start___<section>`` /
``__stop___<section>`` (include/linux/export.h, include/asm-generic/vmlinux.lds.h).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from ksql.batch import ADDR_NONE, U8, U64, Bools
from ksql.model import ExportKind

KSYMTAB_PREFIX = "__ksymtab_"

_MARKERS = ("__start___ksymtab", "__stop___ksymtab", "__start___kflagstab")

SECTION_EXPORTS: dict[str, ExportKind] = {
    "__ksymtab": ExportKind.EXPORT_SYMBOL,
    "__ksymtab_gpl": ExportKind.EXPORT_SYMBOL_GPL,
    "__ksymtab_unused": ExportKind.EXPORT_UNUSED_SYMBOL,
    "__ksymtab_unused_gpl": ExportKind.EXPORT_UNUSED_SYMBOL_GPL,
    "__ksymtab_gpl_future": ExportKind.EXPORT_SYMBOL_GPL_FUTURE,
}


def section_ranges(
    names: Sequence[str], modules: Sequence[str], addr: U64
) -> dict[str, list[tuple[int, int, ExportKind]]]:
    """Per module, the ``[start, stop)`` address ranges of the ksymtab sections, from the
    ``__start___ksymtab*`` / ``__stop___ksymtab*`` markers (vmlinux has them; kallsyms
    module lines do not)."""
    marks: dict[str, dict[str, int]] = {}
    for r in rows_with_prefix(names, _MARKERS):
        if addr[r] != ADDR_NONE:
            marks.setdefault(modules[r], {})[names[r]] = int(addr[r])
    out: dict[str, list[tuple[int, int, ExportKind]]] = {}
    for module, found in marks.items():
        if "__start___kflagstab" in found:
            # 55fcb926b6d8 ("module: use kflagstab instead of *_gpl sections", 7.1): every
            # export sits in __ksymtab and GPL-only is a bit in __kflagstab, which a text
            # symbol table does not show -- the section no longer tells the flavour.
            continue
        for section, kind in SECTION_EXPORTS.items():
            start, stop = found.get("__start_" + section), found.get("__stop_" + section)
            if start is not None and stop is not None and start < stop:
                out.setdefault(module, []).append((start, stop, kind))
    return out


def mark_ksymtab_exports(
    names: Sequence[str],
    modules: Sequence[str],
    addr: U64,
    undefined: Bools,
    local: Bools,
    export: U8,
) -> int:
    """Mark every symbol that has a ``__ksymtab_<name>`` label in its module as exported,
    in place; the flavour comes from the label's section range where the markers are
    known, else it is :attr:`ExportKind.EXPORTED`. When a module also has static symbols
    of that name (vmlinux has ``kern_path`` as both T and d), the global one is the export.
    Returns how many symbols were marked.
    """
    wanted: dict[tuple[str, str], int] = {
        (modules[i], names[i][len(KSYMTAB_PREFIX) :]): i
        for i in rows_with_prefix(names, (KSYMTAB_PREFIX,))
    }
    if not wanted:
        return 0
    wanted_names = {key[1] for key in wanted}
    best: dict[tuple[str, str], int] = {}
    for j, n in enumerate(names):
        if n not in wanted_names or undefined[j]:
            continue
        key = (modules[j], n)
        if key in wanted and (key not in best or (local[best[key]] and not local[j])):
            best[key] = j
    ranges = section_ranges(names, modules, addr)
    for key, j in best.items():
        export[j] = _kind_at(int(addr[wanted[key]]), ranges.get(key[0], []))
    return len(best)


def rows_by_prefix(names: Sequence[str], prefixes: tuple[str, ...]) -> dict[str, list[int]]:
    """For each prefix, the rows whose name starts with it (first matching prefix wins),
    from one scan of the newline-joined names."""
    out: dict[str, list[int]] = {p: [] for p in prefixes}
    if len(names) < 4096:
        for i, n in enumerate(names):
            for p in prefixes:
                if n.startswith(p):
                    out[p].append(i)
                    break
        return out
    blob = "\n" + "\n".join(names)
    rx = re.compile("\n(" + "|".join(map(re.escape, prefixes)) + ")")
    hits = [(m.start(), m.group(1)) for m in rx.finditer(blob)]
    if not hits:
        return out
    lengths = np.fromiter(map(len, names), dtype=np.int64, count=len(names)) + 1
    starts = np.zeros(len(names), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    rows = np.searchsorted(starts, np.array([h[0] for h in hits], dtype=np.int64)).tolist()
    for row, (_, prefix) in zip(rows, hits, strict=True):
        out[prefix].append(row)
    return out


def rows_with_prefix(names: Sequence[str], prefixes: tuple[str, ...]) -> list[int]:
    """Rows whose name starts with one of ``prefixes``, found by one regular-expression
    scan over the newline-joined names (a Python loop costs ~10x more at 1 M rows)."""
    if len(names) < 4096:  # small tables (one module): a plain loop is cheaper
        return [i for i, n in enumerate(names) if n.startswith(prefixes)]
    blob = "\n" + "\n".join(names)
    rx = re.compile("\n(?:" + "|".join(map(re.escape, prefixes)) + ")")
    hits = [m.start() for m in rx.finditer(blob)]
    if not hits:
        return []
    lengths = np.fromiter(map(len, names), dtype=np.int64, count=len(names)) + 1
    starts = np.zeros(len(names), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    rows: list[int] = np.searchsorted(starts, np.array(hits, dtype=np.int64)).tolist()
    return rows


def _kind_at(address: int, ranges: list[tuple[int, int, ExportKind]]) -> ExportKind:
    if address != int(ADDR_NONE):
        for start, stop, kind in ranges:
            if start <= address < stop:
                return kind
    return ExportKind.EXPORTED
