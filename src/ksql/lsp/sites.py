"""Source-tree sites (``exported_at``, ``defined_at``, ``declared_at``: ``path:line:col``,
1-based, columns in bytes, relative to the tree the ``tree`` source read) turned into files
on disk: the tree's root comes from the row's own ``tree:ROOT`` source label; a headers
tree may be two folders (Debian's split ``linux-headers-*`` and its ``-common`` tree).
"""

from __future__ import annotations

import functools
import importlib
import re
from pathlib import Path
from typing import Any

from ksql.model import ExportKind, Symbol
from ksql.values import frozen

TREE = "tree:"
_EXPORT_MACRO = re.compile(r"\b(\w*EXPORT_\w+)\s*\(")


@frozen
class Site:
    path: str  # relative to the tree
    line: int  # 1-based
    col: int  # 1-based, bytes

    @property
    def short(self) -> str:
        """``drivers/dma-buf/dma-buf.c:742``, as people quote a place."""
        return f"{self.path}:{self.line}"


def parse_site(text: str) -> Site | None:
    path, sep, rest = text.rpartition(":")
    path2, sep2, line = path.rpartition(":")
    if not sep or not sep2:
        return None
    try:
        return Site(path2, int(line), int(rest))
    except ValueError:
        return None


def tree_roots(sources: tuple[str, ...]) -> list[Path]:
    """The tree folders among a row's sources, each with a headers tree's common part."""
    roots: list[Path] = []
    for label in sources:
        if label.startswith(TREE):
            roots.extend(_roots(label[len(TREE) :]))
    return roots


def tree_plugin(module: str = "") -> Any:
    """The built-in ``tree`` source's module (``ksql.plugins.tree``, or its ``.index``): it
    owns what a source tree, a headers tree and a tree's configuration are. Imported by
    name: ``plugins/`` is its own package root (the setuptools mapping)."""
    return importlib.import_module("ksql.plugins.tree" + (f".{module}" if module else ""))


@functools.lru_cache(maxsize=64)
def _roots(root: str) -> tuple[Path, ...]:
    return tuple(tree_plugin().headers_roots(Path(root)))


def locate(site: Site, roots: list[Path]) -> Path | None:
    """The file of ``site`` under the first root that has it."""
    for root in roots:
        path = root / site.path
        if path.is_file():
            return path
    return None


@functools.lru_cache(maxsize=4096)
def read_line(path: Path, line: int) -> str:
    """Line ``line`` (1-based) of ``path``; '' when unreadable. Cached: a hover reads the
    export line of the same few symbols again and again."""
    try:
        with path.open("rb") as f:
            for n, raw in enumerate(f, 1):
                if n == line:
                    return raw.decode("utf-8", "replace").rstrip("\r\n")
    except OSError:
        pass
    return ""


def export_macro(sym: Symbol) -> str:
    """The macro at ``sym``'s export site as the tree writes it (``EXPORT_SYMBOL_NS_GPL``,
    ``EXPORT_TRACEPOINT_SYMBOL_GPL``), else the row's export kind."""
    site = parse_site(sym.exported_at)
    if site is not None:
        path = locate(site, tree_roots(sym.sources))
        if path is not None:
            m = _EXPORT_MACRO.search(read_line(path, site.line), max(0, site.col - 1))
            if m:
                return m.group(1)
    return sym.export.label if sym.export is not ExportKind.NONE else ""
