"""Completion's ranking against a row-by-row reference: for every prefix of random
catalogs, the names offered, their ranks, the row standing for each and ``isIncomplete``
are what reading every row of the catalog in order gives."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ksql.builder import CatalogBuilder
from ksql.catalog import Catalog
from ksql.lsp.completion import complete
from ksql.model import ExportKind
from ksql.sink import RowSink

EXPORTS = [ExportKind.NONE, ExportKind.EXPORT_SYMBOL, ExportKind.EXPORT_SYMBOL_GPL]
NAMES = st.text(alphabet="ab_", min_size=1, max_size=4)
ROWS = st.lists(
    st.fixed_dictionaries(
        {
            "name": NAMES,
            "module": st.sampled_from(["vmlinux", "m1", "m2", "m3"]),
            "export": st.sampled_from(EXPORTS),
            "undefined": st.booleans(),
        }
    ),
    min_size=1,
    max_size=120,
)


def _catalog(rows: list[dict[str, Any]]) -> Catalog:
    sink = RowSink("test:rows")
    for row in rows:
        sink.add(**row)
    builder = CatalogBuilder()
    for batch in sink.batches():
        builder.add(batch, "test:rows")
    return builder.build()


def _reference(
    cat: Catalog, prefix: str, limit: int, gpl_ok: bool
) -> tuple[list[tuple[str, int, str]], bool]:
    """Each name's best rank and its first row of that rank, in row order; names by rank,
    then by name."""
    cols = cat.columns()
    best: dict[str, tuple[int, int]] = {}
    for row in range(len(cat)):
        name = cols.name[row]
        if not name.startswith(prefix):
            continue
        export = ExportKind(int(cols.export[row]))
        if cols.undefined[row]:
            rank = 3
        elif export is ExportKind.NONE:
            rank = 2
        else:
            rank = 1 if export.gpl_only and not gpl_ok else 0
        if name not in best or rank < best[name][0]:
            best[name] = (rank, row)
    ordered = sorted(best, key=lambda n: (best[n][0], n))
    want = [
        (n, best[n][0], cat.modules.strings[int(cols.module[best[n][1]])]) for n in ordered[:limit]
    ]
    return want, len(best) > limit


@settings(max_examples=300, deadline=None)
@given(rows=ROWS, prefix=NAMES, limit=st.integers(1, 12), gpl_ok=st.booleans())
def test_completion_is_the_row_by_row_ranking(
    rows: list[dict[str, Any]], prefix: str, limit: int, gpl_ok: bool
) -> None:
    cat = _catalog(rows)
    for p in (prefix[:1], prefix):
        found, incomplete = complete(cat, p, limit, gpl_ok=gpl_ok)
        want, cut = _reference(cat, p, limit, gpl_ok)
        assert [(c.name, c.rank, c.module) for c in found] == want
        assert incomplete == cut
