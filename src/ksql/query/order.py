"""``order by``: rows sorted by several fields at once (``np.lexsort``), each field ranked
as the schema stores it -- names and source lists by string, interned columns by their
strings, addresses with unknown ones last; equal values share a rank so the next key
decides.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ksql.catalog import Catalog
from ksql.model import COLUMN
from ksql.query.fields import FIELDS
from ksql.schema import Encoding


def sort_rows(
    catalog: Catalog, rows: npt.NDArray[np.intp], order: tuple[tuple[str, bool], ...]
) -> npt.NDArray[np.intp]:
    keys = []
    for field, descending in reversed(order):  # np.lexsort: last key is primary
        key = _sort_key(catalog, rows, field)
        keys.append(-key if descending else key)
    return rows[np.lexsort(keys)]


def _sort_key(catalog: Catalog, rows: npt.NDArray[np.intp], field: str) -> npt.NDArray[np.int64]:
    """Ranks (or values) of ``field`` for ``rows``, ascending as the field sorts."""
    cols = catalog.columns()
    f = FIELDS[field]
    spec = COLUMN[f.column]
    if spec.encoding in (Encoding.PACKED, Encoding.SOURCE_SET):  # names, source lists
        strings = (
            cols.name.take(rows)
            if spec.encoding is Encoding.PACKED
            else [" ".join(catalog.sources_of(int(r))) for r in rows]
        )
        # Equal strings share a rank, so the next key breaks the tie.
        _, ranks = np.unique(np.array(strings, dtype=object), return_inverse=True)
        return ranks.astype(np.int64).reshape(-1)
    col: npt.NDArray[Any] = cols[spec.name][rows]
    if spec.encoding is Encoding.INTERNED:  # codes in first-seen order: rank the strings
        table = catalog.table(spec.name).strings
        rank_of_code = np.empty(len(table), dtype=np.int64)
        rank_of_code[sorted(range(len(table)), key=table.__getitem__)] = np.arange(len(table))
        ranked: npt.NDArray[np.int64] = rank_of_code[col]
        return ranked
    if spec.nullable:
        # uint64 does not fit int64: rank instead, unknown values last.
        unknown = ~cols[spec.known_key][rows]
        order = np.lexsort((col, unknown))
        step = np.ones(len(order), dtype=np.int64)
        step[1:] = (col[order][1:] != col[order][:-1]) | (unknown[order][1:] != unknown[order][:-1])
        ranks = np.empty(len(rows), dtype=np.int64)
        ranks[order] = np.cumsum(step) - 1  # equal addresses share a rank: the next key decides
        return ranks
    return col.astype(np.int64)
