"""Module symbols at their runtime addresses, from a ``/proc/kallsyms`` snapshot loaded as a
source (rows ``ffffffffc0a00045 t helper\\t[ksym_test]``): raw module addresses resolve
without the ``.ko`` or a base."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ksql.catalog import Catalog
from ksql.kernel.modules import VMLINUX

KERNEL_HALF = np.uint64(1 << 63)  # x86-64 kernel addresses; .ko rows are section offsets


class SnapshotModules:
    """The catalog's module rows with runtime addresses, sorted."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        cols = catalog.columns()
        code = catalog.modules.codes.get(VMLINUX, -1)
        keep = (cols["module"] != code) & cols["addr.known"] & ~cols["undefined"]
        keep &= cols["addr"].astype(np.uint64) >= KERNEL_HALF
        keep &= cols["section"] == catalog.sections.codes.get("", 0)
        rows = np.flatnonzero(keep)
        addrs = cols["addr"][rows].astype(np.uint64)
        order = np.argsort(addrs, kind="stable")
        self.rows: npt.NDArray[np.int64] = rows[order]
        self.addrs: npt.NDArray[np.uint64] = addrs[order]
        self.modules = cols["module"][self.rows]

    def __len__(self) -> int:
        return len(self.rows)

    def lookup(self, address: int) -> tuple[str, int, int, str] | None:
        """(name, offset, size, module) for a runtime address: the greatest symbol of a module
        at or below it (the first listed among equals, as find_kallsyms_symbol() keeps the
        first); the size runs to that module's next symbol. The module's text end is not in
        a snapshot: after its last symbol nothing is claimed."""
        if not len(self.rows):
            return None
        a = np.uint64(address)
        pos = int(np.searchsorted(self.addrs, a, side="right")) - 1
        if pos < 0:
            return None
        start = self.addrs[pos]
        first = int(np.searchsorted(self.addrs, start, side="left"))
        module = self.modules[first]
        after = np.flatnonzero((self.addrs > start) & (self.modules == module))
        if not len(after):
            return None
        end = int(self.addrs[int(after[0])])
        if address >= end:
            return None
        name = self.catalog.columns().name[int(self.rows[first])]
        return name, address - int(start), end - int(start), self.catalog.modules.strings[module]
