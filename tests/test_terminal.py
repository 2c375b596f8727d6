"""Terminal conventions: colour, the pager, tables that fit, the kernel named on stderr."""

from __future__ import annotations

import io
import shutil
import sys
from pathlib import Path

import pytest

from ksql import terminal
from ksql.cli import main
from tests.conftest import DATA

SOURCES = [
    "-s",
    str(DATA / "System.map-6.1-excerpt"),
    "-s",
    str(DATA / "Module.symvers-6.1-excerpt"),
]


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("mode", "no_color", "term", "tty", "expected"),
    [
        ("auto", None, "xterm", True, True),
        ("auto", None, "xterm", False, False),
        ("auto", "1", "xterm", True, False),
        ("auto", "", "xterm", True, True),  # NO_COLOR counts only when not empty
        ("auto", None, "dumb", True, False),
        ("always", "1", "dumb", False, True),
        ("never", None, "xterm", True, False),
    ],
)
def test_use_color(
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
    no_color: str | None,
    term: str,
    tty: bool,
    expected: bool,
) -> None:
    if no_color is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", no_color)
    monkeypatch.setenv("TERM", term)
    assert terminal.use_color(mode, Tty() if tty else io.StringIO()) is expected


@pytest.mark.parametrize(
    ("ksql_pager", "configured", "pager", "expected"),
    [
        ("more -d", "most", "pg", "more -d"),
        (None, "more", "pg", "more"),
        (None, None, "more", "more"),
        (None, None, None, terminal.DEFAULT_PAGER),
        ("", "more", "more", None),  # an empty KSQL_PAGER turns paging off, as git's
        (None, "cat", "more", None),
        (None, None, "no-such-pager-x", None),
    ],
)
def test_pager_command(
    monkeypatch: pytest.MonkeyPatch,
    ksql_pager: str | None,
    configured: str | None,
    pager: str | None,
    expected: str | None,
) -> None:
    for name, value in (("KSQL_PAGER", ksql_pager), ("PAGER", pager)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    for program in ("more", "less"):
        if expected and expected.startswith(program) and not shutil.which(program):
            pytest.skip(f"{program} is not installed")
    assert terminal.pager_command(configured) == expected


TABLE = [
    "            addr  type  name            module   export             namespace  crc",
    "ffffffff8172ff00  T     dma_buf_export  vmlinux  EXPORT_SYMBOL_GPL  DMA_BUF    0xeade228f",
]


@pytest.mark.parametrize(
    ("columns", "wide", "expected"),
    [
        (200, False, TABLE),
        (80, True, TABLE),
        (
            80,
            False,
            [
                "            addr  type  name            module   export        namespace  crc",
                "ffffffff8172ff00  T     dma_buf_export  vmlinux  EXPORT_SYMB…  DMA_BUF    "
                "0xeade228f",
            ],
        ),
    ],
)
def test_paged_table_fits_the_terminal(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    columns: int,
    wide: bool,
    expected: list[str],
) -> None:
    paged = tmp_path / "paged"
    monkeypatch.setenv("KSQL_PAGER", f"cat > {paged}")
    monkeypatch.setenv("COLUMNS", str(columns))
    monkeypatch.setenv("NO_COLOR", "1")
    out, err = Tty(), Tty()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    argv = ["query", "gpl and namespace=DMA_BUF", *SOURCES, *(["--wide"] if wide else [])]
    assert main(argv) == 0
    assert out.getvalue() == ""  # all of it went through the pager
    assert paged.read_text().splitlines() == expected
    assert err.getvalue() == (
        "ksql: kernel 6.1-excerpt (System.map-6.1-excerpt, Module.symvers-6.1-excerpt)\n"
    )


def test_no_pager_and_color(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KSQL_PAGER", f"cat > {tmp_path / 'paged'}")
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    out = Tty()
    monkeypatch.setattr(sys, "stdout", out)
    assert main(["query", "dma_buf_export", *SOURCES, "--no-pager", "--wide"]) == 0
    assert out.getvalue().splitlines() == [f"\033[1m{TABLE[0]}\033[0m", TABLE[1]]
    assert not (tmp_path / "paged").exists()
    out.seek(0)
    out.truncate()
    assert main(["query", "dma_buf_export", *SOURCES, "--no-pager", "--color=never", "--wide"]) == 0
    assert out.getvalue().splitlines()[0] == TABLE[0]


def test_a_pager_that_quits_early_is_not_an_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KSQL_PAGER", f"head -c 1 > {tmp_path / 'paged'}")
    monkeypatch.setattr(sys, "stdout", Tty())
    assert main(["query", "*", *SOURCES, "-f", "nm"]) == 0
    assert (tmp_path / "paged").read_text() == "0"
