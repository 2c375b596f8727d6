"""What the loaded kernel says about one name: its definitions, whether modules can link
against it, GPL-only-ness and namespace, and which kernel version the catalog describes.
Pure functions over a catalog whose name index is built.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ksql.catalog import Catalog
from ksql.model import Bind, Symbol

# include/linux/license.h license_is_gpl_compatible(), 6.1.
GPL_COMPATIBLE = frozenset(
    {"GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL", "Dual MIT/GPL", "Dual MPL/GPL"}
)
# "module:kvm,kvm-amd" namespaces export to the named modules only, and importing them is
# forbidden: "module: Add module specific symbol namespace support" (6.16, kernel/module/
# main.c; EXPORT_SYMBOL_FOR_MODULES in include/linux/export.h).
MODULE_ONLY = "module:"
_RELEASE = re.compile(r"(?:/modules/|linux-headers-|System\.map-|vmlinux-)(\d+)\.(\d+)")
_VERMAGIC = re.compile(r"^(\d+)\.(\d+)")


def license_is_gpl_compatible(license: str) -> bool:
    return license in GPL_COMPATIBLE


def only_for(namespace: str) -> list[str] | None:
    """The modules a ``module:`` namespace exports to (kernel spelling), else None."""
    if not namespace.startswith(MODULE_ONLY):
        return None
    return [m.strip().replace("-", "_") for m in namespace[len(MODULE_ONLY) :].split(",") if m]


@dataclass(frozen=True, slots=True)
class NameFacts:
    name: str
    definitions: tuple[Symbol, ...]  # defined rows (imports of modules left out)

    @property
    def exports(self) -> tuple[Symbol, ...]:
        return tuple(s for s in self.definitions if s.exported)

    @property
    def exported(self) -> bool:
        return bool(self.exports)

    @property
    def gpl_only(self) -> bool:
        """Every export of the name is GPL-only (a module cannot pick another)."""
        exports = self.exports
        return bool(exports) and all(s.gpl for s in exports)

    @property
    def namespace(self) -> str:
        """The namespace a module must import to use it ('' when any export has none)."""
        spaces = {s.namespace for s in self.exports}
        return "" if "" in spaces or len(spaces) != 1 else spaces.pop()

    @property
    def linkable_elsewhere(self) -> bool:
        """Defined with global binding somewhere: a module referencing it would link to it
        if it were exported (static namesakes and header inlines do not count)."""
        return any(s.bind in (Bind.GLOBAL, Bind.WEAK) for s in self.definitions)


def facts(catalog: Catalog, name: str) -> NameFacts | None:
    rows = catalog.rows_named(name)
    # Only definitions become Symbols: kfree is imported by ~2,000 modules.
    rows = rows[~catalog.columns().undefined[rows]]
    if not len(rows):
        return None
    return NameFacts(name, tuple(catalog.symbols(rows.tolist())))


def kernel_version(catalog: Catalog, running: str | None = None) -> tuple[int, int] | None:
    """(major, minor) of the kernel the catalog describes: a module's vermagic, a source
    path that names the release, else ``running`` (for /proc/kallsyms)."""
    for info in catalog.module_info.values():
        for magic in info.get("vermagic", []):
            m = _VERMAGIC.match(magic)
            if m:
                return int(m.group(1)), int(m.group(2))
    for label in catalog.source_labels.strings:
        m = _RELEASE.search(label)
        if m:
            return int(m.group(1)), int(m.group(2))
    if running and any("/proc/kallsyms" in label for label in catalog.source_labels.strings):
        m = _VERMAGIC.match(running)
        if m:
            return int(m.group(1)), int(m.group(2))
    return None
