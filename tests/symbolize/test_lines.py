"""The line-program decoder against pyelftools' on real units: every unit of the committed
DWARF test module and units of Debian 6.1's i386 ``-dbg`` vmlinux (DWARF 5, discriminators,
several sequences per unit) give the same sequences, rows and end addresses; a program cut
short keeps the sequences it ended."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from elftools.dwarf.lineprogram import LineProgram

from ksql.symbolize.aranges import UnitRanges
from ksql.symbolize.dwarf import LineTable
from ksql.symbolize.lines import Sequence, sequences
from ksql.symbolize.module_image import ModuleImage

from .conftest import KSYM


def _theirs(program: LineProgram) -> list[Sequence]:
    out: list[Sequence] = []
    rows: list[tuple[int, int, int, int]] = []
    for entry in program.get_entries():
        s = entry.state
        if s is None:
            continue
        if s.end_sequence:
            out.append((rows, s.address))
            rows = []
        else:
            rows.append((s.address, s.file, s.line, s.discriminator))
    return out


def _programs(table: LineTable, cu_offsets: list[int]) -> list[LineProgram]:
    info = table._info()
    found = [info.line_program_for_CU(info.get_CU_at(off)) for off in cu_offsets]
    return [p for p in found if p is not None]


def test_module_units() -> None:
    image = ModuleImage(KSYM / "ksym-test.ko")
    table = LineTable(image.path, image.placed)
    offsets = [cu.cu_offset for cu in table._info().iter_CUs()]
    programs = _programs(table, offsets)
    assert len(programs) >= 2
    for program in programs:
        assert sequences(program, True) == _theirs(program)


@pytest.mark.corpus
def test_vmlinux_units() -> None:
    corpus = os.environ.get("KSQL_CORPUS")
    vmlinux = Path(corpus).parent / "arch" / "6.1.0-50-686" / "vmlinux" if corpus else None
    if vmlinux is None or not vmlinux.is_file():
        pytest.skip("no -dbg vmlinux: KSQL_FETCH_ARCH_DBG=1 scripts/fetch-corpus.sh fetches one")
    table = LineTable(vmlinux)
    info = table._info()
    offsets = [cu.cu_offset for _, cu in zip(range(4000), info.iter_CUs(), strict=False)]
    programs = _programs(table, offsets[:: max(1, len(offsets) // 6)][:6])
    assert len(programs) >= 5
    rows = 0
    for program in programs:
        ours = sequences(program, True)
        assert ours == _theirs(program)
        rows += sum(len(r) for r, _ in ours)
    assert rows > 1000


def test_cut_short() -> None:
    image = ModuleImage(KSYM / "ksym-test.ko")
    table = LineTable(image.path, image.placed)
    (program, *_) = _programs(table, [cu.cu_offset for cu in table._info().iter_CUs()])
    whole = sequences(program, True)
    program.program_end_offset -= 3
    cut = sequences(program, True)
    assert cut == whole[: len(cut)] and len(cut) < len(whole)


def test_units_without_aranges() -> None:
    """Without ``.debug_aranges``, each unit's top DIE says where it is: the same lines."""
    image = ModuleImage(KSYM / "ksym-test.ko")
    offsets = list(range(0, image.core_text, 7)) + [
        (1 << 40) + a for a in range(0, image.init_text, 7)
    ]
    table = LineTable(image.path, image.placed)
    expected = [table.line(a) for a in offsets]
    assert sum(map(bool, expected)) > 20
    bare = LineTable(image.path, image.placed)
    bare._info().debug_aranges_sec = None  # as if the section were missing
    bare._units_for(0)
    assert isinstance(bare._aranges, UnitRanges) and len(bare._aranges) >= 2
    assert [bare.line(a) for a in offsets] == expected
