"""Hover on ``struct NAME``: the layout card from the catalog's BTF."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ksql.catalog import Catalog
from ksql.lsp.typehover import btf_files, keyword_before, layout_markdown
from tests.plugins.test_btf_layout import NODE, small


@pytest.mark.parametrize(
    ("line", "start", "expected"),
    [
        ("\tstruct node *n;", 8, "struct"),
        ("sizeof(union  node)", 14, "union"),
        ("enum pid_type t;", 5, "enum"),
        ("node_count(x);", 0, None),
        ("mystruct node;", 9, None),
    ],
)
def test_the_keyword_before_a_name(line: str, start: int, expected: str | None) -> None:
    assert keyword_before(line, start) == expected


def test_the_layout_card(tmp_path: Path, load: Callable[..., Catalog]) -> None:
    path = tmp_path / "vmlinux.btf"
    path.write_bytes(small())
    catalog = load(path)
    assert btf_files(catalog) == [path]
    card = layout_markdown(catalog, "struct", "node")
    assert card == f"```c\n{NODE.rstrip()}\n```\n\nlayout from the BTF of `{path}`"
    assert layout_markdown(catalog, "struct", "nosuch") is None
    assert layout_markdown(catalog, "union", "node") is None
