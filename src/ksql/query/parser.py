"""Query text -> :class:`~ksql.query.ast.Query`. The only module that sees Lark and its
errors: every syntax error leaves here as one :class:`~ksql.errors.QuerySyntaxError` with a
1-based column and the tokens that would have been accepted.
"""

from __future__ import annotations

import functools
import re

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from ksql.errors import QuerySyntaxError
from ksql.query import ast
from ksql.query.fields import FLAGS

# How each terminal reads in "expected ..." messages.
TERMINALS: dict[str, str] = {
    "WORD": "a word",
    "STRING": "a quoted string",
    "OPERATOR": "an operator (= != < <= > >= ~)",
    "AND": "'and'",
    "OR": "'or'",
    "NOT": "'not'",
    "IN": "'in'",
    "ORDER": "'order by'",
    "BY": "'by'",
    "LIMIT": "'limit'",
    "DIRECTION": "'asc' or 'desc'",
    "LPAR": "'('",
    "RPAR": "')'",
    "COMMA": "','",
    "$END": "end of query",
}
_ORDER = list(TERMINALS)
_ESCAPE = re.compile(r"\\(.)")


@functools.cache
def _lark() -> Lark:
    return Lark.open_from_package(
        "ksql.grammar", "ksql.lark", parser="lalr", propagate_positions=True, cache=True
    )


def parse(text: str) -> ast.Query:
    """Parse ``text``; raises :class:`QuerySyntaxError`."""
    if "\n" in text or "\r" in text:
        col = min(i for i in (text.find("\n"), text.find("\r")) if i >= 0) + 1
        raise QuerySyntaxError("a query is one line", text.replace("\n", " "), col)
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(text, exc) from None
    return _build(text, tree)


def _describe(names: set[str] | frozenset[str]) -> tuple[str, ...]:
    known = sorted((n for n in names if n in TERMINALS), key=_ORDER.index)
    return tuple(TERMINALS[n] for n in known)


def _syntax_error(text: str, exc: UnexpectedInput) -> QuerySyntaxError:
    if isinstance(exc, UnexpectedToken):
        tok = exc.token
        expected = _describe(exc.expected)
        if tok.type == "$END":
            column, got = len(text) + 1, "end of query"
        else:
            column, got = tok.column or 1, repr(str(tok))
        return QuerySyntaxError(
            f"unexpected {got}; expected {_join(expected)}", text, column, expected
        )
    if isinstance(exc, UnexpectedCharacters):
        column = exc.column
        char = text[column - 1] if 0 < column <= len(text) else ""
        expected = _describe(exc.allowed or set())
        if char in "\"'":
            return QuerySyntaxError("unterminated quoted string", text, column, expected)
        return QuerySyntaxError(
            f"unexpected character {char!r}; expected {_join(expected)}", text, column, expected
        )
    return QuerySyntaxError(f"cannot parse the query: {exc}", text, 1)


def _join(items: tuple[str, ...]) -> str:
    if not items:
        return "nothing more"
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " or " + items[-1]


def _span_of(tok: Token) -> ast.Span:
    start = tok.column or 1
    return ast.Span(start, start + len(str(tok)))


def _tree_span(node: Tree[Token] | Token) -> ast.Span:
    if isinstance(node, Token):
        return _span_of(node)
    meta = node.meta
    return ast.Span(meta.column, meta.end_column)


def _value(node: Tree[Token]) -> ast.Value:
    tok = node.children[0]
    assert isinstance(tok, Token)
    if tok.type == "STRING":
        return ast.Value(_ESCAPE.sub(r"\1", str(tok)[1:-1]), True, _span_of(tok))
    return ast.Value(str(tok), False, _span_of(tok))


def _expr(node: Tree[Token]) -> ast.Expr:
    kind = node.data
    kids = node.children
    span = _tree_span(node)
    if kind == "group":
        inner = kids[1]
        assert isinstance(inner, Tree)
        return _expr(inner)
    if kind in ("or_", "and_"):
        left, right = kids[0], kids[2]
        assert isinstance(left, Tree) and isinstance(right, Tree)
        cls = ast.Or if kind == "or_" else ast.And
        return cls(_expr(left), _expr(right), span)
    if kind == "not_":
        operand = kids[1]
        assert isinstance(operand, Tree)
        return ast.Not(_expr(operand), span)
    if kind == "compare":
        field, op, value = kids
        assert isinstance(field, Token) and isinstance(op, Token) and isinstance(value, Tree)
        return ast.Compare(str(field).lower(), _span_of(field), str(op), _value(value), span)
    if kind == "member":
        field = kids[0]
        assert isinstance(field, Token)
        values = tuple(_value(k) for k in kids if isinstance(k, Tree))
        return ast.Member(str(field).lower(), _span_of(field), values, span)
    if kind == "word":
        inner = kids[0]
        assert isinstance(inner, Tree)
        word = _value(inner)
        if not word.quoted and word.text.lower() in FLAGS:
            return ast.Flag(word.text.lower(), word.span)
        return ast.NameMatch(word)
    raise AssertionError(f"unknown node {kind}")


def _build(text: str, tree: Tree[Token]) -> ast.Query:
    where_node, order_node, limit_node = tree.children
    where = _expr(where_node) if isinstance(where_node, Tree) else None
    order: list[ast.OrderKey] = []
    if isinstance(order_node, Tree):
        for key in order_node.children:
            if isinstance(key, Tree):
                field, direction = key.children
                assert isinstance(field, Token)
                desc = isinstance(direction, Token) and str(direction).lower() == "desc"
                order.append(ast.OrderKey(str(field).lower(), desc, _tree_span(key)))
    limit = None
    if isinstance(limit_node, Tree):
        tok = limit_node.children[1]
        assert isinstance(tok, Token)
        if not str(tok).isdigit():
            raise QuerySyntaxError(
                f"limit takes a whole number, not {str(tok)!r}",
                text,
                tok.column or 1,
                ("a number",),
            )
        limit = int(str(tok))
    return ast.Query(text, where, tuple(order), limit)
