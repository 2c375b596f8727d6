"""The built-in ``elf`` and ``btf`` sources' readers that ``ksql check`` uses, reached
through the ``ksql.plugins`` package (installed from ``plugins/``) with their types spelled
here: a module file's loader facts, a tree's module files and fingerprint, a BTF struct size.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import cast

from ksql.kernel.facts import ModuleFacts


def read_many(paths: list[Path], *, probe: bool = False) -> Iterator[ModuleFacts | str]:
    """Facts of each module (``probe``: headers only). A few small modules are read in
    this process by the plain-Python reader (no numpy to import); more, on every core."""
    if not probe:
        from ksql.elf import modfacts

        if modfacts.small(paths):
            return iter(modfacts.read_many(paths))
    fn = importlib.import_module("ksql.plugins.elf.loadfacts").read_many
    return cast(Callable[..., Iterator[ModuleFacts | str]], fn)(paths, probe=probe)


def module_files(root: Path) -> list[Path]:
    fn = importlib.import_module("ksql.plugins.elf.files").module_files
    return cast(Callable[[Path], list[Path]], fn)(root)


def tree_fingerprint(root: Path) -> str:
    fn = importlib.import_module("ksql.plugins.elf.files").tree_fingerprint
    return cast(Callable[[Path], str], fn)(root)


def one_look() -> AbstractContextManager[None]:
    """A tree's fingerprint taken once for the whole block (``ksql.plugins.elf.files``)."""
    fn = importlib.import_module("ksql.plugins.elf.files").one_look
    return cast(Callable[[], AbstractContextManager[None]], fn)()


def struct_size(path: Path, name: str) -> int | None:
    fn = importlib.import_module("ksql.plugins.btf.sizes").struct_size
    return cast(Callable[[Path, str], "int | None"], fn)(path, name)
