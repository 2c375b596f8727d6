"""Reading kernel C with tree-sitter: references, declarations, module facts, cursors."""

from __future__ import annotations

import pytest

from ksql.lsp.csource import analyze, cursor
from tests.conftest import DATA

SOURCE = """\
#include <linux/module.h>
#define MY_MACRO(x) helper_in_macro(x)
struct thing { int jiffies; };
enum { LOCAL_ENUM = 1 };
static int local_fn(int param) { return param + LOCAL_ENUM; }
/* kmalloc in a comment */
static int user(struct thing *t)
{
\tconst char *s = "dma_buf_get in a string";
\tint tmp = t->jiffies + jiffies;
\treturn local_fn(tmp) + printk_ratelimit() + MY_MACRO(tmp) + (s != 0);
}
#ifdef CONFIG_FOO
#endif
MODULE_LICENSE("GPL v2");
MODULE_IMPORT_NS("USB_STORAGE");
"""


def test_references_are_real_uses_only() -> None:
    got = analyze(SOURCE)
    names = [r.name for r in got.references]
    assert "jiffies" in names and "printk_ratelimit" in names
    assert names.count("jiffies") == 1  # t->jiffies is a member
    for absent in ("kmalloc", "dma_buf_get", "local_fn", "param", "LOCAL_ENUM", "tmp",
                   "MY_MACRO", "x", "CONFIG_FOO", "s", "t", "helper_in_macro"):  # fmt: skip
        assert absent not in names, absent
    assert {"local_fn", "param", "LOCAL_ENUM", "MY_MACRO", "tmp", "user"} <= got.declared


def test_module_facts() -> None:
    got = analyze(SOURCE)
    assert got.is_module and got.license == "GPL v2"
    assert got.imports == ["USB_STORAGE"] and got.import_style == "string"
    assert got.insert_line == 16
    plain = analyze("int f(void) { return jiffies; }\n")
    assert not plain.is_module and plain.license is None


def test_seed_m1() -> None:
    got = analyze((DATA / "m1.c").read_text())
    assert got.license == "Dual BSD/GPL" and got.is_module
    (ref,) = [r for r in got.references if r.name == "jiffies"]
    assert (ref.span.line, ref.span.start, ref.span.end) == (8, 35, 42)


@pytest.mark.parametrize(
    ("line", "character", "word", "code", "member"),
    [
        (9, 26, "jiffies", True, False),  # in "jiffies" after "+ "
        (9, 15, "jiffies", True, True),  # t->jiffies
        (5, 6, "kmalloc", False, False),  # comment
        (8, 20, "dma_buf_get", False, False),  # string
        (0, 12, "linux", False, False),  # #include <...>
        (10, 35, "printk_ratelimit", True, False),
    ],
)
def test_cursor(line: int, character: int, word: str, code: bool, member: bool) -> None:
    at = cursor(SOURCE, line, character)
    assert (at.word, at.code, at.member) == (word, code, member)


def test_non_ascii_columns_are_code_points() -> None:
    text = 'static const char *s = "héllo"; int x = jiffies;\nMODULE_LICENSE("GPL");\n'
    (ref,) = [r for r in analyze(text).references if r.name == "jiffies"]
    assert text.split("\n")[0][ref.span.start : ref.span.end] == "jiffies"


CONDITIONS = """\
#include INCLUDED_BY_MACRO
#if defined(IN_DEFINED) && IN_IF_CONDITION > 1
static int a(void) { return in_if_branch(); }
#elif IN_ELIF_CONDITION
static int b(void) { return in_elif_branch(); }
#else
static int c(void) { return in_else_branch(); }
#endif
#ifdef IN_IFDEF
static int d(void) { return in_ifdef_branch(IN_IFDEF); }
#elifdef IN_ELIFDEF
static int e(void) { return in_elifdef_branch(); }
#endif
#ifndef IN_IFNDEF
static int f(void) { return in_ifndef_branch(); }
#endif
"""


def test_what_the_preprocessor_tests_is_not_a_reference() -> None:
    """Names in #if/#elif conditions, defined(), #include and the macro of #ifdef,
    #elifdef and #ifndef are the preprocessor's; the code of every branch is code, the
    tested macro used there included."""
    names = {r.name for r in analyze(CONDITIONS).references}
    assert names == {
        "in_if_branch",
        "in_elif_branch",
        "in_else_branch",
        "in_ifdef_branch",
        "IN_IFDEF",
        "in_elifdef_branch",
        "in_ifndef_branch",
    }


def test_every_declarator_of_a_declaration_declares() -> None:
    """``int ret = 0, jiffies_seen;`` declares both: the second is a local, not a use of a
    kernel symbol, wherever the file names it."""
    text = "static int f(void)\n{\n\tint ret = 0, jiffies_seen, *msleep_ptr;\n"
    text += "\tjiffies_seen = ret;\n\treturn jiffies_seen + msleep(1);\n}\n"
    cfile = analyze(text)
    assert {"ret", "jiffies_seen", "msleep_ptr", "f"} <= cfile.declared
    assert [r.name for r in cfile.references] == ["msleep"]
