"""The catalog: every symbol from every loaded source, merged and stored as columns.

Rows live in growable numpy columns (small-int codes for modules, sections, namespaces and
sources) so ~1 M rows fit in well under 200 bytes each; :class:`Symbol` values are built only
for rows a query returns. Facts about one symbol from several sources merge by
``(module, name)``; local duplicates (static functions with the same name) stay distinct
rows, told apart by address.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

from ksql.batch import ADDR_NONE, INT_NONE, Batch
from ksql.columns import SPECS, UNKNOWN_LETTER, Columns, StringTable
from ksql.memory import release_free_memory
from ksql.model import VMLINUX, Bind, ExportKind, Kind, Symbol
from ksql.names import NameColumn

# Plain ints for the hot loops: IntEnum attribute access costs ~1 us a time.
_BIND_UNKNOWN, _BIND_LOCAL = int(Bind.UNKNOWN), int(Bind.LOCAL)
_KIND_UNKNOWN = int(Kind.UNKNOWN)
_EXPORTED = int(ExportKind.EXPORTED)
# The symbol every vmlinux symbol table has at the image start: the KASLR slide between a
# System.map (link-time addresses) and /proc/kallsyms (runtime addresses) is the difference
# of its two addresses, since the kernel image is relocated as one block
# (arch/x86/boot/compressed/kaslr.c).
_ANCHOR = "_text"


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
            self.loaded.append((batch.source, 0))
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
            self._merge(batch, mod, colliding, label, keep)
        self._append(batch, mod, keep, source_code)
        self._cache.clear()
        added = int(keep.sum())
        self.loaded.append((batch.source, k))
        return added

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

    # -- merging -------------------------------------------------------------------------

    def _merge(
        self,
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
            index = self._module_index(int(code))
            names = [b.name[i] for i in in_module]
            letters = b.type[in_module].tolist()
            counts = Counter(zip(names, letters, strict=True))
            seen: Counter[tuple[str, int]] = Counter()
            slide = self._slide(b, in_module, names, index)
            for i, name, letter in zip(in_module.tolist(), names, letters, strict=True):
                candidates = index.get(name)
                if not candidates:
                    continue
                key = (name, letter)
                target = self._pick(candidates, b, i, slide, seen[key], counts[key])
                seen[key] += 1
                if target is not None:
                    targets.append(target)
                    sources.append(i)
                    keep[i] = False
        if targets:
            self._merge_rows(np.array(targets), np.array(sources), b, label)

    def _module_index(self, code: int) -> dict[str, list[int]]:
        index = self._merge_index.get(code)
        if index is None:
            rows = np.flatnonzero(self._data["module"][: self._n] == code).tolist()
            names = self._data["name"][rows].tolist()
            index = {name: [r] for name, r in zip(names, rows, strict=True)}
            if len(index) != len(names):  # static duplicates: every row, in order
                dupes = {name for name, count in Counter(names).items() if count > 1}
                for name in dupes:
                    index[name] = []
                for name, r in zip(names, rows, strict=True):
                    if name in dupes:
                        index[name].append(r)
            self._merge_index[code] = index
        return index

    def _slide(
        self,
        b: Batch,
        rows: npt.NDArray[np.intp],
        names: list[str],
        index: dict[str, list[int]],
    ) -> int:
        here = index.get(_ANCHOR)
        if not here or len(here) != 1 or _ANCHOR not in names:
            return 0
        ours = int(self._data["addr"][here[0]])
        theirs = int(b.addr[rows[names.index(_ANCHOR)]])
        if ADDR_NONE in (ours, theirs):
            return 0
        return (ours - theirs) % 2**64

    def _pick(
        self, candidates: list[int], b: Batch, i: int, slide: int, nth: int, same_key: int
    ) -> int | None:
        """The existing row that row ``i`` of ``b`` describes, or None for a new row.

        ``nth`` / ``same_key``: this row is the nth of ``same_key`` batch rows with its name
        and letter. Addresses decide when both sides have them; otherwise rows pair up in
        file order (both symbol tables are sorted by address), and only when both sides
        have as many rows of that name and letter -- static duplicates never collapse.
        """
        d = self._data
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
        self, r: npt.NDArray[np.intp], i: npt.NDArray[np.intp], b: Batch, label: int
    ) -> None:
        """Fill what rows ``r`` do not know yet from batch rows ``i``, column by column."""
        d = self._data
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
        for col, table in (("section", self.sections), ("namespace", self.namespaces)):
            codes = table.encode([getattr(b, col)[k] for k in i])
            fill = (d[col][r] == 0) & (codes != 0)
            d[col][r[fill]] = codes[fill]
        theirs, ours = b.export[i], d["export"][r]
        # A precise kind (EXPORT_SYMBOL_GPL...) beats "exported, flavour unknown".
        better = ((theirs > _EXPORTED) & (ours <= _EXPORTED)) | ((theirs > 0) & (ours == 0))
        d["export"][r[better]] = theirs[better]
        sets = d["source"][r]
        for code in np.unique(sets).tolist():
            labels = self._source_sets[code]
            if label not in labels:
                sets[sets == code] = self._source_set((*labels, label))
        d["source"][r] = sets

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
        hi = lo
        while hi < len(order) and names[int(order[hi])] == name:
            hi += 1
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
