"""Other architectures: nm's target-special symbols (ARM, AArch64, RISC-V), 32-bit address
widths, and the kernel image recognised from content (arm64 links vmlinux as PIE). The
fixtures are assembled with Debian's cross binutils 2.40 from tests/data/arch/*.s; the
expected lines are that binutils' ``nm -p`` (and ``--special-syms``)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from ksql.catalog import Catalog
from ksql.model import ExportKind
from tests.conftest import DATA, binutils_knows, names, nm_lines

Load = Callable[..., Catalog]
ARCH = DATA / "arch"
MACHINES = ["aarch64", "riscv64", "arm", "powerpc64le", "s390x", "i686"]


@pytest.mark.parametrize("machine", MACHINES)
def test_special_symbols_are_hidden_as_nm_hides_them(load: Load, machine: str) -> None:
    obj = ARCH / f"special-{machine}.o"
    expected = (ARCH / f"special-{machine}.nm.txt").read_text().splitlines()
    assert nm_lines(load(f"elf:{obj}")) == expected
    if binutils_knows(obj):
        live = subprocess.run(["nm", "-p", str(obj)], capture_output=True, text=True, check=True)
        assert nm_lines(load(f"elf:{obj}")) == live.stdout.splitlines()


@pytest.mark.parametrize("machine", ["aarch64", "riscv64", "arm"])
def test_special_symbols_on_request(
    load: Load, machine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KSQL_SPECIAL_SYMS", "1")
    obj = ARCH / f"special-{machine}.o"
    expected = (ARCH / f"special-{machine}.special.nm.txt").read_text().splitlines()
    assert nm_lines(load(f"elf:{obj}")) == expected


def test_the_rules_differ_per_machine(load: Load) -> None:
    def hidden(machine: str) -> set[str]:
        every = {line.split()[-1] for line in nm_lines(load(f"elf:{ARCH / 'special-s390x.o'}"))}
        shown = {
            line.split()[-1] for line in nm_lines(load(f"elf:{ARCH / f'special-{machine}.o'}"))
        }
        return every - shown

    assert hidden("aarch64") == {"$x", "$x.1", "$x.rv", "$d", "$d.7", "$m", "$m.1", "$f", "$p"}
    assert hidden("riscv64") == {
        "$x", "$x.1", "$xfoo", "$xrv64i2p1", "$x7", "$xa.1", "$x.rv",
        "$d", "$d.7", "$dfoo", "$d7", ".Lkept", ".L", "..dots", "_.L_x",
    }  # fmt: skip
    assert "$z" in hidden("arm") and "$zz" not in hidden("arm") and ".L" not in hidden("arm")
    assert hidden("powerpc64le") == hidden("i686") == set()


def test_a_pie_kernel_image_is_vmlinux(load: Load) -> None:
    image = ARCH / "Image-arm64.elf"  # ld -pie, ET_DYN, as arm64 links vmlinux
    cat = load(f"elf:{image}")
    assert cat.module_names() == ["vmlinux"]
    assert [(s.name, s.export) for s in cat.symbols(range(len(cat))) if s.exported] == [
        ("kfoo", ExportKind.EXPORT_SYMBOL)
    ]
    assert nm_lines(cat) == (ARCH / "Image-arm64.elf.nm.txt").read_text().splitlines()
    # A program linked the same way but without the kernel's sections or symbols is not one.
    assert load(f"elf:{ARCH / 'user-pie.elf'}").module_names() == ["user_pie"]


def test_32_bit_kallsyms_keeps_its_width(tmp_path: Path, load: Load) -> None:
    text = tmp_path / "System.map"
    text.write_text("c0008000 T _text\nc0100000 T printk\n         U ext\n")
    assert nm_lines(load(f"kallsyms:{text}")) == [
        "c0008000 T _text",
        "c0100000 T printk",
        "         U ext",
    ]


def test_an_address_of_all_ones_is_an_address(load: Load) -> None:
    obj = ARCH / "allones-ppc64le.o"
    cat = load(f"elf:{obj}")
    assert nm_lines(cat) == (ARCH / "allones-ppc64le.nm.txt").read_text().splitlines()
    (sym,) = cat.lookup("test_feature")
    assert sym.addr == 2**64 - 1
    assert names(cat, "addr=0xffffffffffffffff") == ["test_feature"]
    assert names(cat, "addr>=0 order by addr desc") == ["test_feature", "after"]
