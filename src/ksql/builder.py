"""Building a catalog: :class:`CatalogBuilder` owns the growable columns, the string tables,
the merge index and provenance while sources load; :meth:`CatalogBuilder.build` packs them
into a read-only :class:`~ksql.catalog.Catalog`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ksql import merge
from ksql.catalog import Catalog
from ksql.coded import take
from ksql.errors import KsqlError
from ksql.memory import release_free_memory
from ksql.model import COLUMNS
from ksql.schema import Encoding
from ksql.sink import Batch, add_module_info
from ksql.storage import Columns, NameColumn, StringTable, compact_codes, packed_names

_FEW_MODULES = 16  # modules whose full name index is built on demand (and kept)
_NAME = next(c.name for c in COLUMNS if c.encoding is Encoding.PACKED)
_SOURCES = next(c.name for c in COLUMNS if c.encoding is Encoding.SOURCE_SET)
_INTERNED = [c for c in COLUMNS if c.encoding is Encoding.INTERNED]
_STORED = [c for c in COLUMNS if c.encoding is not Encoding.PACKED]
# Every stored array: (key, dtype), known-masks included. Capacity past the rows is left
# unset: every row appended writes every array (_append), and nothing reads past the rows.
_ARRAYS = [
    entry
    for c in _STORED
    for entry in ((c.name, c.dtype), (c.known_key, np.dtype(np.bool_)))[: 2 if c.nullable else 1]
]


class CatalogBuilder:
    """Merges batches from sources (:meth:`add`), then :meth:`build` packs the catalog."""

    def __init__(self) -> None:
        self._n = 0
        self._names: list[str] = []
        # Each batch's names for the name column: as a worker sent them (joined, with their
        # lengths: no join of 0.8 M names again at the build, ~100 ms of a module tree's
        # serial tail) or as a list, joined at the build.
        self._name_parts: list[tuple[str, npt.NDArray[np.int32]] | Sequence[str]] = []
        # The columns of the rows so far: ``_data`` holds the first ones whole, ``_pending``
        # the rest batch by batch (joined by :meth:`_whole` when a merge or the build reads
        # them). A module tree's 84 batches are joined once, not regrown and copied.
        self._data: dict[str, npt.NDArray[Any]] = {
            key: np.empty(0, dtype=dtype) for key, dtype in _ARRAYS
        }
        self._pending: dict[str, list[npt.NDArray[Any]]] = {key: [] for key, _ in _ARRAYS}
        # Code 0 of every table is the column's default, so "unknown" is code 0.
        self._tables = {c.name: StringTable([c.default]) for c in _INTERNED}
        self._labels = StringTable()
        self._source_sets: list[tuple[int, ...]] = []
        self._source_set_codes: dict[tuple[int, ...], int] = {}
        self._module_rows = np.zeros(0, dtype=np.int64)
        self._merge_index: dict[int, merge.Index] = {}
        self._notes: list[str] = []
        self._problems: list[str] = []
        self._module_info: dict[str, dict[str, list[str]]] = {}
        self._loaded: list[tuple[str, int]] = []
        self._built = False

    def __len__(self) -> int:
        return self._n

    def add(self, batch: Batch, source: str) -> int:
        """Merge ``batch`` from ``source`` (a ``plugin:path`` label) in; returns how many
        rows it added (the rest merged into rows that were already here)."""
        if self._built:
            raise KsqlError("internal: a built catalog cannot take more rows")
        k = len(batch)
        for note in batch.notes:
            if note not in self._notes:
                self._notes.append(note)
        self._problems.extend(batch.problems)
        mine = self._module_info
        for module, info in batch.module_info.items():
            known = mine.get(module)
            if known is None:  # the usual case: each value once, in order
                mine[module] = {key: list(dict.fromkeys(v)) for key, v in info.items()}
            else:
                add_module_info(known, info)
        self._count_loaded(source, k)
        if k == 0:
            return 0
        label = self._labels.code(source)
        mod = self._tables["module"].encode(batch["module"])
        if len(self._module_rows) < len(self._tables["module"]):
            grow = len(self._tables["module"]) - len(self._module_rows)
            self._module_rows = np.concatenate([self._module_rows, np.zeros(grow, np.int64)])
        keep = np.ones(k, dtype=np.bool_)
        colliding = np.flatnonzero(self._module_rows[mod] > 0)
        if len(colliding):
            live = self._whole()
            index_of, fresh = self._indexes_for(batch, mod, colliding)
            r, i = merge.targets(live, index_of, batch, mod, colliding, keep, fresh)
            if len(r):
                merge.fill(live, self._tables, r, i, batch)
                self._add_source(r, label)
        self._append(batch, mod, keep, self._source_set((label,)))
        return int(keep.sum())

    def build(self) -> Catalog:
        """The read-only catalog: columns trimmed to the rows, names packed into one string.
        The builder is spent afterwards."""
        self._built = True
        n = self._n
        names = NameColumn.from_parts([_packed(part) for part in self._name_parts])
        arrays = dict(self._whole())
        for spec in _INTERNED:
            arrays[spec.name] = compact_codes(arrays[spec.name], len(self._tables[spec.name]))
        arrays[_SOURCES] = compact_codes(arrays[_SOURCES], len(self._source_sets))
        self._names = []
        self._name_parts = []
        self._data.clear()
        self._merge_index.clear()
        release_free_memory()  # the per-row strings of loading
        return Catalog(
            Columns(n, names, arrays),
            tables=self._tables,
            source_labels=self._labels,
            source_sets=self._source_sets,
            notes=self._notes,
            problems=self._problems,
            module_info=self._module_info,
            loaded=self._loaded,
        )

    # -- internals --------------------------------------------------------------------------

    def _count_loaded(self, source: str, rows: int) -> None:
        """Rows read per source (a big source arrives in several batches)."""
        if self._loaded and self._loaded[-1][0] == source:
            self._loaded[-1] = (source, self._loaded[-1][1] + rows)
        else:
            self._loaded.append((source, rows))

    def _indexes_for(
        self, batch: Batch, mod: npt.NDArray[np.uint32], colliding: npt.NDArray[np.intp]
    ) -> tuple[Callable[[int], merge.Index], Callable[[int], merge.Named | None] | None]:
        """Where :func:`merge.targets` finds each module's rows by name. A batch that
        meets many modules not indexed yet (a Module.symvers after a module tree: 930)
        gets indexes of just its own names, from one pass over the rows: a whole index
        per module took a scan of every row each, 0.64 s for that symvers. Meeting few,
        the batch also gets each unindexed module's rows (:meth:`_fresh`): names without
        addresses are matched against them without an index (``merge._name_only``)."""
        codes = np.unique(mod[colliding]).tolist()
        if sum(c not in self._merge_index for c in codes) <= _FEW_MODULES:
            return self._module_index, self._fresh
        wanted = {batch[_NAME][i] for i in colliding.tolist()}
        module = self._whole()["module"]
        rows = np.flatnonzero(np.isin(module, codes))  # a name lookup costs ~0.2 us a row
        names = self._names_of(rows)
        hit = np.fromiter(map(wanted.__contains__, names), np.bool_, len(names))
        rows = rows[hit]
        rows = rows[np.argsort(module[rows], kind="stable")]
        bounds = np.searchsorted(module[rows], [*codes, codes[-1] + 1]).tolist()
        names = self._names_of(rows)
        found = rows.tolist()
        indexes = {
            code: merge.name_index(
                names[bounds[k] : bounds[k + 1]], found[bounds[k] : bounds[k + 1]]
            )
            for k, code in enumerate(codes)
        }
        return (lambda code: self._merge_index.get(code) or indexes[code]), None

    def _module_index(self, code: int) -> merge.Index:
        index = self._merge_index.get(code)
        if index is None:
            found, names = self._named(code)
            index = merge.name_index(names, found.tolist())
            self._merge_index[code] = index
        return index

    def _fresh(self, code: int) -> merge.Named | None:
        """A module's rows and names, unless it has its name index already."""
        return None if code in self._merge_index else self._named(code)

    def _named(self, code: int) -> merge.Named:
        found = np.flatnonzero(self._whole()["module"] == code)
        return found, self._names_of(found)

    def _append(
        self, b: Batch, mod: npt.NDArray[np.uint32], keep: npt.NDArray[np.bool_], src: int
    ) -> None:
        idx = np.flatnonzero(keep)
        k = len(idx)
        if k == 0:
            return
        every = k == len(b)
        start = self._n
        pending = self._pending

        def strings(values: Sequence[str]) -> Sequence[str]:
            return values if every else take(values, idx)

        names = strings(b[_NAME])
        self._names.extend(names)
        packed = b.packed
        if every and packed is not None and packed.names is b[_NAME]:
            self._name_parts.append((packed.joined, packed.lengths))
        else:
            self._name_parts.append(names)
        for spec in _STORED:
            if spec.name == "module":
                values: Any = mod
            elif spec.encoding is Encoding.SOURCE_SET:
                pending[spec.name].append(np.full(k, src, dtype=spec.dtype))
                continue
            elif spec.encoding is Encoding.INTERNED:
                pending[spec.name].append(self._tables[spec.name].encode(strings(b[spec.name])))
                continue
            else:
                values = b[spec.name]
            column = values if every else values[idx]
            pending[spec.name].append(np.asarray(column, dtype=spec.dtype))
            if spec.nullable:
                known = b[spec.known_key]
                pending[spec.known_key].append(known if every else known[idx])
        end = start + k
        self._n = end
        new_mod = mod if every else mod[idx]
        self._module_rows += np.bincount(new_mod, minlength=len(self._module_rows)).astype(np.int64)
        for code, index in self._merge_index.items():
            for off in np.flatnonzero(new_mod == code).tolist():
                merge.index_add(index, names[off], start + off)

    def _whole(self) -> dict[str, npt.NDArray[Any]]:
        """Every column of the rows so far, each one array (merges write into them)."""
        for key, parts in self._pending.items():
            if parts:
                self._data[key] = np.concatenate([self._data[key], *parts])
                parts.clear()
        return self._data

    def _names_of(self, rows: npt.NDArray[np.intp]) -> list[str]:
        names = self._names
        return [names[r] for r in rows.tolist()]

    def _source_set(self, labels: tuple[int, ...]) -> int:
        code = self._source_set_codes.get(labels)
        if code is None:
            code = self._source_set_codes[labels] = len(self._source_sets)
            self._source_sets.append(labels)
        return code

    def _add_source(self, rows: npt.NDArray[np.intp], label: int) -> None:
        """Rows ``rows`` heard from source ``label`` too."""
        column = self._whole()[_SOURCES]
        sets = column[rows]
        for code in np.unique(sets).tolist():
            labels = self._source_sets[code]
            if label not in labels:
                sets[sets == code] = self._source_set((*labels, label))
        column[rows] = sets


def _packed(part: tuple[str, npt.NDArray[np.int32]] | Sequence[str]) -> tuple[str, Any]:
    """A part of the name column as :meth:`NameColumn.from_parts` takes it."""
    return part if isinstance(part, tuple) else packed_names(part)
