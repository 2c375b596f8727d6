"""The query AST: frozen dataclasses that carry 1-based column spans, so every later error
can point at the text that caused it. Built by :mod:`ksql.query.parser`, consumed by
:mod:`ksql.query.compiler`.
"""

from __future__ import annotations

from ksql.values import frozen


@frozen
class Span:
    """Columns ``start`` (1-based, inclusive) to ``end`` (exclusive)."""

    start: int
    end: int


@frozen
class Value:
    text: str
    quoted: bool
    span: Span


@frozen
class Flag:
    name: str
    span: Span


@frozen
class NameMatch:
    """A bare word: matches symbol names (a glob when it has ``*``, ``?`` or ``[``)."""

    value: Value

    @property
    def span(self) -> Span:
        return self.value.span


@frozen
class Compare:
    field: str
    field_span: Span
    op: str
    value: Value
    span: Span


@frozen
class Member:
    field: str
    field_span: Span
    values: tuple[Value, ...]
    span: Span


@frozen
class Not:
    operand: Expr
    span: Span


@frozen
class And:
    left: Expr
    right: Expr
    span: Span


@frozen
class Or:
    left: Expr
    right: Expr
    span: Span


Expr = Flag | NameMatch | Compare | Member | Not | And | Or


@frozen
class OrderKey:
    field: str
    descending: bool
    span: Span


@frozen
class Query:
    text: str
    where: Expr | None
    order: tuple[OrderKey, ...] = ()
    limit: int | None = None


def operands(node: And | Or) -> list[Expr]:
    """The operands of a chain of ``and`` (or ``or``) nodes, left to right, without
    recursion (a chain may be thousands long)."""
    out: list[Expr] = []
    stack: list[Expr] = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, type(node)):
            stack.extend((n.right, n.left))
        else:
            out.append(n)
    return out
