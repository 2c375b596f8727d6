"""Where ``ksql check`` finds K's configuration and release."""

from __future__ import annotations

from pathlib import Path

from ksql.check.kernel import find_config, release_of


def test_headers_tree(tmp_path: Path) -> None:
    tree = tmp_path / "linux-headers-6.1.0-50-amd64"
    tree.mkdir()
    (tree / "Module.symvers").write_text("")
    (tree / ".config").write_text("CONFIG_MODVERSIONS=y\n")
    specs = [str(tree / "Module.symvers")]
    config = find_config(specs, None)
    assert config == tree / ".config"
    assert release_of(config, specs) == "6.1.0-50-amd64"


def test_build_tree_auto_conf(tmp_path: Path) -> None:
    conf = tmp_path / "include" / "config"
    conf.mkdir(parents=True)
    (conf / "auto.conf").write_text("CONFIG_SMP=y\n")
    (conf / "kernel.release").write_text("6.14.0-rc1\n")
    (tmp_path / "Module.symvers").write_text("")
    specs = [str(tmp_path / "Module.symvers")]
    config = find_config(specs, None)
    assert config == conf / "auto.conf"
    assert release_of(config, specs) == "6.14.0-rc1"


def test_given_config_names_the_release(tmp_path: Path) -> None:
    given = tmp_path / "config-6.1.0-47-amd64"
    given.write_text("")
    assert find_config([], str(given)) == given
    assert release_of(given, [str(tmp_path / "Module.symvers")]) == "6.1.0-47-amd64"
