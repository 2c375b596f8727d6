"""Declarations, signature help, navigation, membership and compiled-out code: the pure
functions behind hover, completion, signatureHelp, definition and the in-tree diagnostics,
over real fixtures (tests/data/lsp/tree: files of Debian's linux-source-6.1) and, where BTF
is needed, the corpus' vmlinux."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.workspace import PositionCodec

from ksql.catalog import Catalog
from ksql.kernel import kconfig
from ksql.kernel.btfgaps import why_no_decl
from ksql.lsp.completion import Candidate, complete
from ksql.lsp.csource import analyze
from ksql.lsp.diagnostics import NAMESPACE, NOT_EXPORTED, diagnose
from ksql.lsp.facts import btf_modules
from ksql.lsp.hover import hover_markdown
from ksql.lsp.ifdefs import Env, disabled_lines, evaluate
from ksql.lsp.membership import (
    Membership,
    document_membership,
    membership,
    module_from_command,
)
from ksql.lsp.navigation import DECLARATION, DEFINITION, locations
from ksql.lsp.prototype import parse_prototype
from ksql.lsp.signature import Call, enclosing_call, signature_help
from ksql.model import ExportKind, Kind
from tests.conftest import DATA

Load = Callable[..., Catalog]
TREE = DATA / "lsp" / "tree"
TREE61 = DATA / "tree-6.1"
UTF16 = PositionCodec(types.PositionEncodingKind.Utf16)


@pytest.fixture
def cat(load: Load) -> Catalog:
    c = load(f"tree:{TREE}", DATA / "System.map-6.1-excerpt", DATA / "Module.symvers-6.1-excerpt")
    c.name_order()
    return c


@pytest.fixture
def btf(load: Load, corpus: Path) -> Catalog:
    c = load(f"btf:{corpus / 'vmlinux'}", corpus / "Module.symvers", f"tree:{TREE}")
    c.name_order()
    return c


@pytest.mark.parametrize(
    ("decl", "name", "label", "params"),
    [
        ("struct dma_buf * dma_buf_get(int fd)", "dma_buf_get",
         "struct dma_buf *dma_buf_get(int fd)", ["int fd"]),
        ("int call_usermodehelper(const char  * path, char * * argv, char * * envp, int wait)",
         "call_usermodehelper",
         "int call_usermodehelper(const char *path, char **argv, char **envp, int wait)",
         ["const char *path", "char **argv", "char **envp", "int wait"]),
        ("ktime_t ktime_get(void)", "ktime_get", "ktime_t ktime_get(void)", []),
        ("int f(int (*cb)(void *, int), void * arg, ...)", "f",
         "int f(int (*cb)(void *, int), void *arg, ...)",
         ["int (*cb)(void *, int)", "void *arg", "..."]),
    ],
)  # fmt: skip
def test_prototype(decl: str, name: str, label: str, params: list[str]) -> None:
    proto = parse_prototype(decl, name)
    assert proto is not None and proto.label == label
    assert [proto.label[a:b] for a, b in proto.offsets()] == params


def test_a_variable_has_no_prototype() -> None:
    assert parse_prototype("unsigned long volatile jiffies", "jiffies") is None
    assert parse_prototype("int xdma_buf_get(int fd)", "dma_buf_get") is None


@pytest.mark.parametrize(
    ("text", "call"),
    [
        ("\tstruct dma_buf *buf = dma_buf_get(", Call("dma_buf_get", 0)),
        ("x = kmalloc(sizeof(*p), GFP_", Call("kmalloc", 1)),
        ('pr_info("a, (b", x, ', Call("pr_info", 2)),
        ("f(a, /* , ( */ b", Call("f", 1)),
        ("f(g(1, 2), ", Call("f", 1)),
        ("f(a);\n\tx = ", None),
        ("if (a, ", None),
        ("f(a, (struct s){ .x = ", None),
        ("f(a /* open", None),
        ("call(\n\t\tone,\n\t\ttwo", Call("call", 1)),
    ],
)
def test_enclosing_call(text: str, call: Call | None) -> None:
    assert enclosing_call(text) == call


def test_signature_help_from_btf(btf: Catalog) -> None:
    help_ = signature_help(btf, Call("dma_buf_get", 0))
    assert help_ is not None
    (sig,) = help_.signatures
    assert (sig.label, help_.active_parameter, sig.documentation) == (
        "struct dma_buf *dma_buf_get(int fd)",
        0,
        "EXPORT_SYMBOL_GPL",
    )
    assert [p.label for p in sig.parameters or []] == [(28, 34)]
    assert signature_help(btf, Call("jiffies", 0)) is None  # a variable


def test_completion_label_details(btf: Catalog) -> None:
    found, _ = complete(btf, "dma_buf_get")
    assert found[0].name == "dma_buf_get"
    assert found[0].label_details() == {"detail": "(int fd)", "description": "struct dma_buf *"}
    plain = Candidate("x", 0, ExportKind.EXPORT_SYMBOL, "vmlinux", "T", True)
    assert plain.label_details() is None


def test_hover_declaration_and_sites(btf: Catalog, corpus: Path) -> None:
    text = hover_markdown(btf, "dma_buf_get")
    assert text is not None
    assert text.startswith(
        "```c\nstruct dma_buf *dma_buf_get(int fd);\n```\n\n"
        f"declaration from the BTF of `vmlinux` (`{corpus / 'vmlinux'}`)\n\n### `dma_buf_get`"
    )
    assert (
        "exported at `drivers/dma-buf/dma-buf.c:742` (`EXPORT_SYMBOL_NS_GPL`)  \n"
        "defined at `drivers/dma-buf/dma-buf.c:726`  \n"
        "declared at `include/linux/dma-buf.h:618`"
    ) in text


def test_hover_without_btf_says_why(cat: Catalog) -> None:
    text = hover_markdown(cat, "dma_buf_export")
    assert text is not None and text.startswith("### `dma_buf_export`")
    assert "exported at `drivers/dma-buf/dma-buf.c:" in text and "(`EXPORT_SYMBOL_NS_GPL`)" in text
    assert "no declaration: no BTF of `vmlinux` was loaded" in text


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (("x", Kind.FUNCTION, ".text", "", "vmlinux", False), "no BTF of `vmlinux` was loaded"),
        (("__SCT__tp_func_x", Kind.FUNCTION, ".text", "", "vmlinux", True), "static-call"),
        (("memset", Kind.FUNCTION, ".text", "arch/x86/lib/memset_64.S:3:1", "vmlinux", True),
         "defined in assembly (`arch/x86/lib/memset_64.S`)"),
        (("f", Kind.UNKNOWN, "", "include/linux/f.h:3:1", "vmlinux", True), "`static inline`"),
        (("jiffies", Kind.OBJECT, ".data", "", "vmlinux", True), "not per-CPU"),
        (("runqueues", Kind.OBJECT, ".data..percpu", "", "vmlinux", True), "not in BTF"),
        (("g", Kind.FUNCTION, ".text", "mm/x.c:1:1", "vmlinux", True), "compiler clones"),
    ],
)  # fmt: skip
def test_why_no_decl(args: tuple[str, Kind, str, str, str, bool], why: str) -> None:
    assert why in why_no_decl(*args)


def test_definition_and_declaration_locations(cat: Catalog) -> None:
    (d,) = locations(cat, "dma_buf_get", DEFINITION, UTF16)
    assert d.uri == (TREE / "drivers/dma-buf/dma-buf.c").absolute().as_uri()
    assert (d.range.start.line, d.range.start.character, d.range.end.character) == (725, 16, 27)
    (h,) = locations(cat, "dma_buf_get", DECLARATION, UTF16)
    assert h.uri.endswith("include/linux/dma-buf.h") and h.range.start.line == 617
    line = (TREE / "include/linux/dma-buf.h").read_text().splitlines()[617]
    assert line[h.range.start.character : h.range.end.character] == "dma_buf_get"
    assert locations(cat, "no_such_symbol", DEFINITION, UTF16) == []


@pytest.mark.parametrize(
    ("expr", "value"),
    [
        ("defined(CONFIG_A)", 1),
        ("defined CONFIG_B", 0),  # =m defines CONFIG_B_MODULE, not CONFIG_B
        ("defined(CONFIG_B_MODULE)", 1),
        ("IS_ENABLED(CONFIG_B) && !IS_BUILTIN(CONFIG_B)", 1),
        ("IS_MODULE(CONFIG_A) || IS_ENABLED(CONFIG_NOPE)", 0),
        ("IS_REACHABLE(CONFIG_B)", 1),  # a module's code reaches a =m option
        ("CONFIG_HZ >= 250", 1),
        ("CONFIG_HZ == 0x3e8 ? 1 : 0", 0),
        ("FOO || CONFIG_A", 1),
        ("FOO && !CONFIG_A", 0),
        ("FOO && CONFIG_A", None),
        ("LINUX_VERSION_CODE >= KERNEL_VERSION(5, 10, 0)", None),
        ("defined(MODULE)", 1),
    ],
)
def test_evaluate(expr: str, value: int | None) -> None:
    env = Env({"CONFIG_A": "y", "CONFIG_B": "m", "CONFIG_HZ": "250"}, module=True)
    assert evaluate(expr, env) == value


def test_disabled_lines() -> None:
    text = "\n".join(
        [
            "a();",  # 0
            "#ifdef CONFIG_OFF",
            "b();",  # 2: off
            "#elif defined(CONFIG_ON) && \\",
            "      IS_ENABLED(CONFIG_ON)",
            "c();",  # 5
            "#else",
            "d();",  # 7: off, an earlier branch was taken
            "#endif",
            "#if SOMETHING_ELSE",
            "e();",  # 10: unknown, kept
            "#else",
            "f();",  # 12: unknown, kept
            "#endif",
            "#ifndef CONFIG_ON",
            "#if 1",
            "g();",  # 16: off (outer group)
            "#endif",
            "#endif /* CONFIG_ON */",
        ]
    )
    assert sorted(disabled_lines(text, Env({"CONFIG_ON": "y"}))) == [2, 7, 16]
    assert disabled_lines(text, Env({})) == set()  # no configuration: nothing is known


def test_kconfig_macros() -> None:
    config = {"CONFIG_A": "y", "CONFIG_B": "m", "CONFIG_S": '"x"'}
    assert [kconfig.defined(n, config) for n in ("CONFIG_A", "CONFIG_B", "CONFIG_S")] == [
        1,
        0,
        None,
    ]
    assert kconfig.test("IS_REACHABLE", "CONFIG_B", config, module=False) == 0
    assert kconfig.test("IS_REACHABLE", "CONFIG_B", config, module=None) is None


@pytest.mark.parametrize(
    ("command", "module"),
    [
        ("gcc -DMODULE -DKBUILD_BASENAME='\"super\"' -DKBUILD_MODNAME='\"ext4\"' -c -o x.o x.c",
         "ext4"),
        ("gcc -DKBUILD_BASENAME='\"fork\"' -DKBUILD_MODNAME='\"fork\"' -c kernel/fork.c",
         "vmlinux"),
        ('clang -DMODULE -DKBUILD_MODNAME=\\"usb-storage\\" -c usb.c', "usb_storage"),
        ("gcc -c x.c", None),
    ],
)  # fmt: skip
def test_module_from_command(command: str, module: str | None) -> None:
    assert module_from_command(command) == module


def test_membership_from_kbuild() -> None:
    usb = membership(TREE61 / "drivers/usb/storage/usb.c", [TREE61])
    assert (usb.module, usb.how, usb.builtin) == ("usb_storage", "kbuild", False)
    assert "USB_STORAGE" not in usb.imports and usb.config["CONFIG_USB_STORAGE"] == "m"
    dmabuf = membership(TREE / "drivers/dma-buf/dma-buf.c", [TREE])
    assert (dmabuf.module, dmabuf.builtin) == ("vmlinux", True)
    # The tree around the file is found without being a source of the catalog.
    assert membership(TREE / "drivers/dma-buf/dma-buf.c").module == "vmlinux"


def test_membership_from_compile_commands_then_toml(tmp_path: Path) -> None:
    src = tmp_path / "drv" / "main.c"
    src.parent.mkdir()
    src.write_text("")
    args = ["gcc", "-DMODULE", '-DKBUILD_MODNAME="mydrv"', "-c", "drv/main.c"]
    entry = {"directory": str(tmp_path), "file": "drv/main.c", "arguments": args}
    (tmp_path / "compile_commands.json").write_text(json.dumps([entry]))
    assert membership(src).module == "mydrv"
    other = tmp_path / "drv" / "other.c"
    other.write_text("")
    assert membership(other, workspace=tmp_path, toml={"module": "my-drv"}).module == "my_drv"
    assert membership(other).module is None


def test_in_tree_diagnostics(cat: Catalog) -> None:
    text = (DATA / "lsp" / "unexported.c").read_text()
    cfile = analyze(text)
    assert [f.code for f in diagnose(cfile, cat, "unexported")] == [NOT_EXPORTED]
    builtin = Membership("vmlinux", "kbuild")
    assert diagnose(cfile, cat, "unexported", builtin) == []
    line = next(i for i, t in enumerate(text.splitlines()) if "kallsyms_lookup_name(" in t)
    assert diagnose(cfile, cat, "unexported", None, {line}) == []


def test_own_module_and_its_imports(load: Load) -> None:
    cat = load(f"tree:{TREE61}")
    cat.name_order()
    # A file of a module without MODULE_* calls of its own (Kbuild says where it goes).
    cfile = analyze("int f(struct us_data *us)\n{\n\treturn usb_stor_suspend(us, 0);\n}\n")
    assert not cfile.is_module
    assert diagnose(cfile, cat, "x") == []
    own = Membership("usb_storage", "kbuild")
    assert diagnose(cfile, cat, "x", own) == []
    uas = Membership("uas", "kbuild")
    assert [f.code for f in diagnose(cfile, cat, "x", uas)] == [NAMESPACE]
    imported = Membership("uas", "kbuild", imports=frozenset({"USB_STORAGE"}))
    assert diagnose(cfile, cat, "x", imported) == []


def test_document_membership_reads_ksql_toml(tmp_path: Path) -> None:
    (tmp_path / ".ksql.toml").write_text('module = "my-drv"\nkconfig = "kconfig"\n')
    (tmp_path / "kconfig").write_text("CONFIG_X=y\n# CONFIG_Y is not set\n")
    doc = tmp_path / "a.c"
    doc.write_text("")
    found = document_membership(None, doc.as_uri(), tmp_path)
    assert (found.module, found.how, dict(found.config)) == (
        "my_drv",
        ".ksql.toml",
        {"CONFIG_X": "y"},
    )


def test_btf_modules(cat: Catalog, btf: Catalog) -> None:
    assert btf_modules(cat) == frozenset()
    assert btf_modules(btf) == frozenset({"vmlinux"})
