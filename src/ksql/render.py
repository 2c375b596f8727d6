"""Query results out: ``nm`` lines, names, count, JSON, CSV, or a table on a terminal.
Each renderer takes the catalog and the result rows and writes to a text stream.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from typing import TextIO

import numpy as np
import numpy.typing as npt

from ksql.catalog import Catalog
from ksql.model import VMLINUX, Symbol
from ksql.query.fields import FIELDS
from ksql.schema import ValueKind

Rows = npt.NDArray[np.intp]
CSV_FIELDS = tuple(Symbol("").as_dict())  # the query language's field names, in order
MODINFO_KEYS = tuple(f.name for f in FIELDS.values() if f.kind is ValueKind.MODINFO)


def shown(text: str) -> str:
    """``text`` safe for a terminal: names are bytes in ELF, so a crafted one may hold
    control characters (escape sequences) or bytes that are not UTF-8 (kept as surrogates
    by the decoders). Those print as ``\\xNN``; everything printable is unchanged."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def _escape(c: str) -> str:
    code = ord(c)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else c.encode("unicode_escape").decode("ascii")


def render_nm(catalog: Catalog, rows: Rows, out: TextIO) -> None:
    cols = catalog.columns()
    modules = [shown(m) for m in catalog.modules.strings]
    names, addrs, types, mods, bits = cols.name, cols.addr, cols.type, cols.module, cols.bits
    known = cols["addr.known"]
    write = out.write
    for r in rows.tolist():
        a = int(addrs[r]) if known[r] else None
        module = modules[mods[r]]
        tail = "\n" if module == VMLINUX else f"\t[{module}]\n"
        name = names[r]
        if not name.isprintable():
            name = shown(name)
        digits = 8 if bits[r] == 32 else 16  # as nm prints a file of that ELF class
        write(f"{' ' * digits if a is None else f'{a:0{digits}x}'} {chr(types[r])} {name}{tail}")


def render_names(catalog: Catalog, rows: Rows, out: TextIO) -> None:
    names = catalog.columns().name
    for r in rows.tolist():
        out.write(shown(names[r]) + "\n")


def render_count(catalog: Catalog, rows: Rows, out: TextIO) -> None:
    out.write(f"{len(rows)}\n")


def _records(catalog: Catalog, rows: Rows) -> Iterator[dict[str, object]]:
    """Each row keyed by every query field: the columns, the flags, and the row's module's
    ``.modinfo`` keys (null where the module has none)."""
    for sym in catalog.symbols(rows.tolist()):
        record = sym.as_dict()
        info = catalog.module_info.get(sym.module, {})
        for key in MODINFO_KEYS:
            record[key] = info.get(key)
        yield record


def render_json(catalog: Catalog, rows: Rows, out: TextIO) -> None:
    out.write("[")
    for i, record in enumerate(_records(catalog, rows)):
        out.write(",\n " if i else "\n ")
        out.write(json.dumps(record))  # JSON escapes control characters itself
    out.write("\n]\n" if len(rows) else "]\n")


def render_ndjson(catalog: Catalog, rows: Rows, out: TextIO) -> None:
    """One JSON object per line, for streams (``jq -c``, log pipelines)."""
    for record in _records(catalog, rows):
        out.write(json.dumps(record) + "\n")


def render_csv(catalog: Catalog, rows: Rows, out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for sym in catalog.symbols(rows.tolist()):
        d = sym.as_dict()
        d["source"] = ";".join(sym.sources)
        writer.writerow([_cell(d[k]) for k in CSV_FIELDS])


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return shown(value) if isinstance(value, str) else value


TABLE_COLUMNS = ("addr", "type", "name", "module", "export", "namespace", "crc")
# A source tree's sites, shown when a row of the answer has one ("path:line:col").
SITE_COLUMNS = ("exported_at", "defined_at", "declared_at")


ELLIPSIS = "…"
# Columns a narrow terminal may cut, in this order, each down to its floor: the export kind
# goes last (a cut "EXPORT_SYMBOL_GPL" would hide the answer most queries are about). A site
# loses its folders first, never its line ("…/dma-buf.c:712:1").
_CUTTABLE = (("declared_at", 16), ("defined_at", 16), ("exported_at", 16), ("namespace", 9),
             ("name", 20), ("module", 8), ("export", 12))  # fmt: skip


def render_table(
    catalog: Catalog,
    rows: Rows,
    out: TextIO,
    *,
    width: int | None = None,
    color: bool | None = None,
) -> None:
    """Aligned columns; with ``width`` (a terminal's), long cells are cut with ``…`` so each
    line fits (``--wide`` gives no width). The header is bold when ``color`` (default: when
    ``out`` is a terminal). Plain string formatting: 25 k rows in well under a second."""
    symbols = list(catalog.symbols(rows.tolist()))
    sites = tuple(c for c in SITE_COLUMNS if any(getattr(s, c) for s in symbols))
    columns = TABLE_COLUMNS + sites
    cells: list[tuple[str, ...]] = [columns]
    for sym in symbols:
        cells.append(
            (
                "" if sym.addr is None else f"{sym.addr:016x}",
                sym.type,
                shown(sym.name),
                shown(sym.module),
                sym.export.label if sym.exported else "",
                shown(sym.namespace),
                "" if sym.crc is None else f"0x{sym.crc:08x}",
                *(shown(getattr(sym, c)) for c in sites),
            )
        )
    widths = [max(map(len, col)) for col in zip(*cells, strict=True)]
    if width is not None:
        widths = _fitted(columns, widths, width)
    if color is None:
        color = out.isatty()
    bold, reset = ("\033[1m", "\033[0m") if color else ("", "")
    left = {columns.index(c) for c in sites}
    for n, row in enumerate(cells):
        line = "  ".join(
            _cut(cell, w, i in left).rjust(w) if i == 0 else _cut(cell, w, i in left).ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        out.write(f"{bold}{line}{reset}\n" if n == 0 else line + "\n")


def _fitted(columns: tuple[str, ...], widths: list[int], limit: int) -> list[int]:
    """Column widths whose line fits ``limit`` when the floors allow it."""
    widths = list(widths)
    over = sum(widths) + 2 * (len(widths) - 1) - limit
    for column, floor in _CUTTABLE:
        if column not in columns:
            continue
        i = columns.index(column)
        cut = max(0, min(over, widths[i] - floor))
        widths[i] -= cut
        over -= cut
    return widths


def _cut(cell: str, w: int, site: bool = False) -> str:
    if len(cell) <= w:
        return cell
    if not site:
        return cell[: w - 1] + ELLIPSIS
    # A site keeps its file's name and line: "…/dma-buf.c:712:1", else the end that fits.
    tail = cell[cell.rfind("/") + 1 :]
    if len(tail) + 2 <= w:
        return f"{ELLIPSIS}/{tail}"
    return ELLIPSIS + cell[len(cell) - w + 1 :]


# The output formats: ``--format``, the REPL's ``.format`` and its completion read the keys.
RENDERERS: dict[str, Callable[[Catalog, Rows, TextIO], None]] = {
    "table": render_table,
    "json": render_json,
    "ndjson": render_ndjson,
    "csv": render_csv,
    "nm": render_nm,
    "names": render_names,
    "count": render_count,
}
