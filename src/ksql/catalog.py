"""The catalog: every symbol from every loaded source, merged (by
:class:`~ksql.builder.CatalogBuilder`) and stored as read-only columns.

Rows live in numpy columns (small-int codes for modules, sections, namespaces and sources)
so ~1 M rows fit in well under 200 bytes each; :class:`Symbol` values are built only for rows
a query returns. Indexes (the sorted name order) are built on first use.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from ksql.memory import release_free_memory
from ksql.model import COLUMNS, Symbol
from ksql.schema import Encoding
from ksql.storage import Columns, NameColumn, StoredStrings, StringTable, compact_codes

T = TypeVar("T")

_STORED = [c for c in COLUMNS if c.encoding is not Encoding.PACKED]
_KEYS = {c.name: c.dtype for c in _STORED} | {
    c.known_key: np.dtype(np.bool_) for c in _STORED if c.nullable
}  # every stored array, known-masks included
# Columns of codes, stored in the narrowest dtype that holds them (storage.compact_codes).
_CODED = {c.name for c in _STORED if c.encoding in (Encoding.INTERNED, Encoding.SOURCE_SET)}
_CODE_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.uint32))


def _empty_columns() -> Columns:
    return Columns(0, NameColumn.from_names([]), {k: np.zeros(0, dt) for k, dt in _KEYS.items()})


class Catalog:
    """Merged, indexed symbols: what queries, the REPL and the language server read.
    ``Catalog()`` is the empty catalog."""

    def __init__(
        self,
        columns: Columns | None = None,
        *,
        tables: Mapping[str, StringTable] | None = None,
        source_labels: StringTable | None = None,
        source_sets: Sequence[tuple[int, ...]] = (),
        notes: Sequence[str] = (),
        problems: Sequence[str] = (),
        module_info: Mapping[str, dict[str, list[str]]] | None = None,
        loaded: Sequence[tuple[str, int]] = (),
    ) -> None:
        self._columns = columns if columns is not None else _empty_columns()
        self._tables = dict(tables or {})
        for spec in COLUMNS:
            if spec.encoding is Encoding.INTERNED and spec.name not in self._tables:
                self._tables[spec.name] = StringTable([spec.default])
        self.source_labels = source_labels or StringTable()
        self._source_sets = [tuple(s) for s in source_sets]
        self.notes = list(notes)
        self.problems = list(problems)  # parts of sources that could not be read
        self.module_info = dict(module_info or {})  # .modinfo keys per module
        self.loaded = list(loaded)  # (source label, rows it gave)
        self._module_rows = np.bincount(
            self._columns["module"], minlength=len(self._tables["module"])
        )
        self._order: npt.NDArray[np.int64] | None = None
        self._firsts: npt.NDArray[np.bool_] | None = None
        self._derived: dict[str, Any] = {}
        self._deriving = threading.RLock()

    def __len__(self) -> int:
        return self._columns.n

    def derived(self, key: str, build: Callable[[], T]) -> T:
        """What ``build`` makes of this catalog, built once under ``key`` and kept while the
        catalog lives (it is read-only, so the answer never changes): the indexes and
        summaries a long-lived process (the language server) asks for on every request.
        Thread-safe; a build may ask for another derived value."""
        try:
            return self._derived[key]  # type: ignore[no-any-return]
        except KeyError:
            pass
        with self._deriving:
            if key not in self._derived:
                self._derived[key] = build()
            return self._derived[key]  # type: ignore[no-any-return]

    def columns(self) -> Columns:
        """The columns (read-only arrays; codes for interned strings)."""
        return self._columns

    def table(self, column: str) -> StringTable:
        """The strings behind an interned column's codes."""
        return self._tables[column]

    @property
    def modules(self) -> StringTable:
        return self._tables["module"]

    @property
    def sections(self) -> StringTable:
        return self._tables["section"]

    @property
    def namespaces(self) -> StringTable:
        return self._tables["namespace"]

    # -- snapshots (the load cache) -------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Everything the catalog holds, as arrays and JSON-able values."""
        return {
            "arrays": self._columns.arrays(),
            "blob": self._columns.name.blob,
            "starts": self._columns.name.starts,
            "meta": {
                "tables": {k: t.strings for k, t in self._tables.items()},
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
        """A catalog from :meth:`snapshot`'s output (read back from a file: not trusted);
        ValueError when any column, code or table is inconsistent."""
        meta = snap["meta"]
        arrays = snap["arrays"]
        names = NameColumn(snap["blob"], snap["starts"])
        n = len(names)
        _check_snapshot(n, arrays, meta)
        counts = {k: len(v) for k, v in meta["tables"].items()} | {
            c.name: len(meta["source_sets"]) for c in _STORED if c.encoding is Encoding.SOURCE_SET
        }
        stored = {
            key: compact_codes(arrays[key], counts[key]) if key in counts else arrays[key]
            for key in _KEYS
        }
        return cls(
            Columns(n, names, stored),
            tables={k: StringTable.stored(v) for k, v in meta["tables"].items()},
            source_labels=StringTable(meta["source_labels"]),
            source_sets=[tuple(s) for s in meta["source_sets"]],
            notes=meta["notes"],
            problems=meta["problems"],
            module_info=meta["module_info"],
            loaded=[(str(a), int(b)) for a, b in meta["loaded"]],
        )

    # -- reading -------------------------------------------------------------------------

    def name_order(self) -> npt.NDArray[np.int64]:
        """Row numbers sorted by name (stable): the prefix index behind completion and
        name look-ups. Built on first use; long-lived processes build it after loading."""
        if self._order is None:
            names = self._columns.name.tolist()
            order = np.array(sorted(range(len(names)), key=names.__getitem__), dtype=np.int64)
            ordered = [names[i] for i in order.tolist()]
            del names
            firsts = np.ones(len(ordered), dtype=np.bool_)
            if ordered:
                firsts[1:] = np.fromiter(
                    map(str.__ne__, ordered[1:], ordered[:-1]), np.bool_, len(ordered) - 1
                )
            del ordered
            release_free_memory()  # the sort's million temporaries
            self._order, self._firsts = order, firsts
        return self._order

    def name_firsts(self) -> npt.NDArray[np.bool_]:
        """Along :meth:`name_order`: True where a name differs from the one before (the
        first of its rows), so a prefix range can be grouped by name without reading names."""
        self.name_order()
        assert self._firsts is not None
        return self._firsts

    def cached_name_order(self) -> npt.NDArray[np.int64] | None:
        return self._order

    def sources_of(self, row: int) -> tuple[str, ...]:
        labels = self._source_sets[int(self._columns["sources"][row])]
        return tuple(self.source_labels.strings[i] for i in labels)

    def source_sets(self) -> list[tuple[int, ...]]:
        """Each source-set code's source label numbers (into :attr:`source_labels`)."""
        return list(self._source_sets)

    def source_codes_matching(self, labels: set[int]) -> list[int]:
        """Source-set codes that include any of ``labels``."""
        return [c for c, s in enumerate(self._source_sets) if labels.intersection(s)]

    def symbol(self, row: int) -> Symbol:
        cols = self._columns
        values: dict[str, Any] = {}
        for spec in COLUMNS:
            if spec.encoding is Encoding.PACKED:
                values[spec.name] = cols.name[row]
            elif spec.encoding is Encoding.INTERNED:
                values[spec.name] = self._tables[spec.name].strings[int(cols[spec.name][row])]
            elif spec.encoding is Encoding.SOURCE_SET:
                values[spec.name] = self.sources_of(row)
            elif spec.nullable:
                known = bool(cols[spec.known_key][row])
                values[spec.name] = int(cols[spec.name][row]) if known else None
            else:
                values[spec.name] = spec.to_python(cols[spec.name][row])
        return Symbol(**values)

    def symbols(self, rows: Iterable[int]) -> Iterator[Symbol]:
        for r in rows:
            yield self.symbol(int(r))

    def rows_named(self, name: str) -> npt.NDArray[np.intp]:
        """Rows named ``name``: a binary search once :meth:`name_order` is built (what
        long-lived processes do after loading), else one scan of the names."""
        names = self._columns.name
        order = self._order
        if order is None:
            return names.rows_equal(name)
        lo = bisect_left(order, name, key=names.__getitem__)
        hi = bisect_right(order, name, lo=lo, key=names.__getitem__)
        return np.sort(order[lo:hi]).astype(np.intp)

    def prefix_range(self, prefix: str) -> tuple[int, int]:
        """``[lo, hi)`` of :meth:`name_order` holding the names that start with ``prefix``."""
        order = self.name_order()
        names = self._columns.name
        lo = bisect_left(order, prefix, key=names.__getitem__)
        hi = bisect_left(order, prefix + "\U0010ffff", key=names.__getitem__)
        return lo, hi

    def lookup(self, name: str, module: str | None = None) -> list[Symbol]:
        """Every row named ``name`` (in ``module`` if given)."""
        rows = self.rows_named(name)
        if module is not None:
            code = self.modules.codes.get(module)
            if code is None:
                return []
            rows = rows[self._columns["module"][rows] == code]
        return list(self.symbols(rows))

    def module_names(self) -> list[str]:
        return [m for m, n in zip(self.modules.strings, self._module_rows, strict=False) if n]


def _check_snapshot(n: int, arrays: Mapping[str, Any], meta: Mapping[str, Any]) -> None:
    """Every stored column has the schema's dtype and ``n`` values, and every code points
    into its table: a damaged or forged snapshot never yields a wrong answer."""
    tables = meta["tables"]
    sets = meta["source_sets"]
    labels = meta["source_labels"]
    if not all(isinstance(x, str) for x in labels):
        raise ValueError("bad source labels")
    if any(not isinstance(s, list) or any(not 0 <= int(i) < len(labels) for i in s) for s in sets):
        raise ValueError("bad source sets")
    for key, dtype in _KEYS.items():
        col = arrays[key]
        if not isinstance(col, np.ndarray) or col.shape != (n,):
            raise ValueError(f"column {key}: not an array of {n} values")
        if col.dtype != dtype and not (key in _CODED and col.dtype in _CODE_DTYPES):
            raise ValueError(f"column {key}: wrong dtype {col.dtype}")
    for spec in _STORED:
        col = arrays[spec.name]
        if not n:
            continue
        if spec.encoding is Encoding.INTERNED:
            table = tables[spec.name]
            # A stored table (:class:`StoredStrings`) holds only strings by construction.
            if not isinstance(table, StoredStrings) and not all(isinstance(x, str) for x in table):
                raise ValueError(f"column {spec.name}: not a table of strings")
            if int(col.max()) >= len(table):
                raise ValueError(f"column {spec.name}: code out of range")
        elif spec.encoding is Encoding.SOURCE_SET:
            if int(col.max()) >= len(sets):
                raise ValueError(f"column {spec.name}: source set out of range")
        elif spec.enum is not None:
            if int(col.max()) >= len(spec.enum):
                raise ValueError(f"column {spec.name}: value out of range")
        elif spec.choices and not np.isin(col, [ord(c) for c in spec.choices]).all():
            raise ValueError(f"column {spec.name}: unknown letter")
    info = meta["module_info"]
    if not isinstance(info, dict) or not all(
        isinstance(v, dict) and all(isinstance(x, list) for x in v.values()) for v in info.values()
    ):
        raise ValueError("bad module metadata")
