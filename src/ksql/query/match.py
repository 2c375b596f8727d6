"""Matching values against catalog columns: globs, regular expressions and exact strings,
evaluated a column at a time (numpy masks) and through the name index where one is built.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ksql.catalog import Catalog

Mask = npt.NDArray[np.bool_]
GLOB_CHARS = frozenset("*?[")


def is_glob(text: str) -> bool:
    return any(c in GLOB_CHARS for c in text)


def glob_to_regex(glob: str, *, one_line: bool = False) -> str:
    """fnmatch-style ``*``, ``?``, ``[abc]``, ``[!abc]`` as a regular expression body.
    With ``one_line``, no part can match a newline (for the newline-joined name blob)."""
    any_char = "[^\n]" if one_line else "."
    out: list[str] = []
    i, n = 0, len(glob)
    while i < n:
        c = glob[i]
        i += 1
        if c == "*":
            out.append(any_char + "*")
        elif c == "?":
            out.append(any_char)
        elif c == "[":
            j = i
            if j < n and glob[j] in "!^":
                j += 1
            if j < n and glob[j] == "]":
                j += 1
            while j < n and glob[j] != "]":
                j += 1
            if j >= n:
                out.append(re.escape(c))
                continue
            body = glob[i:j].replace("\\", "\\\\")
            i = j + 1
            if body[:1] in ("!", "^"):
                body = "^" + ("\n" if one_line else "") + body[1:]
            out.append(f"[{body}]")
        else:
            out.append(re.escape(c))
    return "".join(out)


def glob_regex(glob: str) -> re.Pattern[str]:
    return re.compile(glob_to_regex(glob) + r"\Z", re.DOTALL)


def table_codes(strings: Sequence[str], text: str, *, glob: bool, fold: bool = False) -> list[int]:
    """Codes of the table entries equal to ``text`` (or matching it as a glob)."""
    if glob:
        rx = re.compile(glob_to_regex(text) + r"\Z", re.DOTALL | (re.I if fold else 0))
        return [i for i, s in enumerate(strings) if rx.match(s)]
    if fold:
        low = text.lower()
        return [i for i, s in enumerate(strings) if s.lower() == low]
    return [i for i, s in enumerate(strings) if s == text]


def regex_codes(strings: Sequence[str], rx: re.Pattern[str]) -> list[int]:
    return [i for i, s in enumerate(strings) if rx.search(s)]


def codes_mask(column: npt.NDArray[np.uint32], codes: list[int]) -> Mask:
    if not codes:
        return np.zeros(len(column), dtype=np.bool_)
    if len(codes) == 1:
        mask: Mask = column == codes[0]
        return mask
    return np.isin(column, np.array(codes, dtype=column.dtype))


def _mask(n: int, rows: npt.NDArray[np.intp]) -> Mask:
    mask = np.zeros(n, dtype=np.bool_)
    mask[rows] = True
    return mask


def name_equals(catalog: Catalog, text: str) -> Mask:
    return _mask(len(catalog), catalog.rows_named(text))


def name_glob(catalog: Catalog, glob: str) -> Mask:
    cols = catalog.columns()
    prefix = _literal_prefix(glob)
    order = catalog.cached_name_order()
    if order is not None and prefix and prefix + "*" == glob:
        names = cols.name
        lo = bisect_left(order, prefix, key=names.__getitem__)
        hi = bisect_left(order, prefix + "\U0010ffff", key=names.__getitem__)
        return _mask(cols.n, order[lo:hi])
    return _mask(cols.n, cols.name.rows_matching(glob_to_regex(glob, one_line=True)))


def name_regex(catalog: Catalog, rx: re.Pattern[str]) -> Mask:
    names = catalog.columns().name.tolist()
    search = rx.search
    return np.fromiter((search(n) is not None for n in names), dtype=np.bool_, count=len(names))


def _literal_prefix(glob: str) -> str:
    for i, c in enumerate(glob):
        if c in GLOB_CHARS:
            return glob[:i]
    return glob
