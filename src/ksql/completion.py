"""Shell completion and the query help text, both from what the program already knows.

Completion is argcomplete's: ``ksql completion bash|zsh|fish`` prints the hook, the shell
then runs ``ksql`` with ``_ARGCOMPLETE`` set and this module answers from the argument
parser itself (commands, options, ``--format`` choices), the releases installed for ``-k``,
and, for the query text, the language's own completer (:mod:`ksql.query.complete`, the
grammar's answer to what may come next). Imported only when completing or asked for help:
argument parsing stays free of it.
"""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path
from typing import Any

SHELLS = ("bash", "zsh", "fish")


def shell_script(shell: str) -> str:
    """The hook to ``eval`` (bash, zsh) or ``source`` (fish)."""
    from argcomplete.shell_integration import shellcode

    return str(shellcode(["ksql"], shell=shell))


def autocomplete(parser: argparse.ArgumentParser) -> None:
    """Answer the shell's completion request and exit (argcomplete's protocol)."""
    import argcomplete

    for action in _actions(parser):
        if action.dest == "query":
            action.completer = complete_query  # type: ignore[attr-defined]
        elif action.dest == "kernel":
            action.completer = complete_release  # type: ignore[attr-defined]
    argcomplete.autocomplete(parser, always_complete_options="long")


def _actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    found: list[argparse.Action] = []
    for action in parser._actions:  # argparse keeps no public list of them
        found.append(action)
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found.extend(_actions(sub))
    return found


def complete_query(prefix: str, **_: Any) -> list[str]:
    """Whole query texts that extend ``prefix`` by one word the grammar accepts next."""
    from ksql.query.complete import complete

    found = complete(prefix, len(prefix))
    head = prefix[: found.start]
    return [head + c.text for c in found.candidates]


def complete_release(prefix: str, **_: Any) -> list[str]:
    """Releases under ``/lib/modules`` (``-b`` is not known yet while completing)."""
    from ksql.kernels import installed

    return [r for r in installed(Path("/")) if r.startswith(prefix)]


def query_epilog() -> str:
    """``ksql query --help``'s list of flags, fields and operators, from the field table."""
    from ksql.query.fields import FIELDS, FLAGS

    fields = textwrap.fill("fields: " + ", ".join(FIELDS), 79, subsequent_indent="  ")
    return (
        f"flags: {', '.join(FLAGS)}\n"
        f"{fields}\n"
        "operators: = != < <= > >= (numbers), ~ (regular expression), in (A, B, ...); "
        "and, or, not, ( ); order by FIELD [asc|desc], limit N\n"
        "values: bare words with * ? [...] globs, or quoted literals; a bare word alone "
        "matches names\n"
        "examples: 'exported and module=m2', 'gpl and namespace=DMA_BUF', "
        "'name~\"^kmalloc\" order by addr limit 10'\n"
        "more: the README's 'Query language' section"
    )
