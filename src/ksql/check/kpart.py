"""Kernel K assembled for ``ksql check`` from two parts: what its loaded sources say
(:class:`CatalogPart`: exports, proprietary modules, ``depends``, module names, vermagics,
the version the sources show) and what the module files of a tree checked against itself
add, with K's configuration, release and ``sizeof(struct module)``. Light: the catalog part
comes from :func:`ksql.check.kernel.catalog_part` (numpy) or from the facts cache
(:mod:`ksql.check.kstore`, plain Python), and this module needs neither.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from collections import Counter
from collections.abc import Iterable, Mapping

from ksql.kernel.facts import Export, KernelFacts, ModuleFacts
from ksql.kernel.loadchecks import vermagic_of
from ksql.kernel.modules import VMLINUX
from ksql.values import frozen


class ExportTable(Mapping[str, Export]):
    """The export ``find_symbol()`` would find for each name; ``materialize()``: all of
    them as a plain dict (for a tree, whose imports ask about most names)."""

    @abstractmethod
    def materialize(self) -> dict[str, Export]: ...


@frozen
class CatalogPart:
    """K as its loaded sources describe it."""

    exports: ExportTable
    proprietary: frozenset[str]
    depends: Mapping[str, tuple[str, ...]]
    modules: frozenset[str]  # every module but vmlinux
    magics: Mapping[str, int]  # vermagic -> how many modules carry it
    version: tuple[int, int] | None  # from the sources' own words (kernel_version)


def assemble(
    part: CatalogPart,
    tree: Iterable[ModuleFacts] = (),
    *,
    config: Mapping[str, str] | None = None,
    release: str | None = None,
    struct_size: int | None = None,
) -> KernelFacts:
    """K from its sources plus module files that are part of K (a tree checked against
    itself: their exports, licences, ``depends`` and vermagic count)."""
    tree = list(tree)
    exports: Mapping[str, Export] = part.exports.materialize() if tree else part.exports
    extra: dict[str, Export] = {}
    proprietary = set(part.proprietary)
    depends = dict(part.depends)
    magics = Counter(part.magics)
    modules = set(part.modules)
    for mod in tree:
        modules.add(mod.name)
        depends[mod.name] = mod.depends
        if not mod.gpl_ok:
            proprietary.add(mod.name)
        if mod.vermagic:
            magics[mod.vermagic] += 1
        for e in mod.exports:
            # A module file of K is the truth about its own exports (depmod -E, too, takes
            # only vmlinux's CRCs from Module.symvers); of two modules, the first by name.
            have = extra.get(e.name)
            if have is None:
                base = exports.get(e.name)
                if base is not None and base.owner == VMLINUX:
                    continue
            elif have.owner <= mod.name:
                continue
            extra[e.name] = e
    config = config or {}
    table = {**exports, **extra} if tree else exports
    vermagic = magics.most_common(1)[0][0] if magics else None
    if vermagic is None and config and release:
        vermagic = vermagic_of(config, release)
    version = None
    if release:
        m = re.match(r"(\d+)\.(\d+)", release)
        version = (int(m.group(1)), int(m.group(2))) if m else None
    if version is None:
        version = part.version
    # Debian's 6.1 kernels refuse a symbol without a __versions entry (its kernel/module/
    # version.c returns 0 after "no symbol version for"); upstream warns once and loads it.
    debian = "Debian" in config.get("CONFIG_CC_VERSION_TEXT", "")
    return KernelFacts(
        exports=table,
        proprietary=frozenset(proprietary),
        depends=depends,
        modules=frozenset(modules),
        config=config,
        version=version,
        vermagic=vermagic,
        struct_module_size=struct_size,
        missing_version_fatal=debian,
    )
