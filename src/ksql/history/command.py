"""The ``diff``, ``export`` and ``history`` commands: arguments in, the work done by
:mod:`ksql.history.diffcmd`, :mod:`ksql.history.parquet` and :mod:`ksql.history.query`,
results out."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import TextIO

from ksql.errors import KsqlError


def run_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ksql.pluginmanager import load_plugins

    plugins = load_plugins(args.plugin, args.block) if args.command != "history" else None
    if args.command == "diff":
        from ksql.history.diffcmd import DiffRequest, run_diff, sides_from_args

        old, new, query = sides_from_args(args.args, args.old, args.new)
        request = DiffRequest(
            old,
            new,
            query,
            args.policy,
            Path(args.rules) if args.rules else None,
            args.format,
        )
        return run_diff(request, plugins, out, err)
    if args.command == "export":
        return _export(args, plugins, out, err)
    return _history(args, out, err)


def _export(args: argparse.Namespace, plugins: object, out: TextIO, err: TextIO) -> int:
    from ksql.history.parquet import export_parquet, kernel_of
    from ksql.loading import load_catalog
    from ksql.spool import spooled

    with spooled(args.source) as specs:
        catalog = load_catalog(specs, plugins, use_cache=specs == args.source)  # type: ignore[arg-type]
    for problem in catalog.problems:
        print(f"ksql: warning: {problem}", file=err)
    kernel = kernel_of(catalog, args.release, args.arch, args.distro_version)
    path = export_parquet(catalog, Path(args.dir), kernel)
    out.write(f"{path}: {len(catalog)} rows\n")
    return 0


def _history(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ksql.history.query import run_history

    source = Path(args.dir)
    if args.save:
        from ksql.history.table import build_table

        stats = build_table(source, Path(args.save))
        err.write(
            f"{args.save}: {stats.rows:,} rows of {stats.kernels} "
            f"kernel{'s' if stats.kernels != 1 else ''}, sorted by name"
            f" ({stats.ranges} name ranges)\n"
        )
        if not args.query:
            return 0
        source = Path(args.save)
    result = run_history(source, args.query, args.by)
    if args.format == "sql":
        out.write(result.sql + "\n")
    elif args.format == "json":
        json.dump([dict(zip(result.columns, r, strict=True)) for r in result.rows], out, indent=1)
        out.write("\n")
    elif args.format == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(result.columns)
        writer.writerows(result.rows)
    else:
        cells = [result.columns, *[tuple(str(v) for v in r) for r in result.rows]]
        widths = [max(len(row[i]) for row in cells) for i in range(len(result.columns))]
        for row in cells:
            out.write("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
            out.write("\n")
    if args.by == "kernel":
        return 0 if any(r[-1] for r in result.rows) else 1
    if not result.rows:
        return 1
    return 0


__all__ = ["KsqlError", "run_command"]
