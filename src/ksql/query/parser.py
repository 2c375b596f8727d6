"""Query text -> :class:`~ksql.query.ast.Query`, and what the grammar says about partial text.
The only module that sees Lark and its errors: every syntax error leaves here as one
:class:`~ksql.errors.QuerySyntaxError` with a 1-based column and the tokens that would have
been accepted; :func:`lex` (highlighting) and :func:`lookahead` (completion) never raise; the
front ends' vocabulary (:func:`vocabulary`) is read from grammar/ksql.lark's terminals.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from types import MappingProxyType

from ksql.query.larkimport import lark_without_regex
from ksql.values import frozen

lark_without_regex()
from lark import Lark, Token, Transformer_NonRecursive, v_args  # noqa: E402
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError  # noqa: E402
from lark.grammar import Terminal  # noqa: E402
from lark.lark import PostLex  # noqa: E402
from lark.lexer import PatternStr  # noqa: E402
from lark.tree import Meta  # noqa: E402

from ksql.errors import QuerySyntaxError  # noqa: E402
from ksql.private import private_file  # noqa: E402
from ksql.query import ast  # noqa: E402
from ksql.query.fields import FLAGS  # noqa: E402

_ESCAPE = re.compile(r"\\(.)")


class _WordsEverywhere(PostLex):
    """Keeps WORD in every state of the contextual lexer. Lark lexes a keyword as a WORD
    equal to it only where WORD is a candidate; without WORD, "exported android" would lex
    as "exported" "and" "roid"."""

    always_accept = ("WORD",)

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        return stream


def _cache(name: str) -> str | bool:
    """Where Lark keeps its analysed parser: a pickle, so only in the user's private cache
    directory (``cache=True`` would use a predictable name in the shared temp directory,
    where another local user could plant one); no cache without a private directory."""
    path = private_file(f"{name}.lark-cache")
    return str(path) if path is not None else False


@functools.cache
def _lark() -> Lark:
    return Lark.open_from_package(
        "ksql.grammar",
        "ksql.lark",
        parser="lalr",
        propagate_positions=True,
        postlex=_WordsEverywhere(),
        cache=_cache("query"),
    )


@functools.cache
def _basic() -> Lark:
    """The same terminals without parser states: every terminal is possible everywhere, as a
    highlighter wants for text that may not parse."""
    return Lark.open_from_package(
        "ksql.grammar", "ksql.lark", parser="lalr", lexer="basic", cache=_cache("basic")
    )


# --- the vocabulary ----------------------------------------------------------------------


@frozen
class Vocabulary:
    """The grammar's fixed spellings, in its order: ``literals`` maps each terminal spelled
    as one string (AND, EQ, LPAR, ...) to it; ``keywords`` are those spelled as words,
    ``operators`` the terminals of the ``op`` rule; ``then`` maps a keyword to the keyword
    that always follows it (ORDER -> BY)."""

    literals: Mapping[str, str]
    keywords: tuple[str, ...]
    operators: tuple[str, ...]
    then: Mapping[str, str]

    def phrase(self, terminal: str) -> str:
        """How a literal reads with the keywords that must follow it: ``order by``."""
        words = [self.literals[terminal]]
        while terminal in self.then:
            terminal = self.then[terminal]
            words.append(self.literals[terminal])
        return " ".join(words)


@functools.cache
def vocabulary() -> Vocabulary:
    lark = _lark()
    literals = {
        t.name: t.pattern.value.lower() for t in lark.terminals if isinstance(t.pattern, PatternStr)
    }
    keywords = tuple(n for n, text in literals.items() if text.isalpha())
    operators = tuple(
        s.name
        for r in lark.rules
        if r.origin.name == "op"
        for s in r.expansion
        if isinstance(s, Terminal)
    )
    follows: dict[str, set[str]] = {}
    for r in lark.rules:
        for a, b in zip(r.expansion, r.expansion[1:], strict=False):
            if a.name in keywords:
                follows.setdefault(a.name, set()).add(b.name)
    then = {k: next(iter(s)) for k, s in follows.items() if len(s) == 1 and s <= set(keywords)}
    return Vocabulary(MappingProxyType(literals), keywords, operators, MappingProxyType(then))


# --- tokens and lookahead for front ends --------------------------------------------------


@frozen
class Lexeme:
    terminal: str  # the grammar's terminal name: WORD, STRING, AND, EQ, LPAR, ...
    text: str
    start: int  # 0-based offset in the text


def _lexeme(tok: Token) -> Lexeme:
    return Lexeme(tok.type, str(tok), tok.start_pos or 0)


def lex(text: str) -> tuple[list[Lexeme], int]:
    """The grammar's tokens in ``text`` and the offset where they stop: ``len(text)``, or the
    first character no terminal matches (an unterminated string, a lone ``!``)."""
    out: list[Lexeme] = []
    try:
        for tok in _basic().lex(text):
            out.append(_lexeme(tok))
    except UnexpectedCharacters as exc:
        return out, exc.pos_in_stream or 0
    return out, len(text)


@frozen
class Lookahead:
    """What the parser would take after some text: terminal names (``$END``: the query may
    end there), and the text's tokens as the parser lexed them."""

    accepts: frozenset[str]
    tokens: tuple[Lexeme, ...]


def lookahead(text: str) -> Lookahead | None:
    """Feed ``text`` to Lark's interactive LALR parser and ask what it accepts next; None
    when ``text`` is already wrong. Give it whole tokens: a word cut at a cursor is a
    different word."""
    parser = _lark().parse_interactive(text)
    tokens: list[Lexeme] = []
    try:
        for tok in parser.iter_parse():
            tokens.append(_lexeme(tok))
    except UnexpectedInput:
        return None
    accepts: set[str] = parser.accepts()  # type: ignore[no-untyped-call]
    return Lookahead(frozenset(accepts), tuple(tokens))


# --- parsing ------------------------------------------------------------------------------


MAX_QUERY = 16384  # characters
MAX_DEPTH = 64  # nested parentheses


def parse(text: str) -> ast.Query:
    """Parse ``text``; raises :class:`QuerySyntaxError`."""
    if len(text) > MAX_QUERY:
        raise QuerySyntaxError(
            f"a query of {len(text):,} characters; at most {MAX_QUERY:,}", text[:60] + " ...", 1
        )
    _check_depth(text)
    if "\n" in text or "\r" in text:
        col = min(i for i in (text.find("\n"), text.find("\r")) if i >= 0) + 1
        raise QuerySyntaxError("a query is one line", text.replace("\n", " "), col)
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(text, exc) from None
    try:
        return _ToAst(text).transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, QuerySyntaxError):
            raise exc.orig_exc from None
        raise


def _check_depth(text: str) -> None:
    """Parentheses nest at most :data:`MAX_DEPTH` deep (quoted text does not count)."""
    depth = 0
    quote = ""
    escaped = False
    for i, c in enumerate(text):
        if quote:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c == "(":
            depth += 1
            if depth > MAX_DEPTH:
                raise QuerySyntaxError(
                    f"parentheses nested more than {MAX_DEPTH} deep", text, i + 1
                )
        elif c == ")":
            depth -= 1


def _span(meta: Meta) -> ast.Span:
    return ast.Span(meta.column, meta.end_column)


def _token_span(tok: Token) -> ast.Span:
    start = tok.column or 1
    return ast.Span(start, start + len(tok))


@v_args(inline=True, meta=True)
class _ToAst(Transformer_NonRecursive[Token, ast.Query]):
    """The parse tree to the AST, one method per rule (and alias) of the grammar."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def start(
        self,
        meta: Meta,
        where: ast.Expr | None,
        order: tuple[ast.OrderKey, ...] | None,
        limit: int | None,
    ) -> ast.Query:
        return ast.Query(self.text, where, order or (), limit)

    def value(self, meta: Meta, tok: Token) -> ast.Value:
        if tok.type == "STRING":
            return ast.Value(_ESCAPE.sub(r"\1", tok[1:-1]), True, _token_span(tok))
        return ast.Value(str(tok), False, _token_span(tok))

    def op(self, meta: Meta, tok: Token) -> str:
        return str(tok)

    def group(self, meta: Meta, _lpar: Token, inner: ast.Expr, _rpar: Token) -> ast.Expr:
        return inner

    def or_(self, meta: Meta, left: ast.Expr, _op: Token, right: ast.Expr) -> ast.Or:
        return ast.Or(left, right, _span(meta))

    def and_(self, meta: Meta, left: ast.Expr, _op: Token, right: ast.Expr) -> ast.And:
        return ast.And(left, right, _span(meta))

    def not_(self, meta: Meta, _op: Token, operand: ast.Expr) -> ast.Not:
        return ast.Not(operand, _span(meta))

    def compare(self, meta: Meta, field: Token, op: str, value: ast.Value) -> ast.Compare:
        return ast.Compare(field.lower(), _token_span(field), op, value, _span(meta))

    def member(self, meta: Meta, field: Token, *rest: Token | ast.Value) -> ast.Member:
        values = tuple(v for v in rest if isinstance(v, ast.Value))
        return ast.Member(field.lower(), _token_span(field), values, _span(meta))

    def word(self, meta: Meta, value: ast.Value) -> ast.Flag | ast.NameMatch:
        if not value.quoted and value.text.lower() in FLAGS:
            return ast.Flag(value.text.lower(), value.span)
        if not value.quoted and value.text.upper() in vocabulary().keywords:
            raise QuerySyntaxError(
                f"{value.text!r} is a keyword here, not a name; to match a symbol of that "
                f'name, quote it: name="{value.text}"',
                self.text,
                value.span.start,
            )
        return ast.NameMatch(value)

    def order(self, meta: Meta, *children: Token | ast.OrderKey) -> tuple[ast.OrderKey, ...]:
        return tuple(k for k in children if isinstance(k, ast.OrderKey))

    def order_key(self, meta: Meta, field: Token, direction: Token | None) -> ast.OrderKey:
        desc = direction is not None and direction.type == "DESC"
        return ast.OrderKey(field.lower(), desc, _span(meta))

    def limit(self, meta: Meta, _kw: Token, tok: Token) -> int:
        if not (tok.isascii() and tok.isdigit()):  # "²".isdigit() is True
            raise QuerySyntaxError(
                f"limit takes a whole number, not {str(tok)!r}", self.text, tok.column or 1,
                ("a number",),
            )  # fmt: skip
        return int(tok)


# --- syntax errors ------------------------------------------------------------------------


@functools.cache
def _descriptions() -> dict[str, str]:
    """How each terminal reads in "expected ..." messages, in the order they are listed."""
    vocab = vocabulary()
    ops = " ".join(vocab.literals[o] for o in vocab.operators)
    out = {"WORD": "a word", "STRING": "a quoted string"}
    out |= {o: f"an operator ({ops})" for o in vocab.operators}
    out |= {k: repr(vocab.phrase(k)) for k in vocab.keywords}
    out |= {n: repr(t) for n, t in vocab.literals.items() if n not in out}
    out["$END"] = "end of query"
    return out


def _describe(names: set[str] | frozenset[str]) -> tuple[str, ...]:
    # Operators share one description: keep the first of each.
    return tuple(dict.fromkeys(d for n, d in _descriptions().items() if n in names))


def _expected(exc: UnexpectedInput, fallback: set[str] | frozenset[str]) -> set[str]:
    """What the parser accepted where it stopped. Not the lexer's list: that holds WORD
    everywhere (:class:`_WordsEverywhere`) and no keyword (they are lexed as WORDs)."""
    parser = getattr(exc, "interactive_parser", None)
    if parser is None:
        return set(fallback)
    accepts: set[str] = parser.accepts()
    return accepts


def _syntax_error(text: str, exc: UnexpectedInput) -> QuerySyntaxError:
    if isinstance(exc, UnexpectedToken):
        tok = exc.token
        expected = _describe(_expected(exc, exc.expected))
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
        # A character is there, so "end of query" is no way on.
        expected = _describe(_expected(exc, exc.allowed or set()) - {"$END"})
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
