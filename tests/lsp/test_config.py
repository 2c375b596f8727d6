"""Where the server's sources come from, and their placeholders."""

from __future__ import annotations

from pathlib import Path

import pytest

from ksql.errors import KsqlError
from ksql.lsp import config
from ksql.source import RunningKernel

KERNEL = RunningKernel("6.1.0-56-amd64", "x86_64")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("/lib/modules/$(uname -r)/build/Module.symvers",
         "/lib/modules/6.1.0-56-amd64/build/Module.symvers"),
        ("elf:/usr/lib/debug/boot/vmlinux-${release}",
         "elf:/usr/lib/debug/boot/vmlinux-6.1.0-56-amd64"),
        ("~/kernel/vmlinux", str(Path.home() / "kernel/vmlinux")),
        ("symvers:~/Module.symvers", "symvers:" + str(Path.home() / "Module.symvers")),
        ("${workspaceFolder}/Module.symvers", "/ws/Module.symvers"),
    ],
)  # fmt: skip
def test_expand(spec: str, expected: str) -> None:
    assert config.expand(spec, KERNEL, Path("/ws")) == expected


def test_relative_paths_resolve_against_the_workspace(tmp_path: Path) -> None:
    (tmp_path / "Module.symvers").write_text("")
    assert config.expand("Module.symvers", KERNEL, tmp_path) == str(tmp_path / "Module.symvers")


def test_toml(tmp_path: Path) -> None:
    assert config.toml_sources(tmp_path) is None
    (tmp_path / ".ksql.toml").write_text('sources = ["vmlinux", "symvers:Module.symvers"]\n')
    assert config.toml_sources(tmp_path) == [
        str(tmp_path / "vmlinux"),
        f"symvers:{tmp_path / 'Module.symvers'}",
    ]
    nested = tmp_path / "drivers" / "usb"
    nested.mkdir(parents=True)
    assert config.toml_sources(nested) == config.toml_sources(tmp_path)  # found upward
    (tmp_path / ".ksql.toml").write_text("\nsources = 3\n")
    with pytest.raises(KsqlError, match=r"\.ksql\.toml:2: 'sources' must be a list of source"):
        config.toml_sources(tmp_path)
    (tmp_path / ".ksql.toml").write_text("sources = [\n")
    with pytest.raises(KsqlError, match=r"\.ksql\.toml:2: .* \(not valid TOML\)"):
        config.toml_sources(tmp_path)


def test_priority() -> None:
    assert config.choose(["cli"], ["init"], None, ["toml"]) == ["cli"]
    assert config.choose([], None, ["ws"], ["toml"]) == ["ws"]
    assert config.choose(None, None, None, None) == []
