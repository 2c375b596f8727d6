"""Struct layouts from BTF against dwarves' ``pahole -C``: a table of small blobs built here
(exact text), and a sample of Debian 6.1's vmlinux structs compared byte for byte."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ksql.cli import main
from ksql.plugins.btf.layout import size_of
from ksql.plugins.btf.pahole import Printer
from ksql.plugins.btf.reader import Btf
from tests.plugins.test_btf import FUNC, FUNC_PROTO, INT, PTR, STRUCT, Blob

CORPUS = Path(os.environ.get("KSQL_CORPUS", "/nonexistent"))


def small() -> bytes:
    b = Blob()
    int_ = b.add(INT, "int", 4, 1 << 24 | 32)
    char = b.add(INT, "char", 1, 1 << 24 | 8)
    ulong = b.add(INT, "long unsigned int", 8, 64)
    node = b.add(STRUCT, "node", 16, b.s("next"), 3 + 2, 0, b.s("key"), int_, 64, vlen=2)
    b.add(PTR, "", node)  # id 5: struct node *
    b.add(
        STRUCT, "holey", 24,
        b.s("c"), char, 0,
        b.s("l"), ulong, 64,
        b.s("flag"), int_, 1 << 24 | 128,
        vlen=3, kflag=1,
    )  # fmt: skip
    b.add(FUNC, "node_count", b.add(FUNC_PROTO, "", int_, b.s("n"), 5, vlen=1), vlen=1)
    return b.bytes()


NODE = """struct node {
	struct node *              next;                 /*     0     8 */
	int                        key;                  /*     8     4 */

	/* size: 16, cachelines: 1, members: 2 */
	/* padding: 4 */
	/* last cacheline: 16 bytes */
};
"""
HOLEY = """struct holey {
	char                       c;                    /*     0     1 */

	/* XXX 7 bytes hole, try to pack */

	long unsigned int          l;                    /*     8     8 */
	int                        flag:1;               /*    16: 0  4 */

	/* size: 24, cachelines: 1, members: 3 */
	/* sum members: 9, holes: 1, sum holes: 7 */
	/* sum bitfield members: 1 bits (0 bytes) */
	/* padding: 4 */
	/* bit_padding: 31 bits */
	/* last cacheline: 24 bytes */
};
"""


@pytest.mark.parametrize(
    ("name", "expected"),
    [("struct node", NODE), ("node", NODE), ("struct holey", HOLEY), ("union node", None)],
)
def test_layouts_of_a_built_blob(name: str, expected: str | None) -> None:
    assert Printer(Btf("x.btf", small())).layout(name) == expected


def test_size_of_a_struct_by_name() -> None:
    btf = Btf("x.btf", small())
    assert (size_of(btf, "struct node"), size_of(btf, "holey"), size_of(btf, "nosuch")) == (
        16,
        24,
        None,
    )


def test_the_type_command_prints_the_layout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "vmlinux.btf"
    path.write_bytes(small())
    assert main(["type", "struct node", "-s", str(path)]) == 0
    assert capsys.readouterr().out == NODE
    assert main(["type", "struct nosuch", "-s", str(path)]) == 2
    assert capsys.readouterr().err == f"ksql: no type 'struct nosuch' in the BTF of {path}\n"


# What pahole 1.24 prints that ksql does not: alignment it infers for BTF
# (``__attribute__((__aligned__(N)))`` and "forced alignments"), "Bitfield combined with
# previous/next fields" remarks, and anonymous enums in place (ksql's indentation differs).
# Every struct of the sample that differs must show one of them in pahole's text.
UNSUPPORTED = ("__aligned__", "Bitfield combined", "\tenum {")


@pytest.mark.corpus
@pytest.mark.skipif(not shutil.which("pahole"), reason="needs dwarves' pahole")
def test_layouts_are_pahole_s_for_a_sample_of_vmlinux_structs() -> None:
    from ksql.plugins.btf.blob import read_blob

    path = CORPUS / "vmlinux"
    if not path.exists():
        pytest.skip(f"{path} is missing")
    btf = Btf(path, read_blob(path))
    names = sorted({btf.type_name(i) for i in range(1, btf.count) if btf.kind[i] == STRUCT} - {""})
    sample = names[:: len(names) // 300]  # every Nth by name: ~300 structs
    out = subprocess.run(
        ["pahole", "-F", "btf", "-C", ",".join(sample), str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    theirs: dict[str, str] = {}
    block: list[str] = []
    for line in out.splitlines(keepends=True):
        block.append(line)
        if line.startswith("}"):
            theirs[block[0].split()[1]] = "".join(block)
            block = []
    printer = Printer(btf)
    same = [n for n in sample if printer.layout(f"struct {n}") == theirs[n]]
    differ = sorted(set(sample) - set(same))
    assert len(sample) >= 300
    unexplained = [n for n in differ if not any(u in theirs[n] for u in UNSUPPORTED)]
    assert unexplained == []
    assert len(same) >= 300 - 12, differ
