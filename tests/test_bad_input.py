"""Bad input never escapes as anything but a SourceError: random bytes, truncations and byte
flips of real files, through every built-in source type."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from ksql.catalog import Catalog
from ksql.errors import SourceError
from tests.conftest import DATA, nm_lines

Load = Callable[..., Catalog]
REAL = [
    DATA / "System.map-6.1-excerpt",
    DATA / "Module.symvers-6.1-excerpt",
    DATA / "kallsyms-m2-excerpt.txt",
    DATA / "m1.nm.txt",
]


def variants(data: bytes, rng: random.Random) -> list[bytes]:
    out = [data[:cut] for cut in range(0, len(data), max(1, len(data) // 40))]
    for _ in range(60):
        flipped = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            flipped[rng.randrange(len(flipped))] = rng.randrange(256)
        out.append(bytes(flipped))
    out.append(bytes(rng.randrange(256) for _ in range(300)))
    return out


@pytest.mark.parametrize("source_type", ["kallsyms", "symvers"])
@pytest.mark.parametrize("real", REAL, ids=lambda p: p.name)
def test_mangled_files_load_or_fail_cleanly(
    tmp_path: Path, load: Load, source_type: str, real: Path
) -> None:
    rng = random.Random(f"{source_type}{real.name}")
    target = tmp_path / "input"
    outcomes = {"loaded": 0, "error": 0}
    for data in variants(real.read_bytes(), rng):
        target.write_bytes(data)
        try:
            load(f"{source_type}:{target}")
        except SourceError as exc:
            assert str(target) in str(exc)
            outcomes["error"] += 1
        else:
            outcomes["loaded"] += 1
    assert outcomes["error"] > 0


def test_directory_and_missing_file(tmp_path: Path, load: Load) -> None:
    with pytest.raises(SourceError, match="cannot read"):
        load(f"kallsyms:{tmp_path}")
    with pytest.raises(SourceError, match="not a symbol source"):
        load(tmp_path)
    with pytest.raises(SourceError, match="no such file"):
        load(tmp_path / "missing")


def test_every_truncation_of_a_module(tmp_path: Path, load: Load) -> None:
    data = (DATA / "m2.ko").read_bytes()
    target = tmp_path / "m2.ko"
    errors = 0
    for cut in range(len(data)):
        target.write_bytes(data[:cut])
        try:
            load(f"elf:{target}")
        except SourceError as exc:
            assert str(exc).startswith(str(target))
            errors += 1
    assert errors > len(data) // 2  # most truncations cut into the section headers


@pytest.mark.parametrize("module", ["m2.ko", "m3-6.12/m3.ko", "m3-6.12/m3.o"])
def test_byte_flips_in_modules(tmp_path: Path, load: Load, module: str) -> None:
    rng = random.Random(module)
    data = (DATA / module).read_bytes()
    shoff = int.from_bytes(data[0x28:0x30], "little")  # the section headers: flip there too
    target = tmp_path / "flipped.ko"
    for _ in range(400):
        flipped = bytearray(data)
        for _ in range(rng.randint(1, 6)):
            where = rng.choice(
                (rng.randrange(64), rng.randrange(shoff, len(data)), rng.randrange(len(data)))
            )
            flipped[where] = rng.randrange(256)
        target.write_bytes(bytes(flipped))
        try:
            cat = load(f"elf:{target}")
        except SourceError as exc:
            assert str(exc).startswith(str(target))
            continue
        # What loads is whole: one name per row, and every row renders on one line.
        assert len(cat.columns().name) == len(cat)
        assert len(nm_lines(cat)) == len(cat)
