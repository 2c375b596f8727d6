"""``ksql diff``: load two source sets, compare them (:mod:`ksql.history.diff`), judge the
changes (:mod:`ksql.history.severity`) and write them (:mod:`ksql.history.diffout`). Exit 0
when no change fails, 1 when one does, 2 on an error.

A query restricts what is compared: the names it matches on either side, compared with
all their rows (``namespace=DMA_BUF`` still reports a symbol that left the namespace).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from ksql.errors import KsqlError
from ksql.values import frozen


@frozen
class DiffRequest:
    """What to compare: each side a plain list of source specs (as ``-s`` takes them)."""

    old: tuple[str, ...]
    new: tuple[str, ...]
    query: str | None = None
    policy: str = "suse"
    rules: Path | None = None
    format: str = "text"


def sides_from_args(
    positional: Sequence[str], old: Sequence[str], new: Sequence[str]
) -> tuple[tuple[str, ...], tuple[str, ...], str | None]:
    """``OLD NEW [QUERY]``, or ``-a SRC... -b SRC... [QUERY]``."""
    if old or new:
        if not (old and new):
            raise KsqlError("diff: give both sides: -a/--old SRC and -b/--new SRC")
        if len(positional) > 1:
            raise KsqlError(
                f"diff: with -a/-b only a QUERY may follow, got {len(positional)} arguments"
            )
        return tuple(old), tuple(new), (positional[0] if positional else None)
    if len(positional) not in (2, 3):
        raise KsqlError("diff: expected OLD NEW [QUERY] (or -a SRC -b SRC, repeatable)")
    query = positional[2] if len(positional) == 3 else None
    return (positional[0],), (positional[1],), query


def run_diff(request: DiffRequest, plugins: Any, out: TextIO, err: TextIO) -> int:
    import pyarrow as pa
    import pyarrow.compute as pc

    from ksql.history.arrow import catalog_table
    from ksql.history.diff import diff_tables
    from ksql.history.diffout import WRITERS
    from ksql.history.severity import Verdict, load_rules, policy, verdicts
    from ksql.loading import load_catalog
    from ksql.query.compiler import compile_query

    failing = policy(request.policy)
    if request.format not in WRITERS:
        raise KsqlError(f"diff: no format {request.format!r}; choices: {', '.join(WRITERS)}")
    plan = compile_query(request.query) if request.query else None  # before any file is read
    rules = load_rules(request.rules) if request.rules else []
    tables = []
    picked = []
    for side in (request.old, request.new):
        catalog = load_catalog(list(side), plugins)
        for problem in catalog.problems:
            print(f"ksql: warning: {problem}", file=err)
        table = catalog_table(catalog)
        tables.append(table)
        if plan is not None:
            picked.append(table.filter(pa.array(plan.mask(catalog))).column("name"))
    selected = None
    if plan is not None:
        chunks = [c for p in picked for c in p.chunks] or [pa.array([], type=pa.string())]
        selected = pc.unique(pa.concat_arrays(chunks))
    changes = diff_tables(tables[0], tables[1], selected)
    judged = verdicts(changes, failing, rules)
    WRITERS[request.format](changes, judged, out)
    out.flush()
    return 1 if any(v is Verdict.FAIL for v in judged) else 0
