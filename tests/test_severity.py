"""Severity: ksymvers' rules format and its ``short``/``symbols`` output and exit codes
(reproduced from suse-kabi-tools ``doc/suse-kabi-tools.5`` and ``src/symvers/mod.rs``),
and the rhel/ubuntu presets."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from ksql.cli import main
from ksql.errors import SourceError
from ksql.history.severity import parse_rules

DATA = Path(__file__).parent / "data" / "history"
OLD = DATA / "Module.symvers-6.1.0-47-excerpt"
NEW = DATA / "Module.symvers-6.1.0-50-excerpt"

A = """\
0x12345678\tfoo_removed\tvmlinux\tEXPORT_SYMBOL\t
0x11111111\tfoo_crc_gpl\tvmlinux\tEXPORT_SYMBOL\t
0x33333333\tfoo_gpl\tvmlinux\tEXPORT_SYMBOL\t
0x44444444\tfoo_plain\tvmlinux\tEXPORT_SYMBOL_GPL\t
0x55555555\tfoo_same\tlib/test\tEXPORT_SYMBOL_GPL\tBAR_NS
"""
B = """\
0x22222222\tfoo_crc_gpl\tvmlinux\tEXPORT_SYMBOL_GPL\t
0x33333333\tfoo_gpl\tvmlinux\tEXPORT_SYMBOL_GPL\t
0x44444444\tfoo_plain\tvmlinux\tEXPORT_SYMBOL\t
0x55555555\tfoo_same\tlib/test\tEXPORT_SYMBOL_GPL\tBAR_NS
0x66666666\tfoo_added\tvmlinux\tEXPORT_SYMBOL\t
"""


def run(*argv: str | Path) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([str(a) for a in argv])
    return code, out.getvalue()


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "a.symvers").write_text(A)
    (tmp_path / "b.symvers").write_text(B)
    return tmp_path / "a.symvers", tmp_path / "b.symvers"


def test_short_without_rules(pair: tuple[Path, Path]) -> None:
    assert run("diff", *pair, "-f", "short") == (
        1,
        "Export 'foo_added' has been added (implicitly tolerated)\n"
        "Export 'foo_removed' has been removed\n"
        "Export 'foo_crc_gpl' changed CRC from '0x11111111' to '0x22222222'\n"
        "Export 'foo_crc_gpl' changed type from 'EXPORT_SYMBOL' to 'EXPORT_SYMBOL_GPL'\n"
        "Export 'foo_gpl' changed type from 'EXPORT_SYMBOL' to 'EXPORT_SYMBOL_GPL'\n"
        "Export 'foo_plain' changed type from 'EXPORT_SYMBOL_GPL' to 'EXPORT_SYMBOL'"
        " (implicitly tolerated)\n"
        "Changes tolerated by rules: '0' additions, '0' removals, '0' modifications\n",
    )


def test_short_and_symbols_with_rules(pair: tuple[Path, Path], tmp_path: Path) -> None:
    rules = tmp_path / "severities"
    # First match wins; a FAIL rule cannot fail what is implicitly tolerated (foo_plain).
    rules.write_text("foo_added PASS\nfoo_gpl PASS # comment\nfoo_removed PASS\nvmlinux FAIL\n")
    assert run("diff", *pair, "-f", "short", "--rules", rules) == (
        1,
        "Export 'foo_crc_gpl' changed CRC from '0x11111111' to '0x22222222'\n"
        "Export 'foo_crc_gpl' changed type from 'EXPORT_SYMBOL' to 'EXPORT_SYMBOL_GPL'\n"
        "Export 'foo_plain' changed type from 'EXPORT_SYMBOL_GPL' to 'EXPORT_SYMBOL'"
        " (implicitly tolerated)\n"
        "Changes tolerated by rules: '1' additions, '1' removals, '1' modifications\n",
    )
    assert run("diff", *pair, "-f", "symbols", "--rules", rules) == (1, "foo_crc_gpl\n")
    rules.write_text("foo_* PASS\n")
    assert run("diff", *pair, "-f", "symbols", "--rules", rules) == (0, "")


@pytest.mark.parametrize(
    ("rules", "code", "symbols"),
    [
        (
            "",
            1,
            [
                "dma_buf_export",
                "dma_buf_get",
                "ip6_dst_lookup_tunnel",
                "ufshcd_dealloc_host",
                "usb_stor_probe1",
            ],
        ),
        ("DMA_BUF PASS\n", 1, ["ip6_dst_lookup_tunnel", "ufshcd_dealloc_host", "usb_stor_probe1"]),
        (
            "NAMESPACE DMA_* PASS\ndrivers/usb/storage/usb-storage PASS\n",
            1,
            ["ip6_dst_lookup_tunnel", "ufshcd_dealloc_host"],
        ),
        ("MODULE ufshcd-core PASS\nSYMBOL ip6_* PASS\n*dma* PASS\nUSB_STORAGE PASS\n", 0, []),
        ("vmlinux PASS\n*  FAIL\n", 1, ["ufshcd_dealloc_host", "usb_stor_probe1"]),
    ],
)
def test_rules_on_real_abis(tmp_path: Path, rules: str, code: int, symbols: list[str]) -> None:
    path = tmp_path / "severities"
    path.write_text(rules)
    got = run("diff", OLD, NEW, "-f", "symbols", "--rules", path)
    assert got == (code, "".join(s + "\n" for s in symbols))


@pytest.mark.parametrize(
    ("policy", "code", "symbols"),
    [
        ("suse", 1, ["foo_crc_gpl", "foo_gpl", "foo_removed"]),
        ("rhel", 1, ["foo_crc_gpl", "foo_removed"]),
        ("ubuntu", 1, ["foo_plain"]),
    ],
)
def test_policies(pair: tuple[Path, Path], policy: str, code: int, symbols: list[str]) -> None:
    assert run("diff", *pair, "--policy", policy, "-f", "symbols") == (
        code,
        "".join(s + "\n" for s in symbols),
    )


def test_rhel_fails_a_move(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("0x00000001\tf\tvmlinux\tEXPORT_SYMBOL\t\n")
    (tmp_path / "b").write_text("0x00000001\tf\tdrivers/x/m\tEXPORT_SYMBOL\t\n")
    assert run("diff", tmp_path / "a", tmp_path / "b", "--policy", "rhel")[0] == 1
    assert run("diff", tmp_path / "a", tmp_path / "b", "--policy", "suse")[0] == 0


@pytest.mark.parametrize(
    ("text", "types"),
    [
        (
            "lib/important* FAIL\nTEST_IMPORTANT FAIL\n*not_stable*   PASS\n",
            ["MODULE", "NAMESPACE", "SYMBOL"],
        ),
        (
            "vmlinux pass\nSYMBOL FOO fail\nNAMESPACE x PASS\n\n# only a comment\n",
            ["MODULE", "SYMBOL", "NAMESPACE"],
        ),
    ],
)
def test_rule_types(text: str, types: list[str]) -> None:
    assert [r.type for r in parse_rules(text, Path("sev"))] == types


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("foo MAYBE\n", "sev:1: invalid verdict 'MAYBE', must be either PASS or FAIL"),
        ("\nfoo\n", "sev:2: expected '[type] <pattern> <verdict>', got 1 words"),
        ("TYPO foo PASS\n", "sev:1: invalid rule type 'TYPO'"),
        ("a b c d\n", "sev:1: expected '[type] <pattern> <verdict>', got 4 words"),
        ("drivers/net/* PASS\n", "sev:1: module pattern 'drivers/net/*' names a directory"),
    ],
)
def test_rule_errors(text: str, message: str) -> None:
    with pytest.raises(SourceError) as info:
        parse_rules(text, Path("sev"))
    assert str(info.value).startswith(message)
