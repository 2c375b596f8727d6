"""The README's first example block runs as pasted from a clone: each ``$ `` line is run by
the shell in the repository's root, and the output shown under it must be the output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def first_block() -> list[tuple[str, list[str]]]:
    """(command, the lines shown under it) for each ``$ `` line of the first console block."""
    text = (ROOT / "README.md").read_text()
    start = text.index("```console\n") + len("```console\n")
    block = text[start : text.index("```", start)]
    examples: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            examples.append((line[2:], []))
        else:
            examples[-1][1].append(line)
    return examples


EXAMPLES = first_block()


@pytest.mark.parametrize(("command", "shown"), EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_readme_example(tmp_path: Path, command: str, shown: list[str]) -> None:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["XDG_CONFIG_HOME"] = str(tmp_path)  # no configuration file of the user's
    done = subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300, check=False)  # fmt: skip
    if shown:
        assert (done.returncode, done.stdout.splitlines(), done.stderr) == (0, shown, "")
    else:  # it describes this machine: it must run, whatever it finds
        assert done.returncode in (0, 1), done.stderr


def test_the_block_has_examples_with_output() -> None:
    assert sum(bool(shown) for _, shown in EXAMPLES) >= 4
