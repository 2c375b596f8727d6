"""Work that may cost anything -- a user's query over the catalog -- run where it cannot stall
the server: in a forked child process that sees the loaded catalog copy-on-write, with a
time budget, killed when the budget runs out or the request is cancelled.

A thread is not enough: a catastrophic regular expression (``name~"([a-z_0-9]+)+!"``) runs
inside ``re`` without ever releasing the GIL, so every other handler (hover, completion, the
stdin reader itself) would wait for it. Where ``os.fork`` is missing the work runs in a
thread and only the budget holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import signal
import threading
from collections.abc import Callable
from typing import TypeVar, cast

T = TypeVar("T")

BUDGET = 2.0  # seconds a query may take before the server gives up on it


class OverBudget(Exception):
    """The work did not finish within its budget (and was stopped)."""


class Failed(Exception):
    """The work raised in the child; the message is its ``repr``."""


async def run_bounded(work: Callable[[], T], budget: float = BUDGET) -> T:
    """``work()``'s result (which must pickle), computed off the server's process.

    Raises :class:`OverBudget` after ``budget`` seconds, :class:`Failed` when ``work``
    raised; a cancelled caller kills the child too."""
    if not hasattr(os, "fork"):  # pragma: no cover - Linux and macOS have fork
        try:
            return await asyncio.wait_for(asyncio.to_thread(work), budget)
        except TimeoutError as exc:
            raise OverBudget(f"over the {budget:g} s budget") from exc
    loop = asyncio.get_running_loop()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: compute, write, leave without running any parent cleanup
        os.close(read_end)
        _child(work, write_end)
    os.close(write_end)
    done: asyncio.Future[bytes] = loop.create_future()
    chunks: list[bytes] = []

    def readable() -> None:
        try:
            chunk = os.read(read_end, 1 << 16)
        except OSError as exc:
            chunk = b""
            if not done.done():
                done.set_exception(exc)
        if chunk:
            chunks.append(chunk)
        elif not done.done():
            done.set_result(b"".join(chunks))

    loop.add_reader(read_end, readable)
    try:
        data = await asyncio.wait_for(done, budget)
    except TimeoutError as exc:
        raise OverBudget(f"over the {budget:g} s budget") from exc
    finally:
        loop.remove_reader(read_end)
        os.close(read_end)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        # Reap off the loop: a big process can take a moment to tear down.
        threading.Thread(target=_reap, args=(pid,), daemon=True).start()
    if not data:
        raise Failed("the worker died")
    ok, value = pickle.loads(data)
    if not ok:
        raise Failed(value)
    return cast(T, value)


def _child(work: Callable[[], object], fd: int) -> None:
    code = 0
    try:
        try:
            payload = pickle.dumps((True, work()))
        except BaseException as exc:  # everything goes back to the parent as a message
            payload = pickle.dumps((False, repr(exc)))
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view) :]
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
