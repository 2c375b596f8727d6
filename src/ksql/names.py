"""The name column of a loaded catalog: every name in one newline-separated string plus an
offset array, instead of one Python string per row.

A million ``str`` objects cost ~70 bytes each and, worse, pin the allocator arenas the
parsers filled with short-lived tokens, so RSS stays at the parse peak. One string costs the
name's length plus one byte, and regular expressions scan it at C speed: equality, globs and
prefixes become ``finditer`` over the blob.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import numpy as np
import numpy.typing as npt

Rows = npt.NDArray[np.intp]


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
        blob = "\n" + "\n".join(names) + "\n"
        starts = np.zeros(len(names) + 1, dtype=np.int64)
        if len(names):
            lengths = np.fromiter(map(len, names), dtype=np.int64, count=len(names)) + 1
            np.cumsum(lengths, out=starts[1:])
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
        return [self[int(r)] for r in rows]

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
        return rows

    def rows_equal(self, name: str) -> Rows:
        if "\n" in name:
            return np.zeros(0, dtype=np.intp)
        return self.rows_matching(re.escape(name))

    def rows_with_prefix(self, prefix: str) -> Rows:
        if "\n" in prefix:
            return np.zeros(0, dtype=np.intp)
        return self.rows_matching(re.escape(prefix) + "[^\n]*")
