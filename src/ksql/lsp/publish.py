"""Publishing diagnostics: for a C document when it opens or changes (once a catalog is
loaded; debounced by the server), for every open document after a load, and an empty list
when it closes. A version the client has already replaced is not published; a document
too large to check gets one informational diagnostic. The
verdicts come from :func:`ksql.lsp.diagnostics.diagnose`; this module only places them in
the client's position units and sends them.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types
from pygls.uris import to_fs_path

from ksql.lsp.diagnostics import CODE_MODULE_ONLY, Finding, diagnose
from ksql.lsp.documents import BIG, Codec
from ksql.lsp.ifdefs import Env, disabled_lines
from ksql.lsp.membership import Membership

if TYPE_CHECKING:
    from ksql.lsp.server import KsqlServer

log = logging.getLogger(__name__)


def register(server: KsqlServer) -> None:
    server.on_change.append(functools.partial(publish, server))
    server.on_close.append(functools.partial(clear, server))


def publish(ls: KsqlServer, uri: str) -> None:
    catalog = ls.catalog
    docs = ls.documents
    if catalog is None or not docs.is_c(uri):
        return
    try:
        parsed = docs.parsed(uri)
        if parsed.big:
            diagnostics = [too_big(parsed.codec, len(parsed.text))]
        else:
            if parsed.version != docs.version(uri):
                return  # superseded: the newer version's run will publish
            member = ls.membership(uri)
            disabled = disabled_lines(parsed.text, Env(member.config, module_flag(member)))
            found = diagnose(parsed.cfile, catalog, module_guess(uri), member, disabled)
            diagnostics = to_diagnostics(found, parsed.codec)
    except Exception:  # a document the parser chokes on must not stop the server
        log.exception("diagnostics failed for %s", uri)
        return
    if parsed.version != docs.version(uri):
        return
    ls.text_document_publish_diagnostics(
        types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=parsed.version)
    )


def too_big(codec: Codec, size: int) -> types.Diagnostic:
    """The one diagnostic of a document over :data:`~ksql.lsp.documents.BIG` characters."""
    return types.Diagnostic(
        range=codec.range(0, 0, 0, 0),
        message=f"ksql: this document is too large to check ({size / 1e6:.1f} million"
        f" characters, more than {BIG / 1e6:g} million); hovers and completions still work",
        severity=types.DiagnosticSeverity.Information,
        code="too-large",
        source="ksql",
    )


def clear(ls: KsqlServer, uri: str) -> None:
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


def module_flag(member: Membership) -> bool | None:
    """Whether ``MODULE`` is defined for the file: known once its membership is."""
    return None if member.module is None else not member.builtin


def module_guess(uri: str) -> str | None:
    """The module a file belongs to, guessed from its name: right for a one-file module."""
    path = to_fs_path(uri) or ""
    return Path(path).name.split(".", 1)[0] if path else None


def to_diagnostics(findings: list[Finding], codec: Codec) -> list[types.Diagnostic]:
    return [
        types.Diagnostic(
            range=codec.range(f.span.line, f.span.start, f.span.end_line, f.span.end),
            message=f.message,
            # module-only rests on a guess of the module's name (the file stem): a
            # warning, since a multi-file module may be among the allowed ones.
            severity=types.DiagnosticSeverity.Warning
            if f.code == CODE_MODULE_ONLY
            else types.DiagnosticSeverity.Error,
            code=f.code,
            source="ksql",
            data=f.data or None,
        )
        for f in findings
    ]
