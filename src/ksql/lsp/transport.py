"""The language server's end of the wire, in place of pygls's ``run_async`` and writers:

- **framing that recovers**: a ``Content-Length`` shorter or longer than its body used to
  leave the reader inside the next message forever (its bodies have no line end, so no
  header line was ever seen again). Here a body that does not decode is dropped with a log
  line, and the next ``Content-Length:`` header -- also when glued after the rest of a
  broken body -- starts the next message. At most the broken message and the one it ate
  into are lost; the editor's later requests are answered.
- **stdin read by the event loop** where it is a pipe, a socket (an editor's case) or a
  terminal: a message costs one wake-up of the loop. pygls's reader ran three
  ``readline``/``read`` calls per message in an executor, six thread hand-offs that were
  ~0.5 ms of a 1.3 ms hover round trip here (py-spy, raw JSON client: hover p50 1.3 ->
  0.8 ms). A regular file or /dev/null is read by a thread that feeds the same stream.
- **one writer at a time**: handlers running in the thread pool (diagnostics, hovers) and
  the event loop all send; ``sys.stdout.buffer.write`` of a large message from two threads
  interleaves their bytes, so writes take a lock (stdio) or are handed to the loop (TCP).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import stat
import threading
from collections.abc import AsyncIterator, Awaitable
from typing import BinaryIO, Protocol

from pygls.protocol import JsonRPCProtocol

log = logging.getLogger(__name__)

# A header line; searched, not matched, so that it is found after the tail of a body that
# was cut short (bodies are JSON, which cannot hold a raw line end).
_CONTENT_LENGTH = re.compile(rb"Content-Length: *(\d+)\r?\n\Z", re.IGNORECASE)
MAX_BODY = 256 << 20  # a larger Content-Length is a broken header, not a message
EXIT_GRACE = 1.0  # seconds ``exit`` waits for requests still running to answer
MAX_LINE = 16 << 20  # a longer "line" (the rest of a broken body) is skipped unread


class Reader(Protocol):
    def readline(self) -> Awaitable[bytes]: ...

    def readexactly(self, n: int) -> Awaitable[bytes]: ...


async def serve(stop: threading.Event, reader: Reader, protocol: JsonRPCProtocol) -> None:
    """Read messages and hand them to ``protocol`` until EOF or ``stop``."""
    length: int | None = None
    serving = asyncio.all_tasks()  # tasks that outlive every request (a TCP server's)
    while not stop.is_set():
        try:
            line = await reader.readline()
        except ValueError:  # over the stream's limit: junk, dropped by the stream
            log.warning("skipped a line of over %d bytes", MAX_LINE)
            continue
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
        if getattr(message, "method", None) == "exit":
            await _settle(serving)
        try:
            protocol.handle_message(message)
        except Exception:
            log.exception("unable to handle a message")
        # Messages already buffered are read without suspending: let the loop run what this
        # one started before the next is handled, as a reading thread's hand-off did.
        await asyncio.sleep(0)


async def _settle(serving: set[asyncio.Task[object]]) -> None:
    """Before ``exit`` closes the output: let requests still running (cancelled by
    ``shutdown``, or a client that did not wait for its answer) send their answers, for up
    to :data:`EXIT_GRACE` seconds."""
    pending = asyncio.all_tasks() - serving - {asyncio.current_task()}
    if pending:
        await asyncio.wait(pending, timeout=EXIT_GRACE)
    await asyncio.sleep(0)  # the answers of those that just ended: their done callbacks


@contextlib.asynccontextmanager
async def stdin_stream(stdin: BinaryIO) -> AsyncIterator[asyncio.StreamReader]:
    """``stdin`` as an asyncio stream on the running loop: a pipe, a socket or a terminal is
    watched by the loop; anything else (a regular file, /dev/null) is read by a thread."""
    loop = asyncio.get_running_loop()
    stream = asyncio.StreamReader(limit=MAX_LINE, loop=loop)
    fd = stdin.fileno()
    mode = os.fstat(fd).st_mode
    # epoll takes pipes, sockets and terminals; not files, nor /dev/null (EPERM, raised in a
    # loop callback where it would leave the stream waiting forever).
    if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or os.isatty(fd):
        # The loop makes the file non-blocking, and a terminal's file is the shell's too:
        # put the flag back through a copy of the descriptor (the pipe closes its own at EOF).
        blocking, keep = os.get_blocking(fd), os.dup(fd)
        try:
            pipe, _ = await loop.connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(stream, loop=loop), stdin
            )
            try:
                yield stream
            finally:
                pipe.close()
        finally:
            os.set_blocking(keep, blocking)
            os.close(keep)
        return
    threading.Thread(target=_feed, args=(stdin, stream, loop), daemon=True).start()
    yield stream


def _feed(stdin: BinaryIO, stream: asyncio.StreamReader, loop: asyncio.AbstractEventLoop) -> None:
    """Copy ``stdin`` into ``stream`` until EOF (a reading thread's job)."""
    read = getattr(stdin, "read1", stdin.read)
    try:
        while chunk := read(1 << 16):
            loop.call_soon_threadsafe(stream.feed_data, chunk)
        loop.call_soon_threadsafe(stream.feed_eof)
    except (OSError, ValueError, RuntimeError):  # stdin closed, or the loop is gone
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(stream.feed_eof)


class LockedWriter:
    """``sys.stdout.buffer`` for several threads: one whole message at a time."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def write(self, data: bytes) -> None:
        with self._lock:
            if self._stream.closed:  # after exit: a thread's late answer has no reader
                log.debug("dropped a %d-byte message written after exit", len(data))
                return
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
