"""Kernel export conventions: which labels and sections mark a symbol as exported, with
which flavour, and which row of a name an export marks.

``EXPORT_SYMBOL(x)`` emits a ``struct kernel_symbol __ksymtab_x`` into section ``__ksymtab``
(``__ksymtab_gpl`` for ``EXPORT_SYMBOL_GPL``; ``__ksymtab_unused``, ``__ksymtab_unused_gpl``
and ``__ksymtab_gpl_future`` until 5.13), bracketed in vmlinux by ``__start___<section>`` /
``__stop___<section>`` (include/linux/export.h, include/asm-generic/vmlinux.lds.h).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from ksql.kernel.ksymnames import CRC_PREFIX as CRC_PREFIX
from ksql.kernel.ksymnames import EXPORT_SYMBOL_PREFIX as EXPORT_SYMBOL_PREFIX
from ksql.kernel.ksymnames import KSTRTABNS_PREFIX as KSTRTABNS_PREFIX
from ksql.kernel.ksymnames import KSYM_FLAG_GPL_ONLY as KSYM_FLAG_GPL_ONLY
from ksql.kernel.ksymnames import KSYMTAB_PREFIX as KSYMTAB_PREFIX
from ksql.model import ExportKind
from ksql.storage import rows_with_prefix

K = TypeVar("K", bound=Hashable)


_MARKERS = ("__start___ksymtab", "__stop___ksymtab", "__start___kflagstab")

SECTION_EXPORTS: dict[str, ExportKind] = {
    "__ksymtab": ExportKind.EXPORT_SYMBOL,
    "__ksymtab_gpl": ExportKind.EXPORT_SYMBOL_GPL,
    "__ksymtab_unused": ExportKind.EXPORT_UNUSED_SYMBOL,
    "__ksymtab_unused_gpl": ExportKind.EXPORT_UNUSED_SYMBOL_GPL,
    "__ksymtab_gpl_future": ExportKind.EXPORT_SYMBOL_GPL_FUTURE,
}


def section_ranges(
    names: Sequence[str], modules: Sequence[str], addr: np.ma.MaskedArray[Any, Any]
) -> dict[str, list[tuple[int, int, ExportKind]]]:
    """Per module, the ``[start, stop)`` address ranges of the ksymtab sections, from the
    ``__start___ksymtab*`` / ``__stop___ksymtab*`` markers (vmlinux has them; kallsyms
    module lines do not)."""
    marks: dict[str, dict[str, int]] = {}
    for r in rows_with_prefix(names, _MARKERS):
        if not np.ma.is_masked(addr[r]):
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


def export_targets(
    candidates: Iterable[tuple[K, int]],
    undefined: Sequence[bool] | npt.NDArray[np.bool_],
    local: Sequence[bool] | npt.NDArray[np.bool_],
) -> dict[K, int]:
    """The row each export marks, of the ``(export key, row)`` candidates that carry the
    export's name: a defined row, and the global one where static namesakes exist --
    EXPORT_SYMBOL takes the address of the global definition (include/linux/export.h), so
    vmlinux's static ``kern_path`` (d) is never the export of ``kern_path`` (T)."""
    best: dict[K, int] = {}
    for key, j in candidates:
        if undefined[j]:
            continue
        b = best.get(key)
        if b is None or (local[b] and not local[j]):
            best[key] = j
    return best


def mark_ksymtab_exports(
    names: Sequence[str],
    modules: Sequence[str],
    addr: np.ma.MaskedArray[Any, Any],
    undefined: npt.NDArray[np.bool_],
    local: npt.NDArray[np.bool_],
    export: npt.NDArray[np.uint8],
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
    candidates = (
        ((modules[j], n), j)
        for j, n in enumerate(names)
        if n in wanted_names and (modules[j], n) in wanted
    )
    best = export_targets(candidates, undefined, local)
    ranges = section_ranges(names, modules, addr)
    for key, j in best.items():
        at = addr[wanted[key]]
        export[j] = _kind_at(None if np.ma.is_masked(at) else int(at), ranges.get(key[0], []))
    return len(best)


def _kind_at(address: int | None, ranges: list[tuple[int, int, ExportKind]]) -> ExportKind:
    if address is not None:
        for start, stop, kind in ranges:
            if start <= address < stop:
                return kind
    return ExportKind.EXPORTED
