"""``ksql check`` on real modules: the seed modules, m3 built against Debian's 6.1.0-56 headers,
and the modules of tests/data/check built by kbuild against 6.1.0-50 (build.sh), checked
against excerpts of Debian's 6.1.0-50 and 6.1.0-47 Module.symvers; modpost's own messages of
the same build (modpost.txt) must come out word for word."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from ksql.cli import main

DATA = Path(__file__).parent.parent / "data"
CHECK = DATA / "check"
ABI50 = CHECK / "Module.symvers-6.1.0-50-excerpt"
ABI47 = CHECK / "Module.symvers-6.1.0-47-excerpt"
CONFIG = CHECK / "config-6.1.0-50-amd64"


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main(["check", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def lines(out: str) -> list[str]:
    """The finding lines, paths cut to the file name."""
    return [
        line.split("/")[-1] if not line.startswith(" ") else line
        for line in out.splitlines()
        if not line.startswith(" ")
    ]


@pytest.mark.parametrize(
    ("modules", "symvers", "code", "expected"),
    [
        # m1 was built against 6.1.0-53: with CRCs, vermagic's release part does not count,
        # and its five imports and module_layout have 6.1.0-50's CRCs.
        (
            ["m1.ko"],
            ABI50,
            0,
            ["m1.ko: warning: the module is not signed: loading taints the kernel (E) [unsigned]"],
        ),
        # m3 was built against 6.1.0-56: another struct module, other dma_buf CRCs.
        (
            ["m3-6.1/m3.ko"],
            ABI50,
            1,
            [
                "m3.ko: warning: the module is not signed: loading taints the kernel (E) "
                "[unsigned]",
                "m3.ko: error: module_layout CRC 0x9060323f, K has 0xbce1a965: the module was "
                "built for another struct module [module-layout]",
                "m3.ko: error: 'dma_buf_get': the module was built against CRC 0x5d12b280, K "
                "(vmlinux) has 0xe44737bb [crc-mismatch]",
                "m3.ko: error: 'dma_buf_put': the module was built against CRC 0x98bd89cd, K "
                "(vmlinux) has 0x45e54cfa [crc-mismatch]",
                "m3.ko: would not load: insmod: ERROR: could not insert module m3.ko: Invalid "
                "module format",
            ],
        ),
        # Built against 6.1.0-50, loaded on 6.1.0-47.
        (
            ["check/namespace_imported.ko"],
            ABI47,
            1,
            [
                "namespace_imported.ko: warning: the module is not signed: loading taints the "
                "kernel (E) [unsigned]",
                "namespace_imported.ko: error: module_layout CRC 0xbce1a965, K has 0x160c03af: "
                "the module was built for another struct module [module-layout]",
                "namespace_imported.ko: error: 'dma_buf_export': the module was built against "
                "CRC 0x0aa99da8, K (vmlinux) has 0x17c4290d [crc-mismatch]",
                "namespace_imported.ko: would not load: insmod: ERROR: could not insert module "
                "namespace_imported.ko: Invalid module format",
            ],
        ),
        (
            ["check/namespace_imported.ko"],
            ABI50,
            0,
            [
                "namespace_imported.ko: warning: the module is not signed: loading taints the "
                "kernel (E) [unsigned]"
            ],
        ),
    ],
)
def test_verdicts(
    capsys: pytest.CaptureFixture[str],
    modules: list[str],
    symvers: Path,
    code: int,
    expected: list[str],
) -> None:
    got, out, err = run(capsys, *(DATA / m for m in modules), "-s", symvers, "--config", CONFIG)
    assert (got, lines(out), err) == (code, expected, "")


def test_crc_mismatch_details(capsys: pytest.CaptureFixture[str]) -> None:
    """Each mismatched CRC with the kernel's two dmesg lines and insmod's wording."""
    code, out, _ = run(capsys, DATA / "m3-6.1/m3.ko", "-s", ABI47, "--config", CONFIG)
    assert code == 1
    assert (
        "    dmesg:   m3: disagrees about version of symbol dma_buf_get\n"
        "    dmesg:   m3: Unknown symbol dma_buf_get (err -22)\n"
        "    fix:     rebuild against K's headers and Module.symvers\n"
    ) in out
    assert "    modprobe: ERROR: could not insert 'm3': Invalid module format\n" in out


def test_modpost_parity(capsys: pytest.CaptureFixture[str]) -> None:
    """modpost's messages from the same kbuild build, each given by the matching finding."""
    modules = sorted(CHECK.glob("*.ko"))
    code, _, _ = run(capsys, *modules, "-s", ABI50, "--config", CONFIG, "-f", "json")
    code, out, _ = run(capsys, *modules, "-s", ABI50, "--config", CONFIG, "-f", "json")
    doc = json.loads(out)
    ours = {f["modpost"] for m in doc for f in m["findings"] if f["modpost"]}
    theirs = set((CHECK / "modpost.txt").read_text().splitlines())
    assert ours == theirs
    assert code == 1
    loads = {m["module"]: m["loads"] for m in doc}
    assert loads == {
        "gpl_proprietary": False,
        "namespace": False,
        "namespace_imported": True,
        "unexported": False,
    }


def test_gpl_only_with_proprietary_licence(capsys: pytest.CaptureFixture[str]) -> None:
    """Both wordings: modpost's, and the kernel's, which only says the symbol is unknown."""
    code, out, _ = run(capsys, CHECK / "gpl_proprietary.ko", "-s", ABI50, "--config", CONFIG)
    assert code == 1
    assert (
        "    modpost: ERROR: modpost: GPL-incompatible module gpl_proprietary.ko uses GPL-only "
        "symbol 'ktime_get'\n"
        "    dmesg:   gpl_proprietary: Unknown symbol ktime_get (err -2)\n"
    ) in out
    assert "could not insert module gpl_proprietary.ko: Unknown symbol in module\n" in out
    assert "    dmesg:   gpl_proprietary: module license 'Proprietary' taints kernel.\n" in out


def test_namespace_fix_and_errno(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, CHECK / "namespace.ko", "-s", ABI50, "--config", CONFIG)
    assert code == 1
    assert (
        "    dmesg:   namespace: module uses symbol (dma_buf_export) from namespace DMA_BUF, "
        "but does not import it.\n"
        "    dmesg:   namespace: Unknown symbol dma_buf_export (err -22)\n"
        "    fix:     MODULE_IMPORT_NS(DMA_BUF);\n"  # 6.1 spells it bare (6.13: a string)
    ) in out
    assert "could not insert module namespace.ko: Invalid parameters\n" in out


def test_sarif(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, CHECK / "unexported.ko", "-s", ABI50, "--config", CONFIG, "-f", "sarif"
    )
    doc = json.loads(out)
    assert code == 1 and doc["version"] == "2.1.0"
    results = doc["runs"][0]["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [
        ("unsigned", "warning"),
        ("unknown-symbol", "error"),
    ]
    assert results[1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith(
        "unexported.ko"
    )
    rules = {r["id"] for r in doc["runs"][0]["tool"]["driver"]["rules"]}
    assert rules == {"unsigned", "unknown-symbol"}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: (d / "x.ko").write_text("not an ELF file\n"), "not an ELF file"),
        (lambda d: None, "no such file or directory"),
    ],
)
def test_bad_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, make: object, message: str
) -> None:
    make(tmp_path)  # type: ignore[operator]
    code, out, err = run(capsys, tmp_path / "x.ko", "-s", ABI50, "--config", CONFIG)
    assert code == 2 and out == ""
    assert err.startswith("ksql: ") and message in err and len(err.splitlines()) == 1


def test_quiet_has_one_line_a_finding(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, DATA / "m3-6.1/m3.ko", "-s", ABI50, "--config", CONFIG, "-q")
    assert not [line for line in out.splitlines() if line.startswith(" ")]
    assert len(out.splitlines()) == 5


def test_main_is_callable_with_a_stream() -> None:
    """The command writes through ``out``: a library caller can capture it."""
    import argparse

    from ksql.check.command import run as check

    args = argparse.Namespace(
        modules=[str(DATA / "m1.ko")],
        source=[str(ABI50)],
        plugin=[],
        block=[],
        config=str(CONFIG),
        btf=None,
        format="text",
        quiet=True,
    )
    out, err = io.StringIO(), io.StringIO()
    assert check(args, out, err) == 0
    assert out.getvalue().endswith("[unsigned]\n")


def test_a_directory_is_checked_against_itself_and_cached(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A tree: its modules are part of K; its facts are cached (ksql.check.treestore), and
    a damaged entry -- garbage, or a well-formed one with a value of the wrong type -- is a
    miss, never a different answer."""
    import json
    import os
    import shutil
    import zlib

    tree = tmp_path / "tree"
    tree.mkdir()
    for ko in CHECK.glob("*.ko"):
        shutil.copy(ko, tree)
    argv = (tree, "-s", ABI50, "--config", CONFIG, "-q")
    first = run(capsys, *argv)
    cache = Path(os.environ["KSQL_CACHE_DIR"])
    entries = sorted(cache.glob("*.tfacts"))
    assert len(entries) == 1
    assert run(capsys, *argv) == first
    good = entries[0].read_bytes()
    entries[0].write_bytes(b"ksql-tfacts\n" + b"\0" * 40)
    assert run(capsys, *argv) == first
    assert entries[0].read_bytes() == good  # removed as a miss, then written again
    head = len(b"ksql-tfacts\n") + 8
    meta_len = int.from_bytes(good[16:20], "little")
    meta = json.loads(good[head : head + meta_len])
    meta["modules"]["this_module"][0] = "896"
    encoded = json.dumps(meta).encode()
    body = encoded + good[head + meta_len :]
    header = zlib.crc32(body).to_bytes(4, "little") + len(encoded).to_bytes(4, "little")
    entries[0].write_bytes(good[:12] + header + body)
    assert run(capsys, *argv) == first
    assert entries[0].read_bytes() == good
    code, out, _ = first
    assert code == 1
    assert "namespace_imported.ko: would not load" not in out
    assert "unexported.ko: would not load" in out
