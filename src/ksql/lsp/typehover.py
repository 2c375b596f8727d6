"""Hover on ``struct NAME`` / ``union NAME`` / ``enum NAME``: the type's layout from the
loaded kernel's BTF -- its size and each member's offset and size, as ``pahole -C`` prints
them (:mod:`ksql.plugins.btf.pahole`).

The BTF is that of the catalog's sources: a ``btf`` source (``/sys/kernel/btf/vmlinux``, a
``.btf`` file) or a vmlinux ELF file loaded by the ``elf`` source. Each blob is decoded once
per process and each layout printed once, so a hover after the first costs a dict lookup.
"""

from __future__ import annotations

import importlib
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from lsprotocol import types

from ksql.catalog import Catalog
from ksql.lsp.context import CursorContext

_KEYWORD = re.compile(r"\b(struct|union|enum)\s*$")
MAX_LINES = 80  # a hover card, not a page: pahole's full text stays one command away


def keyword_before(line: str, start: int) -> str | None:
    """``struct`` when the identifier starting at ``start`` follows ``struct`` (etc.)."""
    found = _KEYWORD.search(line[:start])
    return found.group(1) if found else None


def btf_files(catalog: Catalog) -> list[Path]:
    """The BTF-bearing files among the catalog's sources, in load order."""
    out: list[Path] = []
    for label, _rows in catalog.loaded:
        plugin, _, path = label.partition(":")
        if plugin == "btf" or (plugin == "elf" and Path(path).name.startswith("vmlinux")):
            out.append(Path(path))
    return out


@lru_cache(maxsize=256)
def _layout(path: str, size: int, mtime: int, name: str) -> str | None:
    from ksql.errors import KsqlError

    try:
        found = _printer(path, size, mtime).layout(name)
    except KsqlError:
        return None
    return None if found is None else str(found)


@lru_cache(maxsize=2)
def _printer(path: str, _size: int, _mtime: int) -> Any:
    """The BTF plugin's layout printer over the decoded blob (imported, not a core
    dependency: ksql.plugins.btf.pahole)."""
    bases = importlib.import_module("ksql.plugins.btf.bases")
    pahole = importlib.import_module("ksql.plugins.btf.pahole")
    return pahole.Printer(bases.load_base(Path(path)))


def layout_markdown(catalog: Catalog, keyword: str, name: str) -> str | None:
    """The hover card for ``keyword name``, or None when no loaded BTF has the type."""
    for path in btf_files(catalog):
        try:
            st = path.stat()
        except OSError:
            continue
        text = _layout(str(path), st.st_size, st.st_mtime_ns, f"{keyword} {name}")
        if text is None:
            continue
        lines = text.splitlines()
        if len(lines) > MAX_LINES:
            cut = len(lines) - MAX_LINES
            more = f"\t/* … {cut} more lines: ksql type '{keyword} {name}' */"
            lines = [*lines[: MAX_LINES - 1], more, lines[-1]]
        body = "\n".join(lines)
        return f"```c\n{body}\n```\n\nlayout from the BTF of `{path}`"
    return None


def hover_type(ctx: CursorContext) -> types.Hover | None:
    """The layout card when the cursor is on the NAME of ``struct NAME``."""
    at = ctx.at
    if not at.word or not at.code or at.member:
        return None
    keyword = keyword_before(ctx.lines[ctx.line], at.span.start)
    if keyword is None:
        return None
    text = layout_markdown(ctx.catalog, keyword, at.word)
    if text is None:
        return None
    return types.Hover(
        contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text),
        range=ctx.word_range(),
    )
