"""``ksql diff``: every change kind (table-driven over catalogs built row by row), the
real Debian 6.1.0-47 -> 6.1.0-50 excerpt, side and query handling, exit codes."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from ksql.builder import CatalogBuilder
from ksql.catalog import Catalog
from ksql.cli import main
from ksql.errors import KsqlError
from ksql.history.arrow import catalog_table
from ksql.history.diff import KINDS, diff_tables
from ksql.model import ExportKind
from ksql.sink import RowSink

DATA = Path(__file__).parent / "data" / "history"
OLD = DATA / "Module.symvers-6.1.0-47-excerpt"
NEW = DATA / "Module.symvers-6.1.0-50-excerpt"

GPL, PLAIN = "EXPORT_SYMBOL_GPL", "EXPORT_SYMBOL"


def catalog(rows: list[dict[str, Any]]) -> Catalog:
    sink = RowSink("test:rows")
    for row in rows:
        if "export" in row:
            row = row | {"export": ExportKind.parse(row["export"])}
        sink.add(**row)
    builder = CatalogBuilder()
    for batch in sink.batches():
        builder.add(batch, "test:rows")
    return builder.build()


def changes(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    found = diff_tables(catalog_table(catalog(old)), catalog_table(catalog(new)))
    return [(c.kind, c.name, str(c.old), str(c.new), c.module) for c in found]


def exp(name: str, **kw: Any) -> dict[str, Any]:
    return {"name": name, "module": "vmlinux", "export": PLAIN, "crc": 0x1234, **kw}


FN = {"addr": 0xFFFFFFFF81000000, "type": "T"}

CASES = [
    ("added", [], [exp("a")], [("added", "a", "None", "vmlinux", "vmlinux")]),
    ("removed", [exp("a")], [], [("removed", "a", "vmlinux", "None", "vmlinux")]),
    (
        "exported",
        [{"name": "f", **FN}],
        [{"name": "f", **FN}, exp("f")],
        [("exported", "f", "None", PLAIN, "vmlinux")],
    ),
    (
        "unexported",
        [{"name": "f", **FN}, exp("f")],
        [{"name": "f", **FN}],
        [("unexported", "f", PLAIN, "None", "vmlinux")],
    ),
    (
        "crc",
        [exp("a", crc=0x0A)],
        [exp("a", crc=0xDEADBEEF)],
        [("crc", "a", "0x0000000a", "0xdeadbeef", "vmlinux")],
    ),
    (
        "plain-to-gpl",
        [exp("a")],
        [exp("a", export=GPL)],
        [("plain-to-gpl", "a", PLAIN, GPL, "vmlinux")],
    ),
    (
        "gpl-to-plain",
        [exp("a", export=GPL)],
        [exp("a")],
        [("gpl-to-plain", "a", GPL, PLAIN, "vmlinux")],
    ),
    (
        "namespace-added",
        [exp("a")],
        [exp("a", namespace="DMA_BUF")],
        [("namespace-added", "a", "None", "DMA_BUF", "vmlinux")],
    ),
    (
        "namespace-removed",
        [exp("a", namespace="DMA_BUF")],
        [exp("a")],
        [("namespace-removed", "a", "DMA_BUF", "None", "vmlinux")],
    ),
    (
        "namespace-changed",
        [exp("a", namespace="DMA_BUF")],
        [exp("a", namespace="module:kvm")],
        [("namespace-changed", "a", "DMA_BUF", "module:kvm", "vmlinux")],
    ),
    (
        "modules-changed",
        [exp("a", namespace="module:kvm")],
        [exp("a", namespace="module:kvm,kvm_intel")],
        [("modules-changed", "a", "kvm", "kvm,kvm_intel", "vmlinux")],
    ),
    (
        "moved to a module",
        [exp("a")],
        [exp("a", module="usb_storage")],
        [("moved", "a", "vmlinux", "usb_storage", "vmlinux")],
    ),
    (
        "module renamed",
        [exp("a", module="ufshcd_core")],
        [exp("a", module="ufshcd")],
        [("moved", "a", "ufshcd_core", "ufshcd", "ufshcd_core")],
    ),
    (
        "nm type",
        [{"name": "v", "addr": 0x10, "type": "D"}],
        [{"name": "v", "addr": 0x10, "type": "R"}],
        [("type", "v", "D", "R", "vmlinux")],
    ),
    (
        "became static",
        [{"name": "f", **FN}],
        [{"name": "f", "addr": 0x20, "type": "t"}],
        [("type", "f", "T", "t", "vmlinux"), ("static", "f", "global", "local", "vmlinux")],
    ),
    (
        "inlined: no symbol left, still declared",
        [{"name": "f", **FN}, {"name": "g", **FN}],
        [{"name": "f", "decl": "int f(void)"}, {"name": "g", **FN}],
        [("inlined", "f", "function", "None", "vmlinux")],
    ),
    (
        "declaration",
        [{"name": "f", "decl": "int f(void)"}],
        [{"name": "f", "decl": "long f(int)"}],
        [("decl", "f", "int f(void)", "long f(int)", "vmlinux")],
    ),
    (
        "static duplicates: no one letter to compare",
        [
            {"name": "s", "module": "vmlinux", "addr": 0x10, "type": "t"},
            {"name": "s", "addr": 0x20, "type": "d"},
        ],
        [{"name": "s", "addr": 0x30, "type": "d"}, {"name": "s", "addr": 0x40, "type": "b"}],
        [],
    ),
    ("unchanged", [exp("a"), {"name": "f", **FN}], [exp("a"), {"name": "f", **FN}], []),
    (
        "an undefined reference is no definition",
        [exp("a")],
        [{"name": "a", "module": "m1", "type": "U"}],
        [("removed", "a", "vmlinux", "None", "vmlinux")],
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_change_kinds(
    old: list[dict[str, Any]], new: list[dict[str, Any]], expected: list[tuple[str, ...]]
) -> None:
    assert changes(old, new) == expected


def test_every_kind_has_a_case() -> None:
    seen = {kind for case in CASES for kind, *_ in case[3]}
    assert seen == set(KINDS)


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    import contextlib

    with contextlib.redirect_stdout(out):
        code = main(list(argv))
    return code, out.getvalue()


def test_real_abis_text() -> None:
    code, out = run("diff", str(OLD), str(NEW))
    assert code == 1
    assert out.splitlines() == [
        "FAIL      crc               dma_buf_export  0x17c4290d -> 0x0aa99da8  [vmlinux]",
        "FAIL      crc               dma_buf_get  0xa1700241 -> 0xe44737bb  [vmlinux]",
        "PASS      added             dqgrab  - -> vmlinux  [vmlinux]",
        "FAIL      removed           ip6_dst_lookup_tunnel  vmlinux -> -  [vmlinux]",
        "FAIL      removed           ufshcd_dealloc_host  ufshcd_core -> -  [ufshcd_core]",
        "FAIL      crc               usb_stor_probe1  0xcea87b7c -> 0x1b4c4978  [usb_storage]",
    ]


def test_query_restricts_and_sides_repeat(tmp_path: Path) -> None:
    code, out = run("diff", "-a", str(OLD), "-b", str(NEW), "namespace=DMA_BUF", "-f", "json")
    got = json.loads(out)
    assert code == 1 and got["failing"] == 2
    assert [c["name"] for c in got["changes"]] == ["dma_buf_export", "dma_buf_get"]
    # A side of two sources: the old one plus a file holding dqgrab -> nothing added.
    extra = tmp_path / "extra.symvers"
    extra.write_text("0xd823e1ba\tdqgrab\tvmlinux\tEXPORT_SYMBOL_GPL\t\n")
    code, out = run("diff", "-a", str(OLD), "-a", str(extra), "-b", str(NEW), "name=dq*")
    assert (code, out) == (0, "")


def test_policies_exit_codes() -> None:
    assert run("diff", str(OLD), str(NEW), "--policy", "rhel", "-f", "symbols") == (
        1,
        "dma_buf_export\ndma_buf_get\nip6_dst_lookup_tunnel\nufshcd_dealloc_host\nusb_stor_probe1\n",
    )
    assert run("diff", str(OLD), str(NEW), "--policy", "ubuntu", "-f", "symbols") == (0, "")
    assert run("diff", str(OLD), str(OLD)) == (0, "")


def test_markdown() -> None:
    code, out = run("diff", str(OLD), str(NEW), "name=dqgrab", "-f", "markdown")
    assert code == 0
    assert out.splitlines() == [
        "**1 changes, 0 failing**",
        "",
        "| verdict | change | symbol | old | new | module |",
        "|---|---|---|---|---|---|",
        "| PASS | added | `dqgrab` |  | vmlinux | vmlinux |",
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["diff", str(OLD)], "diff: expected OLD NEW [QUERY]"),
        (["diff", "-a", str(OLD), "x"], "diff: give both sides"),
        (["diff", str(OLD), "/nonexistent"], "/nonexistent: no such file or directory"),
        (["diff", str(OLD), str(NEW), "gpl and"], "expected"),
    ],
)
def test_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_bad_side_is_ksql_error() -> None:
    from ksql.history.diffcmd import sides_from_args

    with pytest.raises(KsqlError):
        sides_from_args(["a", "b", "c", "d"], [], [])
