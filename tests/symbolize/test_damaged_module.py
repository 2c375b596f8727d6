"""A damaged module never makes ``ksql addr`` fail with an internal error: the committed DWARF
test module with random bytes overwritten (headers, symbols, DWARF) either resolves, with or
without a line, or is reported as a bad file, with exit status 0 or 1."""

from __future__ import annotations

import io
import random
import sys
from pathlib import Path

import pytest

from ksql.cli import main

from .conftest import KSYM

FRAMES = ["helper+0x5/0x30 [ksym_test]", "ksym_init+0x10/0x1000 [ksym_test]"]


@pytest.mark.parametrize("seed", range(24))
def test_fuzzed_module(
    seed: int, system_map: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    data = bytearray((KSYM / "ksym-test.ko").read_bytes())
    start = rng.choice([0, 64, 0x1000, len(data) // 2])
    for _ in range(rng.choice([1, 5, 50, 500])):
        data[rng.randrange(start, len(data))] = rng.randrange(256)
    (tmp_path / "ksym-test.ko").write_bytes(bytes(data))
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    code = main(["addr", "-s", str(system_map), "--modules", str(tmp_path), *FRAMES])
    assert code in (0, 1)
    assert "internal error" not in err.getvalue()
    assert all(line.startswith("ksql: ") for line in err.getvalue().splitlines())
