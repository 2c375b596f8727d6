"""One file of a tree scanned again, for an editor that saves it: the file's export,
definition and declaration sites with the module the file is built into -- without a
rescan of the tree. Opening the tree reads its Makefiles and configuration once
(:meth:`TreeIndex.open`); :meth:`TreeIndex.rescan` then costs one file's scan
(benchmarks/bench_tree.py measures it; the target is 20 ms).

Example (a language server on ``didSave``)::

    index = TreeIndex.open(Path("~/linux").expanduser())
    for site in index.rescan("drivers/usb/storage/usb.c"):
        print(site.field, site.name, site.location, site.module)
"""

from __future__ import annotations

import os
from pathlib import Path

from ksql.kernel.exportmacros import exports_of
from ksql.kernel.kbuild import Kbuild, scan_kbuild, srcarch
from ksql.kernel.modules import VMLINUX
from ksql.model import ExportKind
from ksql.regular import read_regular
from ksql.values import frozen

from .index import TreeConfig, find_config
from .rows import expand_xmacros
from .scan import scan
from .sites import FileSites

__all__ = ["FileSite", "TreeIndex"]


@frozen
class FileSite:
    """One site: ``field`` is the catalog column it fills (``exported_at``, ``defined_at``,
    ``declared_at``); ``location`` is ``path:line:col`` as in that column; ``module`` is
    the file's module (``vmlinux``; None when the configuration does not build it)."""

    name: str
    field: str
    path: str
    line: int
    col: int
    module: str | None
    export: ExportKind = ExportKind.NONE
    namespace: str = ""
    function: bool = False
    static: bool = False

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


@frozen
class TreeIndex:
    """A tree's Makefiles and configuration, read once; then one file at a time."""

    root: Path
    config: TreeConfig
    kbuild: Kbuild

    @classmethod
    def open(cls, root: Path, config: TreeConfig | None = None) -> TreeIndex:
        config = config or find_config(root)
        kbuild = scan_kbuild(root, config.values) if config.path else Kbuild()
        return cls(root, config, kbuild)

    def module_of(self, rel: str) -> str | None:
        """The module ``rel`` is built into: ``vmlinux``, a module name, or None (not
        built). Without a configuration every file counts as vmlinux."""
        module = self.kbuild.files.get(rel)
        if module is None and not self.config.path:
            return VMLINUX
        return module

    def scan(self, rel: str, data: bytes | None = None) -> FileSites:
        """The file's sites as scanned (``data``: the editor's buffer, else the file)."""
        if data is None:
            data = read_regular(os.path.join(self.root, rel))  # (a FIFO is refused, not waited on)
        sites = scan(rel, data, headers=rel.endswith(".h"))
        if sites.xmacros:  # cgroup.c's SUBSYS over cgroup_subsys.h: the header as saved
            config = self.config.values
            expand_xmacros(sites, self.root, config, srcarch(config))
        return sites

    def rescan(self, rel: str, data: bytes | None = None) -> list[FileSite]:
        """Every site of the file ``rel`` (relative to the root), in file order."""
        sites = self.scan(rel, data)
        module = self.module_of(rel)
        folder_ns = self.kbuild.namespaces.get(rel.rpartition("/")[0], "")
        out: list[FileSite] = []
        for name, line, col, kind, ns, is_default in sites.exports + _unwrapped(sites):
            namespace = folder_ns if is_default and not ns else ns
            out.append(FileSite(name, "exported_at", rel, line, col, module,
                                ExportKind(kind), namespace))  # fmt: skip
        for name, line, col, function, static in sites.definitions:
            out.append(FileSite(name, "defined_at", rel, line, col, module,
                                function=function, static=static))  # fmt: skip
        for name, line, col in sites.declarations:
            out.append(FileSite(name, "declared_at", rel, line, col, module))
        out.sort(key=lambda s: (s.line, s.col, s.field, s.name))
        return out


def _unwrapped(sites: FileSites) -> list[tuple[str, int, int, int, str, bool]]:
    """Exports through the file's own wrapper macros (``#define W(x) EXPORT_SYMBOL(x)``)."""
    out = []
    for macro, args, line, col in sites.wrapped:
        rule = sites.wrappers.get(macro)
        if rule is None:
            continue
        params, target, target_args = rule
        bound = dict(zip(params, args, strict=False))
        values = [bound.get(a, a) for a in target_args]
        for name, kind, ns in exports_of(target, values, sites.default_namespace or "\0"):
            out.append((name, line, col, int(kind), "" if ns == "\0" else ns, ns == "\0"))
    return out
