"""The core kernel's table against Debian 6.1's System.map: %pS names, sizes and aliases,
and every function symbol round-tripping through both directions."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from ksql.errors import KsqlError
from ksql.symbolize.kernel_table import KernelTable
from ksql.symbolize.resolve import Ambiguous, Symbolizer


def _map_lines(path: Path) -> list[tuple[int, str, str]]:
    out = []
    for line in path.read_text().splitlines():
        addr, letter, name = line.split()[:3]
        out.append((int(addr, 16), letter, name))
    return out


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        # the first of 17 type_show: the next System.map address is 0x150 on
        (0xFFFFFFFF81039E60, "type_show+0x0/0x150"),
        (0xFFFFFFFF81039E70, "type_show+0x10/0x150"),
        (0xFFFFFFFF81039FAF, "type_show+0x14f/0x150"),
        # _stext, _text and startup_64 share 0xffffffff81000000: fewest underscores first
        (0xFFFFFFFF81000000, "startup_64+0x0/0x70"),
        (0xFFFFFFFF81A479FA, "schedule+0x4a/0xd0"),
        # the last init-text symbol runs to _einittext
        (0xFFFFFFFF830E57F0, "use_tpause_delay+0x18/0x20"),
    ],
)
def test_pS_text(kernel: KernelTable, address: int, expected: str) -> None:
    (hit,) = kernel.lookup(np.array([address], dtype=np.uint64))
    assert hit is not None and hit.text() == expected


@pytest.mark.parametrize("address", [0x10, 0xFFFFFFFF80000000, 0xFFFFFFFF84430000])
def test_outside_the_image(kernel: KernelTable, address: int) -> None:
    """is_ksym_addr(): below _stext, at _end and beyond, no kernel symbol."""
    assert kernel.lookup(np.array([address], dtype=np.uint64)) == [None]


def test_sizes_are_the_distance_to_the_next_address(kernel: KernelTable, system_map: Path) -> None:
    """For every text symbol, the size is the gap to the next greater System.map address."""
    lines = [x for x in _map_lines(system_map) if x[1] in "tT" and x[0] >= 0xFFFFFFFF81000000]
    addrs = sorted({a for a, _, _ in _map_lines(system_map)})
    nxt = dict(itertools.pairwise(addrs))
    sample = lines[:: max(1, len(lines) // 5000)]
    sizes = kernel.sizes_at([a for a, _, _ in sample])
    wrong = [
        (hex(a), n)
        for (a, _, n), s in zip(sample, sizes, strict=True)
        if a in nxt and s != nxt[a] - a
    ]
    assert not wrong


def test_every_function_round_trips(kernel: KernelTable, system_map: Path) -> None:
    """Each text symbol that %pS can print (the first alias at its address): its start and
    its last byte name it back; name+off/size gives the address back, or is reported
    ambiguous exactly when namesakes share its size."""
    sym = Symbolizer(kernel)
    first: dict[int, str] = {}
    for a, letter, n in _map_lines(system_map):
        if letter in "tT" and a >= 0xFFFFFFFF81000000:
            first.setdefault(a, n)
    starts = np.array(sorted(first), dtype=np.uint64)
    hits = kernel.lookup(starts)
    names = [first[int(a)] for a in starts]
    assert len(hits) > 45000
    mismatched = [
        (hex(int(a)), n, h and h.text())
        for a, n, h in zip(starts, names, hits, strict=True)
        if h is None or h.offset != 0
    ]
    assert len(mismatched) == 0, mismatched[:5]
    last = starts + np.array([h.size - 1 for h in hits if h], dtype=np.uint64)
    ends = kernel.lookup(last)
    wrong = [
        hex(int(a))
        for a, e, h in zip(last, ends, hits, strict=True)
        if e is None or h is None or (e.start, e.offset) != (h.start, h.size - 1)
    ]
    assert not wrong, wrong[:5]
    kernel.prefetch(h.name for h in hits if h)
    ambiguous = 0
    for a, h in zip(starts.tolist(), hits, strict=True):
        assert h is not None
        try:
            frame = sym.locate(h.name, 0x1, h.size)
        except Ambiguous:
            same = [s for s in kernel.sizes_at(kernel.starts_named(h.name)) if s == h.size]
            assert len(same) > 1
            ambiguous += 1
            continue
        assert frame.address == a + 1 and frame.size == h.size
    assert ambiguous < 1500


def test_duplicate_names_told_apart_by_size(kernel: KernelTable) -> None:
    sym = Symbolizer(kernel)
    assert sym.locate("type_show", 0x10, 0x150).address == 0xFFFFFFFF81039E70
    with pytest.raises(Ambiguous, match="ambiguous: 17 candidates"):
        sym.locate("type_show", 0x10)
    with pytest.raises(Ambiguous, match="ambiguous: 8 candidates"):
        sym.locate("type_show", 0x10, 0x30)
    with pytest.raises(KsqlError, match="no such symbol"):
        sym.locate("no_such_function_anywhere", 0)


def test_kaslr_offset_shifts_both_ways(kernel: KernelTable) -> None:
    sym = Symbolizer(kernel, kaslr=0x1E000000)
    (frame,) = sym.describe([0xFFFFFFFF9FA479FA])
    assert frame is not None and frame.text() == "schedule+0x4a/0xd0"
    assert sym.locate("schedule", 0x4A).address == 0xFFFFFFFF9FA479FA
