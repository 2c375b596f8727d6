"""The language server: a factory that builds a pygls server with ksql's features, the
catalog loaded in a worker thread after ``initialized`` (with work-done progress when the
client supports it), and documents re-diagnosed as they change.

Requests that arrive while the catalog loads wait a little (:data:`WAIT`) and then answer
empty; a source that cannot be read is one ``window/showMessage`` and the server keeps
serving what it has.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path
from pygls.workspace import TextDocument
from tree_sitter import Tree

from ksql import __version__
from ksql.catalog import Catalog
from ksql.errors import KsqlError
from ksql.lsp import config
from ksql.lsp.csource import CFile, Cursor, analyze, cursor_in_row, parse
from ksql.lsp.facts import catalog_kernel_version
from ksql.source import RunningKernel

WAIT = 2.0  # seconds a request waits for a loading catalog
LANGUAGES = ("c", "cpp")
log = logging.getLogger(__name__)


class KsqlServer(LanguageServer):
    def __init__(self, cli_sources: Sequence[str] = ()) -> None:
        super().__init__("ksql", __version__)
        self.cli_sources = list(cli_sources)
        self.init_sources: list[str] | None = None
        self.kernel = RunningKernel.current()
        self.catalog: Catalog | None = None
        self.kernel_version: tuple[int, int] | None = None
        self.ready = threading.Event()
        self.languages: dict[str, str] = {}
        self._parsed: dict[str, tuple[tuple[int | None, int], Tree, CFile, list[str]]] = {}

    # -- the catalog --------------------------------------------------------------------

    def wait_catalog(self, timeout: float = WAIT) -> Catalog | None:
        self.ready.wait(timeout)
        return self.catalog

    def root(self) -> Path | None:
        root = self.workspace.root_path
        return Path(root) if root else None

    def load(self, sources: list[str]) -> None:
        """Load ``sources`` (a worker thread's job), then re-diagnose open documents."""
        from ksql.loading import load_catalog
        from ksql.pluginmanager import load_plugins

        token = self._progress_begin()
        problems: list[str] = []
        try:
            specs = [config.expand(s, self.kernel, self.root()) for s in sources]
            catalog = load_catalog(
                specs, load_plugins(), on_error=lambda e: problems.append(str(e))
            )
            catalog.name_order()  # the index completion and hover search
        except KsqlError as exc:
            problems.append(str(exc))
            catalog = Catalog()
            catalog.columns()
        self.catalog = catalog
        self.kernel_version = catalog_kernel_version(catalog, self.kernel.release)
        self.ready.set()
        self._progress_end(token, f"{len(catalog):,} symbols")
        problems.extend(catalog.problems[:5])
        if problems:
            self.window_show_message(
                types.ShowMessageParams(
                    type=types.MessageType.Warning,
                    message="ksql: "
                    + "; ".join(problems[:3])
                    + (f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""),
                )
            )
        self.window_log_message(
            types.LogMessageParams(
                type=types.MessageType.Info,
                message=f"ksql: {len(catalog):,} symbols from {len(catalog.loaded)} sources",
            )
        )
        for uri in list(self.languages):
            self.publish(uri)

    def _progress_begin(self) -> str | None:
        caps = self.client_capabilities.window
        if caps is None or not caps.work_done_progress:
            return None
        token = f"ksql-load-{uuid.uuid4()}"
        try:
            self.work_done_progress.create(token).result(timeout=5)
        except Exception:  # the client refused or never answered: no progress then
            return None
        self.work_done_progress.begin(
            token, types.WorkDoneProgressBegin(title="ksql: loading kernel symbols")
        )
        return token

    def _progress_end(self, token: str | None, message: str) -> None:
        if token is not None:
            self.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))

    # -- documents ----------------------------------------------------------------------

    def document(self, uri: str) -> TextDocument:
        return self.workspace.get_text_document(uri)

    def parsed(self, uri: str) -> tuple[Tree, CFile, list[str]]:
        """A document's syntax tree, analysis and lines, cached per version: a hover or a
        completion on a 3,000-line file must not parse or split it again."""
        doc = self.document(uri)
        text = doc.source
        key = (doc.version, hash(text))  # str caches its hash: O(1) after the first time
        cached = self._parsed.get(uri)
        if cached is not None and cached[0] == key:
            return cached[1], cached[2], cached[3]
        tree = parse(text)
        result = analyze(text, tree)
        lines = text.splitlines(True)
        self._parsed[uri] = (key, tree, result, lines)
        return tree, result, lines

    def cfile(self, uri: str) -> CFile:
        return self.parsed(uri)[1]

    def cursor(self, uri: str, position: types.Position) -> tuple[int, int, Cursor, Codec]:
        """(line, character, what is there, a range converter) for a client position."""
        doc = self.document(uri)
        tree, _, lines = self.parsed(uri)
        p = doc.position_codec.position_from_client_units(lines, position)
        row = lines[p.line] if p.line < len(lines) else ""
        at = cursor_in_row(row, p.line, p.character, tree)
        return p.line, p.character, at, Codec(doc, lines)

    def is_c(self, uri: str) -> bool:
        if self.languages.get(uri) in LANGUAGES:
            return True
        path = to_fs_path(uri)
        return path is not None and path.endswith((".c", ".h"))

    def publish(self, uri: str) -> None:
        from ksql.lsp.diagnostics import CODE_MODULE_ONLY, diagnose

        if self.catalog is None or not self.is_c(uri):
            return
        try:
            doc = self.document(uri)
            path = to_fs_path(uri) or ""
            module = Path(path).name.split(".", 1)[0] if path else None
            findings = diagnose(self.cfile(uri), self.catalog, module)
        except Exception:  # a document the parser chokes on must not stop the server
            log.exception("diagnostics failed for %s", uri)
            return
        diagnostics = [
            types.Diagnostic(
                range=client_range(doc, f.span.line, f.span.start, f.span.end_line, f.span.end),
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
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=doc.version)
        )

    def forget(self, uri: str) -> None:
        self.languages.pop(uri, None)
        self._parsed.pop(uri, None)
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=[])
        )


class Codec:
    """Ranges into client units with the document's lines split once."""

    def __init__(self, doc: TextDocument, lines: list[str]) -> None:
        self.codec = doc.position_codec
        self.lines = lines

    def range(self, line: int, start: int, end_line: int, end: int) -> types.Range:
        from pygls.workspace import ServerTextPosition, ServerTextRange

        return self.codec.range_to_client_units(
            self.lines,
            ServerTextRange(ServerTextPosition(line, start), ServerTextPosition(end_line, end)),
        )


def client_range(doc: TextDocument, line: int, start: int, end_line: int, end: int) -> types.Range:
    """A code-point range in client units (UTF-16 for VS Code, UTF-8 for Neovim 0.11)."""
    from pygls.workspace import ServerTextPosition, ServerTextRange

    return doc.range_to_client_units(
        ServerTextRange(ServerTextPosition(line, start), ServerTextPosition(end_line, end))
    )


def server_position(doc: TextDocument, position: types.Position) -> tuple[int, int]:
    p = doc.position_from_client_units(position)
    return p.line, p.character


def make_server(cli_sources: Sequence[str] = ()) -> KsqlServer:
    from ksql.lsp import actions, completion, hover, symbols

    server = KsqlServer(cli_sources)
    _register_lifecycle(server)
    for feature in (completion, hover, actions, symbols):
        feature.register(server)
    return server


def _register_lifecycle(server: KsqlServer) -> None:
    @server.feature(types.INITIALIZE)
    def initialize(ls: KsqlServer, params: types.InitializeParams) -> None:
        options = params.initialization_options
        if isinstance(options, dict):
            try:
                ls.init_sources = config.sources_from(options.get("sources"))
            except KsqlError as exc:
                log.warning("initializationOptions: %s", exc)

    @server.feature(types.INITIALIZED)
    async def initialized(ls: KsqlServer, params: types.InitializedParams) -> None:
        workspace_sources: list[str] | None = None
        caps = ls.client_capabilities.workspace
        if not ls.cli_sources and not ls.init_sources and caps is not None and caps.configuration:
            try:
                result = await ls.workspace_configuration_async(
                    types.ConfigurationParams(items=[types.ConfigurationItem(section="ksql")])
                )
                section: Any = result[0] if result else None
                if isinstance(section, dict):
                    workspace_sources = config.sources_from(section.get("sources"))
            except Exception as exc:  # a client that fails the request: fall through
                log.warning("workspace/configuration: %s", exc)
        toml: list[str] | None = None
        try:
            toml = config.toml_sources(ls.root())
        except KsqlError as exc:
            ls.window_show_message(
                types.ShowMessageParams(type=types.MessageType.Warning, message=f"ksql: {exc}")
            )
        sources = config.choose(ls.cli_sources, ls.init_sources, workspace_sources, toml)
        threading.Thread(target=ls.load, args=(sources,), name="ksql-load", daemon=True).start()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: KsqlServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.languages[params.text_document.uri] = params.text_document.language_id
        _publish_later(ls, params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: KsqlServer, params: types.DidChangeTextDocumentParams) -> None:
        _publish_later(ls, params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: KsqlServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.forget(params.text_document.uri)


def _publish_later(ls: KsqlServer, uri: str) -> None:
    if ls.catalog is not None:
        ls.thread_pool.submit(ls.publish, uri)
