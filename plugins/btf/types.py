"""``ksql type NAME``: a struct's, union's, enum's or typedef's layout from BTF, as
``pahole -C NAME`` prints it (:mod:`.layout`). The BTF comes from ``-s`` sources (raw BTF
or an ELF file's ``.BTF``: vmlinux, ``/sys/kernel/btf/vmlinux``), else the running
kernel's ``/sys/kernel/btf/vmlinux``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from ksql.errors import KsqlError

from .bases import RUNNING, load_base
from .pahole import Printer
from .reader import Btf


def _path(spec: str) -> Path:
    kind, sep, rest = spec.partition(":")
    return Path(rest) if sep and kind in ("btf", "elf") else Path(spec)


def blobs(sources: Sequence[str]) -> list[Btf]:
    """The decoded BTF of each source (cached per file), the running kernel's by default."""
    paths = [_path(s) for s in sources] or [RUNNING]
    if not sources and not RUNNING.exists():
        raise KsqlError(f"{RUNNING} does not exist here: give a vmlinux or a BTF file with -s")
    return [load_base(p) for p in paths]


def layout(name: str, sources: Sequence[str] = ()) -> str:
    """pahole's ``-C`` text for ``name`` (``struct module``, ``module``, ``enum pid_type``)
    from the first source that has it."""
    for btf in blobs(sources):
        found = Printer(btf).layout(name)
        if found is not None:
            return found
    where = ", ".join(str(_path(s)) for s in sources) or str(RUNNING)
    raise KsqlError(f"no type {name!r} in the BTF of {where}")


def main(name: str, sources: Sequence[str], out: TextIO) -> int:
    out.write(layout(name, sources))
    return 0
