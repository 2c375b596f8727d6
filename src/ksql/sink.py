"""How a source hands over its rows: a :class:`RowSink` takes them row by row
(:meth:`RowSink.add`) or a column at a time (:meth:`RowSink.extend`) and turns them into
:class:`Batch` values -- columns keyed by the schema's names (:data:`ksql.model.COLUMNS`),
numpy arrays of small codes so a million rows never become a million Python objects.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from itertools import chain
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from ksql.coded import Coded
from ksql.errors import PluginError
from ksql.model import COLUMNS
from ksql.schema import ColumnSpec, Encoding
from ksql.storage import packed_names

__all__ = ["Batch", "RowSink", "add_module_info", "parse_hex"]

# What a source can give: every column but the provenance, which the catalog keeps.
_GIVEN = tuple(c for c in COLUMNS if c.encoding is not Encoding.SOURCE_SET)
_GIVEN_NAMES = frozenset(c.name for c in _GIVEN)
# Every key of Batch.columns that holds a plain array: the numeric columns and the
# known-masks of the nullable ones.
_ARRAY_KEYS = tuple(
    key
    for c in _GIVEN
    if not c.string
    for key in ((c.name, c.known_key) if c.nullable else (c.name,))
)
_TYPE = next(c for c in _GIVEN if c.name == "type")


class Packed(NamedTuple):
    """A batch's names joined by newlines, and their lengths: how they crossed from a
    worker process."""

    names: list[str]  # the batch's name column these describe
    joined: str
    lengths: npt.NDArray[np.int32]


class Batch:
    """``n`` rows as columns: a ``list[str]`` per string column (an interned one may be a
    :class:`~ksql.coded.Coded` instead: codes into a table), an array per other one, plus
    the remarks, problems and module metadata the source gave with them."""

    __slots__ = ("columns", "module_info", "notes", "packed", "problems")

    def __init__(
        self,
        columns: Mapping[str, Any],
        *,
        notes: Sequence[str] = (),
        problems: Sequence[str] = (),
        module_info: Mapping[str, dict[str, list[str]]] | None = None,
        packed: Packed | None = None,
    ) -> None:
        self.columns: dict[str, Any] = dict(columns)
        self.notes = list(notes)
        self.problems = list(problems)
        self.module_info: dict[str, dict[str, list[str]]] = dict(module_info or {})
        # The names as they came from a worker: joined, with their lengths (the catalog's
        # name column is made of them without joining the names again), valid while
        # ``packed.names`` is this batch's name column.
        self.packed = packed

    def __len__(self) -> int:
        return len(self.columns["name"])

    def __getitem__(self, column: str) -> Any:
        return self.columns[column]

    @classmethod
    def of(cls, name: Sequence[str], **values: Any) -> Batch:
        """Columns from what a source gives: a sequence per row or one value for all rows;
        missing ``bind``/``kind``/``undefined`` come from the nm type letter; unknown
        numbers are None (or -1 in an integer sequence)."""
        _check_names(values)
        n = len(name)
        if n and "\n".join(name).count("\n") != n - 1:
            raise ValueError("a symbol name holds a newline; names are one line each")
        types = _letters(values.get("type"), n)
        cols: dict[str, Any] = {"name": list(name), "type": types}
        for spec in _GIVEN:
            if spec.name in cols:
                continue
            if spec.nullable:
                cols[spec.name], cols[spec.known_key] = _nullable(spec, values.get(spec.name), n)
            else:
                cols[spec.name] = _column(spec, values.get(spec.name), n, types)
        return cls(cols)

    @classmethod
    def concat(cls, parts: Sequence[Batch]) -> Batch:
        """One batch holding every row of ``parts``, in order."""
        if not parts:
            return cls(Batch.of([]).columns)
        cols: dict[str, Any] = {}
        for spec in _GIVEN:
            if spec.string:
                values = [p.columns[spec.name] for p in parts]
                if all(isinstance(v, Coded) for v in values):
                    cols[spec.name] = Coded.concat(values)
                else:
                    cols[spec.name] = list(chain.from_iterable(values))
        for key in _ARRAY_KEYS:
            cols[key] = np.concatenate([p.columns[key] for p in parts])
        out = cls(cols)
        for p in parts:
            out.notes.extend(x for x in p.notes if x not in out.notes)
            out.problems.extend(p.problems)
            for module, info in p.module_info.items():
                out.module_info.setdefault(module, {}).update(info)
        return out

    # Worker processes send batches back pickled: one joined string instead of a string per
    # name, a table plus codes for each interned column (kept coded on arrival: ksql.coded).
    # Several times faster to pickle and unpickle at 600 k rows.

    def __getstate__(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "notes": self.notes,
            "problems": self.problems,
            "module_info": self.module_info,
            "count": len(self),
        }
        for spec in _GIVEN:
            values = self.columns[spec.name]
            if spec.encoding is Encoding.PACKED:
                state[spec.name], state[f"{spec.name}_lengths"] = packed_names(values)
            elif spec.encoding is Encoding.INTERNED:
                coded = Coded.of(values)
                state[spec.name] = (coded.table, coded.codes)
        for key in _ARRAY_KEYS:
            state[key] = self.columns[key]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.notes = state["notes"]
        self.problems = state["problems"]
        self.module_info = state["module_info"]
        count: int = state["count"]
        self.columns = {key: state[key] for key in _ARRAY_KEYS}
        self.packed = None
        for spec in _GIVEN:
            if spec.encoding is Encoding.PACKED:
                joined = state[spec.name]
                self.columns[spec.name] = names = joined.split("\n") if count else []
                self.packed = Packed(names, joined, state[f"{spec.name}_lengths"])
            elif spec.encoding is Encoding.INTERNED:
                self.columns[spec.name] = Coded(*state[spec.name])


class RowSink:
    """Where a source plugin puts its rows.

    Columns are named as :class:`~ksql.model.Symbol`'s fields. Every column may be given per
    row (a sequence as long as ``name``) or once for all rows (a scalar). Missing
    ``bind``/``kind``/``undefined`` are derived from the nm type letter. Unknown
    ``addr``/``size``/``crc`` are ``None`` (or -1 in an integer sequence).
    """

    def __init__(self, source: str, forward: Callable[[Batch], None] | None = None) -> None:
        """``forward``: where each batch of rows goes as soon as it is whole (the catalog
        takes a module tree's batches while the workers decode the rest); without it the
        rows wait for :meth:`batches`."""
        self.source = source
        self._forward = forward
        self._parts: list[Batch] = []
        self._rows: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self.problems: list[str] = []
        self.modules: dict[str, dict[str, list[str]]] = {}

    def note(self, text: str) -> None:
        """A remark the user should see once (e.g. "addresses hidden by kptr_restrict")."""
        if text not in self.notes:
            self.notes.append(text)

    def problem(self, text: str) -> None:
        """A part of the source that could not be read (one bad module in a directory):
        reported to the user, the rest still loads."""
        self.problems.append(text)

    def module_info(self, module: str, info: Mapping[str, Sequence[str]]) -> None:
        """Metadata of ``module`` (``.modinfo`` keys: license, import_ns, depends, ...)."""
        add_module_info(self.modules.setdefault(module, {}), info)

    def add(self, name: str, **values: Any) -> None:
        """Add one row: ``sink.add("kfree", module="vmlinux", type="T", export=...)``."""
        _check_names(values)
        values["name"] = name
        self._rows.append(values)

    def extend(self, name: Sequence[str], **columns: Any) -> None:
        """Add many rows given as columns (``type`` may be ASCII bytes, one per row)."""
        self._flush_rows()
        self._take(Batch.of(name, **columns))

    def append(self, batch: Batch) -> None:
        """Add a batch built with :meth:`Batch.of` (in a worker process, say), with its
        problems and module metadata."""
        self._flush_rows()
        for problem in batch.problems:
            self.problem(problem)
        for note in batch.notes:
            self.note(note)
        for module, info in batch.module_info.items():
            self.module_info(module, info)
        if len(batch):
            self._take(Batch(batch.columns, packed=batch.packed))

    def _flush_rows(self) -> None:
        if not self._rows:
            return
        rows, self._rows = self._rows, []
        names = [r.pop("name") for r in rows]
        given = {key for r in rows for key in r}
        columns = {key: [r.get(key) for r in rows] for key in given}
        self._take(Batch.of(names, **columns))

    def _take(self, batch: Batch) -> None:
        if self._forward is not None:
            self._forward(batch)
        else:
            self._parts.append(batch)

    def batches(self) -> list[Batch]:
        """The rows added so far, as batches (row-wise additions become one batch); the
        first carries the notes, problems and module metadata."""
        self._flush_rows()
        parts, self._parts = self._parts, []
        if not parts and (self.notes or self.problems or self.modules):
            parts = [Batch.of([])]
        if parts:
            parts[0].notes.extend(self.notes)
            parts[0].problems.extend(self.problems)
            parts[0].module_info.update(self.modules)
        self.notes, self.problems, self.modules = [], [], {}
        return parts


def add_module_info(known: dict[str, list[str]], info: Mapping[str, Sequence[str]]) -> None:
    """``info``'s values added to a module's ``known`` ones: each value once, in the order
    first seen (a module's alias list runs to thousands: a set, not a scan per value)."""
    for key, values in info.items():
        have = known.get(key)
        if have is None:
            known[key] = list(dict.fromkeys(values))
        else:
            seen = set(have)
            have.extend(v for v in dict.fromkeys(values) if v not in seen)


def _check_names(values: Mapping[str, Any]) -> None:
    unknown = set(values) - _GIVEN_NAMES
    if unknown:
        raise PluginError(
            f"unknown column(s) {', '.join(sorted(unknown))}; "
            f"columns: {', '.join(c.name for c in _GIVEN)}"
        )


def _column(spec: ColumnSpec, value: Any, n: int, types: npt.NDArray[np.uint8]) -> Any:
    """One column of ``n`` rows in its batch form."""
    if value is None:
        if spec.from_type is not None:
            return spec.from_type(types)
        if spec.string:
            return Coded.repeat(spec.default, n) if spec.interned else [spec.default] * n
        return np.full(n, spec.unknown, dtype=spec.dtype)
    if spec.string:
        if isinstance(value, str):
            return Coded.repeat(value, n) if spec.interned else [value] * n
        _check_length(spec, value, n)
        if isinstance(value, Coded):
            return value
        if None in value:  # rows added one by one that did not say
            return [spec.default if v is None else v for v in value]
        return list(value)
    if isinstance(value, np.ndarray):
        _check_length(spec, value, n)
        return value.astype(spec.dtype, copy=False)
    if not isinstance(value, Sequence):  # one value for every row
        return np.full(n, value, dtype=spec.dtype)
    _check_length(spec, value, n)
    if None not in value:
        return np.array(value, dtype=spec.dtype)
    if spec.from_type is not None:  # per-row None: derived from that row's letter
        derived = spec.from_type(types)
        return np.array(
            [d if v is None else v for v, d in zip(value, derived, strict=True)], dtype=spec.dtype
        )
    unknown = spec.unknown
    return np.array([unknown if v is None else v for v in value], dtype=spec.dtype)


def _nullable(
    spec: ColumnSpec, value: Any, n: int
) -> tuple[npt.NDArray[Any], npt.NDArray[np.bool_]]:
    """(values, known) of a column whose every value is a real one: None (for all rows or
    per row) or a masked entry of a numpy masked array is unknown."""
    if value is None:
        return np.zeros(n, dtype=spec.dtype), np.zeros(n, dtype=np.bool_)
    if isinstance(value, np.ma.MaskedArray):
        _check_length(spec, value, n)
        known = ~np.ma.getmaskarray(value)
        return np.ma.getdata(value).astype(spec.dtype, copy=False), known
    if isinstance(value, np.ndarray):
        _check_length(spec, value, n)
        return value.astype(spec.dtype, copy=False), np.ones(n, dtype=np.bool_)
    if not isinstance(value, Sequence):
        return np.full(n, value, dtype=spec.dtype), np.ones(n, dtype=np.bool_)
    _check_length(spec, value, n)
    known = np.fromiter((v is not None for v in value), dtype=np.bool_, count=n)
    return np.array([0 if v is None else v for v in value], dtype=spec.dtype), known


def _check_length(spec: ColumnSpec, value: Sequence[Any] | npt.NDArray[Any], n: int) -> None:
    if len(value) != n:
        raise ValueError(f"{spec.name} column has {len(value)} values for {n} rows")


def _letters(col: Sequence[str | None] | str | bytes | None, n: int) -> npt.NDArray[np.uint8]:
    if col is None:
        return np.full(n, _TYPE.unknown, dtype=np.uint8)
    if isinstance(col, bytes):
        if len(col) != n:
            raise ValueError(f"type column has {len(col)} letters for {n} rows")
        return np.frombuffer(col, dtype=np.uint8).copy()
    if isinstance(col, str):
        return np.full(n, ord(col[:1] or "?"), dtype=np.uint8)
    if len(col) != n:
        raise ValueError(f"type column has {len(col)} values for {n} rows")
    joined = "".join(c or "?" for c in col).encode("latin-1")
    if len(joined) != n:
        raise ValueError("type column: one nm letter per row")
    return np.frombuffer(joined, dtype=np.uint8).copy()


_HEX_LUT = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate("0123456789abcdef"):
    _HEX_LUT[ord(_c)] = _i
    _HEX_LUT[ord(_c.upper())] = _i


def parse_hex(values: Sequence[str]) -> np.ma.MaskedArray[Any, np.dtype[np.uint64]]:
    """Hex strings (no ``0x``; empty means unknown) as a masked uint64 array.

    Equal-width columns -- every kallsyms and System.map address -- are decoded in bulk; the
    rest one by one. The caller has validated the digits.
    """
    n = len(values)
    if n and len(values[0]) <= 16:
        width = len(values[0])
        joined = "".join(values).encode("ascii", "replace")
        if width and len(joined) == n * width:
            digits = _HEX_LUT[np.frombuffer(joined, dtype=np.uint8)].reshape(n, width)
            if not (digits == 255).any():
                out = np.zeros(n, dtype=np.uint64)
                for col in range(width):
                    out = (out << np.uint64(4)) | digits[:, col].astype(np.uint64)
                return np.ma.MaskedArray(out, mask=np.zeros(n, dtype=np.bool_))
    unknown = np.fromiter((not v for v in values), dtype=np.bool_, count=n)
    found = np.array([int(v, 16) if v else 0 for v in values], dtype=np.uint64)
    return np.ma.MaskedArray(found, mask=unknown)
