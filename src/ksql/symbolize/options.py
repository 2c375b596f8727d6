"""The command-line options ``ksql addr`` and ``ksql symbolize`` share: argparse only, so
building the parser imports nothing heavy."""

from __future__ import annotations

import argparse


def add_options(p: argparse.ArgumentParser) -> None:
    """The options ``addr`` and ``symbolize`` share (argparse only: nothing heavy)."""
    p.add_argument(
        "--modules",
        action="append",
        default=[],
        metavar="PATH",
        help="a .ko file or a directory searched for them (repeatable), e.g. "
        "/lib/modules/$(uname -r)",
    )
    p.add_argument(
        "--kaslr-offset",
        metavar="HEX",
        help="the KASLR offset (default: an oops's 'Kernel Offset:' line)",
    )
    p.add_argument(
        "--kallsyms",
        metavar="FILE",
        help="a /proc/kallsyms snapshot: its _text gives the KASLR offset",
    )
    p.add_argument(
        "--proc-modules", metavar="FILE", help="a /proc/modules snapshot: module load addresses"
    )
    p.add_argument("-f", "--format", choices=("text", "json"), default="text")


def add_parsers(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """The ``addr`` and ``symbolize`` commands."""
    a = sub.add_parser(
        "addr",
        parents=[common],
        help="address <-> name+0xoff/0xsize [module], as the kernel's %%pS prints it",
    )
    a.add_argument(
        "location",
        nargs="*",
        help="ADDR, NAME+0xOFF[/0xSIZE] or 'NAME+0xOFF/0xSIZE [MODULE]'; none: read stdin",
    )
    add_options(a)
    s = sub.add_parser(
        "symbolize",
        parents=[common],
        help="decode an oops, dmesg or stack dump from stdin (decode_stacktrace.sh's format)",
    )
    add_options(s)
