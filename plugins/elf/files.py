"""Getting ELF bytes off the disk: compressed modules by their magic (as kmod does:
libkmod/libkmod-file.c), and whole module trees loaded by a pool of worker processes, one
per core, with a progress bar on a terminal.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ksql.elf.magic import is_compressed
from ksql.elf.unpack import decompress as decompress
from ksql.errors import SourceError
from ksql.regular import read_regular
from ksql.sink import Batch

MODULE_SUFFIXES = (".ko", ".ko.xz", ".ko.gz", ".ko.zst")
CHUNK = 48  # files per task: enough to amortize a task, small enough to balance two cores


MMAP_FROM = 1 << 20  # map big files: a vmlinux with debug info is 600 MB, ksql reads ~10


def read_file(path: Path) -> Batch:
    """The rows of one ELF file (compressed or not); SourceError for a bad one."""
    return decode_file(path, load_bytes(path))


def load_bytes(path: Path) -> bytes:
    """The file's ELF bytes: decompressed, or mapped when big and plain (an ``mmap``, which
    reads as bytes do). A FIFO or a device where a file should be is refused, not waited on
    (:func:`ksql.regular.read_regular`)."""
    try:
        if os.stat(path).st_size < MMAP_FROM:
            return decompress(path, read_regular(os.fspath(path)))
        with path.open("rb") as f:
            head = f.read(8)
            if is_compressed(head):
                data = head + f.read()
            else:
                return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)  # type: ignore[return-value]
    except (OSError, ValueError) as exc:
        raise SourceError(path, f"cannot read: {getattr(exc, 'strerror', None) or exc}") from exc
    return decompress(path, data)


def decode_file(path: Path, data: bytes) -> Batch:
    """:func:`.image.read_image`, any slip of the decoder a SourceError for this file."""
    from .image import read_image  # pyelftools: not for a fingerprint or a file list (~27 ms)

    try:
        return read_image(path, data)
    except SourceError:
        raise
    except (ValueError, IndexError, KeyError, OverflowError, TypeError, AttributeError) as exc:
        # A crafted table the reader's own checks let through: one clear error for this
        # file (a module tree goes on), never a traceback.
        raise SourceError(path, f"malformed ELF file ({type(exc).__name__}: {exc})") from exc


def _module_entries(root: Path) -> list[os.DirEntry[str]]:
    """Every module file below ``root`` in path order (as :class:`Path` sorts: by
    component); symlinks (``build``, ``source``) not followed. ``os.scandir`` with plain
    strings: 4,022 modules in ~25 ms where ``os.walk`` and ``Path`` took 125 ms."""
    found: list[os.DirEntry[str]] = []
    todo = [os.fspath(root)]
    while todo:
        with os.scandir(todo.pop()) as it:
            for entry in it:
                if entry.is_dir(follow_symlinks=False):
                    todo.append(entry.path)
                elif entry.name.endswith(MODULE_SUFFIXES):
                    found.append(entry)
    found.sort(key=lambda e: e.path.split(os.sep))
    return found


def module_files(root: Path) -> list[Path]:
    """Every module below ``root``, sorted; symlinks (``build``, ``source``) not followed."""
    return [Path(e.path) for e in _module_entries(root)]


_held: dict[str, str] | None = None  # fingerprints while one_look() is open


@contextmanager
def one_look() -> Iterator[None]:
    """Inside, each tree's fingerprint is taken once and reused: one command's run, which
    keys two caches on it (the load cache and ``ksql check``'s probes) and takes the tree as
    unchanging meanwhile. A walk and 4,022 stats cost ~45 ms."""
    global _held
    outer = _held
    _held = {} if outer is None else outer
    try:
        yield
    finally:
        _held = outer


def tree_fingerprint(root: Path) -> str:
    """Every module file's path, size and modification time, hashed: a tree's cache key."""
    if _held is not None:
        key = os.path.abspath(root)
        if key not in _held:
            _held[key] = _fingerprint(root)
        return _held[key]
    return _fingerprint(root)


def _fingerprint(root: Path) -> str:
    digest = hashlib.sha1()
    for entry in _module_entries(root):
        try:
            st = entry.stat()
        except OSError:
            continue
        digest.update(f"{entry.path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def has_modules(root: Path, limit: int = 2000) -> bool:
    """Whether a module is found in the first ``limit`` entries below ``root``."""
    seen = 0
    for _folder, _dirs, files in os.walk(root):
        if any(f.endswith(MODULE_SUFFIXES) for f in files):
            return True
        seen += len(files) + 1
        if seen > limit:
            return False
    return False


def _read_chunk(paths: list[str]) -> Batch:
    from .batch import read_many

    return read_many([Path(p) for p in paths])


def read_tree(
    files: list[Path], workers: int | None = None, progress: Callable[[int], None] | None = None
) -> Iterator[Batch]:
    """The rows of every file, a chunk at a time; bad files become the batch's problems."""
    chunks = [[str(p) for p in files[i : i + CHUNK]] for i in range(0, len(files), CHUNK)]
    workers = workers or min(len(os.sched_getaffinity(0)), len(chunks)) or 1
    if workers <= 1 or len(chunks) <= 1:
        for chunk in chunks:
            batch = _read_chunk(chunk)
            if progress:
                progress(len(chunk))
            yield batch
        return
    import multiprocessing
    import threading
    from concurrent.futures import ProcessPoolExecutor

    import numpy.ma  # noqa: F401  # (numpy loads it on first use: each worker would)

    from . import batch as _decoder  # noqa: F401  # imported once, before the workers fork

    # fork is the fastest start, but only safe from a single-threaded process: forked from a
    # loader thread while another thread holds a lock (the language server's stdin reader
    # blocked in readline()), a worker inherits that lock taken and hangs at start-up.
    alone = threading.active_count() == 1
    context = multiprocessing.get_context("fork" if alone else "forkserver")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        for chunk, batch in zip(chunks, pool.map(_read_chunk, chunks), strict=True):
            if progress:
                progress(len(chunk))
            yield batch


class Progress:
    """``loading modules 1234/4023`` on stderr when it is a terminal; silent otherwise."""

    def __init__(self, total: int, label: str) -> None:
        self.total = total
        self.done = 0
        self.label = label
        self.live = sys.stderr.isatty() and total > 200

    def __call__(self, n: int) -> None:
        self.done += n
        if self.live:
            width = 30
            filled = width * self.done // max(self.total, 1)
            bar = "#" * filled + "-" * (width - filled)
            sys.stderr.write(f"\r{self.label} [{bar}] {self.done}/{self.total}")
            sys.stderr.flush()

    def close(self) -> None:
        if self.live:
            sys.stderr.write("\r" + " " * (len(self.label) + 50) + "\r")
            sys.stderr.flush()
