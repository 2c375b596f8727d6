"""The core table kept between runs: what :class:`~ksql.symbolize.kernel_table.KernelTable`
derives from a catalog (the kallsyms rows after scripts/kallsyms.c's filter, sorted by
address; the image bounds; the rows in name order, for an oops's reverse look-ups) is stored
in the private cache directory next to the load cache's entries, in the same entry format
(:mod:`ksql.entryfile`: CRC-32 checked), keyed by a BLAKE2 digest of the catalog columns it
reads (~10 ms for Debian 6.1's vmlinux, against ~100 ms to derive them). Entries are
checked like the load cache's (a regular file of this user's, sane shapes and ranges);
anything else is a miss, never an error. ``KSQL_NO_CACHE=1`` turns it off.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ksql import __version__, cache, entryfile
from ksql.catalog import Catalog
from ksql.kernel.modules import VMLINUX
from ksql.private import open_entry, private_folder
from ksql.values import frozen

FORMAT = 1
SUFFIX = ".kallsyms.entry"  # ends as the load cache's entries: pruned with them (LRU)
_COLUMNS = ("module", "addr", "addr.known", "undefined", "type")


@frozen
class Derived:
    """A table's arrays: catalog ``rows`` in address order, their ``addrs``, the image
    ``bounds`` and ``by_name`` (positions into ``rows``, in name order)."""

    rows: npt.NDArray[np.int64]
    addrs: npt.NDArray[np.uint64]
    bounds: dict[str, int]
    by_name: npt.NDArray[np.int64]


def digest(catalog: Catalog) -> str:
    """What the table depends on: the names, the columns it reads, vmlinux's module code."""
    cols = catalog.columns()
    h = hashlib.blake2b(digest_size=20)
    h.update(f"{FORMAT} {__version__} {catalog.modules.codes.get(VMLINUX)}\n".encode())
    h.update(cols.name.blob.encode("utf-8", "surrogatepass"))
    for name in _COLUMNS:
        column = np.ascontiguousarray(cols[name])
        h.update(f"{name} {column.dtype.str} {len(column)}\n".encode())
        h.update(column.data)
    return h.hexdigest()


def load(key: str, catalog_rows: int) -> Derived | None:
    """The arrays stored under ``key``, or None (a miss; a bad entry is removed)."""
    if not cache.enabled():
        return None
    folder = private_folder(create=False)
    if folder is None:
        return None
    path = folder / f"{key}{SUFFIX}"
    try:
        opened = open_entry(path)
        if opened is None:
            return None
        f, _ = opened
        with f:
            members, meta = entryfile.read(entryfile.mapped(f))
        derived = _checked(members, meta, catalog_rows)
        os.utime(path)
    except Exception:
        path.unlink(missing_ok=True)
        return None
    return derived


def _checked(members: dict[str, np.ndarray], meta: object, catalog_rows: int) -> Derived:
    rows, addrs, by_name = members["rows"], members["addrs"], members["by_name"]
    if rows.dtype != np.int64 or addrs.dtype != np.uint64 or by_name.dtype != np.int64:
        raise ValueError("bad dtypes")
    n = len(rows)
    if len(addrs) != n or len(by_name) != n:
        raise ValueError("bad lengths")
    if n and (rows.min() < 0 or rows.max() >= catalog_rows or (np.diff(addrs) < 0).any()):
        raise ValueError("rows out of range or addresses out of order")
    if n and (by_name.min() < 0 or by_name.max() >= n):
        raise ValueError("name order out of range")
    if not isinstance(meta, dict) or not all(
        isinstance(k, str) and isinstance(v, int) for k, v in meta.get("bounds", {}).items()
    ):
        raise ValueError("bad bounds")
    return Derived(rows, addrs, dict(meta.get("bounds", {})), by_name)


def store(key: str, derived: Derived) -> None:
    """Keep ``derived`` under ``key`` (atomically; a read-only cache only costs speed)."""
    if not cache.enabled():
        return
    folder = private_folder(create=True)
    if folder is None:
        return
    members = {"rows": derived.rows, "addrs": derived.addrs, "by_name": derived.by_name}
    import tempfile  # only on a miss

    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".", suffix=cache.TMP_SUFFIX)
        try:
            with os.fdopen(fd, "wb") as f:
                entryfile.write(f, members, {"bounds": derived.bounds})
            os.replace(tmp, folder / f"{key}{SUFFIX}")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except (OSError, ValueError):
        return
