"""A cache of loaded catalogs: the packed columns of a catalog, stored as numpy arrays under
the user cache directory (platformdirs), keyed by the sources' fingerprints (device, inode,
size, mtime -- or every module file's, for a module tree) and their order.

Decoding vmlinux takes ~90 ms and a distribution's 4,000 modules ~1 s, merging sources
more; reading the packed catalog back takes milliseconds. ``KSQL_NO_CACHE=1`` turns it
off, ``KSQL_CACHE_DIR`` moves it.

Entries are not trusted: an entry must be a regular file owned by the user in a directory no
one else can write to, its CRC-32 must hold (:mod:`ksql.entryfile`), it must name the same sources
(label, fingerprint, decoder) as the key, and every column must have the catalog's shape and
codes in range (:meth:`Catalog.restore`). Anything else is a miss, removed and rewritten --
never an error, never a hang (a FIFO is opened non-blocking and refused).
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import stat
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ksql import __version__, entryfile
from ksql.catalog import Catalog
from ksql.private import open_entry, private_folder
from ksql.storage import StoredStrings

FORMAT = 6
SUFFIX = ".entry"
KEEP = 32  # entries; the least recently used go first
TMP_SUFFIX = ".tmp"
STALE = 600  # seconds after which a temporary file is a killed run's leftover


def enabled() -> bool:
    return not os.environ.get("KSQL_NO_CACHE")


def key(sources: Sequence[tuple[str, ...]]) -> str:
    """The cache key of (source label, fingerprint, decoder identity), in load order."""
    return hashlib.sha256(_identity(sources).encode()).hexdigest()


def _identity(sources: Sequence[tuple[str, ...]]) -> str:
    return json.dumps([FORMAT, __version__, [list(s) for s in sources]])


def load(
    cache_key: str, sources: Sequence[tuple[str, ...]] = (), copy: bool = False
) -> Catalog | None:
    """The catalog stored under ``cache_key`` for ``sources``, or None. Anything unreadable,
    inconsistent, not ours or not a regular file is a miss, and the entry is removed so the
    next store rewrites it. The catalog's columns are views of the mapped entry, or with
    ``copy`` of its bytes read into memory (:func:`entryfile.mapped`)."""
    folder = private_folder(create=False)
    if folder is None:
        return None
    path = folder / f"{cache_key}{SUFFIX}"
    try:
        opened = open_entry(path)
        if opened is None:
            _discard(path)
            return None
        f, _ = opened
        with f:
            catalog = _read(entryfile.mapped(f, copy), sources)
        os.utime(path)  # recently used
    except Exception:
        _discard(path)
        return None
    return catalog


def _read(data: bytes | mmap.mmap, sources: Sequence[tuple[str, ...]]) -> Catalog:
    members, meta = entryfile.read(data)
    if sources and meta.get("identity") != _identity(sources):
        raise ValueError("entry made for other sources")
    arrays = {k[2:]: v for k, v in members.items() if k.startswith("a.")}
    tables = meta.get("tables")
    if not isinstance(tables, dict):
        raise ValueError("bad tables")
    for key, value in members.items():
        if key.startswith("t."):
            tables[key[2:]] = _split(value, tables.get(key[2:]))
    blob = members["blob"]
    starts = members["starts"]
    if blob.dtype != np.uint8 or starts.dtype != np.int64 or len(starts) < 1:
        raise ValueError("bad name column")
    if starts[0] != 0 or starts[-1] != len(blob) - 1 or (np.diff(starts) <= 0).any():
        raise ValueError("bad name offsets")
    if (blob[starts] != ord("\n")).any() or np.count_nonzero(blob == ord("\n")) != len(starts):
        raise ValueError("name offsets do not point at separators")
    snap = {"arrays": arrays, "blob": str(blob.data, "ascii"), "starts": starts}
    return Catalog.restore(snap | {"meta": meta})


# Tables of more strings than this are stored as one member each, the strings joined by
# newlines, rather than as JSON in the header: the tree source's 500 k site strings were
# parsed from JSON in 0.3 s; the member is split only when a query reads the table.
BIG_TABLE = 64


def _join(strings: list[str]) -> npt.NDArray[np.uint8] | None:
    """The member holding ``strings``, or None if one of them holds a newline."""
    text = "\n".join(strings)
    if text.count("\n") != len(strings) - 1:
        return None
    return np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8)


def _split(member: npt.NDArray[Any], count: Any) -> StoredStrings:
    """The table in ``member``, split on first use; its newlines are counted now, so that a
    wrong count is a cache miss rather than an error later."""
    # Counted in place, kept as a view of the entry's buffer (a copy of each table took
    # 10-21 ms a 11 MB table of a source tree's sites, counting in place 4-14 ms).
    if not isinstance(count, int) or count < 1 or np.count_nonzero(member == 10) != count - 1:
        raise ValueError("a stored table has the wrong number of strings")
    return StoredStrings(np.ascontiguousarray(member).data, count)


def read_entry(path: Path) -> dict[str, Any]:
    """An entry's members as stored (``meta`` as JSON bytes): for tests that forge entries."""
    members, meta = entryfile.read(path.read_bytes())
    return dict(members) | {"meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}


def write_entry(path: Path, members: dict[str, Any]) -> None:
    """Store ``members`` as :func:`read_entry` returns them (``meta`` as JSON bytes), as
    every entry is stored: a new file renamed over the old, never the old one rewritten
    (a catalog read from it still maps it)."""
    rest = {k: v for k, v in members.items() if k != "meta"}
    tmp = path.with_name(f".{path.name}{TMP_SUFFIX}")
    with tmp.open("wb") as f:
        entryfile.write(f, rest, json.loads(bytes(members["meta"]).decode()))
    os.replace(tmp, path)


def store(cache_key: str, catalog: Catalog, sources: Sequence[tuple[str, ...]] = ()) -> None:
    snap = catalog.snapshot()
    if not snap["blob"].isascii():
        return  # offsets count characters: keep the cache to ASCII names
    arrays: dict[str, Any] = {f"a.{k}": v for k, v in snap["arrays"].items()}
    arrays["blob"] = np.frombuffer(snap["blob"].encode("ascii"), dtype=np.uint8)
    arrays["starts"] = snap["starts"]
    meta = snap["meta"] | {"identity": _identity(sources)}
    meta["tables"] = dict(meta["tables"])
    for name, strings in meta["tables"].items():
        member = _join(strings) if len(strings) > BIG_TABLE else None
        if member is not None:
            arrays[f"t.{name}"] = member
            meta["tables"][name] = len(strings)
    folder = private_folder(create=True)
    if folder is None:
        return
    try:
        _sweep(folder)
        target = folder / f"{cache_key}{SUFFIX}"
        _discard(target)
        import tempfile  # only on a miss: with shutil and lzma, ~5 ms of every start

        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".", suffix=TMP_SUFFIX)
        try:
            with os.fdopen(fd, "wb") as f:
                entryfile.write(f, arrays, meta)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _prune(folder)
    except OSError:
        return  # a read-only or full cache directory only costs speed


def _discard(path: Path) -> None:
    """Remove a damaged entry, whatever it is (a file, a FIFO, a directory, a link)."""
    try:
        st = path.lstat()
    except OSError:
        return
    try:
        if stat.S_ISDIR(st.st_mode):
            import shutil

            shutil.rmtree(path)
        else:
            path.unlink()
    except OSError:
        return


def _sweep(folder: Path) -> None:
    """Temporary files of runs killed mid-write (older than :data:`STALE` seconds)."""
    now = time.time()
    for tmp in folder.glob(f".*{TMP_SUFFIX}"):
        try:
            if now - tmp.lstat().st_mtime > STALE:
                tmp.unlink()
        except OSError:
            continue


def _prune(folder: Path) -> None:
    entries = sorted(folder.glob(f"*{SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[KEEP:]:
        old.unlink(missing_ok=True)
