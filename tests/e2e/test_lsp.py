"""The language server end to end: ``python -m ksql lsp`` as a subprocess, pytest-lsp as
the editor (VS Code's and Neovim's captured client capabilities)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

DATA = Path(__file__).parent.parent / "data"
SOURCES = [DATA / "System.map-6.1-excerpt", DATA / "Module.symvers-6.1-excerpt"]
SERVER = [sys.executable, "-m", "ksql", "lsp", *(f"-s{s}" for s in SOURCES)]


@pytest_lsp.fixture(
    params=["visual-studio-code", "neovim"],
    config=ClientServerConfig(server_command=SERVER),
)
async def client(request: pytest.FixtureRequest, lsp_client: LanguageClient):  # type: ignore[no-untyped-def]
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities(request.param),
            root_uri=DATA.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=DATA.as_uri(), name="data")],
        )
    )
    yield
    await lsp_client.shutdown_session()


def open_doc(client: LanguageClient, path: Path, text: str | None = None) -> str:
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="c", version=1, text=text or path.read_text()
            )
        )
    )
    return uri


async def diagnostics(client: LanguageClient, uri: str) -> list[types.Diagnostic]:
    """The diagnostics published for ``uri``, polled: a ``wait_for_notification`` given up on
    by a timeout leaves a cancelled future that the client then fails to resolve when the
    notification comes (InvalidStateError in its reader, and the test fails)."""
    for _ in range(200):
        if uri in client.diagnostics:
            return client.diagnostics[uri]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no diagnostics published for {uri}")


def position(path: Path, needle: str, offset: int = 0, code: bool = True) -> types.Position:
    for line, text in enumerate(path.read_text().splitlines()):
        if code and text.lstrip().startswith(("/*", "*", "//")):
            continue
        col = text.find(needle)
        if col >= 0:
            return types.Position(line=line, character=col + offset)
    raise AssertionError(needle)


async def test_completion_jiff_offers_jiffies(client: LanguageClient) -> None:
    path = DATA / "m1.c"
    uri = open_doc(client, path)
    result = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=position(path, "jiffies)", 4),  # after "jiff"
        )
    )
    assert isinstance(result, types.CompletionList)
    labels = [i.label for i in result.items]
    assert labels[0] == "jiffies"
    item = result.items[0]
    assert item.detail == "EXPORT_SYMBOL · vmlinux · D"
    resolved = await client.completion_item_resolve_async(item)
    assert isinstance(resolved.documentation, types.MarkupContent)
    assert "EXPORT_SYMBOL" in resolved.documentation.value


async def test_no_completion_in_comments_strings_or_members(client: LanguageClient) -> None:
    path = DATA / "lsp" / "proprietary.c"
    uri = open_doc(client, path)
    for needle, offset in (("user_read() is", 4), ('"', 1)):
        result = await client.text_document_completion_async(
            types.CompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=position(path, needle, offset, code=False),
            )
        )
        assert isinstance(result, types.CompletionList) and not result.items


async def test_hover_on_jiffies(client: LanguageClient) -> None:
    path = DATA / "m1.c"
    uri = open_doc(client, path)
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=position(path, "jiffies)", 2),
        )
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    text = hover.contents.value
    assert "EXPORT_SYMBOL" in text and "`vmlinux`" in text and "0x15ba50a6" in text


async def test_seed_modules_have_no_diagnostics(client: LanguageClient) -> None:
    for name in ("m1.c", "m2.c"):
        uri = open_doc(client, DATA / name)
        assert not await diagnostics(client, uri)


@pytest.mark.parametrize(
    ("name", "code", "symbol", "words"),
    [
        ("proprietary.c", "gpl-only", "user_read", "Proprietary"),
        ("unexported.c", "not-exported", "kallsyms_lookup_name", "not exported"),
        ("namespace.c", "namespace", "dma_buf_export", "DMA_BUF"),
    ],
)
async def test_modpost_diagnostics(
    client: LanguageClient, name: str, code: str, symbol: str, words: str
) -> None:
    path = DATA / "lsp" / name
    uri = open_doc(client, path)
    (diag,) = await diagnostics(client, uri)
    assert diag.code == code and words in diag.message
    assert diag.range.start == position(path, f"{symbol}(")
    assert diag.severity == types.DiagnosticSeverity.Error


async def test_namespace_import_clears_it(client: LanguageClient) -> None:
    uri = open_doc(client, DATA / "lsp" / "namespace_imported.c")
    assert not await diagnostics(client, uri)


async def test_closing_a_document_clears_its_diagnostics(client: LanguageClient) -> None:
    uri = open_doc(client, DATA / "lsp" / "namespace.c")
    (diag,) = await diagnostics(client, uri)
    assert diag.code == "namespace"
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    for _ in range(50):
        await asyncio.sleep(0.05)
        if not client.diagnostics[uri]:
            break
    assert list(client.diagnostics[uri]) == []


async def test_quick_fix_adds_the_import(client: LanguageClient) -> None:
    path = DATA / "lsp" / "namespace.c"
    uri = open_doc(client, path)
    (diag,) = await diagnostics(client, uri)
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=diag.range,
            context=types.CodeActionContext(diagnostics=[diag]),
        )
    )
    assert actions is not None
    (action,) = actions
    assert isinstance(action, types.CodeAction) and action.edit and action.edit.changes
    (edit,) = action.edit.changes[uri]
    # The catalog is 6.1's (System.map-6.1-...): the bare-name form of before 6.13.
    assert edit.new_text == "MODULE_IMPORT_NS(DMA_BUF);\n"
    assert apply(path.read_text(), edit).endswith('namespace");\nMODULE_IMPORT_NS(DMA_BUF);\n')
    fixed = apply(path.read_text(), edit)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=fixed)],
        )
    )
    for _ in range(50):
        await asyncio.sleep(0.05)
        if not client.diagnostics.get(uri, [None]):
            break
    assert not client.diagnostics[uri]


def apply(text: str, edit: types.TextEdit) -> str:
    """Apply ``edit`` the way an editor does: by (line, character) positions."""
    lines = text.splitlines(keepends=True)

    def offset(p: types.Position) -> int:
        assert p.line <= len(lines), p
        before = sum(len(line) for line in lines[: p.line])
        rest = lines[p.line] if p.line < len(lines) else ""
        assert p.character <= len(rest.rstrip("\n")), p
        return before + p.character

    start, end = offset(edit.range.start), offset(edit.range.end)
    return text[:start] + edit.new_text + text[end:]


async def test_workspace_symbol_takes_a_query(client: LanguageClient) -> None:
    found = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="gpl and ns"))
    assert not found  # "gpl and ns" parses: no symbol is named "ns"
    found = await client.workspace_symbol_async(
        types.WorkspaceSymbolParams(query="gpl and namespace=DMA_BUF")
    )
    assert found is not None and [s.name for s in found] == ["dma_buf_export"]
    found = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="kern_pa"))
    assert found is not None and {s.name for s in found} == {"kern_path"}


async def test_garbage_requests_do_not_kill_it(client: LanguageClient) -> None:
    ghost = (DATA / "no-such-file.c").as_uri()
    for request in (
        client.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=ghost),
                position=types.Position(line=999, character=999),
            )
        ),
        client.text_document_completion_async(
            types.CompletionParams(
                text_document=types.TextDocumentIdentifier(uri=ghost),
                position=types.Position(line=5, character=3),
            )
        ),
    ):
        with contextlib.suppress(Exception):  # an error answer is fine; a dead server is not
            await request
    uri = open_doc(client, DATA / "m1.c", text="\x00\x01 int x = ((( /* unterminated")
    await asyncio.sleep(0.2)
    path = DATA / "m1.c"
    uri = open_doc(client, path)
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=position(path, "jiffies)", 1),
        )
    )
    assert hover is not None
