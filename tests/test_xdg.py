"""ksql.xdg answers as platformdirs does wherever it answers at all."""

from __future__ import annotations

import sys

import platformdirs
import pytest

from ksql.xdg import user_dir

CASES = [
    {"XDG_CONFIG_HOME": "/x/conf", "XDG_CACHE_HOME": "/x/cache", "HOME": "/home/u"},
    {"XDG_CONFIG_HOME": "/x/conf/", "XDG_CACHE_HOME": "/x/cache/", "HOME": "/home/u/"},
    {"HOME": "/home/u"},
    {"HOME": "/home/u/"},
    {"XDG_CONFIG_HOME": "rel", "XDG_CACHE_HOME": "rel", "HOME": "/home/u"},
    {"XDG_CONFIG_HOME": " ", "XDG_CACHE_HOME": " ", "HOME": "/home/u"},
    {"HOME": "relative"},
]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux rules")
@pytest.mark.parametrize("env", CASES, ids=range(len(CASES)))
def test_same_answer_as_platformdirs(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "HOME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for variable, theirs in (
        ("XDG_CONFIG_HOME", platformdirs.user_config_dir),
        ("XDG_CACHE_HOME", platformdirs.user_cache_dir),
    ):
        ours = user_dir(variable)
        if ours is not None:
            assert str(ours) == theirs("ksql")
    if env.get("HOME", "").startswith("/") and "XDG_CONFIG_HOME" not in env:
        assert user_dir("XDG_CONFIG_HOME") is not None  # the common case is answered
