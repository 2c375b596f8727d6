"""A real editor: Debian's Neovim (0.7.2 on bookworm) runs headless with the project's own
config (editors/nvim/lua/ksql.lua) against the real `ksql lsp`; what Neovim received is
written to JSON by editors/nvim/test/headless.lua and checked here. No mocks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent.parent
DATA = ROOT / "tests" / "data"
TREE = DATA / "lsp" / "tree"


def run_nvim(tmp: Path, sources: list[str], file: Path, **extra: str) -> dict[str, object]:
    """Neovim headless on ``file`` with the ksql client on ``sources``: what it received."""
    nvim = shutil.which("nvim")
    if nvim is None:
        pytest.skip("needs Debian's neovim (./dev.sh test installs it when run as root)")
    out = tmp / "result.json"
    ksql = shutil.which("ksql", path=str(Path(sys.executable).parent)) or "ksql"
    env = dict(
        os.environ,
        KSQL_COMMAND=ksql,
        KSQL_SOURCES=";".join(sources),
        KSQL_DATA=str(DATA),
        KSQL_NVIM_RESULT=str(out),
        **extra,
    )
    subprocess.run(
        [nvim, "--headless", "--clean", "-u", str(ROOT / "editors/nvim/test/headless.lua"),
         str(file)],
        env=env, timeout=180, check=True, capture_output=True,
    )  # fmt: skip
    result: dict[str, object] = json.loads(out.read_text())
    assert result["error"] is None, result["error"]
    return result


@pytest.fixture(scope="module")
def received(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    sources = [DATA / "System.map-6.1-excerpt", DATA / "Module.symvers-6.1-excerpt"]
    return run_nvim(tmp_path_factory.mktemp("nvim"), list(map(str, sources)), DATA / "m1.c")


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A module calling dma_buf_get, with the source tree (tests/data/lsp/tree) and the
    corpus' vmlinux BTF and Module.symvers as sources."""
    corpus = Path(os.environ.get("KSQL_CORPUS", "/nonexistent"))
    if not (corpus / "vmlinux").is_file():
        pytest.skip("KSQL_CORPUS not set: run scripts/fetch-corpus.sh (./dev.sh test does)")
    sources = [f"tree:{TREE}", f"btf:{corpus / 'vmlinux'}", str(corpus / "Module.symvers")]
    return run_nvim(
        tmp_path_factory.mktemp("nvim-sites"), sources, DATA / "lsp" / "dmabuf.c",
        KSQL_NVIM_SITES="1",
    )  # fmt: skip


def test_hover_on_jiffies(received: dict[str, object]) -> None:
    hover = received["hover"]
    assert isinstance(hover, str)
    assert "**exported** EXPORT_SYMBOL" in hover and "| module | `vmlinux` |" in hover


def test_completion_after_jiff(received: dict[str, object]) -> None:
    assert received["completion"] == [{"label": "jiffies", "detail": "EXPORT_SYMBOL · vmlinux · D"}]


def test_gpl_only_diagnostic_in_a_proprietary_module(received: dict[str, object]) -> None:
    (diag,) = received["proprietary"]  # type: ignore[misc]
    assert diag["code"] == "gpl-only" and (diag["lnum"], diag["col"]) == (6, 8)
    assert "'user_read' is EXPORT_SYMBOL_GPL" in diag["message"]


def test_quick_fix_applied_by_neovim(received: dict[str, object]) -> None:
    assert received["namespace_before"] == 1
    assert received["actions"] == ["Add MODULE_IMPORT_NS(DMA_BUF)"]
    assert received["import_lines"] == ["MODULE_IMPORT_NS(DMA_BUF);"]
    assert received["namespace_after"] == 0


def test_hover_on_a_call_shows_the_declaration_and_the_export(sites: dict[str, object]) -> None:
    hover = sites["hover"]
    assert isinstance(hover, str)
    assert hover.startswith("```c\nstruct dma_buf *dma_buf_get(int fd);\n```")
    assert "**exported** EXPORT_SYMBOL_GPL" in hover and "namespace **DMA_BUF**" in hover
    assert "exported at `drivers/dma-buf/dma-buf.c:742` (`EXPORT_SYMBOL_NS_GPL`)" in hover


def test_completion_items_show_signatures(sites: dict[str, object]) -> None:
    completion = sites["completion"]
    assert isinstance(completion, list)
    assert {"label": "dma_buf_get", "details": {"detail": "(int fd)",
            "description": "struct dma_buf *"}} in completion  # fmt: skip


def test_signature_help_inside_a_call(sites: dict[str, object]) -> None:
    assert sites["signature"] == {"label": "struct dma_buf *dma_buf_get(int fd)", "active": 0}


def test_go_to_definition_lands_in_the_tree(sites: dict[str, object]) -> None:
    assert sites["definition"] == {
        "file": str((TREE / "drivers/dma-buf/dma-buf.c").absolute()),
        "line": 726,
        "text": "struct dma_buf *dma_buf_get(int fd)",
    }


def test_a_missing_ksql_is_one_message(tmp_path: Path) -> None:
    nvim = shutil.which("nvim")
    if nvim is None:
        pytest.skip("needs Debian's neovim (./dev.sh test installs it when run as root)")
    out = tmp_path / "result.json"
    subprocess.run(
        [nvim, "--headless", "--clean", "-u", str(ROOT / "editors/nvim/test/missing.lua")],
        env=dict(os.environ, KSQL_NVIM_RESULT=str(out)), timeout=60, check=True,
        capture_output=True,
    )  # fmt: skip
    assert json.loads(out.read_text()) == {
        "ok": True,
        "started": False,
        "messages": [
            {
                "message": "ksql: 'ksql-not-installed-here' is not an executable on PATH; install"
                " ksql (pipx install /path/to/ksql) or name it: require('ksql').setup({ cmd = {"
                " '/path/to/ksql', 'lsp' } })",
                "level": 4,  # vim.log.levels.ERROR
            }
        ],
    }
