"""textDocument/signatureHelp: inside a call's parentheses, the called kernel function's
prototype (from its BTF ``decl``) with the parameter the cursor is in. The call is found
by reading the text before the cursor (strings, character literals and comments skipped;
at most :data:`WINDOW` lines back), so it works in code that does not parse yet.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from lsprotocol import types

from ksql.catalog import Catalog
from ksql.lsp.context import CursorContext, at_cursor
from ksql.lsp.facts import facts
from ksql.lsp.prototype import Prototype, parse_prototype
from ksql.values import frozen

if TYPE_CHECKING:
    from ksql.lsp.server import KsqlServer

WINDOW = 40  # lines before the cursor a call may have started on
_NAME_BEFORE = re.compile(r"([A-Za-z_]\w*)\s*$")
_NOT_CALLS = frozenset(
    [
        "if",
        "while",
        "for",
        "switch",
        "return",
        "sizeof",
        "typeof",
        "__typeof__",
        "_Alignof",
        "alignof",
        "do",
        "else",
        "case",
        "defined",
        "__attribute__",
        "__builtin_offsetof",
    ]
)


@frozen
class Call:
    name: str  # the function called
    argument: int  # 0-based index of the argument the cursor is in


def enclosing_call(text: str) -> Call | None:
    """The innermost call whose parenthesis is open at the end of ``text`` (the document
    up to the cursor), and which of its arguments the end is in."""
    stack: list[tuple[int, int]] = []  # (offset of "(", commas so far)
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in "\"'":
            end = i + 1
            while end < n and text[end] != c and text[end] != "\n":
                end += 2 if text[end] == "\\" else 1
            i = end + 1
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                return None  # the cursor is in a comment
            i = end + 2
            continue
        if text.startswith("//", i):
            end = text.find("\n", i)
            if end < 0:
                return None
            i = end + 1
            continue
        if c in "([{":
            stack.append((i if c == "(" else -1, 0))
        elif c in ")]}" and stack:
            stack.pop()
        elif c == "," and stack:
            at, commas = stack[-1]
            stack[-1] = (at, commas + 1)
        elif c == ";" and stack and stack[-1][0] >= 0:
            stack.clear()  # a statement ended: nothing before is open any more
        i += 1
    while stack:
        at, commas = stack.pop()
        if at < 0:
            return None  # in a brace or bracket, not directly in a call's arguments
        m = _NAME_BEFORE.search(text, max(0, at - 200), at)
        if m is None or m.group(1) in _NOT_CALLS:
            return None
        return Call(m.group(1), commas)
    return None


def signature_help(catalog: Catalog, call: Call) -> types.SignatureHelp | None:
    f = facts(catalog, call.name)
    if f is None:
        return None
    proto = next(
        (p for s in f.definitions if s.decl for p in [parse_prototype(s.decl, s.name)] if p),
        None,
    )
    if proto is None:
        return None
    return types.SignatureHelp(
        signatures=[_information(proto, f.exports[0].export.label if f.exported else "")],
        active_signature=0,
        active_parameter=_active(proto, call.argument),
    )


def _active(proto: Prototype, argument: int) -> int:
    if proto.params and proto.params[-1] == "...":
        return min(argument, len(proto.params) - 1)
    return argument  # past the last parameter: no parameter is highlighted


def _information(proto: Prototype, export: str) -> types.SignatureInformation:
    return types.SignatureInformation(
        label=proto.label,
        documentation=export or "not exported",
        parameters=[types.ParameterInformation(label=o) for o in proto.offsets()],
    )


def signature_at(ctx: CursorContext) -> types.SignatureHelp | None:
    first = max(0, ctx.line - WINDOW)
    text = "".join(ctx.lines[first : ctx.line])
    row = ctx.lines[ctx.line] if ctx.line < len(ctx.lines) else ""
    call = enclosing_call(text + row[: ctx.character])
    return None if call is None else signature_help(ctx.catalog, call)


def register(server: KsqlServer) -> None:
    @server.thread()
    @server.feature(
        types.TEXT_DOCUMENT_SIGNATURE_HELP,
        types.SignatureHelpOptions(trigger_characters=["(", ","], retrigger_characters=[")"]),
    )
    def signature(ls: KsqlServer, params: types.SignatureHelpParams) -> types.SignatureHelp | None:
        ctx = at_cursor(ls, params.text_document.uri, params.position)
        return None if ctx is None else signature_at(ctx)
