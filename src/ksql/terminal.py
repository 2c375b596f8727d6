"""Terminal conventions, as git keeps them: long output through a pager (``$KSQL_PAGER``,
the ``pager`` setting, ``$PAGER``, else ``less -FRSX``; ``--no-pager``), colour when the
output is a terminal (``--color=auto|always|never``, ``NO_COLOR``, ``TERM=dumb``), and
tables as wide as the terminal. The REPL pages only what is taller than the terminal.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, TextIO, cast

if TYPE_CHECKING:
    import subprocess

DEFAULT_PAGER = "less -FRSX"  # -F: quit if one screen; -R: colours; -S: chop; -X: no clear


def use_color(mode: str, stream: TextIO) -> bool:
    """``--color``: ``always``, ``never``, or (``auto``) when ``stream`` is a terminal and
    neither ``NO_COLOR`` (https://no-color.org: any non-empty value) nor ``TERM=dumb`` says
    otherwise."""
    if mode == "always":
        return True
    if mode == "never":
        return False
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return stream.isatty()


def pager_command(configured: str | None = None) -> str | None:
    """The pager's command line; None for no pager (an empty value or ``cat``, as git takes
    them, or a program that is not installed)."""
    for candidate in (os.environ.get("KSQL_PAGER"), configured, os.environ.get("PAGER")):
        if candidate is not None:
            command = candidate.strip()
            break
    else:
        command = DEFAULT_PAGER
    if not command or command == "cat":
        return None
    program = command.split()[0]
    return command if shutil.which(program) else None


def width(stream: TextIO) -> int | None:
    """The terminal's columns when ``stream`` is one (``COLUMNS`` overrides), else None."""
    if not stream.isatty():
        return None
    return shutil.get_terminal_size((80, 24)).columns


def height(stream: TextIO) -> int | None:
    """The terminal's lines when ``stream`` is one (``LINES`` overrides), else None."""
    if not stream.isatty():
        return None
    return shutil.get_terminal_size((80, 24)).lines


def page_if_tall(out: TextIO, text: str, command: str | None, reserve: int = 0) -> None:
    """Write ``text`` to ``out``, through the pager (as ``paged``) when ``out`` is a terminal
    that ``text`` is taller than, less ``reserve`` lines kept for a prompt (pgcli's rule)."""
    rows = height(out)
    if command is None or rows is None or text.count("\n") <= rows - reserve:
        out.write(text)
        return
    out.flush()  # what is already written comes before the pager takes the terminal
    with paged(out, command) as stream:
        stream.write(text)


@contextmanager
def paged(out: TextIO, command: str | None) -> Iterator[TextIO]:
    """Write through ``command`` (run by the shell, as git runs ``core.pager``) when ``out``
    is a terminal; otherwise, or without a command, write to ``out`` itself."""
    if command is None or not out.isatty():
        yield out
        return
    env = dict(os.environ)
    env.setdefault("LESS", "FRSX")  # as git: a bare `less` in $PAGER behaves the same
    env.setdefault("LV", "-c")
    import subprocess  # only to start a pager

    try:
        proc = subprocess.Popen(
            command, shell=True, stdin=subprocess.PIPE, env=env, text=True, errors="replace"
        )
    except OSError:
        yield out
        return
    assert proc.stdin is not None
    try:
        with suppress(BrokenPipeError):  # the reader quit the pager early: not an error
            yield cast(TextIO, proc.stdin)
    finally:
        with suppress(BrokenPipeError):
            proc.stdin.close()
        _wait(proc)


def _wait(proc: subprocess.Popen[str]) -> None:
    # Ctrl-C reaches the pager too; less keeps running and stays in charge of the terminal,
    # so ksql waits for it rather than leaving it behind.
    while True:
        try:
            proc.wait()
            return
        except KeyboardInterrupt:
            continue
