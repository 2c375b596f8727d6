"""workspace/symbol: the query is a ksql query (``gpl and name=dma_buf*``); a lone
identifier, or text that does not parse, is a name prefix (what people type there).

A name prefix is a binary search and answers at once. A query may cost anything (a
backtracking regular expression, a scan of every row), so it runs under
:func:`ksql.lsp.budget.run_bounded`: in a child process, for at most
:data:`~ksql.lsp.budget.BUDGET` seconds, stopped when the client cancels; meanwhile the
server keeps answering hovers and completions.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types

from ksql.catalog import Catalog
from ksql.errors import QuerySyntaxError
from ksql.lsp import budget
from ksql.model import Kind, Symbol
from ksql.query.fields import FLAGS

if TYPE_CHECKING:
    from ksql.lsp.server import KsqlServer

LIMIT = 200
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
log = logging.getLogger(__name__)


def plan(catalog: Catalog, query: str, limit: int = LIMIT) -> list[int] | Callable[[], list[int]]:
    """The rows ``query`` finds: at once for a name prefix; for a query, the (possibly
    slow) work that computes them. Parsing happens here, so only evaluation is deferred."""
    from ksql.query.compiler import compile_query

    text = query.strip()
    if not text:
        return []
    try:
        if _IDENTIFIER.fullmatch(text) and text.lower() not in FLAGS:
            raise QuerySyntaxError("a name prefix", text, 1)
        compiled = compile_query(text)
    except QuerySyntaxError:
        lo, hi = catalog.prefix_range(text)
        rows: list[int] = catalog.name_order()[lo : min(hi, lo + limit)].tolist()
        return rows
    return lambda: list(compiled.rows(catalog)[:limit].tolist())


def search(catalog: Catalog, query: str, limit: int = LIMIT) -> list[Symbol]:
    """The symbols ``query`` finds, computed here and now (no budget)."""
    found = plan(catalog, query, limit)
    rows = found if isinstance(found, list) else found()
    return list(catalog.symbols(rows))


def to_workspace_symbols(symbols: list[Symbol]) -> list[types.WorkspaceSymbol]:
    out = []
    for sym in symbols:
        source = sym.sources[0].split(":", 1)[-1] if sym.sources else "/proc/kallsyms"
        out.append(
            types.WorkspaceSymbol(
                name=sym.name,
                kind=types.SymbolKind.Function
                if sym.kind is Kind.FUNCTION
                else types.SymbolKind.Variable,
                location=types.LocationUriOnly(uri=Path(source).absolute().as_uri()),
                container_name=f"{sym.module} · {sym.export.label}" if sym.exported else sym.module,
            )
        )
    return out


def register(server: KsqlServer) -> None:
    @server.feature(types.WORKSPACE_SYMBOL)
    async def workspace_symbol(
        ls: KsqlServer, params: types.WorkspaceSymbolParams
    ) -> list[types.WorkspaceSymbol]:
        catalog = await ls.wait_catalog_async()
        if catalog is None:
            return []
        found = plan(catalog, params.query)
        if not isinstance(found, list):
            try:
                found = await budget.run_bounded(found, ls.query_budget)
            except (budget.OverBudget, budget.Failed) as exc:
                ls.window_log_message(
                    types.LogMessageParams(
                        type=types.MessageType.Warning,
                        message=f"ksql: workspace symbol query {params.query!r}: {exc}",
                    )
                )
                return []
        return to_workspace_symbols(list(catalog.symbols(found)))
