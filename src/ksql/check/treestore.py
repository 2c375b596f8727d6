"""A module tree's facts for ``ksql check``, kept between runs in the private cache folder:
each module's :class:`ModuleFacts` but its imports (header probe, ``.modinfo``, exports,
COMMON symbols) and the tree's imports (:class:`TreeImports`). A warm check of a tree reads
this one entry, without the plugins, the tree's catalog or a look at each file's headers.

The key: the tree's path and fingerprint (every module file's path, size and modification
time), the ``KSQL_*`` settings, ``--block``, ksql's version and the stamp of its own and its
built-in plugins' files (:func:`ksql.check.kstore.maker`). Made for the built-in
plugins only. The entry is JSON for the modules, then the imports' weak flags, CRCs
(int64) and names (``\\n``-joined) as raw bytes; it gets the facts cache's distrust (a
trusted file in the private folder, CRC-32, the same key inside, every value's type
checked): anything odd is a miss.
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Sequence
from itertools import accumulate, repeat
from pathlib import Path
from typing import Any

import numpy as np

from ksql.check.bulk import TreeImports
from ksql.check.kstore import maker, read_entry, write_entry
from ksql.kernel.facts import Export, ModuleFacts

FORMAT = 1
SUFFIX = ".tfacts"
KEEP = 8
_MAGIC = b"ksql-tfacts\n"

_OPT_STR = (str, type(None))
_OPT_INT = (int, type(None))
# ModuleFacts' plain fields and the types a record may hold for each.
_LISTS = ("import_ns", "depends", "common")
_FIELDS: dict[str, tuple[type, ...]] = {
    "path": (str,),
    "name": (str,),
    "license": _OPT_STR,
    "vermagic": _OPT_STR,
    "intree": (bool,),
    "versions": (bool,),
    "layout_crc": _OPT_INT,
    "this_module": _OPT_INT,
    "this_module_alloc": (bool,),
    "machine": _OPT_INT,
    "is64": (bool, type(None)),
    "e_type": _OPT_INT,
    "signed": (bool,),
}


def key_for(tree: Path, fingerprint: str, blocked: Sequence[str] = ()) -> str | None:
    """The entry key of ``tree`` as it is now, or None when it cannot have one (the cache
    off, third-party plugins installed)."""
    if os.environ.get("KSQL_NO_CACHE"):
        return None
    made_by = maker(blocked)
    if made_by is None:
        return None
    return json.dumps([FORMAT, os.path.abspath(tree), fingerprint, *made_by])


def load(key: str) -> tuple[list[ModuleFacts], TreeImports] | None:
    """The tree's facts stored under ``key``; None for a miss (anything odd included)."""
    return read_entry(key, SUFFIX, _decode)


def store(key: str, facts: Sequence[ModuleFacts], imports: TreeImports) -> None:
    # Column by column: checked and rebuilt in bulk, 4,022 modules in a few ms each.
    modules: dict[str, list[Any]] = {k: [getattr(m, k) for m in facts] for k in _FIELDS}
    for k in _LISTS:
        modules[k] = [list(getattr(m, k)) for m in facts]
    modules["wx"] = [[list(w) for w in m.wx_sections] for m in facts]
    modules["exports"] = [len(m.exports) for m in facts]
    every = [e for m in facts for e in m.exports]
    exports = {
        "name": [e.name for e in every],
        "gpl": [e.gpl for e in every],
        "namespace": [e.namespace for e in every],
        "crc": [e.crc for e in every],
    }
    names = "\n".join(imports.names).encode("utf-8", "surrogateescape")
    spans = [[module, s.start, s.stop] for module, s in imports.at.items()]
    meta = {
        "key": key,
        "modules": modules,
        "exports": exports,
        "imports": spans,
        "count": len(imports.names),
    }
    encoded = json.dumps(meta).encode()
    weak = imports.weak.astype(np.uint8).tobytes()
    crcs = imports.crcs.astype("<i8").tobytes()
    body = encoded + weak + crcs + names
    header = b"".join(n.to_bytes(4, "little") for n in (zlib.crc32(body), len(encoded)))
    write_entry(key, SUFFIX, _MAGIC + header + body, KEEP)


def _decode(data: bytes, key: str) -> tuple[list[ModuleFacts], TreeImports]:
    head = len(_MAGIC) + 8
    if not data.startswith(_MAGIC) or len(data) < head:
        raise ValueError("not a tree facts entry")
    crc, meta_len = (int.from_bytes(data[i : i + 4], "little") for i in (12, 16))
    if zlib.crc32(memoryview(data)[head:]) != crc:
        raise ValueError("CRC mismatch")
    meta = json.loads(data[head : head + meta_len])
    if meta["key"] != key:
        raise ValueError("entry made for another tree")
    count = meta["count"]
    at = head + meta_len
    weak = np.frombuffer(data, np.uint8, count, at).astype(bool)
    crcs = np.frombuffer(data, "<i8", count, at + count).astype(np.int64)
    text = data[at + 9 * count :].decode("utf-8", "surrogateescape")
    names = text.split("\n") if count else []
    if len(names) != count:
        raise ValueError("bad import names")
    spans = {}
    for module, start, stop in meta["imports"]:
        if not (isinstance(module, str) and 0 <= start <= stop <= count):
            raise ValueError("bad import span")
        spans[module] = slice(start, stop)
    return _modules(meta["modules"], meta["exports"]), TreeImports(names, weak, crcs, spans)


def _modules(columns: Any, exports: Any) -> list[ModuleFacts]:
    """The modules' facts from their columns, every value's type checked."""
    count = len(columns["name"])
    values = {k: _column(columns[k], types, count) for k, types in _FIELDS.items()}
    for k in _LISTS:
        values[k] = [_strings(v) for v in _column(columns[k], (list,), count)]
    values["wx_sections"] = [
        tuple((int(i), str(n)) for i, n in v) for v in _column(columns["wx"], (list,), count)
    ]
    sizes = _column(columns["exports"], (int,), count)
    total = sum(sizes)
    owners = [name for name, size in zip(values["name"], sizes, strict=True) for _ in range(size)]
    every = list(
        map(
            tuple.__new__,
            repeat(Export),
            zip(
                _column(exports["name"], (str,), total),
                owners,
                _column(exports["gpl"], (bool,), total),
                _column(exports["namespace"], (str,), total),
                _column(exports["crc"], _OPT_INT, total),
                strict=True,
            ),
        )
    )
    ends = list(accumulate(sizes))
    values["exports"] = [tuple(every[e - n : e]) for e, n in zip(ends, sizes, strict=True)]
    keys = list(values)
    return [
        ModuleFacts(**dict(zip(keys, row, strict=True)))
        for row in zip(*values.values(), strict=True)
    ]


def _column(value: Any, types: tuple[type, ...], count: int) -> list[Any]:
    """``value`` when it is a list of ``count`` values of exactly ``types`` (JSON true is
    no CRC, and 1 is no flag). By the set of the values' types: 7 ms for the tree's 22
    columns, where an isinstance() test of each value took 20 ms."""
    if not isinstance(value, list) or len(value) != count:
        raise TypeError("not a column")
    if not set(map(type, value)) <= set(types):
        raise TypeError("bad value")
    return value


def _strings(value: list[Any]) -> tuple[str, ...]:
    if not set(map(type, value)) <= {str}:
        raise TypeError("not a list of strings")
    return tuple(value)
