"""Code actions: the quick fix that adds a missing ``MODULE_IMPORT_NS``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from ksql.lsp.context import CursorContext, at_cursor
from ksql.lsp.diagnostics import NAMESPACE
from ksql.lsp.fixes import import_namespace

if TYPE_CHECKING:
    from ksql.lsp.server import KsqlServer


def register(server: KsqlServer) -> None:
    @server.thread()
    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
    )
    def code_action(ls: KsqlServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        # Only ksql's own namespace diagnostics ask for a fix; most requests (clients ask on
        # every cursor move) end here, before any document work.
        wanted = [d for d in params.context.diagnostics if d.code == NAMESPACE and d.data]
        if not wanted:
            return []
        ctx = at_cursor(ls, params.text_document.uri, params.range.start)
        return [] if ctx is None else import_actions(ctx, wanted)


def import_actions(ctx: CursorContext, wanted: list[types.Diagnostic]) -> list[types.CodeAction]:
    """One quick fix per namespace the ``wanted`` diagnostics name and the file lacks."""
    cfile, lines, uri = ctx.cfile, ctx.lines, ctx.document.uri
    actions: dict[str, types.CodeAction] = {}
    for diag in wanted:
        ns = diag.data.get("namespace") if isinstance(diag.data, dict) else None
        if not isinstance(ns, str) or ns in cfile.imports or ns in actions:
            continue
        fix = import_namespace(cfile, ns, ctx.kernel)
        if fix.line < len(lines) or not lines or lines[-1].endswith("\n"):
            # A line start, or the document's end just after its final newline.
            at, text = types.Position(line=min(fix.line, len(lines)), character=0), fix.text
        else:  # after a last line that has no newline of its own
            last = len(lines) - 1
            at = ctx.codec.position(last, len(lines[last]))
            text = "\n" + fix.text
        edit = types.TextEdit(range=types.Range(start=at, end=at), new_text=text)
        actions[ns] = types.CodeAction(
            title=fix.title,
            kind=types.CodeActionKind.QuickFix,
            diagnostics=[
                d for d in wanted if isinstance(d.data, dict) and d.data.get("namespace") == ns
            ],
            edit=types.WorkspaceEdit(changes={uri: [edit]}),
            is_preferred=True,
        )
    return list(actions.values())
