"""The language server's end of the wire, in place of pygls's ``run_async`` and writers:

- **framing that recovers**: a ``Content-Length`` shorter or longer than its body used to
  leave the reader inside the next message forever (its bodies have no line end, so no
  header line was ever seen again). Here a body that does not decode is dropped with a log
  line, and the next ``Content-Length:`` header -- also when glued after the rest of a
  broken body -- starts the next message. At most the broken message and the one it ate
  into are lost; the editor's later requests are answered.
- **one writer at a time**: handlers running in the thread pool (diagnostics, hovers) and
  the event loop all send; ``sys.stdout.buffer.write`` of a large message from two threads
  interleaves their bytes, so writes take a lock (stdio) or are handed to the loop (TCP).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
from collections.abc import Awaitable
from typing import BinaryIO, Protocol

from pygls.protocol import JsonRPCProtocol

log = logging.getLogger(__name__)

# A header line; searched, not matched, so that it is found after the tail of a body that
# was cut short (bodies are JSON, which cannot hold a raw line end).
_CONTENT_LENGTH = re.compile(rb"Content-Length: *(\d+)\r?\n\Z", re.IGNORECASE)
MAX_BODY = 256 << 20  # a larger Content-Length is a broken header, not a message


class Reader(Protocol):
    def readline(self) -> Awaitable[bytes]: ...

    def readexactly(self, n: int) -> Awaitable[bytes]: ...


async def serve(stop: threading.Event, reader: Reader, protocol: JsonRPCProtocol) -> None:
    """Read messages and hand them to ``protocol`` until EOF or ``stop``."""
    length: int | None = None
    while not stop.is_set():
        line = await reader.readline()
        if not line:
            return
        header = _CONTENT_LENGTH.search(line)
        if header is not None:
            if header.start() > 0:
                log.warning("skipped %d bytes before a Content-Length header", header.start())
            n = int(header[1])
            length = n if n <= MAX_BODY else None
            continue
        if line.strip():  # another header (Content-Type), or the rest of a broken body
            continue
        if length is None:
            continue
        try:
            body = await reader.readexactly(length)
        except asyncio.IncompleteReadError:
            return
        length = None
        if not body:
            return
        try:
            message = json.loads(body, object_hook=protocol.structure_message)
        except ValueError:
            # Not a message: its Content-Length was wrong. Nothing can be answered (the id
            # is lost with it); resynchronise at the next header.
            log.warning("dropped a %d-byte body that is not a JSON-RPC message", len(body))
            continue
        try:
            protocol.handle_message(message)
        except Exception:
            log.exception("unable to handle a message")


class LockedWriter:
    """``sys.stdout.buffer`` for several threads: one whole message at a time."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def write(self, data: bytes) -> None:
        with self._lock:
            self._stream.write(data)
            self._stream.flush()

    def close(self) -> None:
        with self._lock:
            self._stream.close()


class LoopWriter:
    """An asyncio stream writer usable from any thread: writes happen on its loop."""

    def __init__(self, writer: asyncio.StreamWriter, loop: asyncio.AbstractEventLoop) -> None:
        self._writer = writer
        self._loop = loop

    def write(self, data: bytes) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._writer.write(data)
        else:
            self._loop.call_soon_threadsafe(self._writer.write, data)

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._writer.close)
