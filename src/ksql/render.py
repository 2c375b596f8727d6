"""Query results out: ``nm`` lines, names, count, JSON, CSV, or a table on a terminal.
Each renderer takes the catalog and the result rows and writes to a text stream.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from typing import TextIO

import numpy as np
import numpy.typing as npt

from ksql.batch import ADDR_NONE
from ksql.catalog import Catalog
from ksql.model import VMLINUX, Symbol

Rows = npt.NDArray[np.intp]
FORMATS = ("table", "json", "csv", "nm", "names", "count")
CSV_FIELDS = (
    "name",
    "module",
    "addr",
    "type",
    "size",
    "section",
    "bind",
    "kind",
    "export",
    "namespace",
    "crc",
    "exported",
    "gpl",
    "defined",
    "undefined",
    "source",
)


def nm_line(sym: Symbol) -> str:
    """kallsyms-style: ``ADDR TYPE NAME`` plus ``<TAB>[MODULE]`` outside vmlinux; blank
    address when unknown, as nm prints undefined symbols."""
    addr = " " * 16 if sym.addr is None else f"{sym.addr:016x}"
    line = f"{addr} {sym.type} {sym.name}"
    if sym.module != VMLINUX:
        line += f"\t[{sym.module}]"
    return line


def render_nm(catalog: Catalog, rows: Rows, out: TextIO) -> None:
    cols = catalog.columns()
    modules = catalog.modules.strings
    names, addrs, types, mods = cols.name, cols.addr, cols.type, cols.module
    blank = " " * 16
    none = int(ADDR_NONE)
    write = out.write
    for r in rows.tolist():
        a = int(addrs[r])
        module = modules[mods[r]]
        tail = "\n" if module == VMLINUX else f"\t[{module}]\n"
        write(f"{blank if a == none else f'{a:016x}'} {chr(types[r])} {names[r]}{tail}")


def render_names(catalog: Catalog, rows: Rows, out: TextIO) -> None:
    names = catalog.columns().name
    for r in rows.tolist():
        out.write(names[r] + "\n")


def render_count(catalog: Catalog, rows: Rows, out: TextIO) -> None:
    out.write(f"{len(rows)}\n")


def render_json(catalog: Catalog, rows: Rows, out: TextIO) -> None:
    out.write("[")
    for i, sym in enumerate(catalog.symbols(rows.tolist())):
        out.write(",\n " if i else "\n ")
        out.write(json.dumps(sym.as_dict()))
    out.write("\n]\n" if len(rows) else "]\n")


def render_csv(catalog: Catalog, rows: Rows, out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for sym in catalog.symbols(rows.tolist()):
        d = sym.as_dict()
        d["source"] = ";".join(sym.sources)
        d["addr"] = "" if sym.addr is None else f"0x{sym.addr:x}"
        writer.writerow(["" if d[k] is None else d[k] for k in CSV_FIELDS])


def render_table(catalog: Catalog, rows: Rows, out: TextIO) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False)
    for title, justify in (
        ("addr", "right"),
        ("type", "center"),
        ("name", "left"),
        ("module", "left"),
        ("export", "left"),
        ("namespace", "left"),
        ("crc", "left"),
    ):
        table.add_column(title, justify=justify)  # type: ignore[arg-type]
    for sym in catalog.symbols(rows.tolist()):
        table.add_row(
            "" if sym.addr is None else f"{sym.addr:016x}",
            sym.type,
            sym.name,
            sym.module,
            "" if not sym.exported else sym.export.label,
            sym.namespace,
            "" if sym.crc is None else f"0x{sym.crc:08x}",
        )
    Console(file=out, soft_wrap=True).print(table)


RENDERERS: dict[str, Callable[[Catalog, Rows, TextIO], None]] = {
    "table": render_table,
    "json": render_json,
    "csv": render_csv,
    "nm": render_nm,
    "names": render_names,
    "count": render_count,
}
