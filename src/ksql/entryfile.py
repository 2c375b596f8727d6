"""The load cache's file format: named numpy arrays after a JSON header, one CRC-32 over the
whole file, mapped (:func:`mapped`) and turned into arrays without copying.

``np.savez``/``np.load`` was measured unfit for the warm path: reading Debian 6.1's vmlinux
catalog (127 k rows, 9 MB, 22 arrays) back took 28 ms, of which zipfile's per-member
reads, CRC-32s and ``read_array``'s header parsing and copies were ~17 ms; this format reads
the same entry in ~10 ms (``benchmarks/bench_elf.py``, warm rows).

Layout (little-endian)::

    magic "\\x93KSQLENT"  | u64 header length | header JSON | zero padding to 64 |
    arrays, each at a 64-byte boundary | the "blob" member last | u32 CRC-32 of all before

The header lists ``[name, dtype, count, offset]`` per member; ``offset`` -1 means every
value is ``fill`` (a column no source filled takes no room). Dtypes are limited to plain
numbers and booleans: a forged header cannot make numpy build objects.
"""

from __future__ import annotations

import json
import mmap
import zlib
from collections.abc import Mapping
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

MAGIC = b"\x93KSQLENT"
ALIGN = 64
BLOB = "blob"  # the names, last: decoded to text by the catalog
_DTYPES = {np.dtype(t).str for t in (np.bool_, np.uint8, np.uint16, np.uint32, np.int64)} | {
    np.dtype(t).str for t in (np.uint64, np.int32, np.int8, np.int16, np.float64)
}


class BadEntry(ValueError):
    """The file is not a whole, consistent entry."""


def write(f: BinaryIO, members: Mapping[str, npt.NDArray[Any]], meta: Any) -> None:
    """``members`` (1-d arrays; :data:`BLOB` last if present) and the JSON-able ``meta``."""
    names = [k for k in members if k != BLOB] + ([BLOB] if BLOB in members else [])
    table: list[list[Any]] = []
    chunks: list[tuple[int, bytes]] = []
    at = 0
    for name in names:
        a = members[name]
        if a.ndim != 1 or a.dtype.str not in _DTYPES:
            raise ValueError(f"{name}: only 1-d arrays of plain numbers can be stored")
        if len(a) > 1 and name != BLOB and (a.strides == (0,) or (a[0] == a).all()):
            table.append([name, a.dtype.str, len(a), -1, a[0].item()])
            continue
        at = -(-at // ALIGN) * ALIGN
        data = np.ascontiguousarray(a).tobytes()
        table.append([name, a.dtype.str, len(a), at])
        chunks.append((at, data))
        at += len(data)
    header = json.dumps({"members": table, "meta": meta}).encode()
    start = -(-(len(MAGIC) + 8 + len(header)) // ALIGN) * ALIGN
    head = MAGIC + len(header).to_bytes(8, "little") + header
    out = bytearray(head + bytes(start - len(head)))
    for offset, data in chunks:
        out += bytes(start + offset - len(out))
        out += data
    out += zlib.crc32(out).to_bytes(4, "little")
    f.write(out)


def mapped(f: BinaryIO, copy: bool = False) -> bytes | mmap.mmap:
    """The whole file ``f``, mapped read-only: its members become views of the mapping, not
    copies. Reading and checking a full kernel's 61 MB entry took 64-84 ms with ``read``
    (the bytes copied into fresh memory, page by page) and takes 21-34 ms mapped; vmlinux's
    7.9 MB entry 8-12 -> 3-4 ms. The caches only ever replace an entry whole (a new file
    renamed over it) or unlink it, so a mapping never sees its file cut short under it; but
    something else could cut it short in place, and a mapping whose file is cut short kills
    the process that touches it (SIGBUS). So ``copy`` reads the bytes instead, for catalogs
    kept for hours (the language server's, the REPL's), as does a file system that cannot
    map files."""
    if copy:
        return f.read()
    try:
        return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except ValueError:
        raise BadEntry("an empty file") from None
    except OSError:  # ENODEV: no mmap on this file system
        return f.read()


def read(data: bytes | mmap.mmap) -> tuple[dict[str, npt.NDArray[Any]], Any]:
    """(members, meta) of the entry held in ``data`` (a :func:`mapped` file, or bytes); the
    members are read-only views of ``data``."""
    size = len(data)
    view = memoryview(data)
    if size < len(MAGIC) + 8 or view[: len(MAGIC)] != MAGIC:
        raise BadEntry("not a ksql cache entry")
    length = int.from_bytes(view[len(MAGIC) : len(MAGIC) + 8], "little")
    start = -(-(len(MAGIC) + 8 + length) // ALIGN) * ALIGN
    if start + 4 > size:
        raise BadEntry("header longer than the file")
    if int.from_bytes(view[size - 4 :], "little") != zlib.crc32(view[: size - 4]):
        raise BadEntry("CRC-32 mismatch (a damaged or cut entry)")
    try:
        parsed = json.loads(bytes(view[len(MAGIC) + 8 : len(MAGIC) + 8 + length]))
        table = parsed["members"]
        meta = parsed["meta"]
    except (ValueError, KeyError, TypeError) as exc:
        raise BadEntry(f"bad header: {exc}") from None
    if not isinstance(table, list) or not all(
        isinstance(m, list) and len(m) >= 4 and isinstance(m[3], int) for m in table
    ):
        raise BadEntry("bad member table")
    end = size - 4 - start  # the members' room, from ``start``
    blob_at = next((m[3] for m in table if m[3] != -1 and m[0] == BLOB), end)
    if not 0 <= blob_at <= end:
        raise BadEntry("blob outside the file")
    members: dict[str, npt.NDArray[Any]] = {}
    for entry in table:
        name, dtype, count, offset = entry[:4]
        if not isinstance(dtype, str) or dtype not in _DTYPES or not isinstance(count, int):
            raise BadEntry(f"member {name}: bad dtype or count")
        dt = np.dtype(dtype)
        if offset == -1:
            members[name] = np.broadcast_to(np.array(entry[4], dtype=dt), (count,))
            continue
        # the blob after the other members, every member before the CRC
        low, high = (blob_at, end) if name == BLOB else (0, blob_at)
        if count < 0 or offset < low or offset + count * dt.itemsize > high:
            raise BadEntry(f"member {name} outside the file")
        members[name] = np.frombuffer(data, dtype=dt, count=count, offset=start + offset)
    return members, meta
