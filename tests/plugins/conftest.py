"""Fixtures shared by the source plugins' tests."""

from __future__ import annotations

import pytest

from ksql.plugins.tree import index as tree_index


@pytest.fixture
def submitted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files the tree source hands to its scanner (in the order given), from now on."""
    files: list[str] = []
    submit = tree_index.Scanner.submit

    def spy(self: tree_index.Scanner, batch: list[str]) -> None:
        files.extend(batch)
        submit(self, batch)

    monkeypatch.setattr(tree_index.Scanner, "submit", spy)
    return files
