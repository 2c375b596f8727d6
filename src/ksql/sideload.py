"""Sources decoded side by side: a big source file is decoded by a forked child while the
process loads the others, and its rows reach the catalog in their place in the source order.

Loading vmlinux, a module tree and Module.symvers one after the other leaves a core idle for
~1 s of a ~3 s load (vmlinux's ~0.3 s of decoding and Module.symvers' ~0.5 s of parsing and
merging run on one core, before and after the tree's two busy workers). A child takes a
whole source (its batches, notes and problems, pickled back through a pipe), so nothing a
plugin does changes: the same code decodes it.

Only from a process with one thread and more than one core, where ``fork`` is safe (see
:func:`ksql.plugins.elf.files.read_tree`) and worth it. A child that fails in any way
reports nothing, and the source is then loaded in the process itself, in its place, which
raises its error exactly as a load one by one would.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import threading
from collections.abc import Callable
from typing import ClassVar, NoReturn

from ksql.sink import Batch

# A file source this big is worth a child: vmlinux (~40-600 MB), System.map (~5 MB),
# Module.symvers (~1.3 MB); a single module or an excerpt is not (a fork and its pickle
# cost ~10-20 ms).
SIDE_FROM = 1 << 20


def usable() -> bool:
    """Whether children can decode sources here: ``fork`` exists, it is safe (this process
    runs one thread) and there is a core for them."""
    return (
        hasattr(os, "fork") and threading.active_count() == 1 and len(os.sched_getaffinity(0)) > 1
    )


class Side:
    """One source being decoded by a forked child."""

    _open: ClassVar[list[int]] = []  # read ends of the sides not read yet (a new child closes them)

    def __init__(self, decode: Callable[[], list[Batch]]) -> None:
        """Fork a child that runs ``decode`` and sends its batches back."""
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            _child(read, write, decode)
        os.close(write)
        self.pid = pid
        self.fd = read
        Side._open.append(read)

    def batches(self) -> list[Batch] | None:
        """The child's batches (waiting for them), or None when it failed."""
        Side._open.remove(self.fd)
        try:
            with os.fdopen(self.fd, "rb") as pipe:
                got = pickle.load(pipe)
        except (EOFError, OSError, pickle.UnpicklingError, ValueError, TypeError):
            got = None
        self._reap()
        return got if isinstance(got, list) else None

    def cancel(self) -> None:
        """Stop the child, if not read yet (the load failed or was interrupted)."""
        if self.fd not in Side._open:
            return
        Side._open.remove(self.fd)
        os.close(self.fd)
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        self._reap()

    def _reap(self) -> None:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


def _child(read: int, write: int, decode: Callable[[], list[Batch]]) -> NoReturn:
    """Decode, send the batches (None on any failure), exit without the parent's clean-up
    (``os._exit``: no atexit handlers, no flush of stdio buffers the parent also holds)."""
    code = 0
    try:
        os.close(read)
        for fd in Side._open:
            os.close(fd)
        try:
            result: list[Batch] | None = decode()
        except BaseException:  # the parent loads the source itself and words the error
            result = None
        with os.fdopen(write, "wb") as pipe:
            pickle.dump(result, pipe, protocol=pickle.HIGHEST_PROTOCOL)
    except BaseException:
        code = 1
    finally:
        os._exit(code)
