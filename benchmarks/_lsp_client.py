"""The client side of ``bench_lsp.py``: one ``ksql lsp`` process on stdio, driven by pygls's
``LanguageClient`` with an editor's client capabilities, one request at a time, every answer
timed as a round trip (request written -> answer decoded by the client).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import re
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

READY = re.compile(r"ksql: ([\d,]+) symbols from (\d+) sources")
TIMEOUT = 60.0  # seconds for one answer or one publishDiagnostics


@dataclass
class Load:
    """How a server started; ``note`` says why it did not."""

    ok: bool = False
    rows: int | None = None
    sources: int | None = None
    load_s: float | None = None  # initialized sent -> "ksql: N symbols" logged
    total_s: float | None = None  # spawn -> "ksql: N symbols" logged
    rss_kb: int | None = None  # the server process's, not its decoding workers'
    note: str = ""


class Server:
    """One ``ksql lsp`` process and the client that talks to it."""

    def __init__(self, argv: Sequence[str], root: Path, editor: str = "neovim") -> None:
        self.argv, self.root, self.editor = list(argv), root, editor
        self.client = client = LanguageClient("ksql-bench", "1")
        self.proc: Any = None
        self.ready = asyncio.Event()
        self.ready_at, self.ready_text = 0.0, ""
        self.messages: list[str] = []  # window/showMessage
        self.waiters: dict[tuple[str, int], asyncio.Future[list[types.Diagnostic]]] = {}
        self.stderr: collections.deque[str] = collections.deque(maxlen=5)
        self.incremental = True
        client.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)(lambda params: None)
        client.feature(types.PROGRESS)(lambda params: None)
        client.feature(types.WINDOW_SHOW_MESSAGE)(lambda p: self.messages.append(p.message))

        @client.feature(types.WINDOW_LOG_MESSAGE)
        def log_message(params: types.LogMessageParams) -> None:
            if not self.ready.is_set() and READY.search(params.message):
                self.ready_at, self.ready_text = time.perf_counter(), params.message
                self.ready.set()

        @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def publish(params: types.PublishDiagnosticsParams) -> None:
            waiter = self.waiters.pop((params.uri, params.version or 0), None)
            if waiter is not None and not waiter.done():
                waiter.set_result(list(params.diagnostics))

    async def start(self, timeout: float) -> Load:
        """Spawn, initialize, send ``initialized``; wait at most ``timeout`` s for the catalog."""
        from pytest_lsp import client_capabilities

        t0 = time.perf_counter()
        # Its own session, so that stop() can kill its decoding workers with it.
        await self.client.start_io(*self.argv, env=dict(os.environ), start_new_session=True)
        self.proc = self.client._server
        self.drain = asyncio.create_task(self._drain(self.proc.stderr))  # a full pipe blocks
        uri = self.root.as_uri()
        params = types.InitializeParams(
            capabilities=client_capabilities(self.editor),
            process_id=os.getpid(),
            root_uri=uri,
            workspace_folders=[types.WorkspaceFolder(uri=uri, name="corpus")],
        )
        async with asyncio.timeout(TIMEOUT):
            result = await self.client.initialize_async(params)
        sync = result.capabilities.text_document_sync
        kind = sync.change if isinstance(sync, types.TextDocumentSyncOptions) else sync
        self.incremental = kind == types.TextDocumentSyncKind.Incremental
        t1 = time.perf_counter()
        self.client.initialized(types.InitializedParams())
        try:
            async with asyncio.timeout(timeout):
                await self.ready.wait()
        except TimeoutError:
            code = self.proc.returncode
            state = "still running" if code is None else f"exited with status {code}"
            tail = " | ".join(self.stderr) or "(empty)"
            return Load(note=f"no 'ksql: N symbols' within {timeout:g} s; {state}; stderr: {tail}")
        m = READY.search(self.ready_text)
        assert m is not None
        rows, sources = int(m[1].replace(",", "")), int(m[2])
        return Load(True, rows, sources, self.ready_at - t1, self.ready_at - t0, self.rss())

    async def _drain(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self.stderr.append(line.decode("utf-8", "replace").rstrip())

    async def request(self, call: Awaitable[Any]) -> tuple[float, Any]:
        """(round trip, result) of one request; ``call`` is not awaited yet."""
        start = time.perf_counter()
        async with asyncio.timeout(TIMEOUT):
            result = await call
        return time.perf_counter() - start, result

    async def diagnosed(
        self, uri: str, version: int, send: Callable[[], None]
    ) -> tuple[float, list[types.Diagnostic]]:
        """Send a notification: (time, diagnostics) until ``version``'s are published."""
        waiter = self.waiters[(uri, version)] = asyncio.get_running_loop().create_future()
        start = time.perf_counter()
        send()
        async with asyncio.timeout(TIMEOUT):
            diagnostics = await waiter
        return time.perf_counter() - start, diagnostics

    def rss(self) -> int | None:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return None

    async def stop(self) -> str:
        """shutdown + exit, then kill its session: '' when it exited with status 0."""
        proc, problem = self.proc, f"never loaded (exit status {self.proc.returncode})"
        if self.ready.is_set():
            try:
                async with asyncio.timeout(10):
                    await self.client.shutdown_async(None)
                    self.client.exit(None)
                    status = await proc.wait()
                problem = f"exit status {status} after shutdown + exit" if status else ""
            except Exception as exc:  # a timeout or an error answer
                problem = f"shutdown + exit failed: {exc!r}"
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(10):
                await self.client.stop()
        return problem
