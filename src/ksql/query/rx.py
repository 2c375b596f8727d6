"""Users' regular expressions (``name~"..."``) under a hard time budget.

Python's ``re`` backtracks: ``([a-z_0-9]+)+!`` runs for minutes over a Module.symvers, and
``re`` cannot be interrupted. The ``regex`` module accepts the same syntax and takes a
``timeout``: a scan that exceeds :func:`budget` stops with a :class:`QuerySyntaxError`
instead of hanging the CLI or the language server. RE2 (``google-re2``) would be linear, but
its Python binding was measured unfit: 12.2 s to search 0.9 M names one by one and 5.5 s to
``findall`` over the joined names, against 0.41 s for ``re`` and 0.37 s here.
"""

from __future__ import annotations

import os
import re
import time
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ksql.errors import QuerySyntaxError
from ksql.values import frozen

if TYPE_CHECKING:  # imported when a query has a ~: ~20 ms of start-up otherwise
    import regex

BUDGET = 1.0  # seconds one regular expression may spend on a catalog
MAX_PATTERN = 1000  # characters
# Something in the pattern that can match a newline, which separates names in the blob.
_NEWLINE_CAPABLE = re.compile(r"\\[sSWDpPXNRhHvVnx0-7]|\[\^|\(\?[a-zA-Z]*s|\n")
# Anchors that mean "start/end of the string": in the blob they would not be a name's.
_STRING_ANCHORS = re.compile(r"\\[AZzG]")
_GLOBAL_FLAGS = re.compile(r"^\(\?[aiLmsux]+\)")


def budget() -> float:
    """Seconds a regular expression may run: ``KSQL_REGEX_TIMEOUT`` or :data:`BUDGET`."""
    try:
        return max(0.01, float(os.environ.get("KSQL_REGEX_TIMEOUT", BUDGET)))
    except ValueError:
        return BUDGET


@frozen
class UserRegex:
    """A compiled user pattern, with the query and column to blame when it fails."""

    pattern: regex.Pattern[str]
    text: str  # the query
    column: int

    def too_slow(self, seconds: float) -> QuerySyntaxError:
        return QuerySyntaxError(
            f"regular expression gave up after {seconds:g} s (nested repeats such as (a+)+ "
            "take exponential time); simplify it, or raise KSQL_REGEX_TIMEOUT",
            self.text,
            self.column,
        )

    def search_all(self, strings: Sequence[str]) -> list[int]:
        """Indexes of the strings the pattern is found in (a small table: modules...)."""
        deadline = time.monotonic() + budget()
        hits = []
        try:
            for i, s in enumerate(strings):
                if self.pattern.search(s, timeout=max(deadline - time.monotonic(), 1e-3)):
                    hits.append(i)
        except TimeoutError:
            raise self.too_slow(budget()) from None
        return hits

    def rows_in_blob(self, blob: str, starts: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
        """Rows of a newline-joined name blob (:class:`~ksql.storage.NameColumn`) whose
        name the pattern is found in: one scan of the blob, each line start tried once."""
        limit = budget()
        deadline = time.monotonic() + limit
        body = self.pattern.pattern
        n = len(starts) - 1
        if _STRING_ANCHORS.search(body):  # \A, \Z: name by name
            names = blob[1:-1].split("\n") if n else []
            return np.array(self.search_all(names), dtype=np.intp)
        flags = _GLOBAL_FLAGS.match(body)
        lead = flags.group() if flags else ""
        scan = _compile(
            f"{lead}(?m)^(?=[^\\n]*?(?:{body[len(lead) :]}))",
            self.pattern.flags,
            self.text,
            self.column,
        )
        try:
            hits = [m.start() for m in scan.finditer(blob, timeout=limit)]
        except TimeoutError:
            raise self.too_slow(limit) from None
        at = np.array(hits, dtype=np.int64)
        at = at[(at > 0) & (at < len(blob))]  # the empty lines around the blob's ends
        rows = np.searchsorted(starts, at - 1).astype(np.intp)
        if len(rows) and _NEWLINE_CAPABLE.search(body):
            # The match may have run past its name into the next: check each hit alone.
            keep = []
            try:
                for r in rows.tolist():
                    name = blob[int(starts[r]) + 1 : int(starts[r + 1])]
                    left = max(deadline - time.monotonic(), 1e-3)
                    keep.append(self.pattern.search(name, timeout=left) is not None)
            except TimeoutError:
                raise self.too_slow(limit) from None
            rows = rows[np.array(keep, dtype=np.bool_)]
        return rows


def compile_user(pattern: str, text: str, column: int, *, ignore_case: bool = False) -> UserRegex:
    """``pattern`` compiled, or a :class:`QuerySyntaxError` at ``column`` saying why."""
    if len(pattern) > MAX_PATTERN:
        raise QuerySyntaxError(
            f"regular expression of {len(pattern)} characters; at most {MAX_PATTERN}", text, column
        )
    import regex

    compiled = _compile(pattern, regex.IGNORECASE if ignore_case else 0, text, column)
    return UserRegex(compiled, text, column)


def _compile(pattern: str, flags: int, text: str, column: int) -> regex.Pattern[str]:
    import regex

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # FutureWarning on nested sets and the like
            compiled: regex.Pattern[str] = regex.compile(pattern, flags | regex.VERSION0)
            return compiled
    except regex.error as exc:
        pos: int | None = getattr(exc, "pos", None)
        message: str = getattr(exc, "msg", str(exc))
        raise QuerySyntaxError(
            f"bad regular expression: {message}", text, column + (pos or 0)
        ) from None
    except (OverflowError, ValueError, RecursionError, MemoryError) as exc:
        message = "too deeply nested" if isinstance(exc, RecursionError) else str(exc)
        raise QuerySyntaxError(f"bad regular expression: {message}", text, column) from None
