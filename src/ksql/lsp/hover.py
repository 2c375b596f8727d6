"""The hover card: everything the loaded kernel knows about a name, as markdown -- first
the declaration in a ```c block (as clangd shows it), where it came from or why there is
none, then the export card and the source-tree sites (where it is exported, defined and
declared), then each definition."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from ksql.catalog import Catalog
from ksql.kernel.btfgaps import why_no_decl
from ksql.kernel.namespaces import allowed_modules
from ksql.lsp.context import CursorContext, at_cursor
from ksql.lsp.csource import CFile
from ksql.lsp.facts import NameFacts, btf_modules, facts, kernel_facts
from ksql.lsp.prototype import parse_prototype, tidy
from ksql.lsp.sites import export_macro, parse_site
from ksql.model import TYPE_LETTERS, ExportKind, Symbol

if TYPE_CHECKING:
    from ksql.lsp.server import KsqlServer

MAX_DEFINITIONS = 8


def hover_markdown(catalog: Catalog, name: str, cfile: CFile | None = None) -> str | None:
    f = facts(catalog, name)
    if f is None:
        return None
    declaration, missing = _declaration(catalog, f)
    parts = [*declaration, f"### `{name}`"]
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
    sites = _sites(f)
    if sites:
        parts.append(sites)
    if missing:
        parts.append(missing)
    shown = f.definitions[:MAX_DEFINITIONS]
    for sym in shown:
        parts.append(_definition(sym, multiple=len(f.definitions) > 1))
    if len(f.definitions) > len(shown):
        parts.append(f"… and {len(f.definitions) - len(shown)} more definitions")
    return "\n\n".join(parts)


def primary(f: NameFacts) -> Symbol:
    """The definition a card speaks of first: an export, else one with source-tree sites,
    else the first."""
    for sym in f.definitions:
        if sym.exported:
            return sym
    for sym in f.definitions:
        if sym.defined_at or sym.declared_at:
            return sym
    return f.definitions[0]


def _declaration(catalog: Catalog, f: NameFacts) -> tuple[list[str], str]:
    """The ```c block and where it came from; or why there is no declaration."""
    with_decl = [s for s in f.definitions if s.decl]
    if with_decl:
        sym = next((s for s in with_decl if s.exported), with_decl[0])
        proto = parse_prototype(sym.decl, sym.name)
        text = proto.label if proto is not None else tidy(sym.decl)
        btf = next((s.split(":", 1)[1] for s in sym.sources if s.startswith("btf:")), "")
        origin = f"declaration from the BTF of `{sym.module}`" + (f" (`{btf}`)" if btf else "")
        return [f"```c\n{text};\n```", origin], ""
    sym = primary(f)
    why = why_no_decl(
        sym.name,
        sym.kind,
        sym.section,
        sym.defined_at,
        sym.module,
        sym.module in btf_modules(catalog),
    )
    return [], f"no declaration: {why}"


def _sites(f: NameFacts) -> str:
    """Where the tree exports, defines and declares it (the first site of each)."""
    lines = []
    exported = next((s for s in f.definitions if s.exported_at), None)
    if exported is not None:
        site = parse_site(exported.exported_at)
        if site is not None:
            macro = export_macro(exported)
            lines.append(f"exported at `{site.short}`" + (f" (`{macro}`)" if macro else ""))
    for field, words in (("defined_at", "defined at"), ("declared_at", "declared at")):
        where = sorted({getattr(s, field) for s in f.definitions if getattr(s, field)})
        parsed = [p for p in map(parse_site, where) if p is not None]
        if parsed:
            more = f" (and {len(parsed) - 1} more)" if len(parsed) > 1 else ""
            lines.append(f"{words} `{parsed[0].short}`{more}")
    return "  \n".join(lines)


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
    from ksql.lsp.typehover import hover_type

    layout = hover_type(ctx)  # `struct NAME`: the layout from BTF
    if layout is not None:
        return layout
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
