"""A whole module tree's :class:`ModuleFacts` from its catalog (the ``elf`` source's rows,
which the load cache keeps) plus a probe of each file's headers: exports and COMMON symbols
come from the rows, undefined symbols with their expected CRCs too but kept apart
(:mod:`ksql.check.bulk`), all in symbol-table order (the source keeps ``nm -p``'s order);
``.modinfo`` comes from the catalog's module info, and what rows do not hold
(``.gnu.linkonce.this_module``, ``__versions``, ELF header, section flags, signature) from
the probe.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ksql import values
from ksql.catalog import Catalog
from ksql.check.bulk import TreeImports
from ksql.check.kernel import take_names
from ksql.kernel.facts import Export, ModuleFacts
from ksql.kernel.modinfo import modinfo_facts
from ksql.model import ExportKind
from ksql.schema import INT_NONE

_WEAK = (ord("w"), ord("v"))
_COMMON = ord("C")
_GPL = [int(k) for k in ExportKind if k.gpl_only]


def facts_from_catalog(
    catalog: Catalog, probes: Sequence[ModuleFacts]
) -> tuple[list[ModuleFacts], TreeImports]:
    """Each probed module completed with its exports, COMMON symbols and ``.modinfo`` from
    ``catalog``, and the whole tree's imports apart (:class:`TreeImports`: the check
    resolves them in bulk and makes :class:`Import` objects only for the modules that need
    the loader's walk). Each kind of row is taken in one pass over the tree's rows, then
    sliced per module."""
    cols = catalog.columns()
    undefined = cols["undefined"]
    letters = cols["type"]
    export = cols["export"]
    module = cols["module"]
    crc = cols["crc"]

    def grouped(mask: npt.NDArray[np.bool_]) -> tuple[npt.NDArray[np.intp], dict[int, slice]]:
        """The rows of ``mask`` grouped by module (symbol-table order kept in each) and
        each module's slice of them."""
        rows = np.flatnonzero(mask)
        if not len(rows):
            return rows, {}
        rows = rows[np.argsort(module[rows], kind="stable")]
        codes = module[rows]
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        ends = [*starts[1:].tolist(), len(rows)]
        spans = zip(codes[starts].tolist(), starts.tolist(), ends, strict=True)
        return rows, {c: slice(a, b) for c, a, b in spans}

    rows, import_at = grouped(undefined)
    strings = catalog.modules.strings
    imports = TreeImports(
        take_names(cols.name, rows),
        np.isin(letters[rows], _WEAK),
        crc[rows].astype(np.int64),
        {strings[c]: span for c, span in import_at.items()},
    )
    rows, export_at = grouped((export != 0) & ~undefined)
    gpl = np.isin(export[rows], _GPL).tolist()
    spaces = catalog.namespaces.strings
    namespaces = [spaces[n] for n in cols["namespace"][rows].tolist()]
    export_names = take_names(cols.name, rows)
    export_crcs = [None if c == INT_NONE else c for c in crc[rows].tolist()]
    rows, common_at = grouped(letters == _COMMON)
    common = take_names(cols.name, rows)
    none = slice(0, 0)
    out = []
    for probe in probes:
        code = catalog.modules.codes.get(probe.name)
        at = export_at.get(code, none) if code is not None else none
        exports = zip(export_names[at], gpl[at], namespaces[at], export_crcs[at], strict=True)
        info = catalog.module_info.get(probe.name, {})
        out.append(
            values.replace(
                probe,
                **modinfo_facts(info),
                exports=tuple(Export(n, probe.name, g, ns, c) for n, g, ns, c in exports),
                common=tuple(common[common_at.get(code, none) if code is not None else none]),
            )
        )
    return out, imports
