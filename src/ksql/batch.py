"""A batch of rows from one source, stored as columns.

Source plugins fill a :class:`RowSink` -- row by row with :meth:`RowSink.add` for small
inputs, or a column at a time with :meth:`RowSink.extend` for big ones -- and the catalog
merges the resulting :class:`Batch`. Columns are numpy arrays of small codes so that a
million rows never become a million Python objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ksql.model import TYPE_LETTERS, VMLINUX, Bind, ExportKind, Kind

ADDR_NONE = np.uint64(2**64 - 1)
INT_NONE = -1

_BIND_LUT = np.zeros(256, dtype=np.uint8)
_KIND_LUT = np.zeros(256, dtype=np.uint8)
_UNDEF_LUT = np.zeros(256, dtype=np.bool_)
for _letter, _info in TYPE_LETTERS.items():
    _BIND_LUT[ord(_letter)] = _info.bind
    _KIND_LUT[ord(_letter)] = _info.kind
    _UNDEF_LUT[ord(_letter)] = _info.undefined

U8 = npt.NDArray[np.uint8]
U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
Objects = npt.NDArray[np.object_]


def bind_of_types(types: U8) -> U8:
    """nm binding implied by each type letter (ASCII codes)."""
    return _BIND_LUT[types]


def kind_of_types(types: U8) -> U8:
    return _KIND_LUT[types]


def undefined_of_types(types: U8) -> Bools:
    return _UNDEF_LUT[types]


@dataclass(slots=True)
class Batch:
    """Columns of ``n`` rows, all arrays of length ``n``. Strings stay Python strings."""

    source: str
    name: list[str]
    module: list[str]
    addr: U64
    type: U8
    size: I64
    section: list[str]
    bind: U8
    kind: U8
    export: U8
    namespace: list[str]
    crc: I64
    undefined: Bools
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    module_info: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.name)


Column = Sequence[object] | object


class RowSink:
    """Where a source plugin puts its rows.

    Every column may be given per row (a sequence as long as ``name``) or once for all rows
    (a scalar). Missing ``bind``/``kind``/``undefined`` are derived from the nm type letter.
    Unknown ``addr``/``size``/``crc`` are ``None`` (or -1 in an integer sequence).
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self._parts: list[Batch] = []
        self._rows: list[tuple[object, ...]] = []
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

    def module_info(self, module: str, info: dict[str, list[str]]) -> None:
        """Metadata of ``module`` (``.modinfo`` keys: license, import_ns, depends, ...)."""
        known = self.modules.setdefault(module, {})
        for key, values in info.items():
            known.setdefault(key, []).extend(v for v in values if v not in known.get(key, []))

    def add(
        self,
        name: str,
        *,
        module: str = VMLINUX,
        addr: int | None = None,
        type: str = "?",
        size: int | None = None,
        section: str = "",
        bind: Bind | None = None,
        kind: Kind | None = None,
        export: ExportKind = ExportKind.NONE,
        namespace: str = "",
        crc: int | None = None,
        undefined: bool | None = None,
    ) -> None:
        """Add one row."""
        self._rows.append(
            (name, module, addr, type, size, section, bind, kind, export, namespace, crc, undefined)
        )

    def extend(
        self,
        name: Sequence[str],
        *,
        module: Sequence[str] | str = VMLINUX,
        addr: Sequence[int | None] | U64 | None = None,
        type: Sequence[str] | str | bytes = "?",
        size: Sequence[int | None] | I64 | None = None,
        section: Sequence[str] | str = "",
        bind: Sequence[int] | U8 | None = None,
        kind: Sequence[int] | U8 | None = None,
        export: Sequence[int] | U8 | ExportKind = ExportKind.NONE,
        namespace: Sequence[str] | str = "",
        crc: Sequence[int | None] | I64 | None = None,
        undefined: Sequence[bool] | Bools | None = None,
    ) -> None:
        """Add many rows given as columns (``type`` may be ASCII bytes, one per row)."""
        self._flush_rows()
        n = len(name)
        types = _letters(type, n)
        self._parts.append(
            Batch(
                source=self.source,
                name=list(name),
                module=_strings(module, n),
                addr=_uints(addr, n),
                type=types,
                size=_ints(size, n),
                section=_strings(section, n),
                bind=bind_of_types(types) if bind is None else _u8(bind, n),
                kind=kind_of_types(types) if kind is None else _u8(kind, n),
                export=_u8(export, n),
                namespace=_strings(namespace, n),
                crc=_ints(crc, n),
                undefined=undefined_of_types(types)
                if undefined is None
                else np.asarray(undefined, dtype=np.bool_),
            )
        )

    def _flush_rows(self) -> None:
        if not self._rows:
            return
        rows, self._rows = self._rows, []
        cols = list(zip(*rows, strict=True))
        types = _letters(cols[3], len(rows))
        derived_bind = bind_of_types(types)
        derived_kind = kind_of_types(types)
        derived_undef = undefined_of_types(types)
        self._parts.append(
            Batch(
                source=self.source,
                name=list(cols[0]),
                module=list(cols[1]),
                addr=_uints(cols[2], len(rows)),
                type=types,
                size=_ints(cols[4], len(rows)),
                section=list(cols[5]),
                bind=np.array(
                    [d if b is None else b for b, d in zip(cols[6], derived_bind, strict=True)],
                    dtype=np.uint8,
                ),
                kind=np.array(
                    [d if k is None else k for k, d in zip(cols[7], derived_kind, strict=True)],
                    dtype=np.uint8,
                ),
                export=np.array(cols[8], dtype=np.uint8),
                namespace=list(cols[9]),
                crc=_ints(cols[10], len(rows)),
                undefined=np.array(
                    [d if u is None else u for u, d in zip(cols[11], derived_undef, strict=True)],
                    dtype=np.bool_,
                ),
            )
        )

    def batches(self) -> list[Batch]:
        """The rows added so far, as batches (row-wise additions become one batch)."""
        self._flush_rows()
        parts, self._parts = self._parts, []
        if not parts and (self.notes or self.problems or self.modules):
            self.extend([])
            parts, self._parts = self._parts, []
        if parts:
            parts[0].notes.extend(self.notes)
            parts[0].problems.extend(self.problems)
            parts[0].module_info.update(self.modules)
        self.notes, self.problems, self.modules = [], [], {}
        return parts


def _strings(col: Sequence[str] | str, n: int) -> list[str]:
    if isinstance(col, str):
        return [col] * n
    if len(col) != n:
        raise ValueError(f"column has {len(col)} values for {n} rows")
    return list(col)


def _letters(col: Sequence[str] | str | bytes, n: int) -> U8:
    if isinstance(col, bytes):
        if len(col) != n:
            raise ValueError(f"type column has {len(col)} letters for {n} rows")
        return np.frombuffer(col, dtype=np.uint8).copy()
    if isinstance(col, str):
        return np.full(n, ord(col[:1] or "?"), dtype=np.uint8)
    if len(col) != n:
        raise ValueError(f"type column has {len(col)} values for {n} rows")
    return np.frombuffer("".join(col).encode("latin-1"), dtype=np.uint8).copy()


def _uints(col: Sequence[int | None] | U64 | None, n: int) -> U64:
    if col is None:
        return np.full(n, ADDR_NONE, dtype=np.uint64)
    if isinstance(col, np.ndarray):
        return col.astype(np.uint64, copy=False)
    return np.array([ADDR_NONE if v is None or v < 0 else v for v in col], dtype=np.uint64)


def _ints(col: Sequence[int | None] | I64 | None, n: int) -> I64:
    if col is None:
        return np.full(n, INT_NONE, dtype=np.int64)
    if isinstance(col, np.ndarray):
        return col.astype(np.int64, copy=False)
    return np.array([INT_NONE if v is None else v for v in col], dtype=np.int64)


def _u8(col: Sequence[int] | U8 | int, n: int) -> U8:
    if isinstance(col, int):
        return np.full(n, col, dtype=np.uint8)
    return np.asarray(col, dtype=np.uint8)


_HEX_LUT = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate("0123456789abcdef"):
    _HEX_LUT[ord(_c)] = _i
    _HEX_LUT[ord(_c.upper())] = _i


def parse_hex(values: Sequence[str]) -> U64:
    """Hex strings (no ``0x``; empty means unknown) as uint64, unknown = :data:`ADDR_NONE`.

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
                return out
    return np.array([int(v, 16) if v else ADDR_NONE for v in values], dtype=np.uint64)
