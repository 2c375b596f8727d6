"""Inline chains against binutils: ``addr2line -i`` on Debian 6.1's i386 ``-dbg`` vmlinux (the
foreign-architecture corpus's ``6.1.0-50-686/vmlinux``, DWARF 5 with ``.rel.debug_*`` kept)
and ksql's chain for the same addresses, line for line, as decode_stacktrace.sh joins them;
the unit look-up (.debug_aranges) against pyelftools'; laziness (one unit decoded per
address's unit); the chain in ``ksql addr`` text and JSON."""

from __future__ import annotations

import io
import itertools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ksql.cli import main
from ksql.symbolize.dwarf import LineTable
from ksql.symbolize.inline import Inlined
from ksql.symbolize.source import Site

# Functions of kernel/sched/core.c, fs/open.c, fs/namei.c, kernel/fork.c, fs/read_write.c
# that GCC inlines into: most of their addresses sit in an inline chain.
INLINING = ["__schedule", "do_sys_openat2", "path_openat", "copy_process", "vfs_read"]
PER_FUNCTION = 6
SPREAD = 20  # and one address in each of 20 functions spread over the image


def _vmlinux() -> Path:
    explicit = os.environ.get("KSQL_DWARF_VMLINUX")
    corpus = os.environ.get("KSQL_CORPUS")
    path = (
        Path(explicit)
        if explicit
        else Path(corpus).parent / "arch" / "6.1.0-50-686" / "vmlinux"
        if corpus
        else None
    )
    if path is None or not path.is_file():
        pytest.skip("no -dbg vmlinux: KSQL_FETCH_ARCH_DBG=1 scripts/fetch-corpus.sh fetches one")
    if shutil.which("addr2line") is None or shutil.which("nm") is None:
        pytest.skip("binutils (addr2line, nm) not installed")
    return path


@pytest.fixture(scope="module")
def vmlinux() -> Path:
    return _vmlinux()


def _sample(vmlinux: Path) -> list[int]:
    """Addresses spread evenly over the inlining functions, then one in every n-th
    function of the image (``nm -n``'s text symbols, sizes from the next address)."""
    nm = subprocess.run(["nm", "-n", str(vmlinux)], capture_output=True, text=True, check=True)
    rows = [ln.split() for ln in nm.stdout.splitlines()]
    text = [(int(r[0], 16), r[2]) for r in rows if len(r) == 3 and r[1] in "tT"]
    starts = sorted({a for a, _ in text})
    nxt = dict(itertools.pairwise(starts))
    out: list[int] = []
    for a, name in text:
        if name in INLINING and a in nxt:
            size = nxt[a] - a
            out += [a + size * k // PER_FUNCTION for k in range(PER_FUNCTION)]
    step = len(text) // SPREAD
    out += [a + (nxt[a] - a) // 3 for a, _ in text[step // 2 :: step][:SPREAD] if a in nxt]
    return out


def _addr2line(vmlinux: Path, addresses: list[int]) -> dict[int, str]:
    """``addr2line -i`` per address, its lines joined by spaces and the build directory
    stripped, as scripts/decode_stacktrace.sh does (its ``basepath`` from kernel_init)."""
    done = subprocess.run(
        ["addr2line", "-i", "-a", "-e", str(vmlinux), *map(hex, addresses)],
        capture_output=True,
        text=True,
        check=True,
    )
    lines: dict[int, list[str]] = {}
    current = 0
    for line in done.stdout.splitlines():
        if line.startswith("0x"):
            current = int(line, 16)
            lines[current] = []
        else:
            lines[current].append(line)
    return {a: " ".join(lines[a]) for a in addresses}


@pytest.mark.corpus
def test_chains_equal_addr2line(vmlinux: Path) -> None:
    addresses = _sample(vmlinux)
    assert len(addresses) >= 45
    theirs = _addr2line(vmlinux, addresses)
    base = _base(vmlinux)
    table = LineTable(vmlinux)
    chains = 0
    for a in addresses:
        source, chain = table.locate(a)
        expected = " ".join(w.removeprefix(base) for w in theirs[a].split(" "))
        if expected.startswith("??:"):  # no line row: ksql keeps name+off/size
            assert source == "", hex(a)
            continue
        assert Site(source, "", tuple(chain)).locations() == expected, hex(a)
        chains += bool(chain)
    assert chains >= 25  # the sample does exercise inlining


def _base(vmlinux: Path) -> str:
    """decode_stacktrace.sh's ``basepath=auto``: kernel_init's file less init/main.c."""
    a = _kernel_init(vmlinux)
    return _addr2line(vmlinux, [a])[a].rpartition("/init/main.c:")[0] + "/"


def _kernel_init(vmlinux: Path) -> int:
    nm = subprocess.run(["nm", str(vmlinux)], capture_output=True, text=True, check=True)
    for line in nm.stdout.splitlines():
        if line.endswith(" kernel_init"):
            return int(line.split()[0], 16)
    raise AssertionError("no kernel_init")


@pytest.mark.corpus
def test_lazy_one_unit_per_address(vmlinux: Path) -> None:
    table = LineTable(vmlinux)
    where, chain = table.locate(_kernel_init(vmlinux) + 0x10)
    assert where.startswith("init/main.c:")
    assert table.units_decoded() == 1
    assert chain == [] or all(isinstance(i, Inlined) for i in chain)


@pytest.mark.corpus
def test_unit_ranges_equal_pyelftools(vmlinux: Path) -> None:
    """The struct-based .debug_aranges reader answers as pyelftools' ARanges does."""
    table = LineTable(vmlinux)
    info = table._info()
    theirs = info.get_aranges()
    assert theirs is not None
    entries = theirs.entries
    assert entries
    for e in entries[:: max(1, len(entries) // 300)]:
        for a in (e.begin_addr, e.begin_addr + e.length - 1):
            assert table._units_for(a) == [theirs.cu_offset_at_addr(a)]


def _run(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    return main(argv), out.getvalue()


@pytest.mark.corpus
def test_addr_prints_the_chain(vmlinux: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``__schedule+0x123``: pick_next_task() and __pick_next_task() inlined, as
    ``addr2line -i`` lists them; JSON names each inlined function and its call site."""
    code, out = _run(["addr", "-s", f"elf:{vmlinux}", "__schedule+0x123"], monkeypatch)
    assert code == 0
    a = int(out.split()[0], 16)
    base = _base(vmlinux)
    expected = " ".join(w.removeprefix(base) for w in _addr2line(vmlinux, [a])[a].split(" "))
    assert out.endswith(f" ({expected})\n")
    assert len(expected.split(" ")) == 3
    code, out = _run(
        ["addr", "-f", "json", "-s", f"elf:{vmlinux}", "__schedule+0x123"], monkeypatch
    )
    (frame,) = json.loads(out)
    assert [i["function"] for i in frame["inlined"]] == ["__pick_next_task", "pick_next_task"]
    assert frame["inlined"][-1]["call_source"].startswith("kernel/sched/core.c:")


def test_discriminator_repeats_on_call_sites() -> None:
    """addr2line.c keeps the row's discriminator for the inliner lines it prints."""
    site = Site(
        "kernel/rcu/rcu.h:129 (discriminator 1)",
        "",
        (Inlined("rcu_seq_start", "kernel/rcu/tree.c:3817"), Inlined("f", "x.c:?")),
    )
    assert site.locations() == (
        "kernel/rcu/rcu.h:129 (discriminator 1) kernel/rcu/tree.c:3817 (discriminator 1) x.c:?"
    )
    assert Site("a.c:1").locations() == "a.c:1"
