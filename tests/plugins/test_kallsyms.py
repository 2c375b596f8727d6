"""The kallsyms / System.map / nm text source."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ksql.catalog import Catalog
from ksql.errors import SourceError
from ksql.model import Bind, ExportKind
from ksql.plugins.kallsyms import NmText
from tests.conftest import DATA, names

Load = Callable[..., Catalog]


def test_seed_excerpt_case_means_exported_for_modules(load: Load) -> None:
    cat = load(DATA / "kallsyms-m2-excerpt.txt")
    (rday_3,) = cat.lookup("rday_3")
    (rday_2,) = cat.lookup("rday_2")
    assert (rday_3.module, rday_3.type, rday_3.export) == ("m2", "D", ExportKind.EXPORTED)
    assert (rday_2.module, rday_2.type, rday_2.export) == ("m2", "d", ExportKind.NONE)
    # The letter's case carries the export, not the binding (kernel/kallsyms.c s_show).
    assert rday_2.bind is Bind.UNKNOWN
    assert names(cat, "exported and module=m2 and type=D") == ["rday_3"]


def test_system_map_ksymtab_sections_give_the_flavour(load: Load) -> None:
    cat = load(DATA / "System.map-6.1-excerpt")
    assert names(cat, "export=EXPORT_SYMBOL order by name") == ["_printk", "jiffies", "kern_path"]
    assert names(cat, "gpl order by name") == ["dma_buf_export", "user_read"]
    # kern_path is both a global function (exported) and a static variable: both rows stay.
    rows = {(s.type, s.export) for s in cat.lookup("kern_path")}
    assert rows == {("T", ExportKind.EXPORT_SYMBOL), ("d", ExportKind.NONE)}
    assert names(cat, "name=kallsyms_lookup_name and not exported") == ["kallsyms_lookup_name"]


def test_nm_output_with_undefined_lines(load: Load) -> None:
    cat = load(DATA / "m1.nm.txt")
    assert names(cat, "undefined") == ["__fentry__", "__x86_return_thunk", "_printk", "jiffies"]
    (jiffies,) = cat.lookup("jiffies")
    assert (jiffies.module, jiffies.addr, jiffies.type) == ("m1", None, "U")
    assert cat.notes == [
        f"{DATA / 'm1.nm.txt'}: nm output of a module; module name 'm1' from the file name"
    ]
    (init,) = cat.lookup("init_module")
    assert (init.addr, init.bind) == (0, Bind.GLOBAL)


def test_nm_headers_name_the_module(tmp_path: Path, load: Load) -> None:
    src = tmp_path / "nm.txt"
    src.write_text(
        "\nsnd-hda-intel.ko:\n0000000000000010 T azx_probe\n                 U jiffies\n"
        "\nm2.ko:\n0000000000000000 D rday_3\n"
    )
    cat = load(src)
    assert [(s.name, s.module) for s in cat.symbols(range(len(cat)))] == [
        ("azx_probe", "snd_hda_intel"),
        ("jiffies", "snd_hda_intel"),
        ("rday_3", "m2"),
    ]


def test_hidden_addresses_become_unknown_and_are_noted(tmp_path: Path, load: Load) -> None:
    src = tmp_path / "kallsyms"
    src.write_text(
        "0000000000000000 T _text\n0000000000000000 t helper\n"
        "0000000000000000 d rday_2\t[m2]\n0000000000000000 D rday_3\t[m2]\n"
    )
    cat = load(src)
    assert {s.addr for s in cat.symbols(range(len(cat)))} == {None}
    assert len(cat.notes) == 1 and "CAP_SYSLOG" in cat.notes[0]


def test_pseudo_modules_never_export(tmp_path: Path, load: Load) -> None:
    src = tmp_path / "kallsyms"
    src.write_text(
        "ffffffffc0201000 t ftrace_trampoline\t[__builtin__ftrace]\n"
        "ffffffffc0202000 T bpf_prog_6deef7357e7b4530\t[bpf]\n"
    )
    assert names(load(src), "exported") == []


def test_freed_init_functions_are_not_exports_where_labels_exist(
    tmp_path: Path, load: Load
) -> None:
    # ftrace keeps a module's init functions as 'T' after init (aba4b5c22cba); the module's
    # __ksymtab_ labels say what it really exports.
    src = tmp_path / "kallsyms"
    src.write_text(
        "ffffffffc0a00000 r __ksymtab_rday_3\t[m2]\nffffffffc0a00100 D rday_3\t[m2]\n"
        "ffffffffc0a01000 T hi\t[m2]\n"
    )
    assert names(load(src), "exported") == ["rday_3"]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            "ffffffff81000000 T _text\nffffffff81000010 T two words\n",
            2,
            "expected 'ADDRESS TYPE NAME[<TAB>[MODULE]]' or 'U NAME', got "
            "a line shaped 'HEX T WORD WORD'",
        ),
        ("ffffffff81000000 T _text\nzz T x\n", 2, "got a line shaped 'WORD T WORD'"),
        # Never the line itself: a forced kallsyms:~/.netrc must not show its contents.
        ("ffffffff81000000 T _text\nAPI_TOKEN=s3cr3t\n", 2, "got a line shaped 'WORD'"),
    ],
)
def test_bad_lines_name_file_and_line(
    tmp_path: Path, load: Load, text: str, line: int, message: str
) -> None:
    src = tmp_path / "System.map"
    src.write_text(text)
    with pytest.raises(SourceError) as err:
        load(f"kallsyms:{src}")
    assert err.value.line == line
    assert message in str(err.value)
    assert str(err.value).startswith(f"{src}:{line}: ")


def test_debian_placeholder_is_explained(tmp_path: Path, load: Load) -> None:
    src = tmp_path / "System.map-6.1.0-56-amd64"
    src.write_text(
        "ffffffffffffffff B The real System.map is in the linux-image-<version>-dbg package\n"
    )
    with pytest.raises(SourceError, match=r"Debian's placeholder System\.map"):
        load(src)


@pytest.mark.parametrize(
    ("content", "recognized"),
    [
        (b"ffffffff81000000 T _text\n", True),
        (b"                 U jiffies\n0000000000000000 T init_module\n", True),
        (b"ffffffffa00f6570 D rday_3\t[m2]\n", True),
        (b"0x291bcccd\trday_3\tm2\tEXPORT_SYMBOL\t\n", False),
        (b"\x7fELF\x02\x01\x01", False),
        (b"", False),
        (b"hello world\n", False),
    ],
)
def test_recognizes_by_content(content: bytes, recognized: bool) -> None:
    assert NmText().recognizes(Path("x"), content) is recognized


def test_bad_address_of_the_same_width_names_its_line(tmp_path: Path, load: Load) -> None:
    src = tmp_path / "System.map"
    src.write_text("ffffffff81000000 T _text\nffffffff8100000g T bad\n")
    with pytest.raises(SourceError) as err:
        load(src)
    assert err.value.line == 2


def test_vmlinux_then_module_lines_and_back(tmp_path: Path, load: Load) -> None:
    src = tmp_path / "kallsyms"
    src.write_text(
        "ffffffff81000000 T _text\nffffffffc0a00100 D rday_3\t[m2]\nffffffff81000010 T late\n"
    )
    cat = load(src)
    assert [(s.name, s.module) for s in cat.symbols(range(len(cat)))] == [
        ("_text", "vmlinux"),
        ("rday_3", "m2"),
        ("late", "vmlinux"),
    ]
