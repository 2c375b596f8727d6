"""How the kernel spells a module's ``.modinfo`` values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def modinfo_values(info: Mapping[str, Sequence[str]], key: str) -> list[str]:
    """The values of ``key`` in a module's ``.modinfo``, one per item: ``depends`` is one
    comma-separated string (scripts/mod/modpost.c ``add_depends`` writes
    ``depends=usbcore,scsi_mod``); every other key repeats itself per value."""
    values = info.get(key, [])
    if key == "depends":
        return [d for v in values for d in v.split(",") if d]
    return list(values)
