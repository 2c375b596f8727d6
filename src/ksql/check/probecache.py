"""A module tree's header probes, kept between runs beside the load cache: JSON (never
executable, unlike a pickle) in the private cache directory, keyed by the tree's fingerprint
(every module file's path, size and modification time) and ksql's version. Anything that
does not read back as the expected shape is a miss. ``KSQL_NO_CACHE`` turns it off.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ksql import __version__
from ksql.kernel.facts import ModuleFacts

_FIELDS: dict[str, tuple[type, ...]] = {
    "path": (str,),
    "name": (str,),
    "versions": (bool,),
    "layout_crc": (int, type(None)),
    "this_module": (int, type(None)),
    "this_module_alloc": (bool,),
    "machine": (int, type(None)),
    "is64": (bool, type(None)),
    "e_type": (int, type(None)),
    "signed": (bool,),
}
FORMAT = 1


def _file(tree: Path, fingerprint: str) -> Path | None:
    from ksql.private import private_file

    if os.environ.get("KSQL_NO_CACHE"):
        return None
    digest = hashlib.sha256(f"{FORMAT}\0{__version__}\0{tree}\0{fingerprint}".encode())
    return private_file(f"probes-{digest.hexdigest()[:32]}.json")


def load(tree: Path, fingerprint: str) -> list[ModuleFacts] | None:
    path = _file(tree, fingerprint)
    if path is None:
        return None
    try:
        with path.open("rb") as f:
            records = json.load(f)
        return [_facts(r) for r in records]
    except (OSError, ValueError, TypeError, KeyError):
        return None


def store(tree: Path, fingerprint: str, probes: Sequence[ModuleFacts]) -> None:
    path = _file(tree, fingerprint)
    if path is None:
        return
    records = [
        {**{k: getattr(p, k) for k in _FIELDS}, "wx": [list(w) for w in p.wx_sections]}
        for p in probes
    ]
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    try:
        with tmp.open("w") as f:
            json.dump(records, f)
        tmp.replace(path)
    except OSError:
        tmp.unlink(missing_ok=True)


def _facts(record: Any) -> ModuleFacts:
    if not isinstance(record, dict):
        raise TypeError("record")
    values = {}
    for key, types in _FIELDS.items():
        value = record[key]
        ok = value is None if value is None else isinstance(value, types)
        if value is not None and isinstance(value, bool) != (bool in types):
            ok = False  # JSON true is no CRC, and 1 is no flag
        if not ok:
            raise TypeError(key)
        values[key] = value
    wx = tuple((int(i), str(n)) for i, n in record["wx"])
    return ModuleFacts(wx_sections=wx, **values)
