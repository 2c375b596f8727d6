"""What the loaded kernel says about one name: its definitions, whether modules can link
against it, GPL-only-ness and namespace; and which kernel version the catalog describes.
Pure functions over a catalog whose name index is built; the kernel's rules themselves live
in :mod:`ksql.kernel`.
"""

from __future__ import annotations

import numpy as np

from ksql.catalog import Catalog
from ksql.kernel.version import kernel_version
from ksql.model import Bind, Symbol
from ksql.values import frozen


@frozen
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


FACTS_KEPT = 50_000  # names remembered per catalog; then the memory starts over


def facts(catalog: Catalog, name: str) -> NameFacts | None:
    """What ``catalog`` says about ``name``, remembered while the catalog lives: diagnostics
    look up every name a document calls after each edit, and building the names' rows as
    Symbols was 42 % of a 3,000-line file's diagnostics (bench_lsp.py's didChange, py-spy)."""
    known: dict[str, NameFacts | None] = catalog.derived("lsp.facts", dict)
    try:
        return known[name]
    except KeyError:
        pass
    found = _facts(catalog, name)
    if len(known) >= FACTS_KEPT:
        known.clear()
    known[name] = found
    return found


def _facts(catalog: Catalog, name: str) -> NameFacts | None:
    rows = catalog.rows_named(name)
    # Only definitions become Symbols: kfree is imported by ~2,000 modules.
    rows = rows[~catalog.columns().undefined[rows]]
    if not len(rows):
        return None
    return NameFacts(name, tuple(catalog.symbols(rows.tolist())))


def catalog_kernel_version(catalog: Catalog, running: str | None = None) -> tuple[int, int] | None:
    """(major, minor) of the kernel ``catalog`` describes: the kernel rule
    (:func:`ksql.kernel.version.kernel_version`) over its modules' ``.modinfo`` and its
    source labels; ``running`` is the running kernel's release, for /proc/kallsyms."""
    return kernel_version(catalog.module_info, catalog.source_labels.strings, running)


def btf_modules(catalog: Catalog) -> frozenset[str]:
    """The modules some loaded BTF gave rows for (computed once per catalog): a name of
    such a module without a ``decl`` is missing from BTF, not unread."""
    return catalog.derived("lsp.btf_modules", lambda: _btf_modules(catalog))


def _btf_modules(catalog: Catalog) -> frozenset[str]:
    labels = {i for i, s in enumerate(catalog.source_labels.strings) if s.startswith("btf:")}
    codes = catalog.source_codes_matching(labels) if labels else []
    cols = catalog.columns()
    rows = np.isin(cols["sources"], np.array(codes, dtype=np.int64)) if codes else None
    used = np.unique(cols.module[rows]).tolist() if rows is not None else []
    return frozenset(catalog.modules.strings[int(m)] for m in used)


@frozen
class KernelSummary:
    """What the loaded catalog says about its kernel as a whole, for the messages."""

    release: str  # "6.1.0-50-amd64", or "the loaded kernel" when nothing tells
    exports_anything: bool  # False: no ksymtab (built without modules), so no verdicts


def kernel_facts(catalog: Catalog) -> KernelSummary:
    """Diagnostics ask for every document: computed once per catalog."""
    return catalog.derived("lsp.kernel_summary", lambda: _kernel_summary(catalog))


def _kernel_summary(catalog: Catalog) -> KernelSummary:
    from ksql.kernels import release_of
    from ksql.query.compiler import compile_query

    release = release_of(catalog, None) or "the loaded kernel"
    return KernelSummary(release, compile_query("exported").count(catalog) > 0)
