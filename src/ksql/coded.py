"""A string column kept as codes into a table of its strings, the way the catalog stores an
interned column (:class:`~ksql.storage.StringTable`), while it travels from a source to
the catalog.

A module tree's rows (790 k for Debian's 6.1) name a few thousand modules and sections and
leave four site columns empty: as lists of strings, they cost ~1 s of CPU to intern for the
workers' pickles, to rebuild on arrival and to intern again in the catalog. As codes they
cross as two arrays and are re-coded in bulk.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, overload

import numpy as np
import numpy.typing as npt

Codes = npt.NDArray[np.uint32]


class Coded(Sequence[str]):
    """Row ``i`` is ``table[codes[i]]``; the table may hold a string twice."""

    __slots__ = ("codes", "table")

    def __init__(self, table: list[str], codes: npt.ArrayLike) -> None:
        self.table = table
        self.codes: Codes = np.asarray(codes, dtype=np.uint32)

    @classmethod
    def repeat(cls, value: str, n: int) -> Coded:
        return cls([value], np.zeros(n, dtype=np.uint32))

    @classmethod
    def of(cls, values: Sequence[str]) -> Coded:
        """``values`` interned (C-speed: dict.fromkeys and map, ~3x a Python loop)."""
        if isinstance(values, Coded):
            return values
        table = list(dict.fromkeys(values))
        index = {v: i for i, v in enumerate(table)}
        return cls(table, np.fromiter(map(index.__getitem__, values), np.uint32, len(values)))

    @classmethod
    def concat(cls, parts: Sequence[Coded]) -> Coded:
        """The parts' rows in order, their tables laid end to end."""
        table: list[str] = []
        codes = []
        for part in parts:
            codes.append(part.codes + np.uint32(len(table)))
            table.extend(part.table)
        return cls(table, np.concatenate(codes) if codes else np.zeros(0, np.uint32))

    def take(self, rows: npt.NDArray[np.intp]) -> Coded:
        return Coded(self.table, self.codes[rows])

    def tolist(self) -> list[str]:
        if len(self.table) == 1:
            return self.table * len(self.codes)
        out: list[str] = np.array(self.table, dtype=object)[self.codes].tolist()
        return out

    def __len__(self) -> int:
        return len(self.codes)

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> Coded: ...
    def __getitem__(self, i: int | slice) -> str | Coded:
        if isinstance(i, slice):
            return Coded(self.table, self.codes[i])
        return self.table[int(self.codes[i])]

    def __iter__(self) -> Iterator[str]:
        return iter(self.tolist())

    def count(self, value: Any) -> int:
        hits = [k for k, s in enumerate(self.table) if s == value]
        return int(np.isin(self.codes, hits).sum()) if hits else 0

    def __contains__(self, value: object) -> bool:
        return self.count(value) > 0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return self.tolist() == list(other)

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __repr__(self) -> str:
        return f"Coded({self.tolist()!r})"


def take(values: Sequence[str], rows: npt.NDArray[np.intp]) -> Sequence[str]:
    """Rows ``rows`` of a string column, coded or a list."""
    if isinstance(values, Coded):
        return values.take(rows)
    return [values[i] for i in rows.tolist()]
