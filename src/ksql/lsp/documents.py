"""Per-document state of the language server: the language id each open document came
with, each document's syntax tree, analysis and lines read once per version, and position
conversion between the client's units (UTF-16 for VS Code, UTF-8 for Neovim 0.11) and the
code points the C reader counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lsprotocol import types
from pygls.uris import to_fs_path
from pygls.workspace import PositionCodec, ServerTextPosition, ServerTextRange, TextDocument
from tree_sitter import Tree

from ksql.lsp.csource import CFile, analyze, parse

LANGUAGES = ("c", "cpp")


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class Parsed:
    """One version of a document, read once: a hover or a completion on a 3,000-line file
    must not parse or split it again."""

    version: int | None
    tree: Tree
    cfile: CFile
    lines: tuple[str, ...]  # with their line ends, as the client counts lines
    codec: Codec


class Documents:
    """The open documents, by URI. ``get`` is the workspace's look-up (pygls builds the
    workspace at ``initialize``, after this object)."""

    def __init__(self, get: Callable[[str], TextDocument]) -> None:
        self._get = get
        self._languages: dict[str, str] = {}
        self._parsed: dict[str, tuple[tuple[int | None, int], Parsed]] = {}

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

    def parsed(self, uri: str) -> Parsed:
        doc = self._get(uri)
        text = doc.source
        key = (doc.version, hash(text))  # str caches its hash: O(1) after the first time
        cached = self._parsed.get(uri)
        if cached is not None and cached[0] == key:
            return cached[1]
        tree = parse(text)
        lines = tuple(text.splitlines(True))
        result = Parsed(
            doc.version, tree, analyze(text, tree), lines, Codec(doc.position_codec, lines)
        )
        self._parsed[uri] = (key, result)
        return result
