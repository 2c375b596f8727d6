"""The man page, ksql(1), generated from the same argument parser as ``--help`` (with
argparse-manpage); ``scripts/make-manpage.py`` writes ``man/ksql.1`` and a test checks
that the committed file is current."""

from __future__ import annotations

import os

from ksql import __version__

SEE_ALSO = (
    ".SH FILES\n"
    ".TP\n.B .ksql.toml\nproject settings, in the current directory or the nearest parent\n"
    ".TP\n.B $XDG_CONFIG_HOME/ksql/config.toml\nuser settings\n"
    ".SH ENVIRONMENT\n"
    ".TP\n.B KSQL_SOURCES\nsource specs separated by white space\n"
    ".TP\n.B KSQL_PAGER, PAGER\nthe pager on a terminal (else less \\-FRSX)\n"
    ".TP\n.B NO_COLOR\nno colour in auto mode\n"
    ".TP\n.B KSQL_NO_CACHE, KSQL_CACHE_DIR\nthe load cache\n"
    ".SH SEE ALSO\n"
    "nm(1), modinfo(8), depmod(8); the README's sections on sources, kernel selection, "
    "configuration files and the query language\n"
)


def render() -> str:
    from argparse_manpage.manpage import Manpage  # type: ignore[import-untyped, import-not-found, unused-ignore]

    from ksql.cli import build_parser

    data = {
        "project_name": "ksql",
        "version": __version__,
        "description": "ask questions about Linux kernel symbols",
        "manual_title": "ksql manual",
        "date": __version__,  # stable: the page changes with the program, not the day
    }
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "80"  # argparse wraps usage lines to the terminal: not here
    try:
        return str(Manpage(build_parser(full_help=True), _data=data)) + SEE_ALSO
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved
