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
    """Each probed module completed with its rows and ``.modinfo`` from ``catalog``."""
    cols = catalog.columns()
    undefined = cols["undefined"]
    letters = cols["type"]
    export = cols["export"]
    wanted = undefined | (export != 0) | (letters == ord("C"))
    rows = np.flatnonzero(wanted)
    rows = rows[np.argsort(cols["module"][rows], kind="stable")]
    codes = cols["module"][rows]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]) if len(rows) else rows
    ends = [*starts[1:].tolist(), len(rows)]
    bounds = dict(zip(codes[starts].tolist(), zip(starts.tolist(), ends, strict=True), strict=True))
    all_names = take_names(cols.name, rows)
    und_all = undefined[rows].tolist()
    typ_all = letters[rows].tolist()
    exp_all = export[rows].tolist()
    crc_all = cols["crc"][rows].tolist()
    ns_all = cols["namespace"][rows].tolist()
    modules = catalog.modules
    spaces = catalog.namespaces.strings
    out = []
    for probe in probes:
        code = modules.codes.get(probe.name)
        lo, hi = bounds.get(code, (0, 0)) if code is not None else (0, 0)
        span = list(
            zip(all_names[lo:hi], und_all[lo:hi], typ_all[lo:hi], crc_all[lo:hi], strict=True)
        )
        imports = [Import(n, t in _WEAK, None if c == INT_NONE else c) for n, u, t, c in span if u]
        exports = [
            Export(n, probe.name, e in _GPL, spaces[ns], None if c == INT_NONE else c)
            for (n, u, _t, c), e, ns in zip(span, exp_all[lo:hi], ns_all[lo:hi], strict=True)
            if e and not u
        ]
        common = [n for n, _u, t, _c in span if t == _COMMON]
        info = catalog.module_info.get(probe.name, {})
        out.append(
            dataclasses.replace(
                probe,
                **modinfo_facts(info),
                imports=tuple(imports),
                exports=tuple(exports),
                common=tuple(common),
            )
        )
    return out
