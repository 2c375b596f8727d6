"""In-tree diagnostics on the real thing: Debian's 6.1 module tree, Module.symvers and
vmlinux as sources, files of Debian's linux-source-6.1 opened as documents. modpost
accepted every module Debian built, so a not-exported, GPL-only or namespace error on one
of their files is a false positive."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ksql.catalog import Catalog
from ksql.kernel.kbuild import read_config, scan_kbuild
from ksql.lsp.csource import analyze
from ksql.lsp.diagnostics import GPL_ONLY, NAMESPACE, NOT_EXPORTED, Finding, diagnose
from ksql.lsp.ifdefs import Env, disabled_lines
from ksql.lsp.membership import membership

SRC = Path("/work/main/.corpus/src/linux-source-6.1")
ERRORS = {NOT_EXPORTED, GPL_ONLY, NAMESPACE}
SAMPLE = 320
ISSUE_FILES = ("fs/ext4/super.c", "drivers/usb/storage/usb.c", "drivers/gpu/drm/drm_prime.c")


def _tree() -> Path:
    root = Path(os.environ.get("KSQL_LINUX_SOURCE", str(SRC)))
    if not (root / "Kbuild").is_file():
        pytest.skip("needs Debian's linux-source-6.1 (scripts/fetch-corpus.sh)")
    return root


@pytest.fixture(scope="module")
def catalog(corpus_dir: Path) -> Catalog:
    from ksql.loading import load_catalog
    from ksql.pluginmanager import load_plugins

    specs = [corpus_dir / "modules", corpus_dir / "Module.symvers", corpus_dir / "vmlinux"]
    cat = load_catalog([str(s) for s in specs], load_plugins())
    cat.name_order()
    return cat


@pytest.fixture(scope="module")
def corpus_dir() -> Path:
    path = os.environ.get("KSQL_CORPUS")
    if not path or not (Path(path) / "modules").is_dir():
        pytest.skip("KSQL_CORPUS not set: run scripts/fetch-corpus.sh (./dev.sh test does)")
    return Path(path)


def errors(catalog: Catalog, root: Path, rel: str) -> list[Finding]:
    path = root / rel
    text = path.read_text(errors="replace")
    member = membership(path, [root])
    disabled = disabled_lines(text, Env(member.config, not member.builtin))
    found = diagnose(analyze(text), catalog, path.stem, member, disabled)
    return [f for f in found if f.code in ERRORS]


@pytest.fixture
def kconfig(corpus_dir: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The image's configuration: what the tree is built with."""
    (config,) = corpus_dir.glob("config-*")
    monkeypatch.setenv("KSQL_KCONFIG", str(config))
    return read_config(config)


@pytest.mark.parametrize("rel", ISSUE_FILES)
def test_the_issue_files_have_no_errors(
    catalog: Catalog, kconfig: dict[str, str], rel: str
) -> None:
    root = _tree()
    before = diagnose(analyze((root / rel).read_text()), catalog, Path(rel).stem)
    assert [f for f in before if f.code == NOT_EXPORTED]  # what a file-stem guess gave
    assert errors(catalog, root, rel) == []


def test_a_sample_of_built_module_files_has_no_errors(
    catalog: Catalog, kconfig: dict[str, str]
) -> None:
    root = _tree()
    built = set(catalog.module_names())
    files = sorted(
        f
        for f, m in scan_kbuild(root, kconfig).files.items()
        if f.endswith(".c") and m != "vmlinux" and m in built
    )
    step = max(1, len(files) // SAMPLE)
    sample = files[::step][:SAMPLE]
    assert len(sample) >= 300
    wrong = {}
    for rel in sample:
        found = errors(catalog, root, rel)
        if found:
            wrong[rel] = [f"{f.span.line + 1}: {f.message}" for f in found]
    assert wrong == {}, "\n".join(f"{k}: {v}" for k, v in wrong.items())
