"""Query text as highlighted tokens, from the grammar's own lexer and vocabulary
(:func:`ksql.query.parser.lex`, :func:`~ksql.query.parser.vocabulary`): keywords, operators,
strings, punctuation, and words classed by the query language's fields and flags (field,
flag, number, name). Never raises: text the grammar cannot lex is one "error" token."""

from __future__ import annotations

import re

from ksql.query.fields import FIELDS, FLAGS
from ksql.query.parser import lex, vocabulary

_NUMBER = re.compile(r"(0[xX][0-9a-fA-F]+|\d+)")


def classify(terminal: str, text: str) -> str:
    vocab = vocabulary()
    if terminal in vocab.keywords:
        return "keyword"
    if terminal in vocab.operators:
        return "operator"
    if terminal in vocab.literals:
        return "punctuation"
    if terminal == "STRING":
        return "string"
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
    found, end = lex(text)
    for tok in found:
        if tok.start > pos:
            out.append(("text", text[pos : tok.start]))
        out.append((classify(tok.terminal, tok.text), tok.text))
        pos = tok.start + len(tok.text)
    if pos < end:
        out.append(("text", text[pos:end]))
    if end < len(text):
        out.append(("error", text[end:]))
    return out
