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
