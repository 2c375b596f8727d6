"""Per-document state of the language server: the language id each open document came
with, each document's syntax tree, analysis and lines read once per version (and bounded
work for documents over :data:`BIG` characters), and position
conversion between the client's units (UTF-16 for VS Code, UTF-8 for Neovim 0.11) and the
code points the C reader counts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from lsprotocol import types
from pygls.uris import to_fs_path
from pygls.workspace import PositionCodec, ServerTextPosition, ServerTextRange, TextDocument
from tree_sitter import Tree

from ksql import values
from ksql.lsp.csource import CFile, Cursor, analyze, cursor_in_row, module_facts, parse
from ksql.values import frozen

LANGUAGES = ("c", "cpp")
BIG = 2_000_000  # characters: a larger document gets no whole-file parse or diagnostics
WINDOW = 500  # lines on each side of the cursor parsed in a big document


@frozen
class Codec:
    """Code points to client units and back, over one version's lines split once."""

    codec: PositionCodec
    lines: tuple[str, ...]

    def range(self, line: int, start: int, end_line: int, end: int) -> types.Range:
        return self.codec.range_to_client_units(
            self.lines,
            ServerTextRange(ServerTextPosition(line, start), ServerTextPosition(end_line, end)),
        )

    def position(self, line: int, character: int) -> types.Position:
        return self.codec.position_to_client_units(self.lines, ServerTextPosition(line, character))

    def to_server(self, position: types.Position) -> tuple[int, int]:
        """(line, code point) for a client position."""
        p = self.codec.position_from_client_units(self.lines, position)
        return p.line, p.character


class Parsed:
    """One version of a document, read once: a hover or a completion on a 3,000-line file
    must not parse or split it again.

    What a cursor request needs is cheap and computed first (lines, the syntax tree, the
    module facts of :func:`~ksql.lsp.csource.module_facts`); the whole-file analysis that
    only diagnostics need is computed on first use. A document over :data:`BIG` characters
    gets no whole-file tree or analysis at all: a cursor request parses the lines around
    the cursor (:meth:`cursor`), and diagnostics say it is too large.
    """

    def __init__(self, version: int | None, text: str, codec: PositionCodec) -> None:
        self.version = version
        self.text = text
        self.lines = tuple(text.splitlines(True))  # with line ends, as the client counts
        self.codec = Codec(codec, self.lines)
        self.big = len(text) > BIG
        self.tree: Tree | None = None if self.big else parse(text)
        self.facts = module_facts(text, self.tree)
        self._cfile: CFile | None = None
        self._lock = threading.Lock()

    @property
    def cfile(self) -> CFile:
        """The whole-file analysis (references, declarations): for diagnostics. On a big
        document, only the module facts."""
        if self.tree is None:
            return self.facts
        with self._lock:
            if self._cfile is None:
                self._cfile = analyze(self.text, self.tree)
            return self._cfile

    def cursor(self, line: int, character: int) -> Cursor:
        """What is at (``line``, code point ``character``)."""
        row = self.lines[line] if 0 <= line < len(self.lines) else ""
        if self.tree is not None:
            return cursor_in_row(row, line, character, self.tree)
        # A window of lines around the cursor, parsed on its own: a window that starts in
        # a block comment can misjudge the cursor's surroundings, which WINDOW lines of
        # context make unlikely; a hover never parses megabytes.
        first = max(0, line - WINDOW)
        tree = parse("".join(self.lines[first : line + WINDOW]))
        at = cursor_in_row(row, line - first, character, tree)
        return values.replace(at, span=values.replace(at.span, line=line, end_line=line))


class Documents:
    """The open documents, by URI. ``get`` is the workspace's look-up (pygls builds the
    workspace at ``initialize``, after this object)."""

    def __init__(self, get: Callable[[str], TextDocument]) -> None:
        self._get = get
        self._languages: dict[str, str] = {}
        self._parsed: dict[str, tuple[tuple[int | None, int], Parsed]] = {}
        self._lock = threading.Lock()
        self._reading: dict[str, threading.Lock] = {}

    def open(self, uri: str, language_id: str) -> None:
        self._languages[uri] = language_id

    def close(self, uri: str) -> None:
        self._languages.pop(uri, None)
        self._parsed.pop(uri, None)

    def uris(self) -> list[str]:
        """The open documents, in the order they were opened."""
        return list(self._languages)

    def is_c(self, uri: str) -> bool:
        """C or C++ by the client's language id, else by the file name (a document the
        client never opened, such as a completion item's)."""
        if self._languages.get(uri) in LANGUAGES:
            return True
        path = to_fs_path(uri)
        return path is not None and path.endswith((".c", ".h"))

    def get(self, uri: str) -> TextDocument:
        return self._get(uri)

    def version(self, uri: str) -> int | None:
        """The client's current version of ``uri``."""
        return self._get(uri).version

    def parsed(self, uri: str) -> Parsed:
        doc = self._get(uri)
        text = doc.source
        key = (doc.version, hash(text))  # str caches its hash: O(1) after the first time
        cached = self._parsed.get(uri)
        if cached is not None and cached[0] == key:
            return cached[1]
        with self._lock:
            reading = self._reading.setdefault(uri, threading.Lock())
        # One reader per document: a hover and the diagnostics of the same version share
        # one parse instead of racing two.
        with reading:
            cached = self._parsed.get(uri)
            if cached is not None and cached[0] == key:
                return cached[1]
            result = Parsed(doc.version, text, doc.position_codec)
            self._parsed[uri] = (key, result)
            return result
