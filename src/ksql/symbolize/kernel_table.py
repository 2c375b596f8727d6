"""The core kernel's symbol table as ``%pS`` sees it, built from a catalog's ``vmlinux`` rows
(System.map, ``/proc/kallsyms``, an ELF vmlinux): sorted addresses, the first alias at each
address, and each symbol's size as the distance to the next address.

Every look-up is a numpy ``searchsorted`` over the sorted address column, so a whole oops is
decoded with a handful of array operations, not one Python loop per row.
"""

from __future__ import annotations

import itertools
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from ksql import cache
from ksql.catalog import Catalog
from ksql.kernel.kallsyms import (
    ABSOLUTE_LETTERS,
    IGNORED_LETTERS,
    KEPT_ABSOLUTE,
    KERNEL_BOUNDS,
    alias_rank,
    ignored_offsets,
)
from ksql.kernel.modules import VMLINUX
from ksql.symbolize import table_cache
from ksql.symbolize.table_cache import Derived
from ksql.values import frozen


@frozen
class Hit:
    """What ``%pS`` prints for one address: ``name+0xoffset/0xsize``."""

    name: str
    offset: int
    size: int
    start: int  # the symbol's address (link-time, before any KASLR offset)

    def text(self) -> str:
        return f"{self.name}+{self.offset:#x}/{self.size:#x}"


class KernelTable:
    """vmlinux's kallsyms table: ``addrs`` sorted ascending with aliases in the kernel's
    order, ``rows`` the catalog row of each entry."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        key = table_cache.digest(catalog) if cache.enabled() else ""
        derived = table_cache.load(key, len(catalog)) if key else None
        if derived is None:
            self.rows, self.addrs = self._derive(catalog)
            self._bounds = self._find_bounds()
            self._name_sorted = self._name_order() if key else None
            if self._name_sorted is not None:
                table_cache.store(
                    key, Derived(self.rows, self.addrs, self._bounds, self._name_sorted)
                )
        else:
            self.rows, self.addrs = derived.rows, derived.addrs
            self._bounds, self._name_sorted = derived.bounds, derived.by_name
        self._by_name: dict[str, list[int]] = {}
        self._pos: npt.NDArray[np.int64] | None = None

    @classmethod
    def _derive(cls, catalog: Catalog) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64]]:
        """The kallsyms rows of the catalog and their addresses, in address order."""
        cols = catalog.columns()
        code = catalog.modules.codes.get(VMLINUX)
        if code is None or not len(catalog):
            rows = np.zeros(0, np.int64)
        else:
            keep = (cols["module"] == code) & cols["addr.known"] & ~cols["undefined"]
            rows = np.flatnonzero(keep)
        rows = cls._drop_ignored(catalog, rows)
        addrs = cols["addr"][rows].astype(np.uint64)
        order = np.argsort(addrs, kind="stable")
        return rows[order].astype(np.int64), addrs[order]

    def _name_order(self) -> npt.NDArray[np.int64]:
        """Positions into ``rows`` sorted by name (for reverse look-ups by bisection)."""
        names = self.catalog.columns().name
        keys = [names[r] for r in self.rows.tolist()]
        return np.array(sorted(range(len(keys)), key=keys.__getitem__), dtype=np.int64)

    @staticmethod
    def _drop_ignored(catalog: Catalog, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """scripts/kallsyms.c is_ignored_symbol() over whole columns: one scan of the packed
        names, numpy over the type letters."""
        cols = catalog.columns()
        letters = cols["type"][rows]
        drop = np.isin(letters, [ord(c) for c in IGNORED_LETTERS])
        absolute = np.flatnonzero(np.isin(letters, [ord(c) for c in ABSOLUTE_LETTERS]))
        for i in absolute.tolist():
            drop[i] = cols.name[int(rows[i])] not in KEPT_ABSOLUTE
        names = cols.name
        hits = ignored_offsets(names.blob)
        ignored = np.searchsorted(names.starts, np.array(hits, np.int64), side="right") - 1
        named = np.zeros(len(names) + 1, bool)
        named[ignored] = True
        drop |= named[rows]
        return rows[~drop]

    def first_alias(self, lo: int, hi: int) -> str:
        """The name %pS prints for the entries ``[lo, hi)`` sharing one address: the first
        in scripts/kallsyms.c's order (chosen here, per look-up, instead of sorting every
        alias group of the table up front)."""
        names = self.catalog.columns().name
        letters = self.catalog.columns()["type"]
        if hi - lo == 1:
            return names[int(self.rows[lo])]
        group = self.rows[lo:hi].tolist()
        return names[min(group, key=lambda r: alias_rank(names[r], chr(letters[r])))]

    def _find_bounds(self) -> dict[str, int]:
        """Addresses of the image-bounding symbols (one scan of the names)."""
        names = self.catalog.columns().name
        rx = re.compile("\n(?:" + "|".join(KERNEL_BOUNDS) + ")(?=\n)")
        hits = [m.start() for m in rx.finditer(names.blob)]
        rows = np.searchsorted(names.starts, np.array(hits, np.int64), side="right") - 1
        in_table = np.isin(rows, self.rows)
        found: dict[str, int] = {}
        cols = self.catalog.columns()
        for r in rows[in_table].tolist():
            found.setdefault(names[r], int(cols["addr"][r]))
        return found

    def bound(self, name: str) -> int | None:
        """The address of one of :data:`KERNEL_BOUNDS` (or ``_text``), None when absent."""
        if name in self._bounds:
            return self._bounds[name]
        rows = self.catalog.rows_named(name)
        found = self.addrs[np.isin(self.rows, rows)]
        return int(found[0]) if len(found) else None

    def __len__(self) -> int:
        return len(self.addrs)

    def contains(self, addrs: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]:
        """kernel/kallsyms.c is_ksym_addr() with CONFIG_KALLSYMS_ALL: inside
        ``[_stext, _end)`` or ``[__init_begin, __init_end)``; any address the table covers
        when those symbols are missing (a partial kallsyms snapshot)."""
        b = self._bounds
        if not len(self.addrs):
            return np.zeros(len(addrs), bool)
        lo, hi = b.get("_stext", int(self.addrs[0])), b.get("_end")
        inside = addrs >= np.uint64(lo)
        if hi is not None:
            inside &= addrs < np.uint64(hi)
        else:
            inside &= addrs <= self.addrs[-1]
        if "__init_begin" in b and "__init_end" in b:
            inside |= (addrs >= np.uint64(b["__init_begin"])) & (addrs < np.uint64(b["__init_end"]))
        return inside

    def lookup(self, addrs: npt.NDArray[np.uint64]) -> list[Hit | None]:
        """``%pS`` for each address (link-time addresses), None outside the kernel image.
        kernel/kallsyms.c get_symbol_pos(): the last entry at or below the address, walked
        back to the first alias; the size runs to the next greater address, else to
        ``_einittext`` (init text) or ``_end``."""
        out: list[Hit | None] = [None] * len(addrs)
        if not len(self.addrs) or not len(addrs):
            return out
        inside = self.contains(addrs)
        pos = np.searchsorted(self.addrs, addrs, side="right") - 1
        pos = np.maximum(pos, 0)
        start = self.addrs[pos]
        first = np.searchsorted(self.addrs, start, side="left")
        nxt = np.searchsorted(self.addrs, start, side="right")
        b = self._bounds
        for i in np.flatnonzero(inside).tolist():
            s = int(start[i])
            if int(nxt[i]) < len(self.addrs):
                end = int(self.addrs[int(nxt[i])])
            elif b.get("_sinittext", 1) <= int(addrs[i]) < b.get("_einittext", 0):
                end = b["_einittext"]
            else:
                end = b.get("_end", s)
            name = self.first_alias(int(first[i]), int(nxt[i]))
            out[i] = Hit(name, int(addrs[i]) - s, end - s, s)
        return out

    def sizes_at(self, starts: list[int]) -> list[int]:
        """The ``%pS`` size of a symbol starting at each address."""
        arr = np.array(starts, dtype=np.uint64)
        nxt = np.searchsorted(self.addrs, arr, side="right")
        end = self._bounds.get("_end", 0)
        return [
            int(self.addrs[n]) - s if n < len(self.addrs) else max(end - s, 0)
            for n, s in zip(nxt.tolist(), starts, strict=True)
        ]

    def prefetch(self, names: Iterable[str]) -> None:
        """Find the addresses of all ``names``: by bisection in the table's name order
        when the cache kept it, else with one pass over the split names (an oops names
        dozens of functions; a pass costs about as much as one name's)."""
        wanted = sorted({n for n in names if n not in self._by_name and "\n" not in n})
        if not wanted:
            return
        cols = self.catalog.columns()
        found: dict[str, set[int]] = {n: set() for n in wanted}
        if self._name_sorted is not None:
            order, rows, name_of = self._name_sorted, self.rows, cols.name.__getitem__

            def key(p: int) -> str:
                return name_of(int(rows[int(p)]))

            for n in wanted:
                lo = bisect_left(order, n, key=key)
                hi = bisect_right(order, n, lo=lo, key=key)
                found[n].update(int(self.addrs[int(p)]) for p in order[lo:hi])
        else:
            if self._pos is None:
                pos = np.full(len(self.catalog), -1, dtype=np.int64)
                pos[self.rows] = np.arange(len(self.rows))
                self._pos = pos
            for r in _rows_named(cols.name.tolist(), set(wanted)):
                p = int(self._pos[r])
                if p >= 0:
                    found[cols.name[r]].add(int(self.addrs[p]))
        for n, starts in found.items():
            self._by_name[n] = sorted(starts)

    def starts_named(self, name: str) -> list[int]:
        """Addresses of the table's entries called ``name`` (ascending)."""
        self.prefetch([name])
        return self._by_name.get(name, [])


def _rows_named(names: list[str], wanted: set[str]) -> list[int]:
    """Rows whose name is in ``wanted``: one C-level pass of set membership over the split
    names (a regular expression alternating dozens of names costs ~4x as much)."""
    return list(itertools.compress(range(len(names)), map(wanted.__contains__, names)))
