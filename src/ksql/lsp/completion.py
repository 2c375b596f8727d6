"""Completion of kernel symbol names at an identifier prefix: a binary search in the sorted
name index, then at most ``limit`` names -- what the module can link against first (every
export; for a module whose license is not GPL-compatible, GPL-only exports after the
others), unexported ones last -- never an item per catalog row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from lsprotocol import types

from ksql.catalog import Catalog
from ksql.kernel.licenses import license_is_gpl_compatible
from ksql.lsp.context import CursorContext, at_cursor
from ksql.lsp.hover import hover_markdown
from ksql.lsp.prototype import parse_prototype, tidy
from ksql.model import ExportKind, Kind
from ksql.storage import Columns

if TYPE_CHECKING:
    from ksql.lsp.server import KsqlServer

LIMIT = 100


@dataclass(frozen=True, slots=True)
class Candidate:
    name: str
    rank: int  # 0 exported, 1 exported GPL-only, 2 not exported
    export: ExportKind
    module: str
    type: str
    function: bool
    decl: str = ""  # the BTF declaration, when loaded

    def label_details(self) -> types.CompletionItemLabelDetails | None:
        """clangd's completion label: ``dma_buf_get(int fd)`` and, to the right, the return
        type (``struct dma_buf *``); a variable shows its type."""
        if not self.decl:
            return None
        proto = parse_prototype(self.decl, self.name)
        if proto is not None:
            return types.CompletionItemLabelDetails(
                detail=proto.arguments, description=proto.returns
            )
        kind = tidy(self.decl.rsplit(self.name, 1)[0]) if self.name in self.decl else ""
        return types.CompletionItemLabelDetails(description=kind or None)

    @property
    def detail(self) -> str:
        export = self.export.label if self.export is not ExportKind.NONE else "not exported"
        return f"{export} · {self.module} · {self.type}"


def complete(
    catalog: Catalog, prefix: str, limit: int = LIMIT, *, gpl_ok: bool = True
) -> tuple[list[Candidate], bool]:
    """Candidates for ``prefix`` and whether the list was cut (``isIncomplete``).
    ``gpl_ok``: the module may use GPL-only exports (its license is GPL-compatible)."""
    if not prefix:
        return [], True
    lo, hi = catalog.prefix_range(prefix)
    if lo == hi:
        return [], False
    cols = catalog.columns()
    order, firsts = catalog.name_order(), catalog.name_firsts()
    # A prefix such as "_" spans 381,000 rows of a distro kernel, most of them repeats (a
    # "__func__" per function of every module): rank the first rows of the range and
    # widen it only while it holds fewer than ``limit`` exported names.
    span = min(hi - lo, 4 * limit)
    while True:
        rows = order[lo : lo + span]
        chosen, best = _best_rows(cols, rows, firsts[lo : lo + span], gpl_ok)
        if lo + span == hi or np.count_nonzero(best == 0) >= limit:
            break
        span = min(hi - lo, span * 8)
    by_rank = np.argsort(best, kind="stable")[:limit]  # each rank's names stay in name order
    picked = chosen[by_rank]
    incomplete = lo + span < hi or len(best) > limit
    picked_rows = rows[picked]
    decls = catalog.table("decl").strings
    modules = catalog.modules.strings
    function = int(Kind.FUNCTION)
    fields = (cols.export, cols.module, cols.type, cols.kind, cols.decl)
    exports, module, letter, kind, decl = (f[picked_rows].tolist() for f in fields)
    ranks = best[by_rank].tolist()
    out = [
        Candidate(
            name=name,
            rank=ranks[i],
            export=ExportKind(exports[i]),
            module=modules[module[i]],
            type=chr(letter[i]),
            function=kind[i] == function,
            decl=decls[decl[i]],
        )
        for i, name in enumerate(cols.name.take(picked_rows))
    ]
    return out, incomplete


_GPL = np.array([k for k in ExportKind if k.gpl_only], dtype=np.uint8)


def _best_rows(
    cols: Columns, rows: npt.NDArray[np.int64], firsts: npt.NDArray[np.bool_], gpl_ok: bool
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.int8]]:
    """Per name of ``rows`` (a stretch of the name order; ``firsts`` marks where each name
    begins), in name order: the position of the row that stands for it -- its first row of
    its best rank -- and that rank: 0 exported, 1 exported but GPL-only for a module that
    may not use it, 2 defined and not exported, 3 only seen as an import. Grouped in numpy
    (a name's rows are adjacent): walking a long range row by row took 0.7 s."""
    export = cols.export[rows]
    undefined = cols.undefined[rows]
    exported = (export != 0) & ~undefined
    rank = np.full(len(rows), 3, dtype=np.int8)
    rank[(export == 0) & ~undefined] = 2
    rank[exported] = 0
    if not gpl_ok:
        rank[exported & np.isin(export, _GPL)] = 1
    firsts = firsts.copy()
    firsts[0] = True  # the stretch may begin inside a name
    group = np.cumsum(firsts) - 1
    best = np.minimum.reduceat(rank, np.flatnonzero(firsts))
    pos = np.flatnonzero(rank == best[group])
    owner = group[pos]  # non-decreasing: a name's first best row is where its group begins
    first = np.ones(len(pos), dtype=np.bool_)
    first[1:] = owner[1:] != owner[:-1]
    return pos[first], best


def register(server: KsqlServer) -> None:
    @server.thread()
    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION,
        types.CompletionOptions(resolve_provider=True, trigger_characters=["_"]),
    )
    def completion(ls: KsqlServer, params: types.CompletionParams) -> types.CompletionList:
        ctx = at_cursor(ls, params.text_document.uri, params.position)
        return _empty() if ctx is None else complete_at(ctx, _item_defaults(ls))

    @server.thread()
    @server.feature(types.COMPLETION_ITEM_RESOLVE)
    def resolve(ls: KsqlServer, item: types.CompletionItem) -> types.CompletionItem:
        catalog = ls.wait_catalog()
        data = item.data if isinstance(item.data, dict) else {}
        name = data.get("name", item.label)  # the label, where the list's defaults hold data
        if catalog is not None and isinstance(name, str):
            uri = data.get("uri")
            docs = ls.documents
            cfile = docs.parsed(uri).facts if isinstance(uri, str) and docs.is_c(uri) else None
            text = hover_markdown(catalog, name, cfile)
            if text:
                item.documentation = types.MarkupContent(kind=types.MarkupKind.Markdown, value=text)
        return item


def _empty() -> types.CompletionList:
    return types.CompletionList(is_incomplete=True, items=[])


def _item_defaults(ls: KsqlServer) -> frozenset[str]:
    """The CompletionList.itemDefaults the client applies (LSP 3.17)."""
    document = ls.client_capabilities.text_document
    completion = document.completion if document else None
    listed = completion.completion_list if completion else None
    return frozenset(listed.item_defaults or ()) if listed else frozenset()


def complete_at(ctx: CursorContext, defaults: frozenset[str] = frozenset()) -> types.CompletionList:
    """The completion list at the cursor: items replace the identifier up to the cursor.
    Where the client applies the list's ``itemDefaults`` (VS Code, Neovim 0.10), the edit
    range and the data are said once for the list instead of in each of up to 100 items:
    half of each item's JSON, which the server writes and the client reads per keystroke."""
    at, prefix = ctx.at, ctx.prefix
    if not at.code or at.member or not prefix:
        return _empty()
    license = ctx.cfile.license
    gpl_ok = license is None or license_is_gpl_compatible(license)
    found, incomplete = complete(ctx.catalog, prefix, gpl_ok=gpl_ok)
    edit_range = ctx.prefix_range()
    uri = ctx.document.uri
    shared = "editRange" in defaults and "data" in defaults
    items = [
        types.CompletionItem(
            label=c.name,
            kind=types.CompletionItemKind.Function
            if c.function
            else types.CompletionItemKind.Variable,
            detail=c.detail,
            label_details=c.label_details(),
            sort_text=f"{c.rank}{i:04d}",
            text_edit=None if shared else types.TextEdit(range=edit_range, new_text=c.name),
            tags=[types.CompletionItemTag.Deprecated] if c.rank >= 2 else None,
            data=None if shared else {"name": c.name, "uri": uri},
        )
        for i, c in enumerate(found)
    ]
    if not shared:
        return types.CompletionList(is_incomplete=incomplete, items=items)
    return types.CompletionList(
        is_incomplete=incomplete,
        items=items,
        item_defaults=types.CompletionItemDefaults(edit_range=edit_range, data={"uri": uri}),
    )
