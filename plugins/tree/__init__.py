"""Built-in source: a kernel source tree (``-s tree:~/linux``) or a headers tree
(``/lib/modules/$(uname -r)/build``, ``/usr/src/linux-headers-*``): where each symbol is
exported (``exported_at``), defined (``defined_at``) and declared (``declared_at``), as
``path:line:col`` relative to the tree, with the module each file is built into read from
the Makefiles and the tree's configuration (:mod:`ksql.kernel.kbuild`). A headers tree gives
declarations only.
"""

from __future__ import annotations

import re
from pathlib import Path

from ksql.hookspecs import hookimpl
from ksql.sink import RowSink
from ksql.source import SourceRegistry, SourceType

_INCLUDE = re.compile(r"^include\s+(/\S+)/Makefile\s*$", re.M)


def is_source_tree(path: Path) -> bool:
    """A top-level Makefile and the kernel's layout: ``Kbuild``, ``kernel/Makefile`` and
    ``kernel/*.c`` (a headers tree has the Makefiles, not the sources), ``include/linux``."""
    return (
        (path / "Makefile").is_file()
        and (path / "Kbuild").is_file()
        and (path / "include" / "linux").is_dir()
        and (path / "kernel" / "Makefile").is_file()
        and any((path / "kernel").glob("*.c"))
    )


def headers_roots(path: Path) -> list[Path]:
    """The folders of a headers tree: itself and, for Debian's split packages, the common
    tree its Makefile includes (``include /usr/src/linux-headers-<abi>-common/Makefile``)."""
    roots = [path]
    try:
        text = (path / "Makefile").read_text(errors="replace")[:4096]
    except OSError:
        return roots
    roots += [Path(m) for m in _INCLUDE.findall(text) if Path(m).is_dir()]
    return roots


def is_headers_tree(path: Path) -> bool:
    if not (path / "Makefile").is_file() or is_source_tree(path):
        return False
    return any((r / "include" / "linux").is_dir() for r in headers_roots(path))


class TreeSource(SourceType):
    name = "tree"
    description = "kernel source tree or headers tree: export, definition, declaration sites"

    def recognizes(self, path: Path, head: bytes) -> bool:
        try:
            return path.is_dir() and (is_source_tree(path) or is_headers_tree(path))
        except OSError:
            return False

    def fingerprint(self, path: Path) -> str | None:
        from .index import fingerprint

        return "|".join(fingerprint(r) for r in headers_roots(path))

    def independent(self, path: Path) -> bool:
        return True  # it reads its own tree only

    def load(self, path: Path, sink: RowSink) -> None:
        from .index import find_config, index_tree, symvers_modules

        if is_source_tree(path):
            index_tree(path, sink)
            return
        config, modules = find_config(path), symvers_modules(path)
        for root in headers_roots(path):
            index_tree(root, sink, declarations_only=True, config=config, symbol_modules=modules)


@hookimpl
def ksql_register_sources(registry: SourceRegistry) -> None:
    registry.register(TreeSource())
