"""The ``ksql`` command line's argument parser: the options every command shares, and
each command's own. :func:`build_parser` can build one command's parser alone: parsing
``ksql check …`` needs only check's, and building all twelve is a tenth of a warm check.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from typing import Any

from ksql import __version__


class _Formats:
    """``--format``'s choices: the renderer table's keys, imported only when argparse asks
    (ksql.render pulls in numpy: ``--version`` and ``lsp`` need not wait for it)."""

    def _keys(self) -> list[str]:
        from ksql.render import RENDERERS

        return list(RENDERERS)

    def __contains__(self, name: object) -> bool:
        return name in self._keys()

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())


def _kernel_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-k",
        "--kernel",
        metavar="RELEASE",
        help="read that kernel's files (as modinfo -k): /boot/System.map-RELEASE, "
        "/lib/modules/RELEASE (modules, build/Module.symvers), /usr/lib/debug/boot/"
        "vmlinux-RELEASE; /proc and /sys only for the running kernel",
    )
    parser.add_argument(
        "-b",
        "--basedir",
        metavar="ROOT",
        help="look for the kernel's files under ROOT (as depmod -b), e.g. a mounted image; "
        "RELEASE defaults to the only kernel there",
    )


COMMANDS = frozenset(
    (
        "query",
        "check",
        "addr",
        "symbolize",
        "sources",
        "type",
        "repl",
        "diff",
        "export",
        "history",
        "completion",
        "lsp",
    )
)


def _columns() -> int:
    """shutil.get_terminal_size()'s width: $COLUMNS, else the terminal's, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


class _Formatter(argparse.HelpFormatter):
    """argparse's own, given its width: without one it imports shutil (and shutil bz2 and
    lzma, ~4 ms of every run) to measure the terminal, as each add_argument() makes one."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        width = _columns() - 2 if width is None else width
        super().__init__(prog, indent_increment, max_help_position, width)


class _RawFormatter(_Formatter, argparse.RawDescriptionHelpFormatter):
    """The same, with the description and epilog kept as written."""


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)


def build_parser(full_help: bool = False, command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; ``full_help`` adds the query language summary (it reads the
    field table, which imports numpy: only for ``--help`` and the man page). ``command``:
    only that subcommand's parser (what parsing its own command line needs), not all."""

    def want(*names: str) -> bool:
        return command is None or command in names

    common = _Parser(add_help=False)
    common.add_argument(
        "-s",
        "--source",
        action="append",
        default=[],
        metavar="[TYPE:]PATH",
        help="a symbol source (repeatable); TYPE forces a source type (kallsyms, symvers, ...);"
        " default: the running kernel's /proc/kallsyms, System.map and Module.symvers",
    )
    _kernel_options(common)
    common.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE",
        help="also load this plugin module (repeatable)",
    )
    common.add_argument(
        "--block",
        action="append",
        default=[],
        metavar="NAME",
        help="do not load the plugin registered as NAME (e.g. kallsyms)",
    )
    common.add_argument(
        "--special-syms",
        action="store_true",
        help="keep the target-special symbols nm hides (ARM/AArch64 mapping symbols $x $d, "
        "RISC-V local labels .L*); same as KSQL_SPECIAL_SYMS=1",
    )
    p = _Parser(prog="ksql", description="Ask questions about Linux kernel symbols.")
    p.add_argument("--version", action="version", version=f"ksql {__version__}")
    sub: argparse._SubParsersAction[argparse.ArgumentParser] = p.add_subparsers(  # type: ignore[assignment]
        dest="command", required=True, metavar="COMMAND"
    )
    if want("query"):
        _add_query_parser(sub, common, full_help)
    if want("check"):
        from ksql.check.command import add_arguments

        add_arguments(sub.add_parser("check", parents=[common], help=CHECK_HELP))
    if want("addr", "symbolize"):
        from ksql.symbolize.options import add_parsers as add_symbolize_parsers

        add_symbolize_parsers(sub, common)
    if want("sources"):
        sub.add_parser("sources", parents=[common], help="list plugins and the sources they find")
    if want("type"):
        t = sub.add_parser(
            "type", parents=[common], help="a struct's layout from BTF, as pahole -C"
        )
        t.add_argument("name", help="e.g. 'struct module', module, 'enum pid_type', a typedef")
    if want("repl"):
        r = sub.add_parser("repl", parents=[common], help="an interactive query shell")
        r.add_argument(
            "--no-pager",
            action="store_true",
            help="start with paging off (.pager on turns it on): results taller than the "
            "terminal go to $KSQL_PAGER, the pager setting, $PAGER, else less -FRSX",
        )
    if want("diff", "export", "history"):
        _add_history_parsers(sub, common)
    if want("completion"):
        comp = sub.add_parser(
            "completion",
            help='print a shell completion script: eval "$(ksql completion bash)" in ~/.bashrc',
        )
        comp.add_argument("shell", choices=("bash", "zsh", "fish"))
    if want("lsp"):
        _add_lsp_parser(sub)
    return p


CHECK_HELP = "would these modules link and load on kernel K"


def _add_query_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
    full_help: bool,
) -> None:
    epilog = None
    if full_help:
        from ksql.completion import query_epilog

        epilog = query_epilog()
    q = sub.add_parser(
        "query",
        parents=[common],
        help="run a query, print matching symbols",
        epilog=epilog,
        formatter_class=_RawFormatter,
    )
    q.add_argument("query", help="e.g. 'exported and module=m2 and type=D'")
    q.add_argument(
        "-f",
        "--format",
        choices=_Formats(),
        metavar="FORMAT",  # not {table,...}: argparse would import the renderers to build it
        help="output format: %(choices)s (default: table on a terminal, nm lines otherwise)",
    )
    q.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        help="colour the table's header: auto (default) when the output is a terminal and "
        "NO_COLOR is unset and TERM is not dumb",
    )
    q.add_argument(
        "--no-pager",
        action="store_true",
        help="do not page a terminal's output (the pager: $KSQL_PAGER, the pager setting, "
        "$PAGER, else less -FRSX)",
    )
    q.add_argument(
        "--wide", action="store_true", help="never cut table cells to the terminal's width"
    )


def _add_lsp_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    lsp = sub.add_parser("lsp", help="run the language server (stdio by default)")
    lsp.add_argument(
        "-s",
        "--source",
        action="append",
        default=[],
        metavar="[TYPE:]PATH",
        help="a symbol source (repeatable); else the client's settings, .ksql.toml, or the "
        "running kernel's",
    )
    _kernel_options(lsp)
    lsp.add_argument("--stdio", action="store_true", help="talk LSP on stdin/stdout (default)")
    lsp.add_argument(
        "--tcp",
        metavar="[HOST:]PORT",
        help="listen on a TCP port instead (HOST defaults to 127.0.0.1 and must be a loopback"
        " address unless --allow-remote is given)",
    )
    lsp.add_argument(
        "--allow-remote",
        action="store_true",
        help="let --tcp listen on a non-loopback address: whoever reaches it may ask the"
        " server about any file it can read",
    )
    lsp.add_argument("--log-file", metavar="PATH", help="write the server's log here")


def _add_history_parsers(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """``diff``, ``export`` and ``history``: their arguments live with their code."""
    from ksql.history.args import add_parsers

    add_parsers(sub, common)
