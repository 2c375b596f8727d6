"""How the kernel spells a module's ``.modinfo`` values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


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
