"""The query AST: frozen dataclasses that carry 1-based column spans, so every later error
can point at the text that caused it. Built by :mod:`ksql.query.parser`, consumed by
:mod:`ksql.query.compiler`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    """Columns ``start`` (1-based, inclusive) to ``end`` (exclusive)."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Value:
    text: str
    quoted: bool
    span: Span


@dataclass(frozen=True, slots=True)
class Flag:
    name: str
    span: Span


@dataclass(frozen=True, slots=True)
class NameMatch:
    """A bare word: matches symbol names (a glob when it has ``*``, ``?`` or ``[``)."""

    value: Value

    @property
    def span(self) -> Span:
        return self.value.span


@dataclass(frozen=True, slots=True)
class Compare:
    field: str
    field_span: Span
    op: str
    value: Value
    span: Span


@dataclass(frozen=True, slots=True)
class Member:
    field: str
    field_span: Span
    values: tuple[Value, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class And:
    left: Expr
    right: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Or:
    left: Expr
    right: Expr
    span: Span


Expr = Flag | NameMatch | Compare | Member | Not | And | Or


@dataclass(frozen=True, slots=True)
class OrderKey:
    field: str
    descending: bool
    span: Span


@dataclass(frozen=True, slots=True)
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
