"""Predicates that need no compiling beyond their arguments: the flags (``exported``,
``gpl``, ...) and number comparisons, each a whole-column numpy mask over a catalog.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from ksql.catalog import Catalog
from ksql.model import COLUMN, Bind, ExportKind, Kind
from ksql.query.fields import FIELDS, FLAGS

Mask = npt.NDArray[np.bool_]
Predicate = Callable[[Catalog], Mask]


_OPS: dict[str, Callable[[npt.NDArray[Any], Any], Mask]] = {
    "=": lambda a, v: a == v,
    "!=": lambda a, v: a != v,
    "<": lambda a, v: a < v,
    "<=": lambda a, v: a <= v,
    ">": lambda a, v: a > v,
    ">=": lambda a, v: a >= v,
}


def number_predicate(field: str, op: str, value: int) -> Predicate:
    compare = _OPS[op]
    spec = COLUMN[FIELDS[field].column]
    none = spec.dtype.type(spec.unknown)

    def predicate(cat: Catalog) -> Mask:
        col: npt.NDArray[Any] = cat.columns()[spec.name]
        known: Mask = cat.columns()[spec.known_key] if spec.nullable else col != none
        if value > np.iinfo(col.dtype).max:
            # Larger than any stored value: only "less than" and "differs" can hold.
            return known & (op in ("!=", "<", "<="))
        result: Mask = known & compare(col, col.dtype.type(value))
        return result

    return predicate


_FUNCTION_KINDS = np.array([Kind.FUNCTION], dtype=np.uint8)
_DATA_KINDS = np.array([Kind.OBJECT, Kind.COMMON, Kind.TLS], dtype=np.uint8)
_GPL_KINDS = np.array([k for k in ExportKind if k.gpl_only], dtype=np.uint8)

FLAG_PREDICATES: dict[str, Predicate] = {
    "exported": lambda cat: cat.columns().export != ExportKind.NONE,
    "gpl": lambda cat: np.isin(cat.columns().export, _GPL_KINDS),
    "defined": lambda cat: ~cat.columns().undefined,
    "undefined": lambda cat: cat.columns().undefined.copy(),
    "global": lambda cat: cat.columns().bind == Bind.GLOBAL,
    "local": lambda cat: cat.columns().bind == Bind.LOCAL,
    "weak": lambda cat: cat.columns().bind == Bind.WEAK,
    "function": lambda cat: np.isin(cat.columns().kind, _FUNCTION_KINDS),
    "data": lambda cat: np.isin(cat.columns().kind, _DATA_KINDS),
}
assert set(FLAG_PREDICATES) == set(FLAGS)
