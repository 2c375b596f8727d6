"""Configuration files: where they are found, what they may say, their precedence, and
errors that name the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from ksql import config
from ksql.cli import main
from ksql.errors import KsqlError
from tests.conftest import DATA

SEED = DATA / "kallsyms-m2-excerpt.txt"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('formt = "json"\n', "FILE:1: unknown setting 'formt'; did you mean 'format'? known: "
         "sources, kernel, basedir, format, pager, color"),
        ('# kernel\n\ncolor = "sometimes"\n',
         "FILE:3: 'color' must be auto, always or never, not 'sometimes'"),
        ("sources = [1]\n", "FILE:1: 'sources' must be a list of source specs ([TYPE:]PATH)"),
        ("kernel = 6\n", "FILE:1: 'kernel' must be a kernel release, as -k, not 6"),
        ('kernel = "6.1"\nkernel = "6.2"\n',
         "FILE:2: Cannot overwrite a value (not valid TOML)"),
        ("[sources]\n", "FILE:1: 'sources' must be a list of source specs ([TYPE:]PATH)"),
    ],
)  # fmt: skip
def test_errors_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path / ".ksql.toml", text)
    with pytest.raises(KsqlError) as info:
        config.read(path)
    assert str(info.value) == message.replace("FILE", str(path))


def test_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    path = write(
        tmp_path / "proj/.ksql.toml",
        'sources = ["System.map", "symvers:out/Module.symvers", "~/vmlinux",'
        ' "/boot/System.map-${release}"]\nbasedir = "img"\n',
    )
    got = config.read(path)
    assert got.sources == (
        str(tmp_path / "proj/System.map"),
        f"symvers:{tmp_path / 'proj/out/Module.symvers'}",
        "~/vmlinux",
        "/boot/System.map-${release}",
    )
    assert got.basedir == str(tmp_path / "proj/img")
    assert got.where("basedir") == f"{path}:2"


def test_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Command line > KSQL_SOURCES > project > user; the kernel keys decide together."""
    user = write(config.user_file(), 'sources = ["/u"]\nformat = "json"\npager = "more"\n')
    project = write(tmp_path / "p/.ksql.toml", 'kernel = "6.1.0-50-amd64"\nformat = "csv"\n')
    work = tmp_path / "p/src/deep"
    work.mkdir(parents=True)
    try:
        merged = config.load(work)
        assert (merged.sources, merged.kernel, merged.format, merged.pager) == (
            None,  # the project names the kernel: the user's sources do not mix in
            "6.1.0-50-amd64",
            "csv",
            "more",
        )
        assert merged.where("format") == f"{project}:2"
        assert merged.where("pager") == f"{user}:3"
        monkeypatch.setenv("KSQL_SOURCES", "kallsyms:/a  /b")
        env = config.load(work)
        assert (env.sources, env.kernel, env.format) == (("kallsyms:/a", "/b"), None, "csv")
        cli = config.command_line([], "6.12.9", None).over(env)
        assert (cli.sources, cli.kernel, cli.format) == (None, "6.12.9", "csv")
        assert config.command_line([], None, None).over(env) == env
    finally:
        user.unlink()


def test_query_reads_the_project_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / ".ksql.toml", f'sources = ["{SEED}"]\nformat = "names"\n')
    monkeypatch.chdir(tmp_path)
    assert main(["query", "exported and module=m2"]) == 0
    assert capsys.readouterr() == ("rday_3\n", "")
    # the command line wins, for the sources and for the format
    assert main(["query", "rday_3", "-s", str(DATA / "seed.Module.symvers"), "-f", "nm"]) == 0
    assert capsys.readouterr().out == "                 ? rday_3\t[m2]\n"


def test_a_bad_format_in_a_file_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / ".ksql.toml", f'sources = ["{SEED}"]\n\nformat = "yaml"\n')
    monkeypatch.chdir(tmp_path)
    assert main(["query", "rday_3"]) == 2
    out, err = capsys.readouterr()
    assert (out, err) == (
        "",
        f"ksql: {tmp_path / '.ksql.toml'}:3: no format 'yaml' (known: table, json, ndjson, csv,"
        " nm, names, count)\n",
    )
