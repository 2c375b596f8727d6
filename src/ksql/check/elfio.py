"""The built-in ``elf`` and ``btf`` sources' readers that ``ksql check`` uses, each imported
when first needed: a module file's loader facts, a tree's module files and fingerprint, a BTF
struct size.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

from ksql.kernel.facts import ModuleFacts


def read_many(paths: list[Path], *, probe: bool = False) -> Iterator[ModuleFacts | str]:
    """Facts of each module (``probe``: headers only). A few small modules are read in
    this process by the plain-Python reader (no numpy to import); more, on every core."""
    if not probe:
        from ksql.elf import modfacts

        if modfacts.small(paths):
            return iter(modfacts.read_many(paths))
    from ksql.plugins.elf.loadfacts import read_many as on_every_core

    return on_every_core(paths, probe=probe)


def module_files(root: Path) -> list[Path]:
    from ksql.plugins.elf.files import module_files as found

    return found(root)


def tree_fingerprint(root: Path) -> str:
    from ksql.plugins.elf.files import tree_fingerprint as fingerprint

    return fingerprint(root)


def one_look() -> AbstractContextManager[None]:
    """A tree's fingerprint taken once for the whole block (``ksql.plugins.elf.files``)."""
    from ksql.plugins.elf.files import one_look as look

    return look()


def struct_size(path: Path, name: str) -> int | None:
    from ksql.plugins.btf.sizes import struct_size as size

    return size(path, name)
