"""Completion of kernel symbol names at an identifier prefix: a binary search in the sorted
name index, then at most ``limit`` names -- what the module can link against first (every
export; for a module whose license is not GPL-compatible, GPL-only exports after the
others), unexported ones last -- never an item per catalog row.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from lsprotocol import types

from ksql.catalog import Catalog
from ksql.kernel.licenses import license_is_gpl_compatible
from ksql.lsp import wire
from ksql.lsp.context import CursorContext, at_cursor
from ksql.lsp.hover import hover_markdown
from ksql.lsp.prototype import parse_prototype, tidy
from ksql.lsp.wire import Wire
from ksql.model import ExportKind, Kind
from ksql.storage import Columns
from ksql.values import frozen

if TYPE_CHECKING:
    from ksql.lsp.server import KsqlServer

LIMIT = 100


@frozen
class Candidate:
    name: str
    rank: int  # 0 exported, 1 exported GPL-only, 2 not exported
    export: ExportKind
    module: str
    type: str
    function: bool
    decl: str = ""  # the BTF declaration, when loaded

    def label_details(self) -> dict[str, str] | None:
        """clangd's completion label (LSP ``CompletionItemLabelDetails``): ``dma_buf_get(int
        fd)`` and, to the right, the return type (``struct dma_buf *``); a variable shows
        its type."""
        return _label_details(self.decl, self.name) if self.decl else None

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
    ranked = _ranked(catalog, gpl_ok)
    # The needles in the array's own dtype: else numpy converts all 544,000 starts per call.
    bounds = np.array((lo, hi), dtype=ranked.starts.dtype)
    first, last = (int(i) for i in np.searchsorted(ranked.starts, bounds))
    names, ranks = ranked.first_names(first, last, limit)
    cols = catalog.columns()
    picked_rows = ranked.rows[names].astype(np.int64)
    decls = catalog.table("decl").strings
    modules = catalog.modules.strings
    function = int(Kind.FUNCTION)
    fields = (cols.export, cols.module, cols.type, cols.kind, cols.decl)
    exports, module, letter, kind, decl = (f[picked_rows].tolist() for f in fields)
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
    return out, last - first > limit


@frozen
class _Ranked:
    """Every distinct name of a catalog ranked once (:func:`_best_rows` over the whole
    name order: 23-33 ms for a distro kernel's 918,000 rows, 544,000 names), so that a
    completion is a few binary searches. Ranking a prefix's rows per request took 5-8 ms
    for ``_`` (381,000 rows) and was the slowest completion of ``bench_lsp.py``.

    Names are numbered in name order. ``starts``: where each begins in the name order;
    ``rows``: the row that stands for it; ``best``: its rank; ``sparse``: for the sparse
    ranks (0 and 1, ~25,000 exported names), the names holding each, ascending."""

    starts: npt.NDArray[np.int32]
    rows: npt.NDArray[np.int32]
    best: npt.NDArray[np.int8]
    sparse: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]

    def first_names(
        self, first: int, last: int, limit: int
    ) -> tuple[npt.NDArray[np.int64], list[int]]:
        """The first ``limit`` of names ``[first, last)`` by rank, in name order within a
        rank, and their ranks."""
        chosen: list[npt.NDArray[np.int64]] = []
        ranks: list[int] = []
        for rank in range(4):
            need = limit - len(ranks)
            if need <= 0:
                break
            if rank < len(self.sparse):
                holders = self.sparse[rank]
                a, b = (int(i) for i in np.searchsorted(holders, (first, last)))
                found = holders[a : min(b, a + need)]
            else:  # dense: most names are not exported; look at a growing window
                found = self._dense(rank, first, last, need)
            chosen.append(found)
            ranks += [rank] * len(found)
        return np.concatenate(chosen), ranks

    def _dense(self, rank: int, first: int, last: int, need: int) -> npt.NDArray[np.int64]:
        window = 2 * need
        while True:
            end = min(last, first + window)
            hits = np.flatnonzero(self.best[first:end] == rank)
            if len(hits) >= need or end == last:
                return hits[:need] + first
            window *= 8


def _ranked(catalog: Catalog, gpl_ok: bool) -> _Ranked:
    """``catalog``'s names ranked for a module that may (or may not) use GPL-only exports:
    built on first use, kept while the catalog lives."""
    return catalog.derived(f"lsp.ranked.{gpl_ok}", lambda: _rank(catalog, gpl_ok))


def _rank(catalog: Catalog, gpl_ok: bool) -> _Ranked:
    order, firsts = catalog.name_order(), catalog.name_firsts()
    chosen, best = _best_rows(catalog.columns(), order, firsts, gpl_ok)
    starts = catalog.derived("lsp.name_starts", lambda: np.flatnonzero(firsts).astype(np.int32))
    sparse = (np.flatnonzero(best == 0), np.flatnonzero(best == 1))
    rows = order[chosen].astype(np.int32)  # a catalog holds far fewer than 2**31 rows
    return _Ranked(starts, rows, best, sparse)


def warm_up(catalog: Catalog) -> None:
    """Rank ``catalog``'s names for both kinds of module ahead of the first completion."""
    if len(catalog):
        for gpl_ok in (True, False):
            _ranked(catalog, gpl_ok)


@functools.lru_cache(maxsize=65536)  # a list holds up to 100 per keystroke, mostly seen before
def _label_details(decl: str, name: str) -> dict[str, str] | None:
    proto = parse_prototype(decl, name)
    if proto is not None:
        return {"detail": proto.arguments, "description": proto.returns}
    kind = tidy(decl.rsplit(name, 1)[0]) if name in decl else ""
    return {"description": kind} if kind else None


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
    def completion(ls: KsqlServer, params: types.CompletionParams) -> Wire:
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


def _empty() -> Wire:
    return Wire(isIncomplete=True, items=[])


def _item_defaults(ls: KsqlServer) -> frozenset[str]:
    """The CompletionList.itemDefaults the client applies (LSP 3.17)."""
    document = ls.client_capabilities.text_document
    completion = document.completion if document else None
    listed = completion.completion_list if completion else None
    return frozenset(listed.item_defaults or ()) if listed else frozenset()


_FUNCTION, _VARIABLE = (
    int(types.CompletionItemKind.Function),
    int(types.CompletionItemKind.Variable),
)
_DEPRECATED = [int(types.CompletionItemTag.Deprecated)]


def complete_at(ctx: CursorContext, defaults: frozenset[str] = frozenset()) -> Wire:
    """The completion list at the cursor (an LSP ``CompletionList``, as JSON: see
    :mod:`ksql.lsp.wire`): items replace the identifier up to the cursor. Where the client
    applies the list's ``itemDefaults`` (VS Code, Neovim 0.10), the edit range and the data
    are said once for the list instead of in each of up to 100 items: half of each item's
    JSON, which the server writes and the client reads per keystroke."""
    at, prefix = ctx.at, ctx.prefix
    if not at.code or at.member or not prefix:
        return _empty()
    license = ctx.cfile.license
    gpl_ok = license is None or license_is_gpl_compatible(license)
    found, incomplete = complete(ctx.catalog, prefix, gpl_ok=gpl_ok)
    edit_range = wire.range_(ctx.prefix_range())
    uri = ctx.document.uri
    shared = "editRange" in defaults and "data" in defaults
    items = []
    for i, c in enumerate(found):
        item: dict[str, Any] = {
            "label": c.name,
            "kind": _FUNCTION if c.function else _VARIABLE,
            "detail": c.detail,
            "sortText": f"{c.rank}{i:04d}",
        }
        if (details := c.label_details()) is not None:
            item["labelDetails"] = details
        if c.rank >= 2:
            item["tags"] = _DEPRECATED
        if not shared:
            item["textEdit"] = {"range": edit_range, "newText": c.name}
            item["data"] = {"name": c.name, "uri": uri}
        items.append(item)
    out = Wire(isIncomplete=incomplete, items=items)
    if shared:
        out["itemDefaults"] = {"editRange": edit_range, "data": {"uri": uri}}
    return out
