"""The query AST compiled to a SQL condition over the Parquet schema of :mod:`ksql.history.arrow`
(columns named by query field), for DuckDB: the second backend next to the numpy
compiler (:mod:`ksql.query.compiler`), which still validates every field and value first
so both backends refuse the same queries with the same errors.

Semantics follow the numpy compiler: an unknown value never matches a comparison (a leaf
that is NULL is false, so ``not addr=0x10`` holds for a row without address), a string
field that is unknown is the empty string (``namespace=""`` matches exports without
one), ``module=usb-storage`` means ``usb_storage``. ``.modinfo`` keys are not in the dataset:
querying one is an error.
"""

from __future__ import annotations

import re

from ksql.errors import QuerySyntaxError
from ksql.model import TYPE_LETTERS, ExportKind
from ksql.query import ast
from ksql.query.compiler import compile_ast
from ksql.query.fields import FIELDS, SITE_COLUMNS, ValueKind
from ksql.query.match import GLOB_CHARS, is_glob
from ksql.query.parser import parse

_PUBLIC_BINDS = {"global": "global", "local": "local", "weak": "weak"}


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _in(column: str, values: list[str]) -> str:
    if not values:
        return "false"
    return f"{column} IN ({', '.join(map(_lit, values))})"


FLAG_SQL: dict[str, str] = {
    "exported": "export <> 'none'",
    "gpl": _in("export", [k.label for k in ExportKind if k.gpl_only]),
    "defined": "NOT undefined",
    "undefined": "undefined",
    "global": "bind = 'global'",
    "local": "bind = 'local'",
    "weak": "bind = 'weak'",
    "function": "kind = 'function'",
    "data": "kind IN ('object', 'common', 'tls')",
}


def glob_to_re2(glob: str) -> str:
    """A glob (``*``, ``?``, ``[abc]``, ``[!abc]``) as an RE2 pattern for a full match."""
    out = []
    i = 0
    while i < len(glob):
        c = glob[i]
        i += 1
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "[" and "]" in glob[i + 1 :] + glob[i : i + 1]:
            j = glob.index("]", i + 1 if glob[i : i + 1] in ("]", "!", "^") else i)
            body = glob[i:j]
            negate = body[:1] in ("!", "^")
            body = body[1:] if negate else body
            inner = "".join(ch if ch == "-" else re.escape(ch) for ch in body)
            out.append(f"[{'^' if negate else ''}{inner}]")
            i = j + 1
        else:
            out.append(re.escape(c))
    return "".join(out)


def _like(glob: str) -> str:
    return "".join("\\" + c if c in "%_\\" else {"*": "%", "?": "_"}.get(c, c) for c in glob)


class _SqlCompiler:
    def __init__(self, text: str) -> None:
        self.text = text

    def expr(self, node: ast.Expr) -> str:
        if isinstance(node, ast.And | ast.Or):
            word = " AND " if isinstance(node, ast.And) else " OR "
            return "(" + word.join(self.expr(n) for n in ast.operands(node)) + ")"
        if isinstance(node, ast.Not):
            return f"(NOT {self.expr(node.operand)})"
        if isinstance(node, ast.Flag):
            return f"coalesce({FLAG_SQL[node.name]}, false)"
        if isinstance(node, ast.NameMatch):
            return self.string("name", "=", node.value)
        if isinstance(node, ast.Compare):
            return self.compare(node.field, node.op, node.value)
        if isinstance(node, ast.Member):
            return "(" + " OR ".join(self.compare(node.field, "=", v) for v in node.values) + ")"
        raise AssertionError(node)

    def compare(self, field: str, op: str, value: ast.Value) -> str:
        f = FIELDS[field]
        if f.kind is ValueKind.MODINFO:
            raise QuerySyntaxError(
                f"{field} is a .modinfo key, which the Parquet dataset does not hold",
                self.text,
                value.span.start,
            )
        if f.kind is ValueKind.NUMBER:
            text = value.text.strip().lower()
            n = int(text, 16) if text.startswith("0x") else int(text, 10)
            sql_op = {"=": "="}.get(op, op)
            return f"coalesce({field} {sql_op} {n}, false)"
        inner = self.string(field, "=" if op == "!=" else op, value)
        return f"(NOT {inner})" if op == "!=" else inner

    def string(self, field: str, op: str, value: ast.Value) -> str:
        f = FIELDS[field]
        text = value.text
        if f.kind is ValueKind.LETTER:
            return self.letters(op, value)
        if f.kind is ValueKind.CHOICE:
            return self.choice(field, op, value)
        if field == "module" and not value.quoted:
            text = text.replace("-", "_")
        if f.kind is ValueKind.PATH:
            parts = [
                self.match(
                    f"regexp_replace(coalesce({c}, ''), ':[0-9]+:[0-9]+$', '')", op, value, text
                )
                for c in SITE_COLUMNS
            ]
            return "(" + " OR ".join(parts) + ")"
        if field == "source":
            test = self.match("x", op, value, text)
            return f"coalesce(len(list_filter(source, lambda x: {test})) > 0, false)"
        return self.match(f"coalesce({field}::VARCHAR, '')", op, value, text)

    def match(self, column: str, op: str, value: ast.Value, text: str) -> str:
        if op == "~":
            return f"regexp_matches({column}, {_lit(text)})"
        if not value.quoted and is_glob(text):
            if "[" in text:
                return f"regexp_full_match({column}, {_lit(glob_to_re2(text))})"
            return f"{column} LIKE {_lit(_like(text))} ESCAPE '\\'"
        return f"{column} = {_lit(text)}"

    def letters(self, op: str, value: ast.Value) -> str:
        if op == "~":
            rx = re.compile(value.text)
            letters = [c for c in TYPE_LETTERS if rx.search(c)]
        elif not value.quoted and any(c in GLOB_CHARS for c in value.text):
            rx = re.compile(glob_to_re2(value.text) + r"\Z")
            letters = [c for c in TYPE_LETTERS if rx.match(c)]
        else:
            letters = [value.text]
        return f"coalesce({_in('type', letters)}, false)"

    def choice(self, field: str, op: str, value: ast.Value) -> str:
        choices = list(FIELDS[field].choices)
        if op == "~":
            rx = re.compile(value.text)
            picked = [c for c in choices if rx.search(c)]
        elif not value.quoted and is_glob(value.text):
            rx = re.compile(glob_to_re2(value.text) + r"\Z", re.I)
            picked = [c for c in choices if rx.match(c)]
        else:
            picked = [c for c in choices if c.lower() == value.text.lower()]
        return f"coalesce({_in(field, picked)}, false)"


def compile_sql(text: str) -> tuple[str, int | None]:
    """The WHERE condition of ``text`` (``true`` for an empty query) and its ``limit``;
    QuerySyntaxError as the numpy compiler raises it, or for what SQL cannot say here."""
    query = parse(text)
    compile_ast(query)  # the one validation of fields, operators and values
    if query.order:
        key = query.order[0]
        raise QuerySyntaxError(
            "history results are ordered by kernel or name; drop 'order by'",
            text,
            key.span.start,
        )
    where = "true" if query.where is None else _SqlCompiler(text).expr(query.where)
    return where, query.limit
