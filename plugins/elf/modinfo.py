"""Module metadata in a ``.ko``: ``.modinfo`` and the CRCs it expects for its imports, the
``__versions`` array read with numpy (a module may import thousands of symbols); the
formats and the shared rules are :mod:`ksql.kernel.modinfo`'s.
"""

from __future__ import annotations

import numpy as np

from ksql.kernel.modinfo import MODULE_NAME_LEN, extended_crcs, modinfo

from .reader import ElfImage

__all__ = ["MODULE_NAME_LEN", "expected_crcs", "modinfo"]


def expected_crcs(image: ElfImage) -> dict[str, int]:
    """name -> CRC the module was built against, for its imports."""
    out: dict[str, int] = {}
    index = image.index("__versions")
    if index is not None:
        raw = image.section_bytes(index)
        word = 8 if image.is64 else 4
        order = "<" if image.little else ">"
        record = np.dtype([("crc", f"{order}u{word}"), ("name", f"S{MODULE_NAME_LEN - word}")])
        table = np.frombuffer(raw, record, len(raw) // MODULE_NAME_LEN)
        for crc, name in zip(table["crc"].tolist(), table["name"].tolist(), strict=True):
            if name:  # numpy's S dtype drops the NUL padding
                out[name.split(b"\0", 1)[0].decode("utf-8", "replace")] = crc & 0xFFFFFFFF
    out.update(extended_crcs(image))
    return out
