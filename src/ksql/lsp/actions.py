"""Code actions: the quick fix that adds a missing ``MODULE_IMPORT_NS``."""

from __future__ import annotations

from lsprotocol import types
from pygls.workspace import ServerTextPosition

from ksql.lsp.diagnostics import NAMESPACE
from ksql.lsp.fixes import import_namespace
from ksql.lsp.server import KsqlServer


def register(server: KsqlServer) -> None:
    @server.thread()
    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
    )
    def code_action(ls: KsqlServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        uri = params.text_document.uri
        if not ls.is_c(uri):
            return []
        wanted = [d for d in params.context.diagnostics if d.code == NAMESPACE and d.data]
        if not wanted:
            return []
        doc = ls.document(uri)
        cfile = ls.cfile(uri)
        actions: dict[str, types.CodeAction] = {}
        for diag in wanted:
            ns = diag.data.get("namespace") if isinstance(diag.data, dict) else None
            if not isinstance(ns, str) or ns in cfile.imports or ns in actions:
                continue
            fix = import_namespace(cfile, ns, ls.kernel_version)
            lines = doc.lines
            if fix.line < len(lines) or not lines or lines[-1].endswith("\n"):
                # A line start, or the document's end just after its final newline.
                at, text = types.Position(line=min(fix.line, len(lines)), character=0), fix.text
            else:  # after a last line that has no newline of its own
                last = len(lines) - 1
                at = doc.position_to_client_units(_server_position(last, len(lines[last])))
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


def _server_position(line: int, character: int) -> ServerTextPosition:
    return ServerTextPosition(line, character)
