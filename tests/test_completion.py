"""Shell completion (argcomplete, driven through a real bash) and the man page."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ksql.cli import main
from ksql.completion import complete_query
from ksql.manpage import render

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

BASH = r"""
eval "$(ksql completion bash)"
for line in "$@"; do
  COMP_LINE="$line"; COMP_POINT=${#COMP_LINE}
  read -ra COMP_WORDS <<< "$COMP_LINE"; [[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
  COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
  COMPREPLY=()
  _python_argcomplete ksql "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"
  echo "$line => $(printf '%s|' "${COMPREPLY[@]}")"
done
"""


@pytest.mark.skipif(not shutil.which("bash"), reason="needs bash")
def test_bash_completes_commands_options_formats_and_queries(tmp_path: Path) -> None:
    lines = [
        "ksql qu",
        "ksql query -f j",
        "ksql query --no",
        "ksql query 'exported and mo",
        "ksql query 'gpl and namespace=DMA_BUF ord",
        "ksql completion f",
    ]
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(["bash", "-c", BASH, "bash", *lines], env=env, capture_output=True,
                          text=True, timeout=120, check=True)  # fmt: skip
    assert done.stdout.splitlines() == [
        "ksql qu => query |",
        "ksql query -f j => json |",
        "ksql query --no => --no-pager |",
        "ksql query 'exported and mo => exported and module|",
        "ksql query 'gpl and namespace=DMA_BUF ord => gpl and namespace=DMA_BUF order by|",
        "ksql completion f => fish |",
    ]


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("exported and mo", ["exported and module"]),
        ("exported and module", ["exported and module"]),
        ("gpl lim", ["gpl limit"]),
        ("type=T order by addr d", ["type=T order by addr desc"]),
    ],
)
def test_query_text_completes_through_the_grammar(prefix: str, expected: list[str]) -> None:
    assert complete_query(prefix) == expected


@pytest.mark.parametrize(("shell", "marker"), [("zsh", "#compdef ksql"), ("fish", "complete")])
def test_other_shells(capsys: pytest.CaptureFixture[str], shell: str, marker: str) -> None:
    assert main(["completion", shell]) == 0
    out = capsys.readouterr().out
    assert marker in out and "ksql" in out


def test_ksql_alone_prints_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("usage: ksql COMMAND [options]")
    assert "ksql query 'gpl and namespace=DMA_BUF' -k 6.1.0-50-amd64" in err


def test_query_help_lists_the_language(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["query", "--help"])
    out = capsys.readouterr().out
    assert "flags: exported, gpl, defined, undefined, global, local, weak, function, data\n" in out
    assert "fields: name, module, addr, type," in out
    assert "more: the README's 'Query language' section" in out


def test_the_committed_man_page_is_current() -> None:
    assert (ROOT / "man/ksql.1").read_text() == render(), "run scripts/make-manpage.py"
