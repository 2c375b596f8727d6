"""A BTF string section (``include/uapi/linux/btf.h``: ``str_off``/``str_len``): NUL-terminated
strings addressed by byte offset, an offset into the middle of a string naming its tail.

Names are sliced out of the section on demand, never all split up front. Kernel BTF strings
are ASCII, so the section is decoded once (a copy at C speed) and a name is a ``str`` slice
up to the next NUL; other bytes are decoded per string (UTF-8, undecodable bytes kept as
surrogates). Measured on the running kernel's vmlinux BTF (2.9 MB of strings): decoding and
splitting every string up front and binary-searching offsets cost 40 ms before the first
name, the 126,699 type names 49 ms more; slicing costs 0.1-0.2 us a name.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ksql.errors import SourceError


class Strings:
    """The strings of one section whose first byte has offset ``start`` (a split blob's
    strings continue its base's offsets)."""

    __slots__ = ("_nul", "_raw", "_start", "_text", "path")

    def __init__(self, path: str, raw: bytes, start: int) -> None:
        self.path = path
        self._raw = raw
        self._start = start
        self._text: str | None = raw.decode("ascii") if raw.isascii() else None
        self._nul: npt.NDArray[np.intp] | None = None

    def _bad(self, off: int) -> SourceError:
        return SourceError(self.path, f"string offset {off} is past the string section")

    def one(self, off: int) -> str:
        """The string at ``off``."""
        rel = off - self._start
        if not 0 <= rel < len(self._raw):
            raise self._bad(off)
        text = self._text
        if text is not None:  # the section ends with a NUL (checked by the reader)
            return text[rel : text.index("\0", rel)]
        raw = self._raw
        return raw[rel : raw.index(b"\0", rel)].decode("utf-8", "surrogateescape")

    def many(self, offs: npt.NDArray[np.integer[Any]]) -> list[str]:
        """The strings at many offsets: where each ends found with numpy, then one slice a
        string."""
        rel = np.asarray(offs, np.int64) - self._start
        if len(rel) and (int(rel.min()) < 0 or int(rel.max()) >= len(self._raw)):
            raise self._bad(int(offs[(rel < 0) | (rel >= len(self._raw))][0]))
        nul = self._nul
        if nul is None:
            nul = self._nul = np.flatnonzero(np.frombuffer(self._raw, np.uint8) == 0)
        ends = nul[np.searchsorted(nul, rel)].tolist()
        text = self._text
        if text is not None:
            return [text[a:b] for a, b in zip(rel.tolist(), ends, strict=True)]
        raw = self._raw
        return [
            raw[a:b].decode("utf-8", "surrogateescape")
            for a, b in zip(rel.tolist(), ends, strict=True)
        ]
