"""Arguments of ``ksql diff``, ``ksql export`` and ``ksql history`` (argparse only: the
command line must not import pyarrow, DuckDB or numpy before a command runs)."""

from __future__ import annotations

import argparse

DIFF_FORMATS = ("text", "short", "symbols", "json", "markdown")
POLICY_NAMES = ("suse", "rhel", "ubuntu")
HISTORY_FORMATS = ("table", "csv", "json", "sql")


def _plugin_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--plugin", action="append", default=[], metavar="MODULE")
    p.add_argument("--block", action="append", default=[], metavar="NAME")


def add_parsers(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    d = sub.add_parser(
        "diff",
        help="what changed between two kernels (exit 1 when a change fails the policy)",
        description="Compare two source sets: OLD NEW [QUERY], or -a SRC... -b SRC... [QUERY].",
    )
    d.add_argument("args", nargs="*", metavar="OLD NEW [QUERY]")
    d.add_argument(
        "-a", "--old", action="append", default=[], metavar="[TYPE:]PATH",
        help="a source of the old kernel (repeatable)",
    )  # fmt: skip
    d.add_argument(
        "-b", "--new", action="append", default=[], metavar="[TYPE:]PATH",
        help="a source of the new kernel (repeatable)",
    )  # fmt: skip
    d.add_argument(
        "--policy", choices=POLICY_NAMES, default="suse",
        help="which changes fail: as SUSE ksymvers, RHEL check-kabi or Ubuntu abi-check "
        "(default: suse)",
    )  # fmt: skip
    d.add_argument(
        "-r", "--rules", metavar="FILE",
        help="kABI severity rules in ksymvers' format: [MODULE|NAMESPACE|SYMBOL] PATTERN PASS|FAIL",
    )  # fmt: skip
    d.add_argument("-f", "--format", choices=DIFF_FORMATS, default="text")
    _plugin_options(d)

    e = sub.add_parser(
        "export", parents=[common], help="write the catalog as Parquet (one file per kernel)"
    )
    e.add_argument("dir", metavar="DIR", help="dataset directory (release=…/arch=…/ below)")
    e.add_argument("--format", choices=("parquet",), default="parquet")
    e.add_argument("--release", help="kernel release (default: from vermagic or the paths)")
    e.add_argument("--arch", help="architecture (default: the release's Debian flavour suffix)")
    e.add_argument("--distro-version", default="", help="package version, e.g. 6.1.176-1")

    h = sub.add_parser("history", help="a query over many kernels' Parquet files, on DuckDB")
    h.add_argument("dir", metavar="DIR", help="a dataset directory written by ksql export")
    h.add_argument("query", nargs="?", default="", help="the query language (default: all)")
    h.add_argument(
        "--by", choices=("kernel", "name"), default="kernel",
        help="kernel: matching rows per kernel; name: each name's first and last kernel "
        "(since when is X exported)",
    )  # fmt: skip
    h.add_argument("-f", "--format", choices=HISTORY_FORMATS, default="table")
    h.add_argument(
        "--save", metavar="DB",
        help="first write DIR's rows to the DuckDB file DB as one table sorted by name "
        "(then ksql history DB answers a name in milliseconds)",
    )  # fmt: skip
