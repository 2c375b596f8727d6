"""Hostile files: decompression bombs, special files, crafted names. Each is a clear
SourceError (or escaped output), never a hang, a crash or a silently broken catalog."""

from __future__ import annotations

import gzip
import lzma
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ksql.catalog import Catalog
from ksql.errors import SourceError
from tests.conftest import DATA

Load = Callable[..., Catalog]
M2 = (DATA / "m2.ko").read_bytes()
RDAY_2 = M2.index(b"rday_2\0")  # in .strtab only: rday_2 is not exported


class _Hung(BaseException):
    pass


@pytest.fixture
def deadline() -> Iterator[None]:
    def hung(signum: int, frame: object) -> None:
        raise _Hung

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_a_decompression_bomb_stops_at_the_cap(
    tmp_path: Path, load: Load, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KSQL_MAX_DECOMPRESSED", str(1 << 20))
    bomb = tmp_path / "bomb.ko.xz"
    bomb.write_bytes(lzma.compress(M2 + bytes(64 << 20)))  # 10 KB that expand to 64 MB
    assert bomb.stat().st_size < 20_000
    with pytest.raises(SourceError, match=r"bomb.ko.xz: decompresses to more than 1 MiB"):
        load(f"elf:{bomb}")


def test_compressed_contents_that_are_not_elf_stop_at_once(tmp_path: Path, load: Load) -> None:
    fake = tmp_path / "fake.ko.gz"
    fake.write_bytes(gzip.compress(b"MZ" + bytes(32 << 20)))
    with pytest.raises(SourceError, match="at byte offset 0: the decompressed contents are not"):
        load(f"elf:{fake}")


def test_a_fifo_is_refused(tmp_path: Path, load: Load, deadline: None) -> None:
    fifo = tmp_path / "kallsyms.fifo"
    os.mkfifo(fifo)
    with pytest.raises(SourceError, match=r"kallsyms\.fifo: a FIFO, not a file"):
        load(str(fifo))
    with pytest.raises(SourceError, match="a FIFO, not a file"):
        load(f"kallsyms:{fifo}")


def test_a_device_is_refused(load: Load, deadline: None) -> None:
    with pytest.raises(SourceError, match="/dev/zero: a device or socket, not a file"):
        load("kallsyms:/dev/zero")


def test_a_newline_in_a_symbol_name_is_rejected(tmp_path: Path, load: Load) -> None:
    crafted = bytearray(M2)
    crafted[RDAY_2 + 4] = ord("\n")
    bad = tmp_path / "tree" / "bad.ko"
    bad.parent.mkdir()
    bad.write_bytes(bytes(crafted))
    with pytest.raises(SourceError, match=r"bad.ko: symbol \d+: its name holds a newline byte"):
        load(f"elf:{bad}")
    (bad.parent / "m2.ko").write_bytes(M2)
    cat = load(f"elf:{bad.parent}")  # the tree loads the rest, and says what it skipped
    assert [p for p in cat.problems if "newline" in p] and len(cat.columns().name) == len(cat)


@pytest.mark.parametrize(
    ("byte", "shown"), [(0xFF, "rday\\xff2"), (0x1B, "rday\\x1b2"), (0x09, "rday\\x092")]
)
@pytest.mark.parametrize("fmt", ["nm", "names", "csv", "table"])
def test_names_that_are_not_printable_are_escaped(
    tmp_path: Path, byte: int, shown: str, fmt: str
) -> None:
    crafted = bytearray(M2)
    crafted[RDAY_2 + 4] = byte
    ko = tmp_path / "m2.ko"
    ko.write_bytes(bytes(crafted))
    proc = subprocess.run(
        [sys.executable, "-m", "ksql", "query", "name~^rday.2", "-s", str(ko), "-f", fmt],
        capture_output=True,
        check=False,
        env=dict(os.environ, PYTHONIOENCODING="utf-8"),
    )
    assert (proc.returncode, proc.stderr) == (0, b"")
    assert shown.encode() in proc.stdout
    assert bytes([byte]) not in proc.stdout.replace(b"\n", b"").replace(b"\t[m2]", b"")


def test_a_huge_text_source_is_refused(
    tmp_path: Path, load: Load, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ksql.source

    monkeypatch.setattr(ksql.source.read_bounded, "__defaults__", (1 << 20,))
    big = tmp_path / "System.map"
    big.write_bytes(b"ffffffff81000000 T _text\n" * 50_000)  # 1.2 MB
    with pytest.raises(SourceError, match=r"System\.map: more than 1 MiB: not a symbol list"):
        load(f"kallsyms:{big}")


def test_a_fifo_in_a_module_tree_is_a_problem_not_a_hang(
    tmp_path: Path, load: Load, deadline: None
) -> None:
    tree = tmp_path / "modules"
    tree.mkdir()
    (tree / "m2.ko").write_bytes(M2)
    os.mkfifo(tree / "stuck.ko")
    cat = load(f"elf:{tree}")
    assert [p for p in cat.problems if "stuck.ko" in p and "not a regular file" in p]
    assert cat.module_names() == ["m2"]
