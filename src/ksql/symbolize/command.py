"""``ksql addr`` and ``ksql symbolize``: options in, a :class:`Symbolizer` built from the
catalog and the module files, frames resolved, text or JSON out."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from ksql.catalog import Catalog
from ksql.errors import KsqlError
from ksql.symbolize.bases import kernel_offset, module_bases, offset_from_kallsyms
from ksql.symbolize.resolve import Frame, Symbolizer
from ksql.symbolize.source import Site, SourceFinder
from ksql.symbolize.spec import Location, parse_location
from ksql.symbolize.trace import decode

EXIT_MATCH, EXIT_NONE = 0, 1


def build(catalog: Catalog, args: argparse.Namespace, text: Sequence[str] = ()) -> Symbolizer:
    from ksql.symbolize.kernel_table import KernelTable

    kernel = KernelTable(catalog)
    from ksql.symbolize.snapshot import SnapshotModules

    snapshot = SnapshotModules(catalog)
    sym = Symbolizer(
        kernel,
        module_paths=[Path(p) for p in args.modules],
        snapshot=snapshot if len(snapshot) else None,
    )
    if args.kaslr_offset:
        try:
            sym.kaslr = int(args.kaslr_offset, 16)
        except ValueError:
            raise KsqlError(f"--kaslr-offset {args.kaslr_offset}: expected a hex number") from None
    elif args.kallsyms:
        kallsyms = _read(args.kallsyms)
        sym.kaslr = offset_from_kallsyms(kallsyms, kernel.bound("_text"), args.kallsyms)
    else:
        sym.kaslr = kernel_offset(text) or 0
    sym.bases = module_bases(text)
    if args.proc_modules:
        sym.bases.update(module_bases(_read(args.proc_modules).splitlines()))
    return sym


def _bytes_through(stdin: TextIO, out: TextIO) -> None:
    """Logs are not always UTF-8 (a console's line noise): undecodable bytes pass through
    unchanged instead of stopping the decode."""
    for stream in (stdin, out):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="surrogateescape")


def _read(path: str) -> str:
    try:
        return Path(path).read_text(errors="surrogateescape")
    except OSError as exc:
        raise KsqlError(f"{path}: cannot read: {exc.strerror or exc}") from exc


def frame_json(frame: Frame | None, site: Site | None = None) -> dict[str, object]:
    """A frame's JSON fields; ``inlined`` lists the inlined calls holding the address,
    innermost first: each function's name and where its caller called it (``source`` is
    the line inside the innermost one, as addr2line's first line)."""
    if frame is None:
        return {}
    site = site or Site()
    return {
        "name": frame.name,
        "offset": frame.offset,
        "size": frame.size,
        "module": frame.module or None,
        "build_id": frame.build_id or None,
        "address": None if frame.address is None else f"{frame.address:#x}",
        "section": frame.section or None,
        "section_offset": frame.section_offset if frame.section else None,
        "source": site.source or None,
        "inlined": [{"function": i.name, "call_source": i.call_source} for i in site.inlined],
        "defined_at": site.defined_at or None,
    }


def run_addr(
    catalog: Catalog, args: argparse.Namespace, stdin: TextIO, out: TextIO, err: TextIO
) -> int:
    """Each location (argument or stdin line) resolved both ways."""
    _bytes_through(stdin, out)
    items = list(args.location) or [ln for ln in stdin.read().splitlines() if ln.strip()]
    sym = build(catalog, args)
    sources = SourceFinder(catalog, sym)
    parsed: dict[str, Location | KsqlError] = {}
    for item in items:
        try:
            parsed[item] = parse_location(item)
        except KsqlError as exc:
            parsed[item] = exc
    sym.kernel.prefetch(p.name for p in parsed.values() if isinstance(p, Location) and p.name)
    found = 0
    results: list[dict[str, object]] = []
    for item in items:
        try:
            loc = parsed[item]
            if isinstance(loc, KsqlError):
                raise loc
            if loc.address is not None:
                frame = sym.describe([loc.address])[0]
            else:
                frame = sym.locate(loc.name, loc.offset, loc.size, loc.module, loc.build_id)
        except KsqlError as exc:
            print(f"ksql: {exc}", file=err)
            results.append({"input": item, "error": str(exc)})
            continue
        if frame is None:
            print(f"ksql: {item}: not inside any known symbol", file=err)
            results.append({"input": item, "error": "not inside any known symbol"})
            continue
        found += 1
        site = sources.source_of(frame)
        if args.format == "json":
            results.append({"input": item, **frame_json(frame, site)})
        else:
            where = (
                f"{frame.address:#x}"
                if frame.address is not None
                else (f"{frame.section}+{frame.section_offset:#x}")
            )
            tail = (
                f" ({site.locations()})"
                if site.source
                else (f" (defined at {site.defined_at})" if site.defined_at else "")
            )
            out.write(f"{where} {frame.text()}{tail}\n")
    if args.format == "json":
        json.dump(results, out, indent=1)
        out.write("\n")
    return EXIT_MATCH if found == len(items) and items else EXIT_NONE


def run_symbolize(catalog: Catalog, args: argparse.Namespace, stdin: TextIO, out: TextIO) -> int:
    """The whole log from stdin decoded to stdout."""
    _bytes_through(stdin, out)
    lines = stdin.readlines()
    sym = build(catalog, args, lines)
    sources = SourceFinder(catalog, sym)
    decoded = decode(lines, sym, sources.source_of)
    if args.format == "json":
        frames = [
            {
                "line": d.line,
                "text": d.text.rstrip("\n"),
                "reliable": d.reliable,
                **frame_json(d.frame, d.site),
                **({"error": d.error} if d.error else {}),
            }
            for d in decoded
            if d.frame is not None or d.error
        ]
        json.dump({"frames": frames}, out, indent=1)
        out.write("\n")
    else:
        out.writelines(d.text for d in decoded)
    return EXIT_MATCH if any(d.frame for d in decoded) else EXIT_NONE


def main(args: argparse.Namespace) -> int:
    """``ksql addr`` and ``ksql symbolize``: load the sources, then answer on stdio."""
    import sys

    from ksql.loading import load_catalog
    from ksql.pluginmanager import load_plugins
    from ksql.spool import spooled

    with spooled(args.source) as specs:
        catalog = load_catalog(specs, load_plugins(args.plugin, args.block))
    if args.command == "addr":
        return run_addr(catalog, args, sys.stdin, sys.stdout, sys.stderr)
    return run_symbolize(catalog, args, sys.stdin, sys.stdout)
