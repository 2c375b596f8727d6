"""The cursor context: everything a position request needs, built once by one helper --
the catalog, the document read at its current version, the cursor in code points and what
is there, a converter back to client units. Completion, hover and code actions are pure
functions of it (esbonio's idea); none calls back into the server for its preamble.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types
from pygls.workspace import TextDocument

from ksql.catalog import Catalog
from ksql.lsp.csource import CFile, Cursor
from ksql.lsp.documents import Codec, Documents
from ksql.values import frozen

if TYPE_CHECKING:
    from ksql.lsp.server import KsqlServer


@frozen
class CursorContext:
    catalog: Catalog
    document: TextDocument
    cfile: CFile  # the module facts: license, imports, where an import goes
    lines: tuple[str, ...]
    line: int  # 0-based
    character: int  # code points
    at: Cursor  # the identifier at or before the cursor
    codec: Codec
    kernel: tuple[int, int] | None  # (major, minor) of the loaded kernel, when known

    @property
    def prefix(self) -> str:
        """The part of the identifier before the cursor: what completion completes."""
        return self.at.word[: self.character - self.at.span.start]

    def word_range(self) -> types.Range:
        """The whole identifier at the cursor, in client units (what a hover covers)."""
        return self.codec.range(self.line, self.at.span.start, self.line, self.at.span.end)

    def prefix_range(self) -> types.Range:
        """The identifier up to the cursor, in client units (what a completion replaces)."""
        return self.codec.range(self.line, self.at.span.start, self.line, self.character)


def cursor_context(
    catalog: Catalog,
    documents: Documents,
    uri: str,
    position: types.Position,
    kernel: tuple[int, int] | None = None,
) -> CursorContext:
    """The context at a client ``position`` in the document ``uri``."""
    parsed = documents.parsed(uri)
    line, character = parsed.codec.to_server(position)
    return CursorContext(
        catalog=catalog,
        document=documents.get(uri),
        cfile=parsed.facts,
        lines=parsed.lines,
        line=line,
        character=character,
        at=parsed.cursor(line, character),
        codec=parsed.codec,
        kernel=kernel,
    )


def at_cursor(ls: KsqlServer, uri: str, position: types.Position) -> CursorContext | None:
    """A handler's preamble: waits a little for a loading catalog; None when there is none
    yet or the document is not C."""
    catalog = ls.wait_catalog()
    if catalog is None or not ls.documents.is_c(uri):
        return None
    return cursor_context(catalog, ls.documents, uri, position, ls.kernel_version)
