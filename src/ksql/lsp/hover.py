"""The hover card: everything the loaded kernel knows about a name, as markdown."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from ksql.catalog import Catalog
from ksql.kernel.namespaces import allowed_modules
from ksql.lsp.context import CursorContext, at_cursor
from ksql.lsp.csource import CFile
from ksql.lsp.facts import facts, kernel_facts
from ksql.model import TYPE_LETTERS, ExportKind, Symbol

if TYPE_CHECKING:
    from ksql.lsp.server import KsqlServer

MAX_DEFINITIONS = 8


def hover_markdown(catalog: Catalog, name: str, cfile: CFile | None = None) -> str | None:
    f = facts(catalog, name)
    if f is None:
        return None
    parts = [f"### `{name}`"]
    if f.exported:
        kinds = sorted({s.export.label for s in f.exports})
        gpl = " (GPL-only: the module's license must be GPL-compatible)" if f.gpl_only else ""
        parts.append(f"**exported** {', '.join(kinds)}{gpl}")
    else:
        release = kernel_facts(catalog).release
        parts.append(f"**not exported** by {release}: modules cannot link against it")
    allowed = allowed_modules(f.namespace)
    if allowed is not None:
        parts.append(f"exported **only to the modules** {', '.join(allowed)}")
    elif f.namespace:
        imported = cfile is not None and f.namespace in cfile.imports
        verdict = (
            "imported by this file"
            if imported
            else f"not imported here: needs `MODULE_IMPORT_NS({f.namespace})`"
        )
        parts.append(f"namespace **{f.namespace}** — {verdict}")
    shown = f.definitions[:MAX_DEFINITIONS]
    for sym in shown:
        parts.append(_definition(sym, multiple=len(f.definitions) > 1))
    if len(f.definitions) > len(shown):
        parts.append(f"… and {len(f.definitions) - len(shown)} more definitions")
    return "\n\n".join(parts)


def _definition(sym: Symbol, *, multiple: bool) -> str:
    letter = TYPE_LETTERS.get(sym.type)
    meaning = f" — {letter.meaning}" if letter else ""
    rows = [
        ("module", f"`{sym.module}`"),
        ("type", f"`{sym.type}`{meaning}"),
        ("address", "unknown" if sym.addr is None else f"`{sym.addr:016x}`"),
    ]
    if sym.size is not None:
        rows.append(("size", f"{sym.size} bytes"))
    if sym.section:
        rows.append(("section", f"`{sym.section}`"))
    if sym.export is not ExportKind.NONE:
        rows.append(("export", f"`{sym.export.label}`" + (" (GPL-only)" if sym.gpl else "")))
    if sym.namespace:
        rows.append(("namespace", f"`{sym.namespace}`"))
    if sym.crc is not None:
        rows.append(("CRC", f"`0x{sym.crc:08x}`"))
    rows.append(("from", ", ".join(f"`{s}`" for s in sym.sources)))
    title = f"**{sym.module}**\n\n" if multiple else ""
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    return f"{title}| | |\n|---|---|\n{table}"


def register(server: KsqlServer) -> None:
    @server.thread()
    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: KsqlServer, params: types.HoverParams) -> types.Hover | None:
        ctx = at_cursor(ls, params.text_document.uri, params.position)
        return None if ctx is None else hover_at(ctx)


def hover_at(ctx: CursorContext) -> types.Hover | None:
    at = ctx.at
    if not at.word or not at.code or at.member:
        return None
    text = hover_markdown(ctx.catalog, at.word, ctx.cfile)
    if text is None:
        return None
    return types.Hover(
        contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text),
        range=ctx.word_range(),
    )
