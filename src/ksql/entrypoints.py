"""Third-party plugins' entry points, found without scanning every installed distribution
on every run.

``importlib.metadata`` reads each distribution's metadata to find one group: ~40 ms per
process here (its import alone ~15 ms), a third of a warm query's start-up, to learn what did
not change. The list is kept in the private cache folder, keyed by the import path: each
``sys.path`` entry with its modification time (installing, upgrading or removing a
distribution adds or removes a ``*.dist-info`` directory there, which changes the time and
the link count). One small file per import path.
"""

from __future__ import annotations

import json
import os
import sys
import zlib
from pathlib import Path

from ksql.private import private_file
from ksql.values import frozen

KEEP = 8  # lists, one per import path; the least recently written go first


@frozen
class EntryPoint:
    name: str
    value: str  # "module" or "module:attr.attr"
    distribution: str  # "name version"


def entry_points(group: str) -> list[EntryPoint]:
    """The entry points of ``group`` across installed distributions, in discovery order."""
    key = _environment(group)
    path = private_file(_file_name(key))
    if path is not None and os.environ.get("KSQL_NO_CACHE") is None:
        try:
            stored = json.loads(path.read_text())
            if stored.get("key") == key:
                return [EntryPoint(*e) for e in stored["entry_points"]]
        except (OSError, ValueError, TypeError, AttributeError, KeyError):
            pass
    found = _scan(group)
    if path is not None:
        _store(path, key, found)
    return found


def _file_name(key: list[object]) -> str:
    """One file per import path: ``ksql`` and ``python -m ksql`` (whose paths differ by the
    script's directory) do not evict each other's list. The key inside is checked whole."""
    return f"entry-points-{zlib.crc32(json.dumps(key).encode()):08x}.json"


def _scan(group: str) -> list[EntryPoint]:
    from importlib.metadata import distributions

    found = []
    for dist in distributions():
        for ep in dist.entry_points:
            if ep.group == group:
                found.append(
                    EntryPoint(ep.name, ep.value, f"{dist.metadata['name']} {dist.version}")
                )
    return found


def _environment(group: str) -> list[object]:
    stamps: list[object] = [group, sys.version, sys.prefix]
    for entry in sys.path:
        try:
            st = os.stat(entry or ".")
            # A new *.dist-info directory also adds a link: seen even within one clock tick.
            stamps.append([entry, st.st_mtime_ns, st.st_nlink])
        except OSError:
            stamps.append([entry, None])
    return stamps


def _store(path: Path, key: list[object], found: list[EntryPoint]) -> None:
    text = json.dumps(
        {"key": key, "entry_points": [[e.name, e.value, e.distribution] for e in found]}
    )
    import tempfile  # only when the list changed: ~2.5 ms of every run's start-up otherwise

    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
        lists = sorted(path.parent.glob("entry-points-*.json"), key=lambda p: p.stat().st_mtime)
        for old in lists[:-KEEP]:
            old.unlink(missing_ok=True)
    except OSError:
        return  # a read-only cache folder only costs speed
