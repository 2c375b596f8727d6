"""A decoded BTF blob -> catalog rows: every BTF_KIND_FUNC with its prototype and every
BTF_KIND_VAR a DATASEC places, each with its C declaration (``decl``). BTF linkage
(static/global) is not ``export``: EXPORT_SYMBOL leaves no trace in BTF.
"""

from __future__ import annotations

import numpy as np

from ksql.model import Kind
from ksql.sink import Batch

from .cdecl import Declarations
from .format import BtfKind
from .reader import Btf


def rows(btf: Btf, module: str) -> Batch:
    """The functions and section-placed variables of ``btf``'s own types (not its base's)."""
    decls = Declarations(btf)
    own = btf.own
    funcs = np.flatnonzero(own["kind"] == BtfKind.FUNC)
    names = btf.names(own["name_off"][funcs])
    decl = decls.functions(own["ref"][funcs].astype(np.int64), names)
    kind = [int(Kind.FUNCTION)] * len(names)
    section = [""] * len(names)
    kinds = btf.kind
    for sec_id in (np.flatnonzero(own["kind"] == BtfKind.DATASEC) + btf.start_id).tolist():
        # struct btf_var_secinfo {type, offset, size} per variable of the section.
        sec = btf.type_name(sec_id)
        for var in btf.words(sec_id, 3 * btf.vlen[sec_id])[0::3]:
            if 0 < var < btf.count and kinds[var] == BtfKind.VAR:
                names.append(btf.type_name(var))
                decl.append(decls.variable(var))
                kind.append(int(Kind.OBJECT))
                section.append(sec)
    batch = Batch.of(
        names, module=module, decl=decl, kind=np.array(kind, np.uint8), section=section
    )
    batch.notes.extend(btf.notes)
    return batch
