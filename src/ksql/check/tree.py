"""A whole module tree's :class:`ModuleFacts` from its catalog (the ``elf`` source's rows,
which the load cache keeps) plus a probe of each file's headers: undefined symbols with
their expected CRCs, exports and COMMON symbols come from the rows (in symbol-table order:
the source keeps ``nm -p``'s order), ``.modinfo`` from the catalog's module info, and what
rows do not hold (``.gnu.linkonce.this_module``, ``__versions``, ELF header, section flags,
signature) from the probe.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ksql.catalog import Catalog
from ksql.check.kernel import take_names
from ksql.kernel.facts import Export, Import, ModuleFacts
from ksql.kernel.modinfo import modinfo_facts
from ksql.model import ExportKind
from ksql.schema import INT_NONE

_WEAK = (ord("w"), ord("v"))
_COMMON = ord("C")
_GPL = [int(k) for k in ExportKind if k.gpl_only]


def facts_from_catalog(catalog: Catalog, probes: Sequence[ModuleFacts]) -> list[ModuleFacts]:
    """Each probed module completed with its rows and ``.modinfo`` from ``catalog``. Each
    kind of row (imports, exports, COMMON symbols) is made in one pass over the whole tree's
    rows, then sliced per module: 185,000 imports in ~0.1 s, where a pass per module took
    four times as long."""
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

    def crcs(rows: npt.NDArray[np.intp]) -> list[int | None]:
        return [None if c == INT_NONE else c for c in crc[rows].tolist()]

    rows, import_at = grouped(undefined)
    weak = np.isin(letters[rows], _WEAK).tolist()
    names = take_names(cols.name, rows)
    imports = list(map(Import._make, zip(names, weak, crcs(rows), strict=True)))
    rows, export_at = grouped((export != 0) & ~undefined)
    gpl = np.isin(export[rows], _GPL).tolist()
    spaces = catalog.namespaces.strings
    namespaces = [spaces[n] for n in cols["namespace"][rows].tolist()]
    export_names = take_names(cols.name, rows)
    export_crcs = crcs(rows)
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
            dataclasses.replace(
                probe,
                **modinfo_facts(info),
                imports=tuple(imports[import_at.get(code, none) if code is not None else none]),
                exports=tuple(Export(n, probe.name, g, ns, c) for n, g, ns, c in exports),
                common=tuple(common[common_at.get(code, none) if code is not None else none]),
            )
        )
    return out
