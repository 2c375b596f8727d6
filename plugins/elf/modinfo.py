"""Module metadata in a ``.ko``: ``.modinfo`` (``key=value`` strings, NUL-separated:
name, license, depends, import_ns, vermagic, author, description, ...; include/linux/module.h
MODULE_INFO) and the CRCs it expects for its imports: ``__versions``, an array of
``struct modversion_info { unsigned long crc; char name[64 - sizeof(unsigned long)]; }``
(include/linux/module.h), and the extended form for long names, ``__version_ext_crcs`` (u32
array) beside ``__version_ext_names`` (NUL-separated) from 54ac1ac8edeb ("modules: Support
extended MODVERSIONS info", 6.14).
"""

from __future__ import annotations

import numpy as np

from .reader import ElfImage

MODULE_NAME_LEN = 64


def modinfo(image: ElfImage) -> dict[str, list[str]]:
    """``.modinfo`` as key -> values (keys may repeat: alias, author, import_ns, ...)."""
    index = image.index(".modinfo")
    if index is None:
        return {}
    out: dict[str, list[str]] = {}
    for entry in image.section_bytes(index).split(b"\0"):
        key, sep, value = entry.decode("utf-8", "replace").partition("=")
        if sep and key:
            out.setdefault(key, []).append(value)
    return out


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
    crcs_index = image.index("__version_ext_crcs")
    names_index = image.index("__version_ext_names")
    if crcs_index is not None and names_index is not None:
        crcs = image.section_bytes(crcs_index)
        names = image.section_bytes(names_index).split(b"\0")
        for i, name in enumerate(names[: len(crcs) // 4]):
            if name:
                out[name.decode("utf-8", "replace")] = image.u32(crcs[4 * i : 4 * i + 4])
    return out
