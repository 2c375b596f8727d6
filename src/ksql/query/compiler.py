"""AST -> :class:`Plan`: validates fields, operators and values (errors point at their
column and name the valid choices), then builds a predicate that evaluates a whole column at
a time and returns a boolean mask over the catalog's rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from ksql.catalog import Catalog
from ksql.errors import QuerySyntaxError
from ksql.kernel.modinfo import modinfo_values
from ksql.model import TYPE_LETTERS, Symbol
from ksql.query import ast
from ksql.query.fields import FIELDS, FLAGS, SITE_COLUMNS, Field, ValueKind
from ksql.query.hints import bare_word_hint, did_you_mean
from ksql.query.match import (
    GlobError,
    Mask,
    code_column,
    codes_mask,
    field_table,
    glob_regex,
    is_glob,
    name_equals,
    name_glob,
    name_regex,
    regex_codes,
    string_codes,
    table_codes,
)
from ksql.query.order import sort_rows
from ksql.query.parser import parse
from ksql.query.predicates import FLAG_PREDICATES, Predicate, number_predicate
from ksql.query.rx import UserRegex, compile_user
from ksql.values import frozen

TYPE_LETTERS_LIST = list(TYPE_LETTERS)


@frozen
class Plan:
    """A compiled query: run it on any catalog, as often as wanted."""

    query: ast.Query
    predicate: Predicate | None
    order: tuple[tuple[str, bool], ...]
    limit: int | None

    def mask(self, catalog: Catalog) -> Mask:
        n = len(catalog)
        if self.predicate is None:
            return np.ones(n, dtype=np.bool_)
        return self.predicate(catalog)

    def count(self, catalog: Catalog) -> int:
        """Matching rows, ignoring ``limit``."""
        return int(self.mask(catalog).sum())

    def symbols(self, catalog: Catalog) -> list[Symbol]:
        """The matching rows as :class:`~ksql.model.Symbol` values, in result order."""
        return list(catalog.symbols(self.rows(catalog).tolist()))

    def rows(self, catalog: Catalog) -> npt.NDArray[np.intp]:
        """Matching row numbers, ordered and limited as the query says."""
        rows = np.flatnonzero(self.mask(catalog))
        if self.order:
            rows = sort_rows(catalog, rows, self.order)
        if self.limit is not None:
            rows = rows[: self.limit]
        return rows


def compile_query(text: str) -> Plan:
    """Parse and compile ``text``; raises :class:`QuerySyntaxError`."""
    return compile_ast(parse(text))


def compile_ast(query: ast.Query) -> Plan:
    c = _Compiler(query.text)
    predicate = None if query.where is None else c.expr(query.where)
    order = tuple((c.order_field(k), k.descending) for k in query.order)
    return Plan(query, predicate, order, query.limit)


class _Compiler:
    def __init__(self, text: str) -> None:
        self.text = text

    def error(self, message: str, span: ast.Span, expected: tuple[str, ...] = ()) -> None:
        raise QuerySyntaxError(message, self.text, span.start, expected)

    def expr(self, node: ast.Expr) -> Predicate:
        if isinstance(node, ast.And | ast.Or):
            # a and b and c ... is a left-leaning chain: walk it, do not recurse down it
            parts = [self.expr(n) for n in ast.operands(node)]
            if isinstance(node, ast.And):
                return lambda cat: _fold(parts, cat, np.logical_and)
            return lambda cat: _fold(parts, cat, np.logical_or)
        if isinstance(node, ast.Not):
            negations = 0
            while isinstance(node, ast.Not):
                node, negations = node.operand, negations + 1
            inner = self.expr(node)
            return (lambda cat: ~inner(cat)) if negations % 2 else inner
        if isinstance(node, ast.Flag):
            return FLAG_PREDICATES[node.name]
        if isinstance(node, ast.NameMatch):
            return self.bare_word(node.value)
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Member):
            return self.member(node)
        raise AssertionError(node)

    def bare_word(self, value: ast.Value) -> Predicate:
        """A bare word matches names; one that matches none but is close to a flag, a field
        or a keyword is a typo (``gpl_only``), not a silent empty match."""
        inner = self.string_match("name", "=", value)
        if value.quoted or is_glob(value.text):
            return inner
        hint = bare_word_hint(value.text)
        if not hint:
            return inner
        message = (
            f"no symbol is named {value.text!r} and it is no flag; {hint}"
            f'(quote it to look for the name: name="{value.text}")'
        )
        span = value.span

        def checked(cat: Catalog) -> Mask:
            mask = inner(cat)
            if not mask.any():
                raise QuerySyntaxError(message, self.text, span.start, tuple(FLAGS))
            return mask

        return checked

    def field(self, name: str, span: ast.Span) -> Field:
        f = FIELDS.get(name)
        if f is None:
            hint = did_you_mean(name, list(FIELDS) + list(FLAGS))
            self.error(
                f"unknown field {name!r}; {hint}fields: {', '.join(FIELDS)}",
                span,
                tuple(FIELDS),
            )
            raise AssertionError  # unreachable: error() raises
        return f

    def order_field(self, key: ast.OrderKey) -> str:
        f = self.field(key.field, key.span)
        if not f.column:
            sortable = [name for name, g in FIELDS.items() if g.column]
            self.error(
                f"cannot order by {f.name}, "
                + (
                    "a .modinfo key of the row's module; "
                    if f.kind is ValueKind.MODINFO
                    else "the path of any of the row's sites; "
                )
                + f"order by one of: {', '.join(sortable)}",
                key.span,
                tuple(sortable),
            )
        return f.name

    def compare(self, node: ast.Compare) -> Predicate:
        f = self.field(node.field, node.field_span)
        op, value = node.op, node.value
        if f.kind is ValueKind.NUMBER:
            if op == "~":
                self.error(f"'~' matches text; {f.name} is a number", value.span)
            return number_predicate(f.name, op, self.number(f, value))
        if op in ("<", "<=", ">", ">="):
            self.error(
                f"{op!r} compares numbers (addr, size, crc); {f.name} is not one",
                ast.Span(node.field_span.end, value.span.start),
            )
        negate = op == "!="
        if f.kind in (ValueKind.STRING, ValueKind.SITE):
            inner = self.string_match(f.name, op, value)
        elif f.kind is ValueKind.PATH:
            inner = self.path_match(op, value)
        elif f.kind is ValueKind.MODINFO:
            inner = self.modinfo_match(f.name, op, value)
        elif f.kind is ValueKind.LETTER:
            inner = self.letter(op, value)
        else:
            inner = self.choice(f, op, value)
        if negate:
            return lambda cat: ~inner(cat)
        return inner

    def member(self, node: ast.Member) -> Predicate:
        f = self.field(node.field, node.field_span)
        if len(node.values) > MAX_LIST:
            self.error(f"{len(node.values):,} values in a list; at most {MAX_LIST:,}", node.span)
        literal = [v.text for v in node.values if v.quoted or not is_glob(v.text)]
        if f.name == "name" and len(literal) == len(node.values) > 8:
            wanted = frozenset(literal)  # one pass over the names, not one per value
            return lambda cat: np.fromiter(
                (n in wanted for n in cat.columns().name.tolist()), np.bool_, len(cat)
            )
        parts: list[Predicate] = []
        for value in node.values:
            parts.append(self.compare(ast.Compare(f.name, node.field_span, "=", value, node.span)))

        def any_of(cat: Catalog) -> Mask:
            mask = parts[0](cat)
            for p in parts[1:]:
                mask = mask | p(cat)
            return mask

        return any_of

    def regex(self, value: ast.Value) -> UserRegex:
        return compile_user(value.text, self.text, value.span.start + (1 if value.quoted else 0))

    def glob(self, value: ast.Value, *, fold: bool = False) -> re.Pattern[str]:
        try:
            return glob_regex(value.text, fold=fold)
        except GlobError as exc:
            self.error(f"bad glob: {exc}", value.span)
            raise AssertionError from None

    def string_match(self, field: str, op: str, value: ast.Value) -> Predicate:
        text = value.text
        if op == "~":
            rx = self.regex(value)
            if field == "name":
                return lambda cat: name_regex(cat, rx)
            return lambda cat: codes_mask(code_column(cat, field), regex_codes(cat, field, rx))
        glob = not value.quoted and is_glob(text)
        if glob:
            self.glob(value)  # a bad one is an error now, at its column
        if field == "name":
            if glob:
                return lambda cat: name_glob(cat, text)
            return lambda cat: name_equals(cat, text)
        if field == "module" and not value.quoted:
            text = text.replace("-", "_")  # module names as the kernel spells them
        span, quoted = value.span, value.quoted

        def predicate(cat: Catalog) -> Mask:
            codes = string_codes(cat, field, text, glob)
            if not codes and not glob and not quoted and field != "source":
                # The kernel's names are case-sensitive: DMA_BUF, not dma_buf.
                folded = table_codes(field_table(cat, field), text, glob=False, fold=True)
                if folded:
                    right = field_table(cat, field)[folded[0]]
                    raise QuerySyntaxError(
                        f"no {field} {text!r}; did you mean {right!r}? ({field}s are "
                        "case-sensitive)",
                        self.text,
                        span.start,
                        (right,),
                    )
            return codes_mask(code_column(cat, field), codes)

        return predicate

    def path_match(self, op: str, value: ast.Value) -> Predicate:
        """Rows with a site whose path (the text before ``:line:col``) matches."""
        if op == "~":
            rx = self.regex(value)

            def codes(strings: list[str]) -> list[int]:
                return rx.search_all([_site_path(s) for s in strings])
        else:
            glob = not value.quoted and is_glob(value.text)
            if glob:
                self.glob(value)

            def codes(strings: list[str]) -> list[int]:
                return table_codes([_site_path(s) for s in strings], value.text, glob=glob)

        def predicate(cat: Catalog) -> Mask:
            mask = np.zeros(len(cat), dtype=np.bool_)
            for column in SITE_COLUMNS:
                found = [c for c in codes(cat.table(column).strings) if c]
                mask |= codes_mask(cat.columns()[column], found)
            return mask

        return predicate

    def modinfo_match(self, key: str, op: str, value: ast.Value) -> Predicate:
        """Rows whose module has a ``key`` value matching: one test per module, not row."""
        if op == "~":
            rx = self.regex(value)

            def test(values: list[str]) -> bool:
                return bool(rx.search_all(values))
        elif not value.quoted and is_glob(value.text):
            match = self.glob(value).match

            def test(values: list[str]) -> bool:
                return any(map(match, values))
        else:
            wanted = value.text

            def test(values: list[str]) -> bool:
                return wanted in values

        def predicate(cat: Catalog) -> Mask:
            codes = [
                cat.modules.codes[module]
                for module, info in cat.module_info.items()
                if module in cat.modules.codes and test(modinfo_values(info, key))
            ]
            return codes_mask(cat.columns().module, codes)

        return predicate

    def letter(self, op: str, value: ast.Value) -> Predicate:
        if op == "~":
            letters = [
                ord(TYPE_LETTERS_LIST[i]) for i in self.regex(value).search_all(TYPE_LETTERS_LIST)
            ]
        elif not value.quoted and is_glob(value.text):
            letters = [ord(c) for c in TYPE_LETTERS if self.glob(value).match(c)]
        elif value.text in TYPE_LETTERS:
            letters = [ord(value.text)]
        else:
            self.error(
                f"bad type {value.text!r}: an nm letter, one of {' '.join(TYPE_LETTERS)}",
                value.span,
                tuple(TYPE_LETTERS),
            )
            raise AssertionError
        codes = np.array(letters, dtype=np.uint8)
        return lambda cat: np.isin(cat.columns().type, codes)

    def choice(self, f: Field, op: str, value: ast.Value) -> Predicate:
        choices = list(f.choices)
        if op == "~":
            codes = self.regex(value).search_all(choices)
        else:
            glob = (
                self.glob(value, fold=True).match
                if not value.quoted and is_glob(value.text)
                else None
            )
            codes = [
                code
                for code, label in enumerate(choices)
                if (glob is not None and glob(label))
                or (glob is None and label.lower() == value.text.lower())
            ]
            if not codes and not glob:
                hint = did_you_mean(value.text, choices)
                self.error(
                    f"bad {f.name} {value.text!r}; {hint}choices: {', '.join(choices)}",
                    value.span,
                    tuple(choices),
                )
        column = f.column
        wanted = np.array(codes, dtype=np.uint8)
        return lambda cat: np.isin(cat.columns()[column], wanted)

    def number(self, f: Field, value: ast.Value) -> int:
        text = value.text.strip().lower()
        try:
            n = int(text, 16) if text.startswith("0x") else int(text, 10)
        except ValueError:
            self.error(
                f"{f.name} takes a number (decimal or 0x hex), not {value.text!r}", value.span
            )
            raise AssertionError from None
        if not 0 <= n < 2**64:
            self.error(f"{f.name} {value.text} is out of range", value.span)
        return n


MAX_LIST = 4096  # values in one "in (...)"


def _site_path(site: str) -> str:
    """``drivers/usb/core/hub.c`` of ``drivers/usb/core/hub.c:12:1``."""
    return site.rsplit(":", 2)[0] if site.count(":") >= 2 else site


def _fold(parts: list[Predicate], cat: Catalog, op: Callable[[Mask, Mask], Mask]) -> Mask:
    mask = parts[0](cat)
    for p in parts[1:]:
        mask = op(mask, p(cat))
    return mask
