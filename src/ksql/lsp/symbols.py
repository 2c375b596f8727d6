"""workspace/symbol: the query is a ksql query (``gpl and name=dma_buf*``); a lone
identifier, or text that does not parse, is a name prefix (what people type there)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types

from ksql.catalog import Catalog
from ksql.errors import QuerySyntaxError
from ksql.model import Kind, Symbol
from ksql.query.fields import FLAGS

if TYPE_CHECKING:
    from ksql.lsp.server import KsqlServer

LIMIT = 200
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


def search(catalog: Catalog, query: str, limit: int = LIMIT) -> list[Symbol]:
    from ksql.query.compiler import compile_query

    text = query.strip()
    if not text:
        return []
    try:
        if _IDENTIFIER.fullmatch(text) and text.lower() not in FLAGS:
            raise QuerySyntaxError("a name prefix", text, 1)
        rows = compile_query(text).rows(catalog)[:limit]
    except QuerySyntaxError:
        lo, hi = catalog.prefix_range(text)
        rows = catalog.name_order()[lo : min(hi, lo + limit)]
    return list(catalog.symbols(rows.tolist()))


def register(server: KsqlServer) -> None:
    @server.thread()
    @server.feature(types.WORKSPACE_SYMBOL)
    def workspace_symbol(
        ls: KsqlServer, params: types.WorkspaceSymbolParams
    ) -> list[types.WorkspaceSymbol]:
        catalog = ls.wait_catalog()
        if catalog is None:
            return []
        out = []
        for sym in search(catalog, params.query):
            source = sym.sources[0].split(":", 1)[-1] if sym.sources else "/proc/kallsyms"
            out.append(
                types.WorkspaceSymbol(
                    name=sym.name,
                    kind=types.SymbolKind.Function
                    if sym.kind is Kind.FUNCTION
                    else types.SymbolKind.Variable,
                    location=types.LocationUriOnly(uri=Path(source).absolute().as_uri()),
                    container_name=f"{sym.module} · {sym.export.label}"
                    if sym.exported
                    else sym.module,
                )
            )
        return out
