"""The server as an editor's own JSON-RPC layer sees it, for ``bench_lsp.py``: requests
written as bytes on ``ksql lsp``'s stdin, answers read from its stdout and parsed with
``json.loads`` -- no pygls client, whose conversion of every answer into lsprotocol
objects (cattrs) is itself a third of a completion's round trip and is not what VS Code or
Neovim run. Requests the server sends (progress, configuration) get empty answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _lsp_client import READY, TIMEOUT


class RawServer:
    """One ``ksql lsp`` process, spoken to in framed JSON."""

    def __init__(self, argv: Sequence[str], root: Path, capabilities: dict[str, Any]) -> None:
        self.argv, self.root, self.capabilities = list(argv), root, capabilities
        self.ids = itertools.count(1)
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.ready = asyncio.Event()
        self.published: dict[str, asyncio.Future[Any]] = {}  # uri -> its next diagnostics
        self.proc: Any = None

    async def start(self, timeout: float) -> bool:
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env=dict(os.environ),
            start_new_session=True,
            limit=1 << 24,
        )
        self.reader = asyncio.create_task(self._read())
        uri = self.root.as_uri()
        params = {
            "processId": os.getpid(),
            "rootUri": uri,
            "workspaceFolders": [{"uri": uri, "name": "corpus"}],
            "capabilities": self.capabilities,
        }
        await self.request("initialize", params)
        self.notify("initialized", {})
        try:
            async with asyncio.timeout(timeout):
                await self.ready.wait()
        except TimeoutError:
            return False
        return True

    async def open(self, item: dict[str, Any]) -> None:
        """didOpen ``item`` and wait for its diagnostics: the work the server does on an
        opened document is over before the requests are timed, as in ``bench_lsp.measure``."""
        waiter = self.published[item["uri"]] = asyncio.get_running_loop().create_future()
        self.notify("textDocument/didOpen", {"textDocument": item})
        async with asyncio.timeout(TIMEOUT):
            await waiter

    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps(message).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n%b" % (len(body), body))

    def notify(self, method: str, params: Any) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    async def request(self, method: str, params: Any) -> Any:
        n = next(self.ids)
        waiter = self.pending[n] = asyncio.get_running_loop().create_future()
        self._send({"jsonrpc": "2.0", "id": n, "method": method, "params": params})
        async with asyncio.timeout(TIMEOUT):
            return await waiter

    async def timed(self, method: str, params: Any) -> tuple[float, Any]:
        """(request written -> answer parsed, the answer's result)."""
        start = time.perf_counter()
        result = await self.request(method, params)
        return time.perf_counter() - start, result

    async def _read(self) -> None:
        stdout = self.proc.stdout
        while True:
            length = 0
            while (line := await stdout.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if not line:
                return
            message = json.loads(await stdout.readexactly(length))
            if "id" in message and "method" in message:  # the server asks: answer empty
                items = (message.get("params") or {}).get("items")
                result = (
                    [None] * len(items) if message["method"].endswith("configuration") else None
                )
                self._send({"jsonrpc": "2.0", "id": message["id"], "result": result})
            elif "id" in message:
                waiter = self.pending.pop(message["id"], None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(message.get("result"))
            elif message.get("method") == "textDocument/publishDiagnostics":
                waiter = self.published.pop(message["params"]["uri"], None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(message["params"])
            elif message.get("method") == "window/logMessage" and READY.search(
                message["params"]["message"]
            ):
                self.ready.set()

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(10):
                await self.request("shutdown", None)
                self.notify("exit", None)
                await self.proc.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.reader.cancel()
