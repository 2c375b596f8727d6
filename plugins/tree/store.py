"""What a tree index keeps between runs, so that one changed file does not force a whole
rescan: the tree's file listing (every scanned file's size and modification time, every
folder's modification time) and each file's sites as last scanned.

- The listing is the load cache's key for the tree (:func:`fingerprint`). Checking it needs
  no directory listing: a folder's modification time changes when a file in it is created,
  removed or renamed, so the known folders and files are stat()ed (on threads: the calls
  release the GIL) and only a changed folder sends the walk back to the whole tree.
- The sites of a file whose size and modification time did not change are reused; only the
  others are scanned again (:mod:`plugins.tree.index`).

Both live in the user's private cache folder (:mod:`ksql.private`, ``KSQL_CACHE_DIR``) as
``marshal`` data: plain tuples, lists, dicts, strings and numbers -- it builds no objects of
other types and runs no code, unlike pickle -- and an entry whose shape is not right is
ignored. ``KSQL_NO_CACHE=1`` keeps nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import stat
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ksql.private import private_file, private_folder, trusted

__all__ = ["SKIP_TOP", "SUFFIXES", "Listing", "listing", "load_sites", "save_sites"]

FORMAT = 1
# Top-level folders that hold no kernel symbols: user-space tools, docs, build scripts.
SKIP_TOP = frozenset(
    {"tools", "Documentation", "scripts", "samples", "usr", "LICENSES", ".git", "debian"}
)
SUFFIXES = (".c", ".S", ".h")
MAKEFILES = ("Makefile", "Kbuild")
# (size, modification time in ns)
Stat = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Listing:
    """``files``: every ``.c``/``.S``/``.h``, ``Makefile`` and ``Kbuild`` below the root
    (relative paths; not in :data:`SKIP_TOP`, not in another architecture's ``arch/*``);
    ``folders``: the modification time of every folder walked."""

    files: dict[str, Stat]
    folders: dict[str, int]

    def sources(self) -> list[str]:
        """The source files, sorted."""
        return sorted(f for f in self.files if f.endswith(SUFFIXES))

    def digest(self) -> str:
        h = hashlib.sha1()
        for rel in sorted(self.files):
            size, mtime = self.files[rel]
            h.update(f"{rel}\0{size}\0{mtime}\n".encode())
        return h.hexdigest()


def walk(root: Path, arch: str) -> Listing:
    """The whole tree's listing, walked (``arch``: the one ``arch/*`` kept; all when empty)."""
    files: dict[str, Stat] = {}
    folders: dict[str, int] = {}
    stack = [(str(root), "")]
    while stack:
        path, rel = stack.pop()
        try:
            folders[rel] = os.stat(path).st_mtime_ns
            entries = list(os.scandir(path))
        except OSError:
            continue
        prefix = f"{rel}/" if rel else ""
        for e in entries:
            name = e.name
            try:
                if e.is_dir(follow_symlinks=False):
                    if (not rel and name in SKIP_TOP) or (rel == "arch" and arch and name != arch):
                        continue
                    stack.append((e.path, prefix + name))
                elif name.endswith(SUFFIXES) or name in MAKEFILES:
                    st = e.stat()
                    if stat.S_ISREG(st.st_mode):
                        files[prefix + name] = (st.st_size, st.st_mtime_ns)
            except OSError:
                continue
    return Listing(files, folders)


def _stat_all(root: str, rels: list[str], what: int) -> list[int] | None:
    """``what`` 0: folders' mtimes; 1: files' (size, mtime) flattened. None if one is gone."""
    out: list[int] = []
    st = os.stat
    try:
        if what == 0:
            out.extend(st(os.path.join(root, r)).st_mtime_ns for r in rels)
        else:
            for r in rels:
                s = st(os.path.join(root, r))
                out += (s.st_size, s.st_mtime_ns)
    except OSError:
        return None
    return out


def _restat(root: Path, previous: Listing) -> Listing | None:
    """``previous`` with fresh file times, or None when a folder changed (a file was created,
    removed or renamed) or a file is gone."""
    folders, files = list(previous.folders), list(previous.files)
    step = 2048
    jobs = [(folders[i : i + step], 0) for i in range(0, len(folders), step)]
    jobs += [(files[i : i + step], 1) for i in range(0, len(files), step)]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda job: _stat_all(str(root), *job), jobs))
    if any(r is None for r in results):
        return None
    folder_times = [t for r, (_, what) in zip(results, jobs, strict=True) if not what for t in r]  # type: ignore[union-attr]
    if folder_times != [previous.folders[f] for f in folders]:
        return None
    flat = [t for r, (_, what) in zip(results, jobs, strict=True) if what for t in r]  # type: ignore[union-attr]
    return Listing(
        {rel: (flat[2 * i], flat[2 * i + 1]) for i, rel in enumerate(files)}, previous.folders
    )


def listing(root: Path, arch: str, *, use_store: bool = True) -> Listing:
    """The tree's listing: re-checked from the stored one when there is one (no walk unless a
    folder changed), else walked; stored for the next run."""
    root = root.resolve()
    name = _name(root, arch, "listing")
    if use_store:
        data = _read(name)
        if (
            isinstance(data, tuple)
            and len(data) == 3
            and isinstance(data[1], dict)
            and isinstance(data[2], dict)
        ):
            fresh = _restat(root, Listing(data[1], data[2]))
            if fresh is not None:
                if fresh.files != data[1]:
                    _write(name, (FORMAT, fresh.files, fresh.folders))
                return fresh
    found = walk(root, arch)
    if use_store:
        _write(name, (FORMAT, found.files, found.folders))
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
        fd = os.open(folder / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode) or not trusted(st):
                return None
            data = marshal.load(f)
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
