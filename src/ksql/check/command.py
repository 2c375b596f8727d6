"""The ``ksql check`` command: arguments in, verdicts out. Exit 0 when every module would
load, 1 when one would not, 2 on an error."""

from __future__ import annotations

import argparse
from typing import TextIO

EXIT_LOADS, EXIT_WOULD_NOT, EXIT_ERROR = 0, 1, 2


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "modules",
        nargs="+",
        metavar="MODULE",
        help="a .ko (plain or compressed), a directory of them, or /lib/modules/<release> "
        "(each module is then checked against the rest of the tree, like depmod -e)",
    )
    p.add_argument(
        "--config",
        metavar="PATH",
        help="K's configuration (.config, include/config/auto.conf, /boot/config-<release>);"
        " default: found beside the sources, or /boot/config-<release>",
    )
    p.add_argument(
        "--btf",
        metavar="PATH",
        help="K's BTF or vmlinux, for sizeof(struct module); default: a vmlinux source, or"
        " /sys/kernel/btf/vmlinux for the running kernel",
    )
    p.add_argument(
        "-f",
        "--format",
        choices=("text", "json", "sarif"),
        default="text",
        help="output format (default: text)",
    )
    p.add_argument(
        "-q", "--quiet", action="store_true", help="text: one line a finding, no details"
    )


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ksql.check.report import RENDER, render_text
    from ksql.check.run import run_check
    from ksql.memory import collector_paused
    from ksql.spool import spooled

    # A tree's check makes ~400,000 small objects and no cycles: the collector's passes over
    # them cost a third of a warm run.
    with spooled(args.source) as specs, collector_paused():
        verdicts, problems, _k = run_check(
            args.modules,
            specs,
            config=args.config,
            btf=args.btf,
            use_cache=specs == args.source,
            extra=args.plugin,
            blocked=args.block,
        )
    for problem in problems:
        print(f"ksql: error: {problem}", file=err)
    if args.format == "text":
        render_text(verdicts, out, quiet=args.quiet)
    else:
        RENDER[args.format](verdicts, out)
    out.flush()
    if problems:
        return EXIT_ERROR
    return EXIT_LOADS if all(v.loads for v in verdicts) else EXIT_WOULD_NOT
