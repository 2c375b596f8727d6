"""Sizes of named structs in BTF: ``BTF_KIND_STRUCT`` keeps the byte size in the word after
``info`` (include/uapi/linux/btf.h ``struct btf_type`` ``size``). The module loader's check of
``.gnu.linkonce.this_module`` compares against ``sizeof(struct module)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .bases import load_base
from .format import BtfKind


def struct_size(path: Path, name: str) -> int | None:
    """``sizeof(struct name)`` in the BTF of ``path`` (raw BTF or an ELF ``.BTF``); None when
    no complete struct has that name."""
    btf = load_base(path)
    kinds = btf.own["kind"]
    rows = np.flatnonzero(kinds == BtfKind.STRUCT)
    offsets = btf.own["name_off"][rows].tolist()
    for row, found in zip(rows.tolist(), btf.names(offsets), strict=True):
        if found == name:
            return int(btf.own["ref"][row])
    return None
