"""The language server's lifecycle: a factory that builds a pygls server with ksql's
features, the catalog loaded in a worker thread after ``initialized`` (with work-done
progress when the client supports it), and the document notifications that keep
:mod:`ksql.lsp.documents` current and tell the features (diagnostics) what changed.

Requests that arrive while the catalog loads wait a little (:data:`WAIT`) and then answer
empty; a source that cannot be read is one ``window/showMessage`` and the server keeps
serving what it has. The change hooks run :data:`DEBOUNCE` seconds after a document's last
change, not on every keystroke. The wire is :mod:`ksql.lsp.transport`'s: framing errors
are survived, and threads never interleave their messages.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from ksql import __version__
from ksql.catalog import Catalog
from ksql.errors import KsqlError
from ksql.lsp import budget, config, transport, wire
from ksql.lsp.documents import Documents
from ksql.lsp.facts import btf_modules, catalog_kernel_version, kernel_facts
from ksql.lsp.membership import Membership, document_membership
from ksql.memory import settle_long_lived, unsettle
from ksql.source import RunningKernel

WAIT = 2.0  # seconds a request waits for a loading catalog
DEBOUNCE = 0.3  # seconds after a document's last change before its diagnostics run
log = logging.getLogger(__name__)


class KsqlServer(LanguageServer):
    def __init__(self, cli_sources: Sequence[str] = ()) -> None:
        super().__init__("ksql", __version__, converter_factory=wire.converter)
        self.cli_sources = list(cli_sources)
        self.init_sources: list[str] | None = None
        self.kernel = RunningKernel.current()
        self.catalog: Catalog | None = None
        self.kernel_version: tuple[int, int] | None = None
        self.ready = threading.Event()
        self.documents = Documents(lambda uri: self.workspace.get_text_document(uri))
        # What features do when a document opens or changes -- in the thread pool once a
        # catalog is loaded, and for every open document after a load -- and when it
        # closes. The server keeps the documents; features decide what to tell the client.
        self.on_change: list[Callable[[str], None]] = []
        self.on_close: list[Callable[[str], None]] = []
        self.debounce = DEBOUNCE
        self.query_budget = budget.BUDGET  # seconds a workspace/symbol query may run
        self.exit_code = 0
        self._pending: dict[str, asyncio.TimerHandle] = {}
        self._members: dict[str, Membership] = {}

    def membership(self, uri: str) -> Membership:
        """Where the document ``uri`` is built (:mod:`ksql.lsp.membership`), once per
        document and catalog."""
        found = self._members.get(uri)
        if found is None:
            found = self._members[uri] = document_membership(self.catalog, uri, self.root())
        return found

    def wait_catalog(self, timeout: float = WAIT) -> Catalog | None:
        self.ready.wait(timeout)
        return self.catalog

    async def wait_catalog_async(self, timeout: float = WAIT) -> Catalog | None:
        """:meth:`wait_catalog` for a coroutine handler: the loop keeps running meanwhile."""
        if not self.ready.is_set():
            await asyncio.to_thread(self.ready.wait, timeout)
        return self.catalog

    def changed(self, uri: str, delay: float | None = None) -> None:
        """Run the change hooks for ``uri`` once it has been quiet for ``delay`` seconds
        (:attr:`debounce` by default); a later change restarts the wait. On the loop."""
        pending = self._pending.pop(uri, None)
        if pending is not None:
            pending.cancel()
        if self.catalog is None:  # the load runs the hooks itself
            return
        wait = self.debounce if delay is None else delay
        self._pending[uri] = asyncio.get_running_loop().call_later(wait, self._run_hooks, uri)

    def forget(self, uri: str) -> None:
        pending = self._pending.pop(uri, None)
        if pending is not None:
            pending.cancel()

    def _run_hooks(self, uri: str) -> None:
        self._pending.pop(uri, None)
        for hook in self.on_change:
            self.thread_pool.submit(hook, uri)

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """Serve on stdin/stdout with :mod:`ksql.lsp.transport`'s reader and writer."""
        self._stop_event = stop = threading.Event()
        self.protocol.set_writer(transport.LockedWriter(stdout or sys.stdout.buffer))

        async def serve() -> None:
            async with transport.stdin_stream(stdin or sys.stdin.buffer) as reader:
                await transport.serve(stop, reader, self.protocol)

        try:
            asyncio.run(serve())
        except BrokenPipeError:
            log.error("the client went away")
        except SystemExit as exc:  # the exit notification: 1 when no shutdown came first
            self.exit_code = exc.code if isinstance(exc.code, int) else 0
        except KeyboardInterrupt:
            pass
        finally:
            self.shutdown()  # type: ignore[no-untyped-call]

    def start_tcp(self, host: str, port: int) -> None:
        """Serve one client at a time on ``host``:``port``, like pygls, with
        :mod:`ksql.lsp.transport`'s reader and a writer safe to call from any thread."""
        self._stop_event = stop = threading.Event()

        async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.protocol.set_writer(transport.LoopWriter(writer, asyncio.get_running_loop()))
            await transport.serve(stop, reader, self.protocol)
            self.shutdown()  # type: ignore[no-untyped-call]

        async def serve() -> None:
            server = self._server = await asyncio.start_server(connection, host, port)
            async with server:
                await server.serve_forever()

        try:
            asyncio.run(serve())
        except asyncio.CancelledError:
            pass
        except SystemExit as exc:
            self.exit_code = exc.code if isinstance(exc.code, int) else 0

    def root(self) -> Path | None:
        root = self.workspace.root_path
        return Path(root) if root else None

    def load(self, sources: list[str]) -> None:
        """Load ``sources`` (a worker thread's job), then re-run the change hooks (the
        diagnostics) on the open documents."""
        from ksql.loading import load_catalog
        from ksql.lsp import completion
        from ksql.pluginmanager import load_plugins

        token = self._progress_begin()
        problems: list[str] = []
        unsettle()  # the catalog this load replaces may be collected
        try:
            specs = [config.expand(s, self.kernel, self.root()) for s in sources]
            catalog = load_catalog(
                specs,
                load_plugins(),
                on_error=lambda e: problems.append(str(e)),
                long_lived=True,
            )
            catalog.name_order()  # the index completion and hover search
            completion.warm_up(catalog)
            btf_modules(catalog)  # what hover says when a name has no declaration
        except KsqlError as exc:
            problems.append(str(exc))
            catalog = Catalog()
            catalog.columns()
        self.catalog = catalog
        self._members.clear()
        settle_long_lived()
        self.kernel_version = catalog_kernel_version(catalog, self.kernel.release)
        self.ready.set()
        self._progress_end(token, f"{len(catalog):,} symbols")
        problems.extend(catalog.problems[:5])
        if len(catalog) and not kernel_facts(catalog).exports_anything:
            problems.append(
                f"{kernel_facts(catalog).release} exports no symbols (no ksymtab: a kernel "
                "built without modules?), so nothing is diagnosed as not exported"
            )
        if problems:
            self.window_show_message(
                types.ShowMessageParams(
                    type=types.MessageType.Warning,
                    message="ksql: "
                    + "; ".join(_short(p) for p in problems[:3])
                    + (f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""),
                )
            )
        self.window_log_message(
            types.LogMessageParams(
                type=types.MessageType.Info,
                message=f"ksql: {len(catalog):,} symbols from {len(catalog.loaded)} sources",
            )
        )
        for uri in self.documents.uris():
            for hook in self.on_change:
                hook(uri)

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


def _short(problem: str, limit: int = 300) -> str:
    # A message is a popup: one source's problem must not fill the screen.
    return problem if len(problem) <= limit else problem[: limit - 1] + "…"


def make_server(cli_sources: Sequence[str] = ()) -> KsqlServer:
    from ksql.lsp import actions, completion, hover, navigation, publish, signature, symbols

    server = KsqlServer(cli_sources)
    _register_lifecycle(server)
    for feature in (completion, hover, actions, symbols, publish, signature, navigation):
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
        user: list[str] | None = None
        try:
            toml = config.toml_sources(ls.root())
            user = config.user_sources()
        except KsqlError as exc:
            ls.window_show_message(
                types.ShowMessageParams(type=types.MessageType.Warning, message=f"ksql: {exc}")
            )
        # the project's file wins over the editor's settings, as clangd's .clangd does
        sources = config.choose(ls.cli_sources, toml, ls.init_sources, workspace_sources, user)
        threading.Thread(target=ls.load, args=(sources,), name="ksql-load", daemon=True).start()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: KsqlServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.documents.open(params.text_document.uri, params.text_document.language_id)
        ls.changed(params.text_document.uri, delay=0)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: KsqlServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.changed(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: KsqlServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.forget(params.text_document.uri)
        ls.documents.close(params.text_document.uri)
        for hook in ls.on_close:
            hook(params.text_document.uri)
