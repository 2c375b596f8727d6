"""The facts cache: what ``ksql check`` needs of K's loaded sources (:class:`CatalogPart`),
stored beside the load cache so a warm check of one module reads it without the plugins,
the catalog or numpy. The exports are a name-sorted text table with an offset index, read
by binary search -- a module asks about tens of K's ~25,000 exports.

The key is what the load cache's key is made of, gathered without the plugins: each
source spec with its file's device, inode, size and modification time; the ``KSQL_*``
settings; ksql's version and the modification times of its own and its built-in plugins'
files; ``--block``. It is made only for regular files and the built-in plugins alone (no
``--plugin``, no third-party entry point): anything else takes the full path. Entries get
the load cache's distrust (a regular file of this user's in a private folder, CRC-32,
same key inside); anything odd is a miss.
"""

from __future__ import annotations

import bisect
import json
import os
import sys
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

from ksql import __version__
from ksql.check.kpart import CatalogPart, ExportTable
from ksql.kernel.facts import Export
from ksql.private import open_entry, private_folder

FORMAT = 1
SUFFIX = ".kfacts"
KEEP = 32  # entries; the least recently written go first
_MAGIC = b"ksql-kfacts\n"
_SKIP_ENV = ("KSQL_CACHE_DIR", "KSQL_NO_CACHE")
T = TypeVar("T")


def key_for(specs: Sequence[str], blocked: Sequence[str] = ()) -> str | None:
    """The facts key of ``specs`` (JSON: what the entry must have been made from, whole;
    the file is named by its checksums), or None when they cannot have one."""
    if not specs or os.environ.get("KSQL_NO_CACHE"):
        return None
    files = []
    for spec in specs:
        path = _file_of(spec)
        if path is None:
            return None
        real = os.path.realpath(path)
        if real.startswith(("/proc/", "/sys/", "/dev/")):
            return None
        st = os.stat(real)
        files.append([spec, real, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns])
    made_by = maker(blocked)
    return None if made_by is None else json.dumps([FORMAT, files, *made_by])


def maker(blocked: Sequence[str]) -> list[object] | None:
    """What made a facts entry, besides its inputs: ksql's version and code (the stamp of
    its own and its built-in plugins' files), the byte order, ``--block`` and the
    ``KSQL_*`` settings. None with third-party plugins installed: their code is known only
    once they are loaded."""
    from ksql.entrypoints import entry_points

    if entry_points("ksql"):
        return None
    env = sorted((k, v) for k, v in os.environ.items() if k.startswith("KSQL_"))
    env = [kv for kv in env if kv[0] not in _SKIP_ENV]
    return [__version__, sys.byteorder, sorted(blocked), env, code_stamp()]


def _file_name(key: str, suffix: str) -> str:
    """The entry's file name: two checksums of the key (the key itself is checked inside,
    so a collision is only a miss)."""
    data = key.encode()
    return f"{zlib.crc32(data):08x}{zlib.adler32(data):08x}{len(data):x}{suffix}"


def _file_of(spec: str) -> str | None:
    """The regular file a spec names (``PATH`` or ``TYPE:PATH``), else None."""
    if os.path.isfile(spec):
        return spec
    name, sep, rest = spec.partition(":")
    if sep and name and "/" not in name and os.path.isfile(rest):
        return rest
    return None


def code_stamp() -> list[list[object]]:
    """Every ``.py`` file of ksql and of its built-in plugins, with size and mtime."""
    import importlib.util

    import ksql

    folders = list(ksql.__path__)
    spec = importlib.util.find_spec("ksql.plugins")
    if spec is not None and spec.submodule_search_locations:
        folders += list(spec.submodule_search_locations)
    return [
        [path, st.st_size, st.st_mtime_ns]
        for folder in sorted(set(folders))
        for path, st in _walk(folder)
    ]


def _walk(folder: str) -> Iterator[tuple[str, os.stat_result]]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    for e in entries:
        if e.is_dir(follow_symlinks=False) and e.name != "__pycache__":
            yield from _walk(e.path)
        elif e.name.endswith(".py"):
            yield e.path, e.stat()


class StoredExports(ExportTable):
    """K's exports from a facts entry: ``name\\towner\\tgpl\\tnamespace\\tcrc`` lines sorted
    by name, each found by binary search over the line offsets."""

    def __init__(self, blob: bytes, starts: Sequence[int]) -> None:
        self._blob = blob
        self._starts = starts

    def _name(self, i: int) -> bytes:
        at = self._starts[i]
        return self._blob[at : self._blob.index(b"\t", at)]

    def _line(self, i: int) -> Export:
        at = self._starts[i]
        return _export(self._blob[at : self._blob.index(b"\n", at)].decode("ascii"))

    def _find(self, name: str) -> int | None:
        try:
            key = name.encode("ascii")
        except UnicodeEncodeError:
            return None
        i = bisect.bisect_left(range(len(self._starts)), key, key=self._name)
        return i if i < len(self._starts) and self._name(i) == key else None

    def get(self, name: str, default: Export | None = None) -> Export | None:  # type: ignore[override]
        i = self._find(name)
        return default if i is None else self._line(i)

    def __getitem__(self, name: str) -> Export:
        found = self.get(name)
        if found is None:
            raise KeyError(name)
        return found

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._find(name) is not None

    def __iter__(self) -> Iterator[str]:
        for i in range(len(self._starts)):
            yield self._name(i).decode("ascii")

    def __len__(self) -> int:
        return len(self._starts)

    def materialize(self) -> dict[str, Export]:
        # One split of the whole table: 25,000 lines in ~25 ms, where a lookup of each
        # line's bounds took three times as long.
        return {e.name: e for e in map(_export, self._blob.decode("ascii").splitlines())}


def _export(line: str) -> Export:
    """One ``name\towner\tgpl\tnamespace\tcrc`` line. (tuple.__new__: Export's own
    __new__ is Python code, with defaults.)"""
    name, owner, gpl, ns, crc = line.split("\t")
    return tuple.__new__(Export, (name, owner, gpl == "1", ns, int(crc) if crc else None))


def load(key: str) -> CatalogPart | None:
    """The part stored under ``key``; a miss (None) for anything missing, odd or not ours."""
    return read_entry(key, SUFFIX, _decode)


def read_entry(key: str, suffix: str, decode: Callable[[bytes, str], T]) -> T | None:
    """The entry of ``key`` decoded; None when there is none, and when it cannot be trusted
    or decoded (then it is removed): every failure of ``decode`` is a miss."""
    folder = private_folder(create=False)
    if folder is None:
        return None
    path = folder / _file_name(key, suffix)
    try:
        opened = open_entry(path)
        if opened is None:
            return None
        with opened[0] as f:
            return decode(f.read(), key)
    except Exception:
        path.unlink(missing_ok=True)
        return None


def _decode(data: bytes, key: str) -> CatalogPart:
    head = len(_MAGIC) + 12
    if not data.startswith(_MAGIC) or len(data) < head:
        raise ValueError("not a facts entry")
    crc, meta_len, count = (int.from_bytes(data[i : i + 4], "little") for i in (12, 16, 20))
    if zlib.crc32(memoryview(data)[head:]) != crc:
        raise ValueError("CRC mismatch")
    meta = json.loads(data[head : head + meta_len])
    if meta["key"] != key:
        raise ValueError("entry made for other sources")
    index_at = head + meta_len
    starts = memoryview(data)[index_at : index_at + 4 * count].cast("I")
    blob = data[index_at + 4 * count :]
    if len(starts) != count or (count and (starts[-1] >= len(blob) or not blob.endswith(b"\n"))):
        raise ValueError("bad export index")
    version = meta["version"]
    return CatalogPart(
        exports=StoredExports(blob, starts),
        proprietary=frozenset(meta["proprietary"]),
        depends={m: tuple(d) for m, d in meta["depends"].items()},
        modules=frozenset(meta["modules"]),
        magics=dict(meta["magics"]),
        version=(int(version[0]), int(version[1])) if version else None,
    )


def store(key: str, part: CatalogPart) -> None:
    """Write ``part`` under ``key``; names that do not fit the text table are not stored."""
    import array

    exports = part.exports.materialize()
    lines: list[bytes] = []
    for name in sorted(exports, key=lambda n: n.encode("utf-8", "surrogateescape")):
        e = exports[name]
        line = f"{name}\t{e.owner}\t{int(e.gpl)}\t{e.namespace}\t{'' if e.crc is None else e.crc}"
        if not line.isascii() or line.count("\t") != 4 or "\n" in line:
            return
        lines.append(line.encode("ascii") + b"\n")
    starts = array.array("I", [0] * len(lines))
    at = 0
    for i, encoded in enumerate(lines):
        starts[i] = at
        at += len(encoded)
    meta = json.dumps(
        {
            "key": key,
            "proprietary": sorted(part.proprietary),
            "depends": {m: list(d) for m, d in part.depends.items()},
            "modules": sorted(part.modules),
            "magics": dict(part.magics),
            "version": part.version,
        }
    ).encode()
    body = meta + starts.tobytes() + b"".join(lines)
    header = b"".join(n.to_bytes(4, "little") for n in (zlib.crc32(body), len(meta), len(lines)))
    write_entry(key, SUFFIX, _MAGIC + header + body, KEEP)


def write_entry(key: str, suffix: str, data: bytes, keep: int) -> None:
    """Write the entry of ``key`` atomically; of the entries with ``suffix``, the ``keep``
    most recently written stay."""
    import tempfile  # with shutil and random: ~7 ms a warm check that only reads skips

    folder = private_folder(create=True)
    if folder is None:
        return
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, folder / _file_name(key, suffix))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        entries = sorted(folder.glob(f"*{suffix}"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[keep:]:
            old.unlink(missing_ok=True)
    except OSError:
        return  # a read-only or full cache folder only costs speed
