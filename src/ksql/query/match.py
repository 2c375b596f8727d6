"""Matching values against catalog columns: globs, regular expressions and exact strings,
evaluated a column at a time (numpy masks) and through the name index where one is built.
"""

from __future__ import annotations

import itertools
import re
from bisect import bisect_left
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ksql.catalog import Catalog
from ksql.query.fields import FIELDS
from ksql.query.rx import UserRegex

Mask = npt.NDArray[np.bool_]
GLOB_CHARS = frozenset("*?[")


def is_glob(text: str) -> bool:
    return any(c in GLOB_CHARS for c in text)


MAX_GLOB = 1000  # characters


class GlobError(ValueError):
    """A glob that cannot be matched: a bad ``[...]`` range, or one too long."""


def glob_to_regex(glob: str, *, one_line: bool = False) -> str:
    """fnmatch-style ``*``, ``?``, ``[abc]``, ``[!abc]`` as a regular expression body that
    matches in linear time: runs of ``*`` collapse, and each ``*X`` but the last becomes an
    atomic ``(?>.*?X)`` that never backtracks into an earlier star (as CPython's
    ``fnmatch.translate`` does since 3.11: bpo-40480), so ``*a*a*a*b`` is no longer
    exponential. With ``one_line``, no part can match a newline (for the name blob)."""
    if len(glob) > MAX_GLOB:
        raise GlobError(f"{len(glob)} characters; at most {MAX_GLOB}")
    any_char = "[^\n]" if one_line else "."
    atoms: list[str] = []  # "*" or one regex atom
    i, n = 0, len(glob)
    while i < n:
        c = glob[i]
        i += 1
        if c == "*":
            if not atoms or atoms[-1] != "*":
                atoms.append("*")
        elif c == "?":
            atoms.append(any_char)
        elif c == "[":
            j = i
            if j < n and glob[j] in "!^":
                j += 1
            if j < n and glob[j] == "]":
                j += 1
            while j < n and glob[j] != "]":
                j += 1
            if j >= n:
                atoms.append(re.escape(c))
                continue
            raw = glob[i:j]
            i = j + 1
            negate = raw[:1] in ("!", "^")
            # Every character literal but range dashes: "[", "&&", "||", "~~" and "--" would
            # be read as nested sets or set operations (and warn).
            body = "".join(c if c == "-" else re.escape(c) for c in raw[negate:])
            body = body.replace("--", "-\\-")
            if negate:
                body = "^" + ("\n" if one_line else "") + body
            atom = f"[{body}]"
            try:
                re.compile(atom)
            except re.error as exc:
                raise GlobError(f"[{raw}]: {exc.msg}") from None
            atoms.append(atom)
        else:
            atoms.append(re.escape(c))
    return _linear(atoms, any_char)


def _linear(atoms: list[str], any_char: str) -> str:
    stars = [k for k, a in enumerate(atoms) if a == "*"]
    if len(stars) <= 2:  # at most quadratic in a name's length: the plain form is faster
        return "".join(f"{any_char}*" if a == "*" else a for a in atoms)
    out = "".join(atoms[: stars[0]])
    for a, b in itertools.pairwise(stars):  # *X*: X found lazily, then kept
        out += f"(?>{any_char}*?{''.join(atoms[a + 1 : b])})"
    return out + f"{any_char}*" + "".join(atoms[stars[-1] + 1 :])


def glob_regex(glob: str, *, fold: bool = False) -> re.Pattern[str]:
    return re.compile(glob_to_regex(glob) + r"\Z", re.DOTALL | (re.I if fold else 0))


def table_codes(strings: Sequence[str], text: str, *, glob: bool, fold: bool = False) -> list[int]:
    """Codes of the table entries equal to ``text`` (or matching it as a glob)."""
    if glob:
        rx = glob_regex(text, fold=fold)
        return [i for i, s in enumerate(strings) if rx.match(s)]
    if fold:
        low = text.lower()
        return [i for i, s in enumerate(strings) if s.lower() == low]
    return [i for i, s in enumerate(strings) if s == text]


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


def name_regex(catalog: Catalog, rx: UserRegex) -> Mask:
    names = catalog.columns().name
    return _mask(len(catalog), rx.rows_in_blob(names.blob, names.starts))


def _literal_prefix(glob: str) -> str:
    for i, c in enumerate(glob):
        if c in GLOB_CHARS:
            return glob[:i]
    return glob


# -- a field's column and its table of strings ----------------------------------------------


def code_column(cat: Catalog, field: str) -> npt.NDArray[np.uint32]:
    """The codes of an interned field (module, namespace, a site...), one per row."""
    col: npt.NDArray[np.uint32] = cat.columns()[FIELDS[field].column]
    return col


def field_table(cat: Catalog, field: str) -> list[str]:
    """The strings those codes stand for (``source``: the sources' labels)."""
    if field == "source":
        return cat.source_labels.strings
    return cat.table(FIELDS[field].column).strings


def string_codes(cat: Catalog, field: str, text: str, glob: bool) -> list[int]:
    """The codes of the field's strings equal to ``text`` or matching it as a glob."""
    codes = table_codes(field_table(cat, field), text, glob=glob)
    return cat.source_codes_matching(set(codes)) if field == "source" else codes


def regex_codes(cat: Catalog, field: str, rx: UserRegex) -> list[int]:
    """The codes of the field's strings ``rx`` finds a match in."""
    codes = rx.search_all(field_table(cat, field))
    return cat.source_codes_matching(set(codes)) if field == "source" else codes
