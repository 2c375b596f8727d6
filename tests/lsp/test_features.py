"""Completion, hover, diagnostics and the quick fix as pure functions over a real catalog."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ksql.catalog import Catalog
from ksql.lsp.completion import complete
from ksql.lsp.csource import analyze
from ksql.lsp.diagnostics import CODE_MODULE_ONLY, GPL_ONLY, NAMESPACE, NOT_EXPORTED, diagnose
from ksql.lsp.facts import KernelSummary, catalog_kernel_version, kernel_facts
from ksql.lsp.fixes import import_namespace
from ksql.lsp.hover import hover_markdown
from ksql.model import ExportKind
from tests.conftest import DATA

Load = Callable[..., Catalog]


@pytest.fixture
def cat(load: Load) -> Catalog:
    c = load(DATA / "System.map-6.1-excerpt", DATA / "Module.symvers-6.1-excerpt")
    c.name_order()
    return c


def test_completion_ranks_exported_first(cat: Catalog) -> None:
    found, incomplete = complete(cat, "k")
    assert [(c.name, c.rank) for c in found] == [
        ("kern_path", 0),
        ("kallsyms_lookup_name", 2),
        ("kexec_control_code_size", 2),
    ]
    assert not incomplete
    assert found[0].detail == "EXPORT_SYMBOL · vmlinux · T"
    gpl, _ = complete(cat, "user_")
    assert [(c.name, c.rank, c.export) for c in gpl] == [
        ("user_read", 0, ExportKind.EXPORT_SYMBOL_GPL)
    ]
    # A proprietary module cannot link against GPL-only exports: they come after the rest.
    both, _ = complete(cat, "d", gpl_ok=True)
    assert [(c.name, c.rank) for c in both] == [("dma_buf_export", 0)]
    assert [(c.name, c.rank) for c in complete(cat, "user_", gpl_ok=False)[0]] == [("user_read", 1)]


def test_completion_caps_the_list(cat: Catalog) -> None:
    found, incomplete = complete(cat, "_", limit=3)
    assert len(found) == 3 and incomplete
    assert complete(cat, "") == ([], True)
    assert complete(cat, "zzz") == ([], False)


def test_completion_groups_repeated_names_past_the_first_rows(load: Load, tmp_path: Path) -> None:
    """A prefix whose first rows are all unexported repeats: the exported names further on
    still come first, each name once, standing as its best row (p_dup is local in 30
    modules and exported by vmlinux)."""
    lines = ["ffffffff81000000 T p_dup", "ffffffff81000100 T p_late"]
    lines += ["ffffffff81001000 r __ksymtab_p_dup", "ffffffff81001010 r __ksymtab_p_late"]
    lines += [f"ffffffff8200{i:04x} t p_a{i:03d}" for i in range(500)]
    lines += [f"ffffffffc000{i:04x} t p_dup\t[mod{i}]" for i in range(30)]
    (tmp_path / "kallsyms").write_text("\n".join(lines) + "\n")
    cat = load(f"kallsyms:{tmp_path / 'kallsyms'}")
    found, incomplete = complete(cat, "p_", limit=4)
    assert [(c.name, c.rank, c.module) for c in found] == [
        ("p_dup", 0, "vmlinux"),
        ("p_late", 0, "vmlinux"),
        ("p_a000", 2, "vmlinux"),
        ("p_a001", 2, "vmlinux"),
    ]
    assert incomplete
    everything, incomplete = complete(cat, "p_", limit=1000)
    assert len(everything) == 502 and len({c.name for c in everything}) == 502
    assert not incomplete


def test_hover_card(cat: Catalog) -> None:
    text = hover_markdown(cat, "dma_buf_export", analyze("MODULE_IMPORT_NS(DMA_BUF);\n"))
    assert text is not None
    assert "**exported** EXPORT_SYMBOL_GPL (GPL-only" in text
    assert "namespace **DMA_BUF** — imported by this file" in text
    assert "| CRC | `0xeade228f` |" in text and "| address | `ffffffff8172ff00` |" in text
    missing = hover_markdown(cat, "dma_buf_export", analyze("int x;\n"))
    assert missing is not None and "needs `MODULE_IMPORT_NS(DMA_BUF)`" in missing
    unexported = hover_markdown(cat, "kallsyms_lookup_name")
    assert unexported is not None
    assert "**not exported** by 6.1-excerpt: modules cannot link" in unexported
    both = hover_markdown(cat, "kern_path")
    assert both is not None and both.count("| module | `vmlinux` |") == 2
    assert hover_markdown(cat, "no_such_symbol") is None


MODULE = """#include <linux/module.h>
static int __init start(void) {{ return {call}; }}
module_init(start);
MODULE_LICENSE("{license}");
{extra}"""


@pytest.mark.parametrize(
    ("call", "license", "extra", "codes"),
    [
        ("user_read(0, 0, 0)", "Proprietary", "", [GPL_ONLY]),
        ("user_read(0, 0, 0)", "GPL and additional rights", "", []),
        ("kallsyms_lookup_name(0)", "GPL", "", [NOT_EXPORTED]),
        ("dma_buf_export(0) != 0", "GPL", "", [NAMESPACE]),
        ("dma_buf_export(0) != 0", "Dual MIT/GPL", "MODULE_IMPORT_NS(DMA_BUF);\n", []),
        ("dma_buf_export(0) != 0", "Proprietary", "", [GPL_ONLY, NAMESPACE]),
        ("kern_path(0, 0, 0)", "Proprietary", "", []),  # EXPORT_SYMBOL: anyone may use it
        ('printk("x")', "GPL", "", []),  # a macro: not in the kernel's symbol table
        ("jiffies", "GPL", "", []),
    ],
)
def test_diagnostics(cat: Catalog, call: str, license: str, extra: str, codes: list[str]) -> None:
    text = MODULE.format(call=call, license=license, extra=extra)
    assert [f.code for f in diagnose(analyze(text), cat)] == codes


def test_not_exported_names_the_kernel_and_modposts_rule(cat: Catalog) -> None:
    text = MODULE.format(call="kallsyms_lookup_name(0)", license="GPL", extra="")
    (finding,) = diagnose(analyze(text), cat)
    assert finding.message == (
        "'kallsyms_lookup_name' is not exported by 6.1-excerpt (vmlinux): modules cannot link"
        ' against it; modpost: "kallsyms_lookup_name" undefined! (an error with the kernel\'s'
        " Module.symvers; without it, or with KBUILD_MODPOST_WARN=1, a warning, and insmod"
        ' fails: "Unknown symbol kallsyms_lookup_name")'
    )


def test_a_kernel_that_exports_nothing_gets_no_not_exported_errors(
    load: Load, tmp_path: Path
) -> None:
    """The System.map of a kernel built without modules has no __ksymtab_ labels."""
    lines = (DATA / "System.map-6.1-excerpt").read_text().splitlines(keepends=True)
    bare = tmp_path / "System.map-6.1-nomodules"
    bare.write_text("".join(line for line in lines if "__ksymtab" not in line))
    cat = load(bare)
    assert kernel_facts(cat) == KernelSummary("6.1-nomodules", exports_anything=False)
    text = MODULE.format(call="kallsyms_lookup_name(0)", license="GPL", extra="")
    assert diagnose(analyze(text), cat) == []


def test_not_a_module_gets_no_diagnostics(cat: Catalog) -> None:
    assert diagnose(analyze("int f(void) { return kallsyms_lookup_name(0); }\n"), cat) == []


def test_static_namesakes_are_not_linkable(load: Load, tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    src = tmp_path / "System.map"
    src.write_text("ffffffff81000000 T _text\nffffffff81000010 t only_static\n")
    cat = load(src)
    text = MODULE.format(call="only_static()", license="GPL", extra="")
    assert diagnose(analyze(text), cat) == []


@pytest.mark.parametrize(
    ("style_line", "kernel", "expected"),
    [
        ("", (6, 1), "MODULE_IMPORT_NS(DMA_BUF);\n"),
        ("", (6, 13), 'MODULE_IMPORT_NS("DMA_BUF");\n'),
        ("", None, 'MODULE_IMPORT_NS("DMA_BUF");\n'),
        ('MODULE_IMPORT_NS("USB_STORAGE");\n', (6, 1), 'MODULE_IMPORT_NS("DMA_BUF");\n'),
        ("MODULE_IMPORT_NS(USB_STORAGE);\n", (6, 14), "MODULE_IMPORT_NS(DMA_BUF);\n"),
    ],
)
def test_quick_fix_form(style_line: str, kernel: tuple[int, int] | None, expected: str) -> None:
    text = MODULE.format(call="0", license="GPL", extra=style_line)
    fix = import_namespace(analyze(text), "DMA_BUF", kernel)
    assert fix.text == expected
    assert fix.line == (5 if style_line else 4)


def test_catalog_kernel_version(cat: Catalog, load: Load) -> None:
    assert catalog_kernel_version(cat) == (6, 1)  # from System.map-6.1-excerpt
    assert catalog_kernel_version(load(DATA / "m3-6.12" / "m3.ko")) == (6, 12)  # vermagic
    assert catalog_kernel_version(Catalog(), "6.8.0") is None


def test_module_only_namespaces(load: Load) -> None:
    """EXPORT_SYMBOL_FOR_MODULES: "module:kvm,kvm-amd,kvm-intel" is no namespace to import."""
    cat = load(DATA / "linux-7.2" / "Module.symvers-vmlinux-excerpt")
    cat.name_order()
    text = MODULE.format(call="write_ibpb()", license="GPL", extra="")
    (finding,) = diagnose(analyze(text), cat, module="my_driver")
    assert (
        finding.code == CODE_MODULE_ONLY == "module-only"
        and "kvm, kvm_amd, kvm_intel" in finding.message
    )
    assert diagnose(analyze(text), cat, module="kvm-amd") == []
    card = hover_markdown(cat, "write_ibpb")
    assert card is not None and "exported **only to the modules** kvm, kvm_amd, kvm_intel" in card
    assert "MODULE_IMPORT_NS" not in card


def test_name_facts_are_remembered_per_catalog(
    cat: Catalog, load: Load, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ksql.lsp import facts as name_facts

    first = name_facts.facts(cat, "dma_buf_export")
    assert first is not None and first.exported and first.namespace == "DMA_BUF"
    assert name_facts.facts(cat, "dma_buf_export") is first  # looked up once
    assert name_facts.facts(cat, "no_such_symbol") is None
    other = load(DATA / "System.map-6.1-excerpt")  # another catalog: its own answer
    found = name_facts.facts(other, "dma_buf_export")
    assert found is not None and found.namespace == "" and found.definitions != first.definitions
    monkeypatch.setattr(name_facts, "FACTS_KEPT", 2)  # full: the memory starts over
    name_facts.facts(cat, "kern_path")
    again = name_facts.facts(cat, "dma_buf_export")
    assert again == first and again is not first
