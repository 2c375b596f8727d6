"""The language server end to end on a source tree: go-to-definition and declaration into
the tree, hover with the export, definition and declaration sites, in-tree diagnostics
(the module a file is built into, code the configuration compiles out); with the corpus'
vmlinux BTF, hover's declaration, completion's signatures and signature help."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.e2e.test_lsp import diagnostics, open_doc, position

DATA = Path(__file__).parent.parent / "data"
TREE = DATA / "lsp" / "tree"
SOURCES = [f"tree:{TREE}", DATA / "System.map-6.1-excerpt", DATA / "Module.symvers-6.1-excerpt"]
SERVER = [sys.executable, "-m", "ksql", "lsp", *(f"-s{s}" for s in SOURCES)]
CORPUS = Path(os.environ.get("KSQL_CORPUS", "/nonexistent"))
BTF_SERVER = [*SERVER, f"-sbtf:{CORPUS / 'vmlinux'}"]
DMABUF = DATA / "lsp" / "dmabuf.c"


async def _start(lsp_client: LanguageClient) -> None:
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("neovim"),
            root_uri=DATA.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=DATA.as_uri(), name="data")],
        )
    )


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient):  # type: ignore[no-untyped-def]
    await _start(lsp_client)
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=BTF_SERVER))
async def btf_client(lsp_client: LanguageClient):  # type: ignore[no-untyped-def]
    if not (CORPUS / "vmlinux").is_file():
        pytest.skip("KSQL_CORPUS not set: run scripts/fetch-corpus.sh (./dev.sh test does)")
    await _start(lsp_client)
    yield
    await lsp_client.shutdown_session()


def _at(uri: str, pos: types.Position) -> types.TextDocumentPositionParams:
    return types.TextDocumentPositionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=pos
    )


async def _hover(client: LanguageClient, uri: str, pos: types.Position) -> str:
    hover = None
    for _ in range(20):  # the first request may come while the catalog loads
        p = _at(uri, pos)
        hover = await client.text_document_hover_async(
            types.HoverParams(text_document=p.text_document, position=p.position)
        )
        if hover is not None:
            break
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    return hover.contents.value


async def test_definition_and_declaration_in_the_tree(client: LanguageClient) -> None:
    uri = open_doc(client, DMABUF)
    pos = position(DMABUF, "dma_buf_get(", 3)
    await _hover(client, uri, pos)  # waits for the catalog
    found = await client.text_document_definition_async(
        types.DefinitionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=pos)
    )
    assert isinstance(found, list)
    (loc,) = found
    assert isinstance(loc, types.Location)
    assert loc.uri == (TREE / "drivers/dma-buf/dma-buf.c").absolute().as_uri()
    assert (loc.range.start.line, loc.range.start.character) == (725, 16)
    found = await client.text_document_declaration_async(
        types.DeclarationParams(text_document=types.TextDocumentIdentifier(uri=uri), position=pos)
    )
    assert isinstance(found, list)
    (loc,) = found
    assert isinstance(loc, types.Location)
    assert loc.uri.endswith("/include/linux/dma-buf.h") and loc.range.start.line == 617


async def test_hover_shows_the_sites(client: LanguageClient) -> None:
    uri = open_doc(client, DMABUF)
    text = await _hover(client, uri, position(DMABUF, "dma_buf_get(", 2))
    assert "exported at `drivers/dma-buf/dma-buf.c:742` (`EXPORT_SYMBOL_NS_GPL`)" in text
    assert "defined at `drivers/dma-buf/dma-buf.c:726`" in text
    assert "declared at `include/linux/dma-buf.h:618`" in text


async def test_a_file_built_into_vmlinux_gets_no_errors(client: LanguageClient) -> None:
    # The same text that is an error in a module is fine in a built-in file of the tree.
    text = (DATA / "lsp" / "unexported.c").read_text()
    alone = open_doc(client, DATA / "lsp" / "unexported.c")
    assert [d.code for d in await diagnostics(client, alone)] == ["not-exported"]
    builtin = open_doc(client, TREE / "drivers/dma-buf/dma-buf.c", text)
    assert list(await diagnostics(client, builtin)) == []


@pytest.mark.parametrize(
    ("condition", "codes"),
    [
        ("#if IS_ENABLED(CONFIG_USB_STORAGE)", ["not-exported"]),
        ("#ifdef CONFIG_USB_STORAGE_MODULE", ["not-exported"]),
        ("#ifdef CONFIG_USB_STORAGE", []),  # =m defines CONFIG_USB_STORAGE_MODULE only
        ("#ifdef CONFIG_USB_STORAGE_DEBUG", []),  # not set
        ("#ifdef SOME_OTHER_MACRO", ["not-exported"]),  # unknown: still checked
    ],
)
async def test_compiled_out_code_gets_no_diagnostics(
    client: LanguageClient, condition: str, codes: list[str]
) -> None:
    text = (DATA / "lsp" / "unexported.c").read_text()
    call = "\treturn kallsyms_lookup_name(name);"
    text = text.replace(call, f"{condition}\n{call}\n#endif")
    # A file of usb-storage (a module with this configuration), as Kbuild says.
    uri = open_doc(client, TREE / "drivers/usb/storage/usb.c", text)
    assert [d.code for d in await diagnostics(client, uri)] == codes


async def test_btf_hover_completion_and_signature_help(btf_client: LanguageClient) -> None:
    client = btf_client
    uri = open_doc(client, DMABUF)
    text = await _hover(client, uri, position(DMABUF, "dma_buf_get(", 2))
    assert text.startswith("```c\nstruct dma_buf *dma_buf_get(int fd);\n```")
    assert "**exported** EXPORT_SYMBOL_GPL" in text
    result = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=position(DMABUF, "dma_buf_get(", 9),  # after "dma_buf_g"
        )
    )
    items = result.items if isinstance(result, types.CompletionList) else result or []
    item = next(i for i in items if i.label == "dma_buf_get")
    assert item.label_details == types.CompletionItemLabelDetails(
        detail="(int fd)", description="struct dma_buf *"
    )
    help_ = await client.text_document_signature_help_async(
        types.SignatureHelpParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=position(DMABUF, "dma_buf_get(", 12),  # inside the parentheses
        )
    )
    assert help_ is not None
    assert help_.signatures[0].label == "struct dma_buf *dma_buf_get(int fd)"
    assert help_.active_parameter == 0
