"""The server's bounds, in process: a query's time budget (a forked child, killed when
over budget or cancelled), workspace/symbol's split between instant name prefixes and
bounded queries, the framing that survives a wrong Content-Length, the writer that keeps
threads' messages whole, the module facts of a document too big to analyse."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import threading
import time
from pathlib import Path

import pytest
from pygls.workspace import PositionCodec

from ksql.catalog import Catalog
from ksql.lsp import budget, symbols, transport
from ksql.lsp.csource import analyze, module_facts
from ksql.lsp.documents import BIG, Parsed
from tests.conftest import DATA

CATASTROPHIC = re.compile(r"([a-z_0-9]+)+!")


def test_a_catastrophic_regex_is_really_slow() -> None:
    # ~10 ms for 16 characters here; each more doubles it, so the 40 below take hours.
    # The bound is 5x under the typical figure so that a fast machine passes too.
    start = time.perf_counter()
    CATASTROPHIC.search("sym_abcdefghij_a")
    assert time.perf_counter() - start > 0.002


async def test_run_bounded_returns_the_result() -> None:
    assert await budget.run_bounded(lambda: [1, 2, 3], 5) == [1, 2, 3]


async def test_run_bounded_stops_work_over_budget_and_the_loop_keeps_running() -> None:
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.ensure_future(tick())
    start = time.perf_counter()
    with pytest.raises(budget.OverBudget, match=r"over the 0\.5 s budget"):
        await budget.run_bounded(lambda: CATASTROPHIC.search("a" * 40), 0.5)
    took = time.perf_counter() - start
    ticker.cancel()
    assert 0.5 <= took < 2
    assert ticks > 20  # the GIL was never held by the regex: it ran in another process


async def test_run_bounded_reports_the_works_exception() -> None:
    with pytest.raises(budget.Failed, match="ZeroDivisionError"):
        await budget.run_bounded(lambda: 1 // 0, 5)


async def test_cancelling_kills_the_worker(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"

    def work() -> None:
        pid_file.write_text(str(os.getpid()))
        time.sleep(60)

    task = asyncio.ensure_future(budget.run_bounded(work, 60))
    for _ in range(200):
        await asyncio.sleep(0.01)
        if pid_file.exists() and pid_file.read_text():
            break
    pid = int(pid_file.read_text())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(200):  # killed, then reaped by a thread
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.01)
    else:
        raise AssertionError(f"worker {pid} still alive after cancel")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    from ksql.loading import load_catalog

    return load_catalog([str(DATA / "System.map-6.1-excerpt")], use_cache=False)


def test_a_name_prefix_is_answered_at_once_and_a_query_deferred(catalog: Catalog) -> None:
    prefix = symbols.plan(catalog, "kern_pa")
    assert isinstance(prefix, list) and prefix
    query = symbols.plan(catalog, 'name~"^kern_pa"')
    assert callable(query)
    assert query() == prefix  # the same rows, once evaluated
    assert symbols.plan(catalog, "  ") == []


def _frame(message: dict[str, object], delta: int = 0) -> bytes:
    body = json.dumps(message).encode()
    return f"Content-Length: {len(body) + delta}\r\n\r\n".encode() + body


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.stream = io.BytesIO(data)

    async def readline(self) -> bytes:
        return self.stream.readline()

    async def readexactly(self, n: int) -> bytes:
        return self.stream.read(n)


class _Protocol:
    def __init__(self) -> None:
        self.ids: list[object] = []

    def structure_message(self, data: dict[str, object]) -> dict[str, object]:
        return data

    def handle_message(self, message: dict[str, object]) -> None:
        self.ids.append(message.get("id"))


def _request(n: int) -> dict[str, object]:
    return {"jsonrpc": "2.0", "id": n, "method": "workspace/symbol", "params": {"query": "x"}}


@pytest.mark.parametrize(
    ("delta", "survivors"),
    [
        (0, [1, 2, 3, 4]),
        (-7, [1, 3, 4]),  # cut short: 2 is lost, 3 is found glued after its tail
        (+7, [1, 4]),  # too long: 2 eats into 3's header, 4 is found
        (+(10**9), [1, 3, 4]),  # absurd: a broken header, skipped
    ],
)
async def test_framing_recovers_at_the_next_header(delta: int, survivors: list[int]) -> None:
    data = _frame(_request(1)) + _frame(_request(2), delta) + _frame(_request(3))
    data += _frame(_request(4))
    protocol = _Protocol()
    await transport.serve(threading.Event(), _Reader(data), protocol)  # type: ignore[arg-type]
    assert protocol.ids == survivors


@pytest.mark.parametrize("kind", ["pipe", "file"])
async def test_stdin_is_read_as_a_stream(kind: str, tmp_path: Path) -> None:
    """A pipe (an editor's stdin) is watched by the loop and left blocking afterwards, as
    it was; a regular file is read by a thread. Either way every message arrives."""
    data = b"".join(_frame(_request(n)) for n in range(1, 4)) + _frame(_request(4), -7)
    data += _frame(_request(5))
    if kind == "pipe":
        read, write = os.pipe()
        os.write(write, data)
        os.close(write)
        stdin = os.fdopen(read, "rb")
    else:
        (tmp_path / "in").write_bytes(data)
        stdin = (tmp_path / "in").open("rb")
    protocol = _Protocol()
    shared = os.dup(stdin.fileno())  # the same open file, as a parent's copy of our stdin
    try:
        with stdin:
            async with transport.stdin_stream(stdin) as reader:
                await transport.serve(threading.Event(), reader, protocol)
        assert os.get_blocking(shared)
    finally:
        os.close(shared)
    assert protocol.ids == [1, 2, 3, 5]


async def test_stdin_from_dev_null_ends_at_once() -> None:
    """/dev/null is a character device the loop cannot watch (epoll: EPERM): read by a
    thread, it is an immediate end of input, not a wait forever."""
    protocol = _Protocol()
    with open(os.devnull, "rb") as stdin:
        async with transport.stdin_stream(stdin) as reader:
            await asyncio.wait_for(transport.serve(threading.Event(), reader, protocol), 10)
    assert protocol.ids == []


async def test_a_line_over_the_limit_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bytes without a line end, longer than the stream's line limit (a broken client):
    dropped with the header they run into; the next messages are answered."""
    monkeypatch.setattr(transport, "MAX_LINE", 256)
    data = b"x" * 1000 + _frame(_request(1)) + _frame(_request(2)) + _frame(_request(3))
    read, write = os.pipe()
    os.write(write, data)
    os.close(write)
    protocol = _Protocol()
    with os.fdopen(read, "rb") as stdin:
        async with transport.stdin_stream(stdin) as reader:
            await transport.serve(threading.Event(), reader, protocol)
    assert protocol.ids[-2:] == [2, 3] and 1 not in protocol.ids[:-2]


def test_a_write_after_exit_is_dropped() -> None:
    stream = io.BytesIO()
    writer = transport.LockedWriter(stream)
    writer.write(b"answer")
    writer.close()
    writer.write(b"a thread's late answer")  # no ValueError: I/O operation on closed file


def test_locked_writer_keeps_messages_whole(tmp_path: Path) -> None:
    path = tmp_path / "out"
    with path.open("wb", buffering=8192) as stream:
        writer = transport.LockedWriter(stream)

        def write(letter: bytes) -> None:
            for _ in range(50):
                writer.write(b"<" + letter * 200_000 + b">\n")

        threads = [threading.Thread(target=write, args=(c,)) for c in (b"a", b"b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    lines = path.read_bytes().splitlines()
    assert len(lines) == 100
    assert all(len(set(line[1:-1])) == 1 for line in lines)


FILE = """\
#include <linux/module.h>
/* MODULE_LICENSE("Proprietary"); in a comment */
static int f(void) { return 0; }
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(DMA_BUF);
module_init(f);
"""


def test_module_facts_agree_with_the_whole_file_analysis() -> None:
    from ksql.lsp.csource import parse

    whole = analyze(FILE)
    facts = module_facts(FILE, parse(FILE))
    assert (
        (facts.license, facts.imports, facts.is_module, facts.insert_line)
        == (
            whole.license,
            whole.imports,
            whole.is_module,
            whole.insert_line,
        )
        == ("GPL", ["DMA_BUF"], True, 6)
    )


def test_a_big_document_is_read_around_the_cursor() -> None:
    body = "static int x;\n" * (BIG // 14 + 10)
    text = FILE + body + "int y = /* jiffies */ jiffies;\n"
    parsed = Parsed(1, text, PositionCodec())
    assert parsed.big and parsed.tree is None
    assert parsed.facts.license == "GPL" and parsed.cfile is parsed.facts
    last = len(parsed.lines) - 1
    at = parsed.cursor(last, 25)
    assert (at.word, at.code, at.span.line, at.span.start) == ("jiffies", True, last, 22)
    assert not parsed.cursor(last, 15).code  # in the comment
