"""The server's sources: a broken one is one message and the rest still serves; sources
from .ksql.toml (which wins, as clangd's .clangd does) and from initializationOptions."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

DATA = Path(__file__).parent.parent / "data"
BROKEN = [
    sys.executable, "-m", "ksql", "lsp", "--stdio",
    "-s", str(DATA / "no-such-System.map"),
    "-s", f"symvers:{DATA / 'm1.c'}",
    "-s", str(DATA / "Module.symvers-6.1-excerpt"),
]  # fmt: skip


async def loaded(client: LanguageClient) -> str:
    for _ in range(100):
        done = [m.message for m in client.log_messages if "symbols from" in m.message]
        if done:
            return done[0]
        await asyncio.sleep(0.05)
    raise AssertionError("the catalog never loaded")


@pytest_lsp.fixture(config=ClientServerConfig(server_command=BROKEN))
async def broken(lsp_client: LanguageClient):  # type: ignore[no-untyped-def]
    await lsp_client.initialize_session(
        types.InitializeParams(capabilities=client_capabilities("neovim"), root_uri=None)
    )
    yield
    await lsp_client.shutdown_session()


async def test_broken_sources_are_one_message(broken: LanguageClient) -> None:
    assert await loaded(broken) == "ksql: 7 symbols from 1 sources"
    (message,) = broken.messages
    assert message.type == types.MessageType.Warning
    assert "no-such-System.map: no such file or directory" in message.message
    assert "m1.c:1: 1 tab-separated field(s)" in message.message
    path = DATA / "m1.c"
    broken.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=path.as_uri(), language_id="c", version=1, text=path.read_text()
            )
        )
    )
    hover = await broken.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=path.as_uri()),
            position=types.Position(line=8, character=37),
        )
    )
    assert hover is not None and "EXPORT_SYMBOL" in str(hover.contents)


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[sys.executable, "-m", "ksql", "lsp"]),
)
async def configured(lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("ws")
    shutil.copy(DATA / "Module.symvers-6.1-excerpt", root / "Module.symvers")
    (root / ".ksql.toml").write_text('sources = ["symvers:Module.symvers"]\n')
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("neovim"),
            root_uri=root.as_uri(),
            initialization_options={"sources": [str(DATA / "seed.Module.symvers")]},
        )
    )
    yield
    await lsp_client.shutdown_session()


async def test_the_projects_toml_wins_over_initialization_options(
    configured: LanguageClient,
) -> None:
    assert await loaded(configured) == "ksql: 7 symbols from 1 sources"
    found = await configured.workspace_symbol_async(types.WorkspaceSymbolParams(query="rday"))
    assert found == []
    found = await configured.workspace_symbol_async(types.WorkspaceSymbolParams(query="jiffies"))
    assert found is not None and [s.name for s in found] == ["jiffies"]


def _module_tree() -> Path:
    """More modules than one decoding task holds, so loading them starts worker processes."""
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="ksql-tree-"))
    for i in range(120):
        shutil.copy(DATA / "m2.ko", root / f"m2_{i:03d}.ko")
    return root


TREE = _module_tree()


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "ksql", "lsp", "-s", str(TREE)],
        server_env={"KSQL_NO_CACHE": "1"},
    ),
)
async def tree(lsp_client: LanguageClient):  # type: ignore[no-untyped-def]
    await lsp_client.initialize_session(
        types.InitializeParams(capabilities=client_capabilities("neovim"), root_uri=None)
    )
    yield
    await lsp_client.shutdown_session()


async def test_a_module_tree_loads_in_worker_processes(tree: LanguageClient) -> None:
    # Forking from the loader thread while the stdin reader holds its lock hung this load.
    assert (await loaded(tree)).endswith(" symbols from 1 sources")
    found = await tree.workspace_symbol_async(types.WorkspaceSymbolParams(query="rday_3"))
    assert found is not None and {s.name for s in found} == {"rday_3"}
