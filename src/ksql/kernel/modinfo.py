"""How the kernel spells a module's ``.modinfo`` values and its extended modversions: the
rules both ELF readers (the plugin's numpy one, :mod:`ksql.elf`'s plain one) apply to the
section bytes they find.

``.modinfo`` is ``key=value`` strings, NUL-separated (include/linux/module.h MODULE_INFO).
``__versions`` is an array of ``struct modversion_info { unsigned long crc; char name[64 -
sizeof(unsigned long)]; }``; names too long for it go to ``__version_ext_crcs`` (u32 array)
beside ``__version_ext_names`` (NUL-separated), 54ac1ac8edeb ("modules: Support extended
MODVERSIONS info", 6.14).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

MODULE_NAME_LEN = 64


class Sections(Protocol):
    """What the rules below read of an ELF image."""

    def index(self, name: str) -> int | None: ...

    def section_bytes(self, index: int) -> bytes: ...

    def u32(self, chunk: bytes) -> int: ...


def modinfo(image: Sections) -> dict[str, list[str]]:
    """``.modinfo`` as key -> values (keys may repeat: alias, author, import_ns, ...)."""
    index = image.index(".modinfo")
    return {} if index is None else parse_modinfo(image.section_bytes(index))


def parse_modinfo(raw: bytes) -> dict[str, list[str]]:
    """A ``.modinfo`` section's bytes as key -> values."""
    out: dict[str, list[str]] = {}
    # Decoded once, not entry by entry: a NUL ends an invalid sequence either way.
    for entry in raw.decode("utf-8", "replace").split("\0"):
        key, sep, value = entry.partition("=")
        if sep and key:
            out.setdefault(key, []).append(value)
    return out


def extended_crcs(image: Sections) -> dict[str, int]:
    """name -> CRC from ``__version_ext_crcs`` / ``__version_ext_names`` (6.14+)."""
    out: dict[str, int] = {}
    crcs_index = image.index("__version_ext_crcs")
    names_index = image.index("__version_ext_names")
    if crcs_index is not None and names_index is not None:
        crcs = image.section_bytes(crcs_index)
        names = image.section_bytes(names_index).split(b"\0")
        for i, name in enumerate(names[: len(crcs) // 4]):
            if name:
                out[name.decode("utf-8", "replace")] = image.u32(crcs[4 * i : 4 * i + 4])
    return out


def modinfo_values(info: Mapping[str, Sequence[str]], key: str) -> list[str]:
    """The values of ``key`` in a module's ``.modinfo``, one per item: ``depends`` is one
    comma-separated string (scripts/mod/modpost.c ``add_depends`` writes
    ``depends=usbcore,scsi_mod``); every other key repeats itself per value."""
    values = info.get(key, [])
    if key == "depends":
        return [d for v in values for d in v.split(",") if d]
    return list(values)


def modinfo_facts(info: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """What the module loader's checks read from ``.modinfo``, as ``ModuleFacts`` fields:
    the first ``license`` and ``vermagic``, every ``import_ns``, ``depends`` split,
    ``intree`` present or not."""
    license = info.get("license")
    vermagic = info.get("vermagic")
    return {
        "license": license[0] if license else None,
        "import_ns": tuple(info.get("import_ns", ())),
        "depends": tuple(modinfo_values(info, "depends")),
        "vermagic": vermagic[0] if vermagic else None,
        "intree": bool(info.get("intree")),
    }
