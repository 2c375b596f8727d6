"""The cursor context and the per-document state under it: client positions in UTF-16 or
UTF-8 become code points and back, the document is read once per version, and completion,
hover and the quick fix are pure functions of the context."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from lsprotocol import types
from pygls.workspace import PositionCodec, TextDocument

from ksql.catalog import Catalog
from ksql.lsp.actions import import_actions
from ksql.lsp.completion import complete_at
from ksql.lsp.context import CursorContext, cursor_context
from ksql.lsp.diagnostics import NAMESPACE
from ksql.lsp.documents import Documents
from ksql.lsp.hover import hover_at
from ksql.lsp.wire import Wire, converter
from tests.conftest import DATA

Load = Callable[..., Catalog]
URI = "file:///src/demo.c"
# Line 2 has a 4-byte, 2-UTF-16-unit character before the identifier: the three position
# encodings disagree on every column after it.
TEXT = """#include <linux/module.h>
MODULE_LICENSE("GPL");
static const char *s = "\U0001f600"; int f(void) { return dma_buf_export(0) != 0; }
int g(void) { return t->kern_path; } /* kern_path */"""
UTF16, UTF8 = types.PositionEncodingKind.Utf16, types.PositionEncodingKind.Utf8


@pytest.fixture
def cat(load: Load) -> Catalog:
    c = load(DATA / "System.map-6.1-excerpt", DATA / "Module.symvers-6.1-excerpt")
    c.name_order()
    return c


class Workspace:
    """A stand-in for pygls's workspace: one document per URI, edited by replacement."""

    def __init__(self, encoding: types.PositionEncodingKind) -> None:
        self.codec = PositionCodec(encoding)
        self.docs: dict[str, TextDocument] = {}

    def put(self, uri: str, text: str, version: int) -> None:
        self.docs[uri] = TextDocument(uri, text, version, position_codec=self.codec)

    def get(self, uri: str) -> TextDocument:
        return self.docs[uri]


def context(
    cat: Catalog, encoding: types.PositionEncodingKind, line: int, character: int, text: str = TEXT
) -> CursorContext:
    ws = Workspace(encoding)
    ws.put(URI, text, 1)
    position = types.Position(line=line, character=character)
    return cursor_context(cat, Documents(ws.get), URI, position, (6, 1))


# "dma_buf_export" on line 2 starts at code point 49: UTF-16 unit 50, UTF-8 byte 52.
@pytest.mark.parametrize(
    ("encoding", "line", "client", "character", "word", "prefix", "code", "member", "span"),
    [
        (UTF16, 2, 57, 56, "dma_buf_export", "dma_buf", True, False, (50, 64)),
        (UTF8, 2, 59, 56, "dma_buf_export", "dma_buf", True, False, (52, 66)),
        (UTF16, 2, 50, 49, "dma_buf_export", "", True, False, (50, 64)),  # at its start
        (UTF16, 2, 64, 63, "dma_buf_export", "dma_buf_export", True, False, (50, 64)),
        (UTF16, 2, 26, 25, "", "", False, False, (26, 26)),  # after the emoji, in the string
        (UTF8, 2, 28, 25, "", "", False, False, (28, 28)),
        (UTF16, 3, 30, 30, "kern_path", "kern_p", True, True, (24, 33)),  # t->kern_path
        (UTF16, 3, 45, 45, "kern_path", "kern_", False, False, (40, 49)),  # in a comment
    ],
)
def test_cursor_context(
    cat: Catalog,
    encoding: types.PositionEncodingKind,
    line: int,
    client: int,
    character: int,
    word: str,
    prefix: str,
    code: bool,
    member: bool,
    span: tuple[int, int],
) -> None:
    ctx = context(cat, encoding, line, client)
    assert (ctx.line, ctx.character) == (line, character)
    assert (ctx.at.word, ctx.prefix, ctx.at.code, ctx.at.member) == (word, prefix, code, member)
    assert ctx.catalog is cat and ctx.kernel == (6, 1) and ctx.document.uri == URI
    assert ctx.cfile.license == "GPL" and ctx.lines == tuple(TEXT.splitlines(True))
    whole, upto = ctx.word_range(), ctx.prefix_range()
    assert (whole.start.line, whole.start.character, whole.end.line, whole.end.character) == (
        line, span[0], line, span[1],
    )  # fmt: skip
    assert (upto.start.character, upto.end.character) == (span[0], client)


def test_documents_read_once_per_version() -> None:
    ws = Workspace(UTF16)
    docs = Documents(ws.get)
    ws.put(URI, TEXT, 1)
    first = docs.parsed(URI)
    assert docs.parsed(URI) is first
    ws.put(URI, TEXT + "\nint h;", 2)
    second = docs.parsed(URI)
    assert second is not first and (second.version, len(second.lines)) == (2, 5)
    ws.put(URI, TEXT, 2)  # same version, other text (a client that reuses versions)
    assert docs.parsed(URI).lines == first.lines
    docs.close(URI)
    assert docs.parsed(URI) is not first


@pytest.mark.parametrize(
    ("uri", "language_id", "is_c"),
    [
        ("file:///a/x.c", None, True),
        ("file:///a/x.h", None, True),
        ("file:///a/x.txt", None, False),
        ("file:///a/x.txt", "c", True),
        ("file:///a/x.cc", "cpp", True),
        ("file:///a/x.c", "python", True),  # the name still says C
        ("untitled:Untitled-1", "c", True),
        ("untitled:Untitled-1", None, False),
    ],
)
def test_is_c(uri: str, language_id: str | None, is_c: bool) -> None:
    docs = Documents(Workspace(UTF16).get)
    if language_id is not None:
        docs.open(uri, language_id)
    assert docs.is_c(uri) is is_c


def test_open_and_close_track_uris() -> None:
    docs = Documents(Workspace(UTF16).get)
    docs.open("file:///b.c", "c")
    docs.open("file:///a.txt", "c")
    assert docs.uris() == ["file:///b.c", "file:///a.txt"]
    docs.close("file:///b.c")
    docs.close("file:///never-opened.c")
    assert docs.uris() == ["file:///a.txt"] and not docs.is_c("file:///b.txt")


def test_hover_at(cat: Catalog) -> None:
    hover = hover_at(context(cat, UTF16, 2, 57))
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert hover.contents.value.startswith("### `dma_buf_export`\n\n**exported** EXPORT_SYMBOL_GPL")
    assert hover.range == types.Range(
        start=types.Position(line=2, character=50), end=types.Position(line=2, character=64)
    )
    assert hover_at(context(cat, UTF16, 3, 30)) is None  # a struct member
    assert hover_at(context(cat, UTF16, 3, 45)) is None  # a comment


def _completion_list(answer: Wire) -> types.CompletionList:
    """The answer as the client reads it; structuring fails on a malformed list."""
    assert isinstance(answer, Wire)
    found: types.CompletionList = converter().structure(answer, types.CompletionList)
    return found


def test_complete_at(cat: Catalog) -> None:
    got = _completion_list(complete_at(context(cat, UTF8, 2, 59)))  # after "dma_buf"
    assert not got.is_incomplete
    assert [(i.label, i.sort_text, i.data) for i in got.items] == [
        ("dma_buf_export", "00000", {"name": "dma_buf_export", "uri": URI})
    ]
    (item,) = got.items
    assert item.kind == types.CompletionItemKind.Function and item.tags is None
    assert item.detail == "EXPORT_SYMBOL_GPL · vmlinux · T"
    assert isinstance(item.text_edit, types.TextEdit)
    assert item.text_edit.range == types.Range(
        start=types.Position(line=2, character=52), end=types.Position(line=2, character=59)
    )
    for line, client in ((2, 50), (3, 30), (3, 45)):  # no prefix, a member, a comment
        assert not _completion_list(complete_at(context(cat, UTF16, line, client))).items
    # A client that applies the list's itemDefaults gets the range and the data once.
    shared = _completion_list(
        complete_at(context(cat, UTF8, 2, 59), frozenset({"editRange", "data", "x"}))
    )
    assert shared.item_defaults == types.CompletionItemDefaults(
        edit_range=item.text_edit.range, data={"uri": URI}
    )
    assert [(i.label, i.text_edit, i.data) for i in shared.items] == [
        ("dma_buf_export", None, None)
    ]
    assert complete_at(context(cat, UTF8, 2, 59), frozenset({"editRange"})) == complete_at(
        context(cat, UTF8, 2, 59)
    )


def test_import_actions(cat: Catalog) -> None:
    ctx = context(cat, UTF16, 2, 57)
    diag = types.Diagnostic(
        range=ctx.word_range(), message="", code=NAMESPACE, data={"namespace": "DMA_BUF"}
    )
    (action,) = import_actions(ctx, [diag, diag])
    assert action.title == "Add MODULE_IMPORT_NS(DMA_BUF)"  # kernel (6, 1): a bare name
    assert action.edit is not None and action.edit.changes is not None
    (edit,) = action.edit.changes[URI]
    # After line 1 (the last MODULE_*() line); the file's own last line has no newline.
    assert (edit.range.start, edit.new_text) == (
        types.Position(line=2, character=0),
        "MODULE_IMPORT_NS(DMA_BUF);\n",
    )


@pytest.mark.parametrize(
    ("encoding", "end"),
    [(UTF16, 31), (UTF8, 33)],  # the last line is 30 code points, the emoji 2 units / 4 bytes
)
def test_import_action_after_a_last_line_without_newline(
    cat: Catalog, encoding: types.PositionEncodingKind, end: int
) -> None:
    text = 'int f(void) { return dma_buf_export(0); }\nMODULE_LICENSE("GPL"); /* \U0001f600 */'
    ctx = context(cat, encoding, 0, 25, text)
    diag = types.Diagnostic(
        range=ctx.word_range(), message="", code=NAMESPACE, data={"namespace": "DMA_BUF"}
    )
    (action,) = import_actions(ctx, [diag])
    assert action.edit is not None and action.edit.changes is not None
    (edit,) = action.edit.changes[URI]
    at = types.Position(line=1, character=end)
    assert (edit.range, edit.new_text) == (
        types.Range(start=at, end=at),
        "\nMODULE_IMPORT_NS(DMA_BUF);\n",
    )
    imported = context(cat, encoding, 0, 25, text + "\nMODULE_IMPORT_NS(DMA_BUF);\n")
    assert import_actions(imported, [diag]) == []
