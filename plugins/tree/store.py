"""What a tree index keeps between runs, so that one changed file does not force a whole
rescan: the tree's file listing (every scanned file's size and modification time, every
folder's modification time) and each file's sites as last scanned.

- The listing is the load cache's key for the tree (:func:`fingerprint`). Checking it needs
  no directory listing: a folder's modification time changes when a file in it is created,
  removed or renamed, so the known folders and files are stat()ed (each file by its name
  in its opened folder) and only a changed folder sends the walk back to the whole tree.
- The sites of a file whose size and modification time did not change are reused; only the
  others are scanned again (:mod:`plugins.tree.index`).

Both live in the user's private cache folder (:mod:`ksql.private`, ``KSQL_CACHE_DIR``) as
``marshal`` data: plain tuples, lists, dicts, strings, bytes and numbers -- it builds no
objects of other types and runs no code, unlike pickle -- and an entry whose shape is not
right is ignored. The listing keeps its files' times as one bytes value (an int64 array):
reading it back builds no tuple per file. ``KSQL_NO_CACHE=1`` keeps nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ksql.private import open_entry, private_file, private_folder

__all__ = ["SKIP_NAMED", "SKIP_TOP", "SUFFIXES", "Listing", "listing", "load_sites", "save_sites"]

FORMAT = 3
# Top-level folders that hold no kernel symbols: user-space tools, docs, build scripts.
SKIP_TOP = frozenset(
    {"tools", "Documentation", "scripts", "samples", "usr", "LICENSES", ".git", "debian"}
)
# Folders, wherever they are, that hold no kernel symbols: "asic_reg" holds register lists
# generated from the hardware's descriptions, #define and enum lines only
# (drivers/gpu/drm/amd/include/asic_reg, drivers/misc/habanalabs/include/*/asic_reg). In
# the 6.1 tree: 721 headers, 400 MB -- 46 % of the bytes a cold index read -- and no site
# (tests/plugins/test_tree_corpus.py scans them to check).
SKIP_NAMED = frozenset({"asic_reg"})
SUFFIXES = (".c", ".S", ".h")
MAKEFILES = ("Makefile", "Kbuild")
# (size, modification time in ns)
Stat = tuple[int, int]


class Listing:
    """Every ``.c``/``.S``/``.h``, ``Makefile`` and ``Kbuild`` below the root (not in
    :data:`SKIP_TOP` nor :data:`SKIP_NAMED`, not in another architecture's ``arch/*``),
    folder by folder:
    ``folders`` (relative paths, ``""`` the root) with their modification times, ``names``
    (each folder's files) and ``stats``, every file's size and modification time in that
    order, as one int64 array. ``files`` (relative path -> (size, mtime)) is made on first
    use: checking a stored listing needs none of it."""

    __slots__ = ("_files", "folder_times", "folders", "names", "stats")

    def __init__(
        self,
        folders: list[str],
        folder_times: list[int],
        names: list[list[str]],
        stats: npt.NDArray[np.int64],
    ) -> None:
        self.folders, self.folder_times, self.names, self.stats = (
            folders,
            folder_times,
            names,
            stats,
        )
        self._files: dict[str, Stat] | None = None

    @property
    def files(self) -> dict[str, Stat]:
        if self._files is None:
            folders = zip(self.folders, self.names, strict=True)
            paths = [f"{d}/{n}" if d else n for d, ns in folders for n in ns]
            pairs = self.stats.reshape(-1, 2).tolist()
            self._files = dict(zip(paths, map(tuple, pairs), strict=True))  # type: ignore[arg-type]
        return self._files

    def sources(self) -> list[str]:
        """The source files, sorted."""
        return sorted(f for f in self.files if f.endswith(SUFFIXES))

    def digest(self) -> str:
        h = hashlib.sha1(marshal.dumps((self.folders, self.names)))
        h.update(self.stats.tobytes())
        return h.hexdigest()

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Listing)
            and (self.folders, self.folder_times, self.names)
            == (other.folders, other.folder_times, other.names)
            and np.array_equal(self.stats, other.stats)
        )

    __hash__ = None  # type: ignore[assignment]

    def dump(self) -> tuple[Any, ...]:
        return (FORMAT, self.folders, self.folder_times, self.names, self.stats.tobytes())

    @classmethod
    def load(cls, data: Any) -> Listing | None:
        """The listing :meth:`dump` made, or None for anything else."""
        if not (isinstance(data, tuple) and len(data) == 5 and isinstance(data[4], bytes)):
            return None
        _, folders, times, names, stats = data
        if not (isinstance(folders, list) and isinstance(times, list) and isinstance(names, list)):
            return None
        flat = np.frombuffer(stats, dtype=np.int64)
        if len(folders) != len(times) or len(folders) != len(names):
            return None
        if 2 * sum(map(len, names)) != len(flat):
            return None
        return cls(folders, times, names, flat)


def walk(root: Path, arch: str) -> Listing:
    """The whole tree's listing, walked (``arch``: the one ``arch/*`` kept; all when empty).
    With more than one core a forked child walks half of ``drivers/``'s folders (by name:
    about half the tree's files) meanwhile (the 6.1 tree: 0.34-0.47 -> 0.28-0.37 s)."""
    theirs: list[tuple[str, str]] = []
    if _may_fork():
        try:
            below = sorted(e.name for e in os.scandir(root / "drivers") if e.is_dir())
        except OSError:
            below = []
        theirs = [(str(root / "drivers" / n), f"drivers/{n}") for n in below[len(below) // 2 :]]
    child = _Child(lambda: marshal.dumps(_walk(list(theirs), arch, set()))) if theirs else None
    folders, times, names, flat = _walk([(str(root), "")], arch, {rel for _, rel in theirs})
    if child is not None:
        got = child.result()
        part = marshal.loads(got) if got is not None else None
        if not (isinstance(part, tuple) and len(part) == 4):  # the child failed: walk it here
            part = _walk(list(theirs), arch, set())
        folders, times, names = folders + part[0], times + part[1], names + part[2]
        flat += part[3]
    return Listing(folders, times, names, np.array(flat, dtype=np.int64))


def _walk(
    stack: list[tuple[str, str]], arch: str, skip: set[str]
) -> tuple[list[str], list[int], list[list[str]], list[int]]:
    """(folders, their times, their files, the files' sizes and times flat) below the
    ``(path, relative path)`` of ``stack``; ``skip``: folders (relative paths) left out."""
    folders: list[str] = []
    times: list[int] = []
    names: list[list[str]] = []
    flat: list[int] = []
    while stack:
        path, rel = stack.pop()
        try:
            mtime = os.stat(path).st_mtime_ns
            entries = list(os.scandir(path))
        except OSError:
            continue
        prefix = f"{rel}/" if rel else ""
        here: list[str] = []
        for e in entries:
            name = e.name
            try:
                if e.is_dir(follow_symlinks=False):
                    if (
                        (not rel and name in SKIP_TOP)
                        or name in SKIP_NAMED
                        or (rel == "arch" and arch and name != arch)
                        or (skip and prefix + name in skip)
                    ):
                        continue
                    stack.append((e.path, prefix + name))
                elif name.endswith(SUFFIXES) or name in MAKEFILES:
                    st = e.stat()
                    if stat.S_ISREG(st.st_mode):
                        here.append(name)
                        flat += (st.st_size, st.st_mtime_ns)
            except OSError:
                continue
        folders.append(rel)
        times.append(mtime)
        names.append(here)
    return folders, times, names, flat


def _restat(root: Path, previous: Listing) -> Listing | None:
    """``previous`` with fresh file times, or None when a folder changed (a file was created,
    removed or renamed) or a file is gone. Each folder is opened once and its files are
    stat()ed by name from it: the kernel then resolves one path component, not the whole
    path (the 45 k files of Debian's 6.1 tree: 0.2 s, against 0.4 s by path). With more
    than one core a forked child stats the second half of the folders meanwhile (0.29-0.32
    -> 0.16-0.18 s; threads took longer than one, held back by the GIL between calls)."""
    try:
        top = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return None
    try:
        half = _halfway(previous) if len(previous.stats) >= 2 * _BIG and _may_fork() else None
        child = _Child(lambda: _int64(_stat_folders(top, previous, half, None))) if half else None
        try:
            mine = _stat_folders(top, previous, 0, half)
        finally:
            theirs = child.result() if child else b""
    finally:
        os.close(top)
    if mine is None or (child and theirs is None):
        return None
    stats = np.array(mine, dtype=np.int64)
    if theirs:
        stats = np.concatenate([stats, np.frombuffer(theirs, dtype=np.int64)])
    if np.array_equal(stats, previous.stats):
        return previous
    return Listing(previous.folders, previous.folder_times, previous.names, stats)


def _stat_folders(top: int, listing: Listing, start: int, end: int | None) -> list[int] | None:
    """Sizes and times of the files of ``listing.folders[start:end]`` (opened from ``top``),
    flat; None when one of those folders changed or a file is gone."""
    flat: list[int] = []
    add = flat.extend
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    folders = listing.folders[start:end]
    known = zip(folders, listing.folder_times[start:end], listing.names[start:end], strict=True)
    try:
        for folder, mtime, names in known:
            fd = os.open(folder, flags, dir_fd=top) if folder else top
            try:
                if os.fstat(fd).st_mtime_ns != mtime:
                    return None
                for name in names:
                    st = os.stat(name, dir_fd=fd)
                    add((st.st_size, st.st_mtime_ns))
            finally:
                if fd != top:
                    os.close(fd)
    except OSError:
        return None
    return flat


_BIG = 8192  # files from which a child shares the work (a fork costs a few ms)


def _may_fork() -> bool:
    """Whether a child can share the work: more than one core and no other thread (which the
    child would not have: a lock one holds stays held)."""
    import threading

    return (
        hasattr(os, "fork") and threading.active_count() == 1 and len(os.sched_getaffinity(0)) > 1
    )


def _int64(values: list[int] | None) -> bytes | None:
    return None if values is None else np.array(values, dtype=np.int64).tobytes()


def _halfway(listing: Listing) -> int:
    """The folder where half the files have come before."""
    total, count = len(listing.stats) // 2, 0
    for i, names in enumerate(listing.names):
        count += len(names)
        if 2 * count >= total:
            return i + 1
    return len(listing.names)


class _Child:
    """``work`` in a forked child; :meth:`result` is what it returned, or None when it
    returned None or failed."""

    def __init__(self, work: Callable[[], bytes | None]) -> None:
        read, write = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the child: answer, then leave without the parent's exit work
            status = 1
            try:
                os.close(read)
                found = work()
                with os.fdopen(write, "wb") as out:
                    if found is not None:
                        out.write(b"+" + found)
                status = 0
            finally:
                os._exit(status)
        os.close(write)
        self.read = read

    def result(self) -> bytes | None:
        try:
            with os.fdopen(self.read, "rb") as f:
                data = f.read()
        finally:
            _, status = os.waitpid(self.pid, 0)
        if status != 0 or not data.startswith(b"+"):
            return None
        return data[1:]


def listing(root: Path, arch: str, *, use_store: bool = True) -> Listing:
    """The tree's listing: re-checked from the stored one when there is one (no walk unless a
    folder changed), else walked; stored for the next run."""
    root = root.resolve()
    name = _name(root, arch, "listing")
    if use_store:
        stored = Listing.load(_read(name))
        if stored is not None:
            fresh = _restat(root, stored)
            if fresh is not None:
                if fresh is not stored:
                    _write(name, fresh.dump())
                return fresh
    found = walk(root, arch)
    if use_store:
        _write(name, found.dump())
    return found


def load_sites(root: Path, code: str) -> dict[str, tuple[int, int, tuple[Any, ...]]]:
    """rel -> (size, mtime, sites as :meth:`FileSites.as_tuple`) from the last run with the
    same scanner (``code``); empty when none."""
    data = _read(_name(root.resolve(), code, "sites"))
    if isinstance(data, tuple) and len(data) == 2 and isinstance(data[1], dict):
        return data[1]
    return {}


def save_sites(root: Path, code: str, sites: dict[str, tuple[int, int, tuple[Any, ...]]]) -> None:
    _write(_name(root.resolve(), code, "sites"), (FORMAT, sites))


def code_identity(paths: Iterable[Path]) -> str:
    """The scanner's identity: a hash of its source files (a changed rule rescans)."""
    h = hashlib.sha1(str(FORMAT).encode())
    for p in paths:
        try:
            h.update(p.read_bytes())
        except OSError:
            h.update(str(p).encode())
    return h.hexdigest()[:16]


def _name(root: Path, extra: str, kind: str) -> str:
    digest = hashlib.sha1(f"{root}\0{extra}".encode()).hexdigest()[:20]
    return f"tree-{kind}-{digest}.marshal"


def _read(name: str) -> Any:
    if os.environ.get("KSQL_NO_CACHE"):
        return None
    folder = private_folder(create=False)
    if folder is None:
        return None
    try:
        opened = open_entry(folder / name)
        if opened is None:
            return None
        with opened[0] as f:
            data = marshal.loads(f.read())  # marshal.load(f) reads in small pieces: 10x slower
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if not isinstance(data, tuple) or not data or data[0] != FORMAT:
        return None
    return data


def _write(name: str, data: tuple[Any, ...]) -> None:
    if os.environ.get("KSQL_NO_CACHE"):
        return
    path = private_file(name)
    if path is None:
        return
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            marshal.dump(data, f)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
