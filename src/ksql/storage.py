"""Column storage of a loaded catalog: :class:`StringTable` (interned strings as dense
codes), :class:`NameColumn` (every name in one string) and :class:`Columns`, the read-only
view of a catalog's columns that queries and renderers read.

The name column is every name in one newline-separated string plus an offset array, instead
of one Python string per row.

A million ``str`` objects cost ~70 bytes each and, worse, pin the allocator arenas the
parsers filled with short-lived tokens, so RSS stays at the parse peak. One string costs the
name's length plus one byte, and regular expressions scan it at C speed: equality, globs and
prefixes become ``finditer`` over the blob.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import islice
from typing import Any

import numpy as np
import numpy.typing as npt

from ksql.coded import Coded

Rows = npt.NDArray[np.intp]


class StoredStrings:
    """Strings as the load cache keeps a large table: UTF-8, joined by newlines (no string
    holds one), with their count. Split into ``str`` objects only when first read: a warm
    load of a source tree (387 k ``defined_at`` sites) split none of them."""

    __slots__ = ("_data", "count")

    def __init__(self, data: bytes | memoryview, count: int) -> None:
        self._data = data
        self.count = count

    def __len__(self) -> int:
        return self.count

    def split(self) -> list[str]:
        try:
            text = str(self._data, "utf-8", "surrogatepass")
        except UnicodeDecodeError:
            text = str(self._data, "utf-8", "replace")
        strings = text.split("\n")
        if len(strings) != self.count:  # checked when stored: only a forged entry
            strings = (strings + [""] * self.count)[: self.count]
        return strings


class StringTable:
    """Strings interned to dense integer codes. A table read back from the load cache
    (:meth:`stored`) builds its code dictionary, and splits its strings, only when a query
    first needs them."""

    __slots__ = ("_codes", "_strings")

    def __init__(self, initial: Iterable[str] = ()) -> None:
        self._strings: list[str] | StoredStrings = []
        self._codes: dict[str, int] | None = {}
        for s in initial:
            self.code(s)

    @classmethod
    def stored(cls, strings: list[str] | StoredStrings) -> StringTable:
        """A table whose code ``i`` is ``strings[i]``; if a string repeats (a forged entry),
        its first code is the one looked up, as :meth:`code` would have made it."""
        table = cls()
        table._strings = strings
        table._codes = None
        return table

    @property
    def strings(self) -> list[str]:
        if isinstance(self._strings, StoredStrings):
            self._strings = self._strings.split()
        return self._strings

    @property
    def codes(self) -> dict[str, int]:
        if self._codes is None:
            strings = self.strings
            codes = dict(zip(strings, range(len(strings)), strict=True))
            if len(codes) != len(strings):
                codes = {}
                for i, s in enumerate(strings):
                    codes.setdefault(s, i)
            self._codes = codes
        return self._codes

    def code(self, s: str) -> int:
        c = self.codes.get(s)
        if c is None:
            c = self.codes[s] = len(self.strings)
            self.strings.append(s)
        return c

    def encode(self, values: Sequence[str]) -> npt.NDArray[np.uint32]:
        if isinstance(values, Coded):  # re-coded in bulk: only the strings rows use
            used = np.flatnonzero(np.bincount(values.codes, minlength=len(values.table)))
            mapping = np.zeros(len(values.table), dtype=np.uint32)
            if len(used):
                mapping[used] = self.encode([values.table[k] for k in used.tolist()])
            out: npt.NDArray[np.uint32] = mapping[values.codes]
            return out
        distinct = set(values)
        if len(distinct) == 1:  # a column one source does not fill: all its default
            return np.full(len(values), self.code(distinct.pop()), dtype=np.uint32)
        codes = self.codes
        if len(distinct) == len(values) and codes.keys().isdisjoint(distinct):
            # All new and distinct (a BTF source's declarations): the next codes in order.
            # (keys().isdisjoint walks the smaller side; set.isdisjoint(dict) the dict.)
            first = len(self.strings)
            self.strings.extend(values)
            codes.update(zip(values, range(first, len(self.strings)), strict=True))
            return np.arange(first, len(self.strings), dtype=np.uint32)
        if 2 * len(distinct) > len(values):
            # Mostly distinct: a code is the table's size when the string is first seen.
            # 56,684 BTF declarations: 27 ms, the path below 75 ms.
            first = len(codes)
            setdefault = codes.setdefault
            out = np.array([setdefault(v, len(codes)) for v in values], dtype=np.uint32)
            self.strings.extend(islice(codes, first, None))
            return out
        new = distinct.difference(self.codes)  # at C speed: a call per string cost 5x more
        if new:
            first = len(self.strings)
            self.strings.extend(new)
            added = range(first, len(self.strings))
            self.codes.update(zip(self.strings[first:], added, strict=True))
        return np.fromiter(map(self.codes.__getitem__, values), dtype=np.uint32, count=len(values))

    def __len__(self) -> int:
        return len(self._strings)


def compact_codes(codes: npt.NDArray[Any], count: int) -> npt.NDArray[Any]:
    """Dense codes into a table of ``count`` entries, stored in the narrowest unsigned dtype
    that holds them; a column with one value throughout (a field no loaded source fills)
    becomes a read-only broadcast of that value and costs no memory per row.

    Measured on Debian 6.1's vmlinux (127 k rows): eight string columns at 4 B/row were
    ~32 of the catalog's 209 B/row although four of them were empty.
    """
    n = len(codes)
    dtype = np.uint8 if count <= 1 << 8 else np.uint16 if count <= 1 << 16 else np.uint32
    if n and codes[0] == codes.min() == codes.max():
        return np.broadcast_to(np.array(codes[0], dtype=dtype), (n,))
    return codes if codes.dtype == dtype else codes.astype(dtype)


def packed_names(names: Sequence[str]) -> tuple[str, npt.NDArray[np.int32]]:
    """``names`` joined by newlines, and their lengths: how a batch's names cross from a
    worker process, and what :meth:`NameColumn.from_parts` is made of. The lengths come from
    the newlines' places in the bytes when the names are ASCII (a len() per name costs 4x)."""
    joined = "\n".join(names)
    n = len(names)
    if not n:
        return joined, np.zeros(0, dtype=np.int32)
    if joined.isascii():
        nl = np.flatnonzero(np.frombuffer(joined.encode("ascii"), dtype=np.uint8) == 10)
        if len(nl) == n - 1:
            bounds = np.concatenate([[-1], nl, [len(joined)]])
            return joined, (np.diff(bounds) - 1).astype(np.int32)
    elif joined.count("\n") == n - 1:
        return joined, np.fromiter(map(len, names), dtype=np.int32, count=n)
    raise ValueError("a symbol name holds a newline; names are one line each")


class NameColumn:
    """``blob`` is ``"\\n" + "\\n".join(names) + "\\n"``; ``starts[i]`` is the offset of the
    newline before name ``i`` and ``starts[n]`` that of the final newline."""

    __slots__ = ("_n", "blob", "starts")

    def __init__(self, blob: str, starts: npt.NDArray[np.int64]) -> None:
        self.blob = blob
        self.starts = starts
        self._n = len(starts) - 1

    @classmethod
    def from_names(cls, names: Sequence[str]) -> NameColumn:
        """The column of ``names`` (none holds a newline)."""
        return cls.from_parts([packed_names(names)])

    @classmethod
    def from_parts(cls, parts: Sequence[tuple[str, npt.NDArray[np.integer[Any]]]]) -> NameColumn:
        """The column of the names of every part, in order: a part is its names joined by
        newlines and their lengths (:func:`packed_names`). One join of the parts and one
        cumulative sum: a module tree's 0.8 M names are not joined and scanned again."""
        kept = [(joined, lengths) for joined, lengths in parts if len(lengths)]
        if not kept:
            return cls("\n\n", np.zeros(1, dtype=np.int64))
        blob = "\n".join(["", *(joined for joined, _ in kept), ""])
        lengths = np.concatenate([lengths for _, lengths in kept]).astype(np.int64)
        starts = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths + 1, out=starts[1:])
        return cls(blob, starts)

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, row: int) -> str:
        return self.blob[int(self.starts[row]) + 1 : int(self.starts[row + 1])]

    def __iter__(self) -> Iterator[str]:
        return iter(self.tolist())

    def tolist(self) -> list[str]:
        """Every name as a new ``str`` (transient: for sorting and per-name regexes)."""
        return self.blob[1:-1].split("\n") if self._n else []

    def take(self, rows: Rows) -> list[str]:
        """The names of ``rows``: their offsets read in one numpy take, not a numpy scalar
        per name (a tenth of the time)."""
        rows = np.asarray(rows, dtype=np.intp)
        blob = self.blob
        starts = (self.starts[rows] + 1).tolist()
        ends = self.starts[rows + 1].tolist()
        return [blob[a:b] for a, b in zip(starts, ends, strict=True)]

    @property
    def nbytes(self) -> int:
        return len(self.blob) + self.starts.nbytes

    def rows_matching(self, body: str, flags: int = 0) -> Rows:
        """Rows whose whole name matches the regular expression ``body``, which must not be
        able to match a newline (the caller builds it, e.g. from a glob)."""
        rx = re.compile("\n(?:" + body + ")(?=\n)", flags)
        hits = [m.start() for m in rx.finditer(self.blob)]
        if not hits:
            return np.zeros(0, dtype=np.intp)
        rows: Rows = np.searchsorted(self.starts, np.array(hits, dtype=np.int64))
        return rows[rows < self._n]  # the empty catalog's blob is "\n\n": no name there

    def rows_equal(self, name: str) -> Rows:
        if "\n" in name:
            return np.zeros(0, dtype=np.intp)
        return self.rows_matching(re.escape(name))

    def rows_with_prefix(self, prefix: str) -> Rows:
        if "\n" in prefix:
            return np.zeros(0, dtype=np.intp)
        return self.rows_matching(re.escape(prefix) + "[^\n]*")


def rows_by_prefix(names: Sequence[str], prefixes: tuple[str, ...]) -> dict[str, list[int]]:
    """For each prefix, the rows whose name starts with it (first matching prefix wins),
    from one scan of the newline-joined names."""
    out: dict[str, list[int]] = {p: [] for p in prefixes}
    if len(names) < 4096:
        for i, n in enumerate(names):
            if n.startswith(prefixes):  # one call per name; which prefix only for hits
                out[next(p for p in prefixes if n.startswith(p))].append(i)
        return out
    blob = "\n" + "\n".join(names)
    rx = re.compile("\n(" + "|".join(map(re.escape, prefixes)) + ")")
    hits = [(m.start(), m.group(1)) for m in rx.finditer(blob)]
    if not hits:
        return out
    lengths = np.fromiter(map(len, names), dtype=np.int64, count=len(names)) + 1
    starts = np.zeros(len(names), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    rows = np.searchsorted(starts, np.array([h[0] for h in hits], dtype=np.int64)).tolist()
    for row, (_, prefix) in zip(rows, hits, strict=True):
        out[prefix].append(row)
    return out


def rows_with_prefix(names: Sequence[str], prefixes: tuple[str, ...]) -> list[int]:
    """Rows whose name starts with one of ``prefixes``, found by one regular-expression
    scan over the newline-joined names (a Python loop costs ~10x more at 1 M rows)."""
    if len(names) < 4096:  # small tables (one module): a plain loop is cheaper
        return [i for i, n in enumerate(names) if n.startswith(prefixes)]
    blob = "\n" + "\n".join(names)
    rx = re.compile("\n(?:" + "|".join(map(re.escape, prefixes)) + ")")
    hits = [m.start() for m in rx.finditer(blob)]
    if not hits:
        return []
    lengths = np.fromiter(map(len, names), dtype=np.int64, count=len(names)) + 1
    starts = np.zeros(len(names), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    rows: list[int] = np.searchsorted(starts, np.array(hits, dtype=np.int64)).tolist()
    return rows


class Columns:
    """A loaded catalog's columns, all of length ``n``, read-only: ``cols.addr`` or
    ``cols["addr"]`` for a stored column (codes for interned strings), ``cols.name`` for the
    packed names."""

    __slots__ = ("_arrays", "n", "name")

    def __init__(self, n: int, name: NameColumn, arrays: Mapping[str, npt.NDArray[Any]]) -> None:
        self.n = n
        self.name = name
        self._arrays = dict(arrays)
        for key, array in self._arrays.items():
            if len(array) != n:
                raise ValueError(f"column {key} has {len(array)} values for {n} rows")
            array.setflags(write=False)
        if len(name) != n:
            raise ValueError(f"name column has {len(name)} names for {n} rows")

    def __getitem__(self, key: str) -> npt.NDArray[Any]:
        return self._arrays[key]

    def __getattr__(self, key: str) -> npt.NDArray[Any]:
        if key.startswith("_"):  # before __init__ (copy, pickle): no recursion
            raise AttributeError(key)
        try:
            return self._arrays[key]
        except KeyError:
            raise AttributeError(key) from None

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        """Every stored column but the names."""
        return dict(self._arrays)
