"""What may come next at a cursor in a query: keywords, fields, flags, operators, and values
from the loaded catalog (modules, nm letters, namespaces, export kinds, symbol names from the
sorted name index). Shared by the REPL and the language server; works on incomplete text,
so it tokenizes leniently instead of parsing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ksql.catalog import Catalog
from ksql.model import TYPE_LETTERS, ExportKind
from ksql.query.fields import FIELDS, FLAGS, OPERATORS, ValueKind

NAMES = 50  # symbol names offered at most
_TOKEN = re.compile(
    r"""(?P<string>"(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?)"""
    r"""|(?P<op>!=|<=|>=|=|<|>|~)|(?P<punct>[(),])|(?P<word>[^\s()"',=!<>~]+)|(?P<space>\s+)"""
)
_KEYWORDS_AFTER_ATOM = ("and", "or", "order by", "limit")


@dataclass(frozen=True, slots=True)
class Candidate:
    text: str
    kind: str  # "keyword", "field", "flag", "operator", "value", "name"
    meta: str = ""


@dataclass(frozen=True, slots=True)
class Completions:
    start: int  # where the replaced word begins (0-based offset in the text)
    candidates: list[Candidate]


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup or "word"
        if kind != "space":
            out.append((kind, m.group(), m.start()))
    return out


def complete(text: str, cursor: int, catalog: Catalog | None = None) -> Completions:
    before = text[:cursor]
    tokens = _tokens(before)
    prefix, start = "", cursor
    if (
        tokens
        and tokens[-1][0] in ("word", "string")
        and tokens[-1][2] + len(tokens[-1][1]) == cursor
    ):
        kind, prefix, start = tokens.pop()
        if kind == "string" and not (tokens and tokens[-1][0] == "op"):
            return Completions(start, [])
    words = [t[1].lower() for t in tokens]
    ctx = _context(tokens, words)
    cands = _candidates(ctx, prefix, catalog)
    low = prefix.lower()
    low = low.lstrip("\"'")
    picked = [c for c in cands if c.text.lower().lstrip('"').startswith(low)] if low else cands
    return Completions(start, picked)


@dataclass(frozen=True, slots=True)
class _Context:
    what: str  # "start", "after-atom", "operator", "value", "order-field", "after-order-key",
    # "after-order", "none"
    field: str = ""


def _context(tokens: list[tuple[str, str, int]], words: list[str]) -> _Context:
    if not tokens:
        return _Context("start")
    kind, last, _ = tokens[-1]
    low = words[-1]
    if "order" in words:
        i = len(words) - 1 - words[::-1].index("order")
        tail = words[i + 1 :]
        if not tail:
            return _Context("after-order")
        if "limit" in tail:
            return _Context("none")
        if tail[-1] in ("by", ","):
            return _Context("order-field")
        return _Context("after-order-key")
    if low == "limit":
        return _Context("none")
    if kind == "op":
        field = words[-2] if len(words) >= 2 else ""
        return _Context("value", field)
    if low in ("and", "or", "not") or (last == "(" and (len(words) < 2 or words[-2] != "in")):
        return _Context("start")
    # field in ( a, b, |
    depth = 0
    for j in range(len(tokens) - 1, -1, -1):
        t = tokens[j][1]
        if t == ")":
            depth += 1
        elif t == "(":
            if depth == 0:
                if j >= 2 and words[j - 1] == "in":
                    if last in ("(", ","):
                        return _Context("value", words[j - 2])
                    return _Context("none")
                break
            depth -= 1
    if low in FIELDS and kind == "word":
        return _Context("operator", low)
    return _Context("after-atom")


def _candidates(ctx: _Context, prefix: str, catalog: Catalog | None) -> list[Candidate]:
    if ctx.what == "start":
        out = [Candidate("not", "keyword"), Candidate("(", "keyword")]
        out += [Candidate(f, "field", FIELDS[f].help) for f in FIELDS]
        out += [Candidate(f, "flag", FLAGS[f]) for f in FLAGS]
        if catalog is not None and prefix:
            out += [Candidate(n, "name") for n in _names(catalog, prefix)]
        return out
    if ctx.what == "after-atom":
        return [Candidate(k, "keyword") for k in _KEYWORDS_AFTER_ATOM]
    if ctx.what == "operator":
        numeric = FIELDS[ctx.field].kind is ValueKind.NUMBER
        ops = [o for o in OPERATORS if o != "~"] if numeric else ["=", "!=", "~"]
        return [Candidate(o, "operator") for o in ops] + [Candidate("in", "keyword")]
    if ctx.what == "value":
        return [Candidate(_quoted(v), "value") for v in _values(ctx.field, prefix, catalog)]
    if ctx.what == "after-order":
        return [Candidate("by", "keyword")]
    if ctx.what == "order-field":
        return [Candidate(f, "field", FIELDS[f].help) for f in FIELDS if FIELDS[f].kind
                is not ValueKind.MODINFO]  # fmt: skip
    if ctx.what == "after-order-key":
        return [Candidate(k, "keyword") for k in ("asc", "desc", "limit")]
    return []


_BARE = re.compile(r"[^\s()\"',=!<>~]+")


def _quoted(value: str) -> str:
    """A value as the grammar reads it back: bare when it can be, else double-quoted."""
    if _BARE.fullmatch(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _names(catalog: Catalog, prefix: str, limit: int = NAMES) -> list[str]:
    lo, hi = catalog.prefix_range(prefix)
    names = catalog.columns().name
    out: list[str] = []
    for r in catalog.name_order()[lo:hi].tolist():
        name = names[r]
        if not out or out[-1] != name:
            out.append(name)
            if len(out) == limit:
                break
    return out


def _values(field: str, prefix: str, catalog: Catalog | None) -> list[str]:
    spec = FIELDS.get(field)
    if spec is None:
        return []
    if field == "type":
        return list(TYPE_LETTERS)
    if field == "export":
        return [k.label for k in ExportKind]
    if spec.kind is ValueKind.CHOICE:
        return list(spec.choices)
    if catalog is None:
        return []
    if field == "name":
        return _names(catalog, prefix) if prefix else []
    if field == "module":
        return sorted(catalog.module_names())
    if field == "namespace":
        return sorted(s for s in catalog.namespaces.strings if s)
    if field == "section":
        return sorted(s for s in catalog.sections.strings if s)
    if field == "source":
        return list(catalog.source_labels.strings)
    if spec.kind is ValueKind.MODINFO:
        values = {v for info in catalog.module_info.values() for v in info.get(field, [])}
        if field == "depends":
            values = {d for v in values for d in v.split(",") if d}
        return sorted(values)
    return []
