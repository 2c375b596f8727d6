"""A tree's fingerprint is taken once inside ``one_look()`` (one command's run) and afresh
outside it, so a long-lived process (the language server) still sees a changed tree."""

from __future__ import annotations

import os
from pathlib import Path

from ksql.check.elfio import one_look, tree_fingerprint


def _touch(path: Path, size: int) -> None:
    path.write_bytes(b"\0" * size)
    os.utime(path, ns=(1, 1))


def test_inside_one_look_the_first_fingerprint_holds(tmp_path: Path) -> None:
    (tmp_path / "kernel").mkdir()
    mod = tmp_path / "kernel" / "a.ko"
    _touch(mod, 10)
    before = tree_fingerprint(tmp_path)
    with one_look():
        assert tree_fingerprint(tmp_path) == before
        _touch(mod, 20)
        assert tree_fingerprint(tmp_path) == before
    changed = tree_fingerprint(tmp_path)
    assert changed != before
    _touch(tmp_path / "kernel" / "b.ko.xz", 1)
    assert tree_fingerprint(tmp_path) not in (before, changed)
