"""``ksql check`` on Debian's whole 6.1 module tree against itself, compared with
``depmod -e -E`` in the same test: the same "needs unknown symbol" and "disagrees about
version" sets, also with one vmlinux CRC edited in a copy of Module.symvers."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ksql.check.elfio import struct_size
from ksql.cli import main

RELEASE = "6.1.0-50-amd64"
EDITED = "_printk"


def depmod_sets(corpus: Path, symvers: Path, root: Path) -> tuple[set[str], set[str]]:
    """(``module symbol`` pairs depmod calls unknown, those whose version disagrees)."""
    modules = root / "lib/modules" / RELEASE
    if not modules.exists():
        modules.parent.mkdir(parents=True)
        modules.symlink_to(corpus / "modules")
    done = subprocess.run(
        ["depmod", "-n", "-b", str(root), "-e", "-E", str(symvers), RELEASE],
        capture_output=True,
        text=True,
        check=True,
    )
    unknown, disagrees = set(), set()
    for line in done.stderr.splitlines():
        m = re.match(r"depmod: WARNING: (\S+) needs unknown symbol (\S+)", line)
        if m:
            unknown.add(f"{Path(m.group(1)).name} {m.group(2)}")
        m = re.match(r"depmod: WARNING: (\S+) disagrees about version of symbol (\S+)", line)
        if m:
            disagrees.add(f"{Path(m.group(1)).name} {m.group(2)}")
    return unknown, disagrees


def ksql_sets(
    corpus: Path, symvers: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, set[str], set[str]]:
    code = main(
        [
            "check",
            str(corpus / "modules"),
            "-s",
            str(symvers),
            "--config",
            str(corpus / f"config-{RELEASE}"),
            "-f",
            "json",
        ]
    )
    doc = json.loads(capsys.readouterr().out)
    assert len(doc) == 4022
    unknown, disagrees = set(), set()
    for m in doc:
        for f in m["findings"]:
            pair = f"{Path(m['path']).name} {f['symbol']}"
            if f["check"] == "unknown-symbol":
                unknown.add(pair)
            elif f["check"] == "crc-mismatch":
                disagrees.add(pair)
    return code, unknown, disagrees


@pytest.mark.skipif(shutil.which("depmod") is None, reason="depmod (kmod) is not installed")
def test_tree_parity_with_depmod(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    symvers = corpus / "Module.symvers"
    edited = tmp_path / "Module.symvers"
    text = symvers.read_text()
    line = next(x for x in text.splitlines() if x.split("\t")[1:3] == [EDITED, "vmlinux"])
    edited.write_text(text.replace(line + "\n", "0x12345678\t" + line.split("\t", 1)[1] + "\n"))

    code, unknown, disagrees = ksql_sets(corpus, symvers, capsys)
    assert (code, unknown, disagrees) == (0, *depmod_sets(corpus, symvers, tmp_path))
    assert not disagrees

    code, unknown, disagrees = ksql_sets(corpus, edited, capsys)
    their_unknown, their_disagrees = depmod_sets(corpus, edited, tmp_path)
    assert code == 1
    assert (unknown, disagrees) == (their_unknown, their_disagrees)
    assert len(disagrees) > 1000 and {p.split()[1] for p in disagrees} == {EDITED}


def test_struct_module_size_from_btf(corpus: Path) -> None:
    """sizeof(struct module) on Debian's 6.1 vmlinux: what every module's
    .gnu.linkonce.this_module must measure."""
    assert struct_size(corpus / "vmlinux", "module") == 896
