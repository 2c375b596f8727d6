"""What may come next at a cursor in a query, for the REPL. The grammar answers: the text
before the word being typed goes through Lark's interactive parser
(:func:`ksql.query.parser.lookahead`), and each terminal it accepts becomes candidates --
keywords and operators as the grammar spells them, and for WORD the fields, flags and
values from the loaded catalog (modules, nm letters, namespaces, export kinds, .modinfo
values, symbol names from the sorted name index). The word at the cursor, a bare word or
a string still open, only filters.
"""

from __future__ import annotations

import re

from ksql.catalog import Catalog
from ksql.kernel.modinfo import modinfo_values
from ksql.model import TYPE_LETTERS, ExportKind
from ksql.query.fields import FIELDS, FLAGS, ValueKind
from ksql.query.parser import Lexeme, Lookahead, lex, lookahead, vocabulary
from ksql.values import frozen

NAMES = 50  # symbol names offered at most
# Semantics the grammar does not know (the compiler rejects these): "~" matches text, the
# ordering operators compare numbers.
_TEXT_ONLY = frozenset({"~"})
_NUMBER_ONLY = frozenset({"<", "<=", ">", ">="})
_SEPARATORS = frozenset({"COMMA"})  # typed, never worth choosing from a list


@frozen
class Candidate:
    text: str
    kind: str  # "keyword", "operator", "punctuation", "field", "flag", "value", "name"
    meta: str = ""


@frozen
class Completions:
    start: int  # where the replaced word begins (0-based offset in the text)
    candidates: list[Candidate]


def complete(text: str, cursor: int, catalog: Catalog | None = None) -> Completions:
    before = text[:cursor]
    found, end = lex(before)
    if end < len(before):  # only an open string may follow what lexes
        if before[end] not in "\"'":
            return Completions(cursor, [])
        start = end
    elif found and _is_word(found[-1]) and found[-1].start + len(found[-1].text) == cursor:
        start = found[-1].start
    else:
        start = cursor
    prefix = before[start:]
    ahead = lookahead(before[:start])
    if ahead is None:
        return Completions(start, [])
    cands = _candidates(ahead, prefix, catalog)
    low = prefix.lower().lstrip("\"'")
    if low:
        cands = [c for c in cands if c.text.lower().lstrip('"').startswith(low)]
    return Completions(start, cands)


def _is_word(tok: Lexeme) -> bool:
    return tok.terminal in ("WORD", "STRING") or tok.terminal in vocabulary().keywords


def _candidates(ahead: Lookahead, prefix: str, catalog: Catalog | None) -> list[Candidate]:
    vocab = vocabulary()
    accepts, tokens = ahead.accepts, ahead.tokens
    if prefix[:1] in ("'", '"'):  # an open string: only a value can go on
        return _words(tokens, prefix, catalog, quoted=True) if "STRING" in accepts else []
    field = _field_before(tokens)
    out: list[Candidate] = []
    ops = [o for o in vocab.operators if o in accepts]
    if ops and field is not None:
        # After a field only a comparison makes sense, though the grammar also reads the
        # field as a bare name.
        numeric = FIELDS[field].kind is ValueKind.NUMBER
        skip = _TEXT_ONLY if numeric else _NUMBER_ONLY
        out += [Candidate(t, "operator") for o in ops if (t := vocab.literals[o]) not in skip]
        return [*out, Candidate(vocab.phrase("IN"), "keyword")]
    for k in vocab.keywords:
        if k in accepts and k != "IN":
            out.append(Candidate(vocab.phrase(k), "keyword"))
    plain = set(vocab.keywords) | set(vocab.operators) | _SEPARATORS
    out += [Candidate(t, "punctuation") for p, t in vocab.literals.items()
            if p in accepts and p not in plain]  # fmt: skip
    if "WORD" in accepts or "STRING" in accepts:
        out += _words(tokens, prefix, catalog, quoted=False)
    return out


def _field_before(tokens: tuple[Lexeme, ...]) -> str | None:
    """The field when the last token names one (``addr``, then an operator may follow)."""
    if tokens and tokens[-1].terminal == "WORD" and tokens[-1].text.lower() in FIELDS:
        return tokens[-1].text.lower()
    return None


def _words(
    tokens: tuple[Lexeme, ...], prefix: str, catalog: Catalog | None, quoted: bool
) -> list[Candidate]:
    """What a WORD (or STRING) is at this point: a value of a field, an order key, a limit,
    or the start of a condition (field, flag or symbol name)."""
    vocab = vocabulary()
    last = tokens[-1].terminal if tokens else ""
    if last in vocab.operators:
        return _value_candidates(tokens[-2].text.lower(), prefix, catalog)
    if last in ("LPAR", "COMMA"):
        listed = _in_list_field(tokens)
        if listed is not None:
            return _value_candidates(listed, prefix, catalog)
    if last == "BY" or last == "COMMA":
        return [Candidate(f, "field", s.help) for f, s in FIELDS.items()
                if s.kind is not ValueKind.MODINFO]  # fmt: skip
    if last == "LIMIT" or quoted:
        return []
    out = [Candidate(f, "field", s.help) for f, s in FIELDS.items()]
    out += [Candidate(f, "flag", help) for f, help in FLAGS.items()]
    if catalog is not None and prefix:
        out += [Candidate(n, "name") for n in _names(catalog, prefix)]
    return out


def _in_list_field(tokens: tuple[Lexeme, ...]) -> str | None:
    """The field of ``field in (a, b, |``: the parser has checked the shape, so the list's
    open parenthesis is the nearest unmatched one."""
    depth = 0
    for j in range(len(tokens) - 1, -1, -1):
        t = tokens[j].terminal
        if t == "RPAR":
            depth += 1
        elif t == "LPAR":
            if depth == 0:
                if j >= 2 and tokens[j - 1].terminal == "IN":
                    return tokens[j - 2].text.lower()
                return None
            depth -= 1
    return None


def _value_candidates(field: str, prefix: str, catalog: Catalog | None) -> list[Candidate]:
    bare = prefix.lstrip("\"'")
    return [Candidate(_quoted(v), "value") for v in _values(field, bare, catalog)]


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
        values = {v for info in catalog.module_info.values() for v in modinfo_values(info, field)}
        return sorted(values)
    return []
