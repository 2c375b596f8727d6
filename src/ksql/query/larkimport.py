"""Importing lark without the third-party ``regex`` module.

lark/utils.py imports ``regex`` whenever it is installed (ksql installs it for user
patterns, :mod:`ksql.query.rx`), although lark only uses it for ``Lark(regex=True)``, which
ksql does not ask for: ~20 ms of every query's start-up (``python -X importtime``) for nothing.
"""

from __future__ import annotations

import sys


def lark_without_regex() -> None:
    """Import lark, hiding ``regex`` from it unless something imported it already."""
    if "lark" in sys.modules or "regex" in sys.modules:
        return
    sys.modules["regex"] = None  # type: ignore[assignment]  # import regex -> ImportError
    try:
        import lark  # noqa: F401
    finally:
        del sys.modules["regex"]
