"""Query text as highlighted tokens, from the grammar's own terminals (lark's basic lexer
over grammar/ksql.lark): keywords, operators, strings, punctuation, and words classed by the
query language's vocabulary (field, flag, number, name). Never raises: text the grammar
cannot lex is one "error" token."""

from __future__ import annotations

import functools
import re

from lark import Lark
from lark.exceptions import LarkError

from ksql.query.fields import FIELDS, FLAGS

_KEYWORDS = {"AND", "OR", "NOT", "IN", "ORDER", "BY", "LIMIT", "DIRECTION"}
_NUMBER = re.compile(r"(0[xX][0-9a-fA-F]+|\d+)")


@functools.cache
def _lexer() -> Lark:
    return Lark.open_from_package("ksql.grammar", "ksql.lark", parser="lalr", lexer="basic")


def classify(terminal: str, text: str) -> str:
    if terminal in _KEYWORDS:
        return "keyword"
    if terminal == "OPERATOR":
        return "operator"
    if terminal == "STRING":
        return "string"
    if terminal in ("LPAR", "RPAR", "COMMA"):
        return "punctuation"
    if terminal == "WORD":
        low = text.lower()
        if low in FIELDS:
            return "field"
        if low in FLAGS:
            return "flag"
        if _NUMBER.fullmatch(text):
            return "number"
        return "name"
    return "text"


def tokens(text: str) -> list[tuple[str, str]]:
    """(class, text) pairs covering ``text`` exactly, spaces included."""
    out: list[tuple[str, str]] = []
    pos = 0
    try:
        for tok in _lexer().lex(text):
            start = tok.start_pos or 0
            if start > pos:
                out.append(("text", text[pos:start]))
            out.append((classify(tok.type, str(tok)), str(tok)))
            pos = start + len(str(tok))
    except LarkError:
        pass
    if pos < len(text):
        rest = text[pos:]
        out.append(("text" if not rest.strip() else "error", rest))
    return out
