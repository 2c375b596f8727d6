"""The catalog: every symbol from every loaded source, merged and stored as columns.

Rows live in growable numpy columns (small-int codes for modules, sections, namespaces and
sources) so ~1 M rows fit in well under 200 bytes each; :class:`Symbol` values are built only
for rows a query returns. Facts about one symbol from several sources merge by
``(module, name)``; local duplicates (static functions with the same name) stay distinct
rows, told apart by address.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

from ksql.batch import ADDR_NONE, INT_NONE, Batch
from ksql.columns import SPECS, Columns, StringTable
from ksql.memory import release_free_memory
from ksql.merge import merge
from ksql.model import VMLINUX, Bind, ExportKind, Kind, Symbol
from ksql.names import NameColumn


class Catalog:
    """Merged, indexed symbols: what queries, the REPL and the language server read."""

    def __init__(self) -> None:
        self._n = 0
        self._data: dict[str, npt.NDArray[Any]] = {
            k: np.empty(0, dtype=dt) for k, (dt, _) in SPECS.items()
        }
        self.modules = StringTable()
        self.sections = StringTable([""])
        self.namespaces = StringTable([""])
        self.source_labels = StringTable()
        self._source_sets: list[tuple[int, ...]] = []
        self._source_set_codes: dict[tuple[int, ...], int] = {}
        self._module_rows = np.zeros(0, dtype=np.int64)
        self._merge_index: dict[int, dict[str, list[int]]] = {}
        self._cache: dict[str, Any] = {}
        self._frozen_names: NameColumn | None = None
        self.notes: list[str] = []
        self.problems: list[str] = []  # parts of sources that could not be read
        self.module_info: dict[str, dict[str, list[str]]] = {}  # .modinfo keys per module
        self.loaded: list[tuple[str, int]] = []  # (source label, rows it gave)

    # -- loading -------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._n

    def add(self, batch: Batch) -> int:
        """Merge ``batch`` in; returns how many rows it added (the rest merged into rows
        that were already here)."""
        k = len(batch)
        for note in batch.notes:
            if note not in self.notes:
                self.notes.append(note)
        self.problems.extend(batch.problems)
        for module, info in batch.module_info.items():
            known = self.module_info.setdefault(module, {})
            for key, values in info.items():
                have = known.setdefault(key, [])
                have.extend(v for v in values if v not in have)
        if k == 0:
            self._count_loaded(batch.source, 0)
            return 0
        self._thaw_names()
        label = self.source_labels.code(batch.source)
        source_code = self._source_set((label,))
        mod = self.modules.encode(batch.module)
        if len(self._module_rows) < len(self.modules):
            self._module_rows = np.concatenate(
                [
                    self._module_rows,
                    np.zeros(len(self.modules) - len(self._module_rows), dtype=np.int64),
                ]
            )
        keep = np.ones(k, dtype=np.bool_)
        colliding = np.flatnonzero(self._module_rows[mod] > 0)
        if len(colliding):
            merge(self, batch, mod, colliding, label, keep)
        self._append(batch, mod, keep, source_code)
        self._cache.clear()
        added = int(keep.sum())
        self._count_loaded(batch.source, k)
        return added

    def _count_loaded(self, source: str, rows: int) -> None:
        """Rows read per source (a big source arrives in several batches)."""
        if self.loaded and self.loaded[-1][0] == source:
            self.loaded[-1] = (source, self.loaded[-1][1] + rows)
        else:
            self.loaded.append((source, rows))

    def _append(
        self, b: Batch, mod: npt.NDArray[np.uint32], keep: npt.NDArray[np.bool_], src: int
    ) -> None:
        idx = np.flatnonzero(keep)
        k = len(idx)
        if k == 0:
            return
        all_rows = k == len(b)
        start = self._n
        self._reserve(start + k)
        d = self._data
        end = start + k

        def pick(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
            return values if all_rows else values[idx]

        def strings(values: list[str]) -> list[str]:
            return values if all_rows else [values[i] for i in idx]

        names = strings(b.name)
        d["name"][start:end] = names
        d["module"][start:end] = pick(mod)
        d["addr"][start:end] = pick(b.addr)
        d["type"][start:end] = pick(b.type)
        d["size"][start:end] = pick(b.size)
        d["section"][start:end] = self.sections.encode(strings(b.section))
        d["bind"][start:end] = pick(b.bind)
        d["kind"][start:end] = pick(b.kind)
        d["export"][start:end] = pick(b.export)
        d["namespace"][start:end] = self.namespaces.encode(strings(b.namespace))
        d["crc"][start:end] = pick(b.crc)
        d["undefined"][start:end] = pick(b.undefined)
        d["source"][start:end] = src
        self._n = end
        new_mod = pick(mod)
        np.add.at(self._module_rows, new_mod, 1)
        for code, index in self._merge_index.items():
            for off in np.flatnonzero(new_mod == code):
                index.setdefault(names[off], []).append(start + int(off))

    def _reserve(self, need: int) -> None:
        cap = len(self._data["addr"])
        if need <= cap:
            return
        new_cap = max(need, cap * 2, 1024)
        for key, (dtype, fill) in SPECS.items():
            old = self._data[key]
            new = np.empty(new_cap, dtype=dtype)
            new[: self._n] = old[: self._n]
            if fill is not None:
                new[self._n :] = fill
            self._data[key] = new

    def _source_set(self, labels: tuple[int, ...]) -> int:
        code = self._source_set_codes.get(labels)
        if code is None:
            code = self._source_set_codes[labels] = len(self._source_sets)
            self._source_sets.append(labels)
        return code

    # -- snapshots (the load cache) -------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Everything a loaded catalog holds, as arrays and JSON-able values."""
        cols = self.columns()
        arrays = {k: v for k, v in self._data.items() if k != "name"}
        return {
            "arrays": arrays,
            "blob": cols.name.blob,
            "starts": cols.name.starts,
            "meta": {
                "modules": self.modules.strings,
                "sections": self.sections.strings,
                "namespaces": self.namespaces.strings,
                "source_labels": self.source_labels.strings,
                "source_sets": [list(s) for s in self._source_sets],
                "notes": self.notes,
                "problems": self.problems,
                "module_info": self.module_info,
                "loaded": self.loaded,
            },
        }

    @classmethod
    def restore(cls, snap: dict[str, Any]) -> Catalog:
        """A catalog from :meth:`snapshot`'s output."""
        cat = cls()
        meta = snap["meta"]
        arrays = snap["arrays"]
        cat._n = len(arrays["addr"])
        cat._data = dict(arrays) | {"name": np.empty(0, dtype=np.object_)}
        cat._frozen_names = NameColumn(snap["blob"], snap["starts"])
        cat.modules = StringTable(meta["modules"])
        cat.sections = StringTable(meta["sections"])
        cat.namespaces = StringTable(meta["namespaces"])
        cat.source_labels = StringTable(meta["source_labels"])
        for labels in meta["source_sets"]:
            cat._source_set(tuple(labels))
        cat.notes = meta["notes"]
        cat.problems = meta["problems"]
        cat.module_info = meta["module_info"]
        cat.loaded = [tuple(x) for x in meta["loaded"]]
        cat._module_rows = np.bincount(arrays["module"], minlength=len(cat.modules)).astype(
            np.int64
        )
        return cat

    # -- reading -------------------------------------------------------------------------

    def columns(self) -> Columns:
        """The columns, trimmed to the rows present (cached until the next :meth:`add`).

        The first call after loading also packs the names into a :class:`NameColumn` and
        drops the loading-time helpers, so a loaded catalog holds no per-row objects."""
        cols = self._cache.get("columns")
        if cols is None:
            n = self._n
            if len(self._data["addr"]) != n:  # give back the growth slack once loaded
                self._data = {k: v[:n].copy() for k, v in self._data.items() if k != "name"} | {
                    "name": self._data["name"]
                }
            if self._frozen_names is None:
                self._frozen_names = NameColumn.from_names(self._data["name"][:n].tolist())
                self._data["name"] = np.empty(0, dtype=np.object_)
                self._merge_index.clear()
            fields = {k: v for k, v in self._data.items() if k != "name"}
            cols = Columns(n=n, name=self._frozen_names, **fields)
            self._cache["columns"] = cols
        return cols

    def _thaw_names(self) -> None:
        """Back to one object per name, to merge more sources into a loaded catalog."""
        if self._frozen_names is None:
            return
        names = np.empty(len(self._data["addr"]), dtype=np.object_)
        names[: self._n] = self._frozen_names.tolist()
        self._data["name"] = names
        self._frozen_names = None

    def name_order(self) -> npt.NDArray[np.int64]:
        """Row numbers sorted by name (stable): the prefix index behind completion and
        name look-ups. Built on first use; long-lived processes build it after loading."""
        order = self._cache.get("order")
        if order is None:
            names = self.columns().name.tolist()
            order = np.array(sorted(range(len(names)), key=names.__getitem__), dtype=np.int64)
            del names
            release_free_memory()  # the sort's million temporaries
            self._cache["order"] = order
        return order

    def cached_name_order(self) -> npt.NDArray[np.int64] | None:
        order = self._cache.get("order")
        return order

    def sources_of(self, row: int) -> tuple[str, ...]:
        labels = self._source_sets[int(self.columns().source[row])]
        return tuple(self.source_labels.strings[i] for i in labels)

    def source_codes_matching(self, labels: set[int]) -> list[int]:
        """Source-set codes that include any of ``labels``."""
        return [c for c, s in enumerate(self._source_sets) if labels.intersection(s)]

    def symbol(self, row: int) -> Symbol:
        c = self.columns()
        addr = int(c.addr[row])
        size = int(c.size[row])
        crc = int(c.crc[row])
        return Symbol(
            name=c.name[row],
            module=self.modules.strings[int(c.module[row])],
            addr=None if addr == ADDR_NONE else addr,
            type=chr(c.type[row]),
            size=None if size == INT_NONE else size,
            section=self.sections.strings[int(c.section[row])],
            bind=Bind(int(c.bind[row])),
            kind=Kind(int(c.kind[row])),
            export=ExportKind(int(c.export[row])),
            namespace=self.namespaces.strings[int(c.namespace[row])],
            crc=None if crc == INT_NONE else crc,
            undefined=bool(c.undefined[row]),
            sources=self.sources_of(row),
        )

    def symbols(self, rows: Iterable[int]) -> Iterator[Symbol]:
        for r in rows:
            yield self.symbol(int(r))

    def rows_named(self, name: str) -> npt.NDArray[np.intp]:
        """Rows named ``name``: a binary search once :meth:`name_order` is built (what
        long-lived processes do after loading), else one scan of the names."""
        order = self.cached_name_order()
        names = self.columns().name
        if order is None:
            return names.rows_equal(name)
        lo = bisect_left(order, name, key=names.__getitem__)
        hi = bisect_right(order, name, lo=lo, key=names.__getitem__)
        return np.sort(order[lo:hi]).astype(np.intp)

    def prefix_range(self, prefix: str) -> tuple[int, int]:
        """``[lo, hi)`` of :meth:`name_order` holding the names that start with ``prefix``."""
        order = self.name_order()
        names = self.columns().name
        lo = bisect_left(order, prefix, key=names.__getitem__)
        hi = bisect_left(order, prefix + "\U0010ffff", key=names.__getitem__)
        return lo, hi

    def lookup(self, name: str, module: str | None = None) -> list[Symbol]:
        """Every row named ``name`` (in ``module`` if given)."""
        c = self.columns()
        rows = self.rows_named(name)
        if module is not None:
            code = self.modules.codes.get(module)
            if code is None:
                return []
            rows = rows[c.module[rows] == code]
        return list(self.symbols(rows))

    def module_names(self) -> list[str]:
        return [m for m, n in zip(self.modules.strings, self._module_rows, strict=False) if n]

    @property
    def has_vmlinux(self) -> bool:
        code = self.modules.codes.get(VMLINUX)
        return code is not None and self._module_rows[code] > 0
