"""A configuration read on demand (:class:`ConfigText`, what ``ksql check`` uses) answers
as the whole parse (:func:`read_config`) does: on Debian's real config and on the odd
lines (set twice, CRLF, no final newline, ``is not set`` comments, indented lines)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ksql.kernel.kconfig import ConfigText, read_config

ODD = (
    '#\n# CONFIG_B is not set\nCONFIG_A=y\r\nCONFIG_S="a b=c"\n  CONFIG_I=y\n'
    "CONFIG_A=m\nCONFIG_EMPTY=\nCONFIG_AB=y\nCONFIG_LAST=0x10"
)


def _same(text: str, tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_bytes(text.encode())
    whole = read_config(path)
    lazy = ConfigText(path.read_text(errors="replace"))
    for option in [*whole, "CONFIG_B", "CONFIG_I", "CONFIG_NOPE", "A", "CONFIG_A=y", ""]:
        assert lazy.get(option) == whole.get(option), option
    assert bool(lazy) == bool(whole)
    fresh = ConfigText(path.read_text(errors="replace"))
    assert dict(fresh) == whole and len(fresh) == len(whole)


def test_odd_lines(tmp_path: Path) -> None:
    _same(ODD, tmp_path)
    lazy = ConfigText(ODD)
    assert (lazy["CONFIG_A"], lazy["CONFIG_S"], lazy["CONFIG_LAST"]) == ("m", '"a b=c"', "0x10")
    with pytest.raises(KeyError):
        lazy["CONFIG_B"]


def test_empty(tmp_path: Path) -> None:
    _same("", tmp_path)
    _same("# CONFIG_X is not set\n", tmp_path)
    assert not ConfigText("")


@pytest.mark.corpus
def test_debians_config(corpus: Path, tmp_path: Path) -> None:
    (config,) = corpus.glob("config-*")
    _same(config.read_text(errors="replace"), tmp_path)
