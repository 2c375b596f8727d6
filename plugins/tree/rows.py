"""Sites to rows: one row per ``(module, name)`` for global symbols, one per file for static
ones, with the module each file is built into (:mod:`ksql.kernel.kbuild`), the exports of
wrapper macros defined in other files resolved, and the renames of ``#define name other``
(:mod:`plugins.tree.macros`) applied to the names a file exports and defines.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
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

_LOCAL, _GLOBAL, _FUNCTION, _OBJECT = Bind.LOCAL, Bind.GLOBAL, Kind.FUNCTION, Kind.OBJECT
_NO_EXPORT = ExportKind.NONE


@dataclass(slots=True)
class _Row:
    module: str
    name: str
    bind: Bind = Bind.UNKNOWN
    kind: Kind = Kind.UNKNOWN
    export: ExportKind = ExportKind.NONE
    namespace: str = ""
    exported_at: str = ""
    defined_at: str = ""
    declared_at: str = ""


class RowBuilder:
    """Sites to rows. ``modules`` maps a built file to its module; with ``strict`` (a
    configuration is known) sites in files that are not built are left out."""

    def __init__(self, kbuild: Kbuild, strict: bool, declarations_only: bool = False) -> None:
        self.kbuild = kbuild
        self.files = dict(kbuild.files)
        self.wrappers: dict[str, tuple[list[str], str, list[str]]] = {}
        self.strict = strict
        self.declarations_only = declarations_only
        self.globals: dict[tuple[str, ...], _Row] = {}  # (module, name)
        self.statics: dict[tuple[str, ...], _Row] = {}  # (module, name, path)
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

    def add(self, sites: FileSites) -> None:
        path = sites.path
        declared = self.declared
        for name, line, col in sites.declarations:
            if name not in declared:  # (a site string only for the first: 0.5 s a tree)
                declared[name] = f"{path}:{line}:{col}"
        for name, line, col in sites.tracepoints:
            for template in TRACEPOINT_NAMES:
                self.tracepoints.setdefault(template.format(name), f"{path}:{line}:{col}")
        if not (sites.exports or sites.definitions):
            return
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
        statics, globals_ = self.statics, self.globals
        # A new row is made whole in one call (most definitions make one): 508,476
        # definitions of the 6.1 tree in 0.9-1.1 s, where setting its fields after took
        # 1.2-1.7 s.
        for name, line, col, function, static in sites.definitions:
            if static:
                key: tuple[str, ...] = (module, name, path)
                table, bind = statics, _LOCAL
            else:
                key, table, bind = (module, name), globals_, _GLOBAL
            row = table.get(key)
            if row is None:
                what = _FUNCTION if function else _OBJECT
                site = f"{path}:{line}:{col}"
                table[key] = _Row(module, name, bind, what, _NO_EXPORT, "", "", site)
                continue
            row.bind = bind
            if not row.defined_at:
                row.defined_at = f"{path}:{line}:{col}"
                row.kind = _FUNCTION if function else _OBJECT
        namespace = self._default_namespace(path)
        for name, line, col, kind, ns, is_default in sites.exports:
            row = statics.get((module, name, path)) or globals_.get((module, name))
            if row is None:
                row = globals_[module, name] = _Row(module, name)
            if row.exported_at:
                continue
            row.exported_at = f"{path}:{line}:{col}"
            row.export = ExportKind(kind)
            row.namespace = namespace if is_default else ns

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
        rows = list(self.globals.values()) + list(self.statics.values())
        for row in rows:
            if row.bind is not Bind.LOCAL:
                row.declared_at = self.declared.get(row.name, "")
            if not row.defined_at and row.name in self.tracepoints:
                row.defined_at = self.tracepoints[row.name]
                row.kind = Kind.OBJECT if row.name.startswith("__tracepoint_") else Kind.FUNCTION
        if self.declarations_only:
            have = {r.name for r in rows}
            modules = symbol_modules or {}
            for name, site in self.declared.items():
                if name not in have:
                    rows.append(_Row(modules.get(name, VMLINUX), name, declared_at=site))
        if not rows:
            return 0
        sink.extend(
            [r.name for r in rows],
            module=[r.module for r in rows],
            bind=[int(r.bind) for r in rows],
            kind=[int(r.kind) for r in rows],
            export=[int(r.export) for r in rows],
            namespace=[r.namespace for r in rows],
            exported_at=[r.exported_at for r in rows],
            defined_at=[r.defined_at for r in rows],
            declared_at=[r.declared_at for r in rows],
        )
        return len(rows)


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
    folder = sites.path.rpartition("/")[0]
    for header, name, template, line, col in sites.xmacros:
        for rel in (f"include/{header}", f"arch/{arch}/include/{header}", f"{folder}/{header}"):
            try:
                data = (root / rel).read_bytes()
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
