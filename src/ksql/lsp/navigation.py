"""textDocument/definition and textDocument/declaration on a kernel symbol: Locations in
the source (or headers) tree the catalog was read from, from the ``defined_at`` and
``declared_at`` sites. A name with no definition site goes to its declaration (as clangd
does without an index); the definition in the document's own module comes first.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types
from pygls.workspace import PositionCodec, ServerTextPosition, ServerTextRange

from ksql.catalog import Catalog
from ksql.lsp.context import CursorContext, at_cursor
from ksql.lsp.facts import facts
from ksql.lsp.sites import locate, parse_site, read_line, tree_roots
from ksql.model import Symbol

if TYPE_CHECKING:
    from ksql.lsp.server import KsqlServer

MAX_LOCATIONS = 20
DEFINITION, DECLARATION = "defined_at", "declared_at"


def locations(
    catalog: Catalog,
    name: str,
    field: str,
    codec: PositionCodec,
    module: str | None = None,
) -> list[types.Location]:
    """Where ``name`` is defined (``field`` = :data:`DEFINITION`) or declared; the range
    covers the name on that line, in the client's units (``codec``)."""
    f = facts(catalog, name)
    if f is None:
        return []
    rows = sorted(f.definitions, key=lambda s: (s.module != module, not s.exported))
    found = _from(rows, field, name, codec)
    if not found and field == DEFINITION:
        found = _from(rows, DECLARATION, name, codec)
    return found[:MAX_LOCATIONS]


def _from(rows: list[Symbol], field: str, name: str, codec: PositionCodec) -> list[types.Location]:
    out: list[types.Location] = []
    seen: set[str] = set()
    for sym in rows:
        text = getattr(sym, field)
        site = parse_site(text) if text else None
        if site is None or text in seen:
            continue
        seen.add(text)
        path = locate(site, tree_roots(sym.sources))
        if path is not None:
            out.append(_location(path, site.line, site.col, name, codec))
    return out


def _location(path: Path, line: int, col: int, name: str, codec: PositionCodec) -> types.Location:
    row = read_line(path, line)
    raw = row.encode("utf-8")
    start = len(raw[: col - 1].decode("utf-8", "replace"))  # the site's column counts bytes
    at = row.find(name, start)
    start, end = (at, at + len(name)) if at >= 0 else (start, start)
    lines = [row + "\n"]
    rng = codec.range_to_client_units(
        lines, ServerTextRange(ServerTextPosition(0, start), ServerTextPosition(0, end))
    )
    rng.start.line = rng.end.line = line - 1
    return types.Location(uri=path.absolute().as_uri(), range=rng)


def goto_at(ctx: CursorContext, field: str, module: str | None = None) -> list[types.Location]:
    at = ctx.at
    if not at.word or not at.code or at.member:
        return []
    return locations(ctx.catalog, at.word, field, ctx.codec.codec, module)


def register(server: KsqlServer) -> None:
    def handler(field: str, ls: KsqlServer, uri: str, pos: types.Position) -> list[types.Location]:
        ctx = at_cursor(ls, uri, pos)
        if ctx is None:
            return []
        return goto_at(ctx, field, ls.membership(uri).module)

    @server.thread()
    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    def definition(ls: KsqlServer, params: types.DefinitionParams) -> list[types.Location]:
        return handler(DEFINITION, ls, params.text_document.uri, params.position)

    @server.thread()
    @server.feature(types.TEXT_DOCUMENT_DECLARATION)
    def declaration(ls: KsqlServer, params: types.DeclarationParams) -> list[types.Location]:
        return handler(DECLARATION, ls, params.text_document.uri, params.position)
