"""Sites to rows: one row per ``(module, name)`` for global symbols, one per file for static
ones, with the module each file is built into (:mod:`ksql.kernel.kbuild`), the exports of
wrapper macros defined in other files resolved, and the renames of ``#define name other``
(:mod:`plugins.tree.macros`) applied to the names a file exports and defines.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ksql.kernel.definemacros import TRACEPOINT_NAMES
from ksql.kernel.exportmacros import exports_of
from ksql.kernel.kbuild import Kbuild
from ksql.kernel.modules import VMLINUX
from ksql.model import Bind, ExportKind, Kind
from ksql.sink import RowSink

from .macros import active, invocations
from .sites import FileSites

__all__ = ["RowBuilder", "expand_xmacros"]

_LOCAL, _GLOBAL, _UNKNOWN = int(Bind.LOCAL), int(Bind.GLOBAL), int(Bind.UNKNOWN)
_FUNCTION, _OBJECT, _NO_KIND = int(Kind.FUNCTION), int(Kind.OBJECT), int(Kind.UNKNOWN)
_NO_EXPORT = int(ExportKind.NONE)
_LAST = 1 << 62  # the rank of no file


class _Rows:
    """Rows as columns, one list a field. A row is made by appending to each list and read
    by index: the columns go to the sink as they are.
    (Rows as objects, read back one field at a time, took 0.9 s for the 6.1 tree's 389,031
    rows: each pass over the objects met them in cold memory.) ``defined_rank`` and
    ``exported_rank``: the rank of the file that gave the site (:meth:`RowBuilder.add_sites`)."""

    __slots__ = ("bind", "defined_at", "defined_rank", "export", "exported_at",
                 "exported_rank", "kind", "module", "name", "namespace")  # fmt: skip

    def __init__(self) -> None:
        self.module: list[str] = []
        self.name: list[str] = []
        self.bind: list[int] = []
        self.kind: list[int] = []
        self.export: list[int] = []
        self.namespace: list[str] = []
        self.exported_at: list[str] = []
        self.defined_at: list[str] = []
        self.defined_rank: list[int] = []
        self.exported_rank: list[int] = []

    def new(self, module: str, name: str, bind: int, kind: int, defined_at: str, rank: int) -> int:
        i = len(self.name)
        self.module.append(module)
        self.name.append(name)
        self.bind.append(bind)
        self.kind.append(kind)
        self.export.append(_NO_EXPORT)
        self.namespace.append("")
        self.exported_at.append("")
        self.defined_at.append(defined_at)
        self.defined_rank.append(rank)
        self.exported_rank.append(_LAST)
        return i


class RowBuilder:
    """Sites to rows. ``modules`` maps a built file to its module; with ``strict`` (a
    configuration is known) sites in files that are not built are left out."""

    def __init__(self, kbuild: Kbuild, strict: bool, declarations_only: bool = False) -> None:
        self.kbuild = kbuild
        self.files = dict(kbuild.files)
        self.wrappers: dict[str, tuple[list[str], str, list[str]]] = {}
        self.strict = strict
        self.declarations_only = declarations_only
        self.globals = _Rows()  # one a (module, name)
        self.statics = _Rows()  # one a (module, name, path)
        self.global_rows: dict[str, dict[str, int]] = {}  # module -> name -> row
        self.declared: dict[str, str] = {}
        self.tracepoints: dict[str, str] = {}
        self.renames: dict[str, dict[str, list[str]]] = {}

    def learn_wrappers(self, scanned: list[FileSites]) -> None:
        """Every file's export wrapper definitions (first one wins)."""
        for sites in scanned:
            for name, rule in sites.wrappers.items():
                self.wrappers.setdefault(name, rule)

    def unwrap(self, sites: FileSites) -> None:
        """Exports through wrapper macros, expanded (up to three wrappers deep)."""
        for macro, args, line, col in sites.wrapped:
            name, values = macro, args
            for _ in range(3):
                rule = self.wrappers.get(name)
                if rule is None:
                    break
                params, name, target_args = rule
                bound = dict(zip(params, values, strict=False))
                values = [bound.get(a, a) for a in target_args]
                found = exports_of(name, values, sites.default_namespace or "\0")
                if found:
                    # A new list: the stored sites (plugins/tree/store.py) keep the scanned one.
                    sites.exports = sites.exports + [
                        (symbol, line, col, int(kind), "" if ns == "\0" else ns, ns == "\0")
                        for symbol, kind, ns in found
                    ]
                    break

    def learn_includes(self, scanned: list[FileSites]) -> None:
        """A ``.c`` file, or a header beside it, that a built file includes is built into
        the same module (kernel/sched/build_policy.c includes idle.c, kernel/rcu/update.c
        includes tasks.h)."""
        self.renames = {s.path: s.renames for s in scanned if s.renames}
        for _ in range(3):  # included files include others
            for sites in scanned:
                module = self.files.get(sites.path)
                if module is None:
                    continue
                folder = sites.path.rpartition("/")[0]
                for inc in sites.includes:
                    rel = os.path.normpath(f"{folder}/{inc}" if folder else inc)
                    self.files.setdefault(rel, module)

    def module_of(self, path: str) -> str | None:
        module = self.files.get(path)
        if module is None and not self.strict:
            return VMLINUX
        return module

    def learn_renames(self, sites: FileSites) -> None:
        """A header's renames, for the files that include it (:meth:`learn_includes` learns
        every file's)."""
        if sites.renames:
            self.renames[sites.path] = sites.renames

    def add(self, sites: FileSites, rank: int = 0) -> None:
        self.add_declarations(sites)
        self.add_sites(sites, rank)

    def add_declarations(self, sites: FileSites) -> None:
        """The file's declarations and tracepoints (the first of each name counts)."""
        path = sites.path
        declared = self.declared
        for name, line, col in sites.declarations:
            if name not in declared:  # (a site string only for the first: 0.5 s a tree)
                declared[name] = f"{path}:{line}:{col}"
        for name, line, col in sites.tracepoints:
            for template in TRACEPOINT_NAMES:
                self.tracepoints.setdefault(template.format(name), f"{path}:{line}:{col}")

    def add_sites(self, sites: FileSites, rank: int = 0) -> None:
        """The file's exports and definitions, in the module its file is built into. When
        two files give a row the same site, the file of lower ``rank`` (the tree's file order)
        wins, whichever came first; in one file, the first (init/version.c's weak
        ``init_uts_ns`` and the definition it includes from init/version-timestamp.c)."""
        if not (sites.exports or sites.definitions):
            return
        path = sites.path
        if path.endswith(".h") and path not in self.files:
            return  # exports in a header count in the .c files that include it locally
        module = self.module_of(path)
        if module is None:
            return
        renamed = self._renames(sites)
        if renamed:
            sites.definitions = [(n, *rest) for d in sites.definitions
                                 for n, *rest in _rename(d, renamed)]  # fmt: skip
            sites.exports = [(n, *rest) for e in sites.exports
                             for n, *rest in _rename(e, renamed)]  # fmt: skip
        # A static's row is its file's: only this call looks it up (keyed by name). A
        # global's is its module's, keyed by name in the module's table (the 6.1 tree's
        # sites 0.79-1.36 -> 0.56-0.97 s, where (module, name[, path]) tuples were made and
        # hashed).
        statics, globals_ = self.statics, self.globals
        local: dict[str, int] = {}
        named = self.global_rows.setdefault(module, {})
        for name, line, col, function, static in sites.definitions:
            if static:
                table, rows, bind = local, statics, _LOCAL
            else:
                table, rows, bind = named, globals_, _GLOBAL
            i = table.get(name)
            if i is None:
                what = _FUNCTION if function else _OBJECT
                table[name] = rows.new(module, name, bind, what, f"{path}:{line}:{col}", rank)
                continue
            rows.bind[i] = bind
            if rank < rows.defined_rank[i]:
                rows.defined_at[i] = f"{path}:{line}:{col}"
                rows.kind[i] = _FUNCTION if function else _OBJECT
                rows.defined_rank[i] = rank
        namespace = self._default_namespace(path)
        for name, line, col, kind, ns, is_default in sites.exports:
            rows = statics
            i = local.get(name)
            if i is None:
                rows = globals_
                i = named.get(name)
                if i is None:
                    i = named[name] = globals_.new(module, name, _UNKNOWN, _NO_KIND, "", _LAST)
            if rank >= rows.exported_rank[i]:
                continue
            rows.exported_rank[i] = rank
            rows.exported_at[i] = f"{path}:{line}:{col}"
            rows.export[i] = int(ExportKind(kind))
            rows.namespace[i] = namespace if is_default else ns

    def _renames(self, sites: FileSites) -> dict[str, list[str]]:
        """The file's ``#define name other`` renames and those of the local headers it
        includes (drivers/staging/rtl8192u/ieee80211/*.c include "ieee80211.h")."""
        found = dict(sites.renames)
        folder = sites.path.rpartition("/")[0]
        for inc in sites.includes:
            if inc.endswith(".h"):
                rel = os.path.normpath(f"{folder}/{inc}" if folder else inc)
                for name, others in self.renames.get(rel, {}).items():
                    found.setdefault(name, others)
        return found

    def _default_namespace(self, path: str) -> str:
        folder = path.rpartition("/")[0]
        return self.kbuild.namespaces.get(folder, "")

    def emit(self, sink: RowSink, symbol_modules: dict[str, str] | None = None) -> int:
        g, s = self.globals, self.statics
        names, binds, kinds = g.name + s.name, g.bind + s.bind, g.kind + s.kind
        defined_at = g.defined_at + s.defined_at
        declared = self.declared
        declared_at = [
            "" if b == _LOCAL else declared.get(n, "") for n, b in zip(names, binds, strict=True)
        ]
        tracepoints = self.tracepoints
        if tracepoints:
            for i, (name, site) in enumerate(zip(names, defined_at, strict=True)):
                if not site and name in tracepoints:
                    defined_at[i] = tracepoints[name]
                    kinds[i] = _OBJECT if name.startswith("__tracepoint_") else _FUNCTION
        modules = g.module + s.module
        exports, namespaces = g.export + s.export, g.namespace + s.namespace
        exported_at = g.exported_at + s.exported_at
        if self.declarations_only:
            have = set(names)
            found = symbol_modules or {}
            for name, site in declared.items():
                if name not in have:
                    names.append(name)
                    modules.append(found.get(name, VMLINUX))
                    declared_at.append(site)
                    binds.append(_UNKNOWN)
                    kinds.append(_NO_KIND)
                    exports.append(_NO_EXPORT)
                    for strings in (namespaces, exported_at, defined_at):
                        strings.append("")
        if not names:
            return 0
        sink.extend(
            names,
            module=modules,
            bind=binds,
            kind=kinds,
            export=exports,
            namespace=namespaces,
            exported_at=exported_at,
            defined_at=defined_at,
            declared_at=declared_at,
        )
        return len(names)


def _rename(site: tuple[Any, ...], renamed: dict[str, list[str]]) -> list[tuple[Any, ...]]:
    """``site`` once for each name the preprocessor turns its name into."""
    others = renamed.get(site[0])
    if not others:
        return [site]
    return [(other, *site[1:]) for other in others]


def expand_xmacros(sites: FileSites, root: Path, config: Mapping[str, str], arch: str) -> None:
    """The exports and functions of a macro the file defines and then applies to each
    line of a header it includes (:func:`plugins.tree.macros.xmacros`), read now with
    the configuration's conditionals (include/linux/cgroup_subsys.h: ``#if
    IS_ENABLED(CONFIG_CPUSETS)``); their site is the ``#include`` line."""
    from ksql.regular import read_regular

    folder = sites.path.rpartition("/")[0]
    for header, name, template, line, col in sites.xmacros:
        for rel in (f"include/{header}", f"arch/{arch}/include/{header}", f"{folder}/{header}"):
            try:
                data = read_regular(str(root / rel))
            except OSError:
                continue
            default = sites.default_namespace or "\0"
            for _, exports, functions in invocations(
                active(data, config), {name: template}, default
            ):
                sites.exports = sites.exports + [
                    (n, line, col, k, "" if ns == "\0" else ns, ns == "\0") for n, k, ns in exports
                ]
                sites.definitions = sites.definitions + [
                    (n, line, col, True, static) for n, static in functions
                ]
            break
