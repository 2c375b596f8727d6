"""A cache of loaded catalogs: the packed columns of a catalog, stored as numpy arrays under
the user cache directory (platformdirs), keyed by the sources' fingerprints (device, inode,
size, mtime -- or every module file's, for a module tree) and their order.

Decoding vmlinux takes ~90 ms and a distribution's 4,000 modules ~1 s, merging sources
more; reading the packed catalog back takes milliseconds. ``KSQL_NO_CACHE=1`` turns it
off, ``KSQL_CACHE_DIR`` moves it. A damaged entry is ignored and rewritten, never an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ksql import __version__
from ksql.catalog import Catalog

FORMAT = 3
KEEP = 32  # entries; the least recently used go first


def enabled() -> bool:
    return not os.environ.get("KSQL_NO_CACHE")


def directory() -> Path:
    explicit = os.environ.get("KSQL_CACHE_DIR")
    if explicit:
        return Path(explicit)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("ksql"))


def key(sources: Sequence[tuple[str, ...]]) -> str:
    """The cache key of (source label, fingerprint, decoder identity), in load order."""
    text = json.dumps([FORMAT, __version__, list(sources)])
    return hashlib.sha1(text.encode()).hexdigest()


def load(cache_key: str) -> Catalog | None:
    path = directory() / f"{cache_key}.npz"
    try:
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(bytes(npz["meta"]).decode())
            arrays = {k[2:]: npz[k] for k in npz.files if k.startswith("a.")}
            snap = {
                "arrays": arrays,
                "blob": bytes(npz["blob"]).decode("utf-8", "surrogateescape"),
                "starts": npz["starts"],
                "meta": meta,
            }
        catalog = Catalog.restore(snap)
        os.utime(path)  # recently used
    except (OSError, ValueError, KeyError, TypeError, UnicodeError):
        return None
    return catalog


def store(cache_key: str, catalog: Catalog) -> None:
    snap = catalog.snapshot()
    blob = snap["blob"].encode("utf-8", "surrogateescape")
    if len(blob) != len(snap["blob"]):
        return  # offsets count characters: keep the cache to ASCII names
    arrays: dict[str, Any] = {f"a.{k}": v for k, v in snap["arrays"].items()}
    arrays["blob"] = np.frombuffer(blob, dtype=np.uint8)
    arrays["starts"] = snap["starts"]
    arrays["meta"] = np.frombuffer(json.dumps(snap["meta"]).encode(), dtype=np.uint8)
    folder = directory()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, folder / f"{cache_key}.npz")
        _prune(folder)
    except OSError:
        return  # a read-only or full cache directory only costs speed


def _prune(folder: Path) -> None:
    entries = sorted(folder.glob("*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[KEEP:]:
        old.unlink(missing_ok=True)
