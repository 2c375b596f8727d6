"""LSP results written as their JSON, for the one answer sent per keystroke.

A completion list of 100 items built as lsprotocol objects took 0.96 ms (attrs' field
validators on every item) and 0.28 ms more to unstructure through cattrs; the same list
built as dicts takes 0.18 ms and the server's converter passes it through untouched:
json.dumps writes it directly (``bench_lsp.py``'s 1,000 completions, in one process).
:class:`Wire` marks such a result; :func:`converter` is pygls's converter that knows it.
Tests read a :class:`Wire` back through ``converter().structure`` into lsprotocol types,
which also checks that it is a well-formed message.
"""

from __future__ import annotations

from typing import Any

from cattrs import Converter
from lsprotocol import types
from pygls.protocol import default_converter


class Wire(dict[str, Any]):
    """A result that is already the message's JSON (camelCase keys, no None values)."""


def converter() -> Converter:
    """pygls's default converter, passing a :class:`Wire` through as it is."""
    conv: Converter = default_converter()  # type: ignore[no-untyped-call]
    conv.register_unstructure_hook(Wire, _identity)
    return conv


def _identity(value: Wire) -> Wire:
    return value


def position(p: types.Position) -> dict[str, int]:
    return {"line": p.line, "character": p.character}


def range_(r: types.Range) -> dict[str, dict[str, int]]:
    return {"start": position(r.start), "end": position(r.end)}
