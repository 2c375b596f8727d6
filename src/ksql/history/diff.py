"""What changed between two kernels: a full outer join on the symbol name of two catalogs
(Arrow tables of :mod:`ksql.history.arrow`), computed by DuckDB over whole columns.

Each side is first reduced to one record per name over its defined rows (references,
nm ``U``, are what a module imports, not what a kernel offers): whether any row is exported
and with which kind, CRC and namespace (the export's row), the owner (the exporting module,
else the module of a global row, else any), the nm letter of the most public row, whether a
global row exists, whether a row has an address, and the BTF declaration. The change kinds
are then comparisons of the two records; :data:`KINDS` lists them in report order.
"""

from __future__ import annotations

import re
from typing import Any

from ksql.kernel.namespaces import MODULE_PREFIX
from ksql.model import ExportKind
from ksql.values import frozen

# Report order within one name; the value is what the kind means.
KINDS: dict[str, str] = {
    "added": "the symbol appears",
    "removed": "the symbol disappears",
    "exported": "an existing symbol becomes exported",
    "unexported": "a symbol stays but is no longer exported",
    "crc": "the modversions CRC of the export changed",
    "plain-to-gpl": "EXPORT_SYMBOL became EXPORT_SYMBOL_GPL",
    "gpl-to-plain": "EXPORT_SYMBOL_GPL became EXPORT_SYMBOL",
    "namespace-added": "the export gained a namespace",
    "namespace-removed": "the export left its namespace",
    "namespace-changed": "the export moved to another namespace",
    "modules-changed": "the module list of EXPORT_SYMBOL_FOR_MODULES changed",
    "moved": "another module (or vmlinux) owns it",
    "type": "the nm type letter changed",
    "static": "a global symbol became local (static)",
    "inlined": "a function has no symbol any more but is still declared (inlined)",
    "decl": "the C declaration (BTF) changed",
}

# EXPORT_SYMBOL_FOR_MODULES writes the namespace "module:m1,m2" (ksql.kernel.namespaces).
MODULES_NS = MODULE_PREFIX

_GPL = ", ".join(f"'{k.label}'" for k in ExportKind if k.gpl_only)
_PLAIN = ", ".join(
    f"'{k.label}'" for k in ExportKind if k.value >= ExportKind.EXPORT_SYMBOL and not k.gpl_only
)
_PUBLIC = "bind IN ('global', 'weak', 'unique')"


@frozen
class Change:
    """One change of one symbol. ``module`` and ``namespace`` are the old side's (the new
    side's for an added symbol): what severity rules match, as ksymvers matches them."""

    kind: str
    name: str
    old: str | None
    new: str | None
    module: str
    namespace: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "old": self.old,
            "new": self.new,
            "module": self.module,
            "namespace": self.namespace,
        }


# What a side's record reads of a defined row (besides its name): rows equal in these
# columns give equal records.
_FACTS = "module, type, bind, kind, export, namespace, crc, addr IS NOT NULL, decl"


def _digest(table: str, restricted: bool) -> str:
    """Per name (by its hash), the sum of its defined rows' hashes over :data:`_FACTS` and
    their count: a name whose digest is the same on both sides has the same record on both,
    so only the few names whose digests differ are reduced and compared. Grouping 917 k rows
    by a 64-bit hash instead of reducing every name cut a diff of two full kernels from
    9.0 s to 1.7 s (same run, load average 5). A hash collision only makes a name compared
    that needed not be."""
    where = "AND name IN (SELECT name FROM selected)" if restricted else ""
    return f"""
        SELECT hash(name) AS k, sum(hash({_FACTS})) AS h, count(*) AS c
        FROM {table} WHERE NOT undefined {where} GROUP BY k
    """


def _side(table: str, restricted: bool) -> str:
    where = "AND hash(name) IN (SELECT k FROM changed)"
    if restricted:
        where += " AND name IN (SELECT name FROM selected)"
    return f"""
        SELECT name,
            bool_or(export <> 'none') AS exported,
            max(export::VARCHAR) FILTER (WHERE export <> 'none') AS export,
            max(crc) FILTER (WHERE export <> 'none') AS crc,
            max(namespace::VARCHAR) FILTER (WHERE export <> 'none') AS namespace,
            coalesce(max(module::VARCHAR) FILTER (WHERE export <> 'none'),
                     max(module::VARCHAR) FILTER (WHERE {_PUBLIC}),
                     min(module::VARCHAR)) AS owner,
            bool_or(export <> 'none' OR {_PUBLIC}) AS public,
            bool_or(bind = 'local') AS local,
            arg_max(type::VARCHAR, (export <> 'none')::INT * 2 + ({_PUBLIC})::INT)
                FILTER (WHERE type IS NOT NULL AND type <> '?') AS type,
            count(DISTINCT type) FILTER (WHERE type IS NOT NULL AND type <> '?') AS types,
            bool_or(addr IS NOT NULL) AS placed,
            bool_or(kind = 'function' AND addr IS NOT NULL) AS placed_function,
            max(decl::VARCHAR) AS decl
        FROM {table} WHERE NOT undefined {where} GROUP BY name
    """


def _hex(column: str) -> str:
    return f"printf('0x%08x', {column})"


# (kind, condition over o./n., old value, new value); o.name / n.name null = absent.
_RULES: list[tuple[str, str, str, str]] = [
    ("added", "o.name IS NULL", "NULL", "n.owner"),
    ("removed", "n.name IS NULL", "o.owner", "NULL"),
    ("exported", "both AND n.exported AND NOT o.exported", "NULL", "n.export"),
    ("unexported", "both AND o.exported AND NOT n.exported", "o.export", "NULL"),
    ("crc", "exports AND o.crc <> n.crc", _hex("o.crc"), _hex("n.crc")),
    (
        "plain-to-gpl",
        f"exports AND o.export IN ({_PLAIN}) AND n.export IN ({_GPL})",
        "o.export",
        "n.export",
    ),
    (
        "gpl-to-plain",
        f"exports AND o.export IN ({_GPL}) AND n.export IN ({_PLAIN})",
        "o.export",
        "n.export",
    ),
    (
        "namespace-added",
        "exports AND o.namespace IS NULL AND n.namespace IS NOT NULL",
        "NULL",
        "n.namespace",
    ),
    (
        "namespace-removed",
        "exports AND o.namespace IS NOT NULL AND n.namespace IS NULL",
        "o.namespace",
        "NULL",
    ),
    (
        "namespace-changed",
        f"exports AND o.namespace <> n.namespace AND NOT (o.namespace LIKE '{MODULES_NS}%'"
        f" AND n.namespace LIKE '{MODULES_NS}%')",
        "o.namespace",
        "n.namespace",
    ),
    (
        "modules-changed",
        f"exports AND o.namespace <> n.namespace AND o.namespace LIKE '{MODULES_NS}%'"
        f" AND n.namespace LIKE '{MODULES_NS}%'",
        f"substr(o.namespace, {len(MODULES_NS) + 1})",
        f"substr(n.namespace, {len(MODULES_NS) + 1})",
    ),
    ("moved", "both AND o.owner <> n.owner", "o.owner", "n.owner"),
    # Static duplicates (1,125 names in Debian's 6.1 System.map) carry several letters: the
    # letter of such a name is no single fact to compare.
    ("type", "both AND o.types = 1 AND n.types = 1 AND o.type <> n.type", "o.type", "n.type"),
    ("static", "both AND o.public AND NOT n.public AND n.local", "'global'", "'local'"),
    (
        "inlined",
        "both AND o.placed_function AND NOT n.placed AND (SELECT placed FROM new_has_addr)",
        "'function'",
        "NULL",
    ),
    ("decl", "both AND o.decl <> n.decl", "o.decl", "n.decl"),
]
assert [k for k, *_ in _RULES] == list(KINDS)


_SIDE_COLUMNS = [
    "name",
    "exported",
    "export",
    "crc",
    "namespace",
    "owner",
    "public",
    "local",
    "type",
    "types",
    "placed",
    "placed_function",
    "decl",
]


def diff_sql(restricted: bool) -> str:
    """The query over tables ``old_t`` and ``new_t`` (and ``selected``, the names a query
    picked on either side, when ``restricted``)."""
    selects = []
    for order, (kind, cond, old, new) in enumerate(_RULES):
        side = "n" if kind == "added" else "o"
        cond = cond.replace("exports", "both AND o.exported AND n.exported")
        cond = cond.replace("both", "o.name IS NOT NULL AND n.name IS NOT NULL")
        text = (
            f"SELECT {order} AS k, coalesce(o.name, n.name) AS name, {old} AS old, {new} AS new,"
            f" {side}.owner AS module, {side}.namespace AS namespace FROM j WHERE {cond}"
        )
        selects.append(_PREFIXED.sub(r"\1_", text))
    joined = ", ".join(f"{s}.{c} AS {s}_{c}" for s in "on" for c in _SIDE_COLUMNS)
    return f"""
        WITH od AS ({_digest("old_t", restricted)}),
             nd AS ({_digest("new_t", restricted)}),
             changed AS MATERIALIZED (
                 SELECT coalesce(od.k, nd.k) AS k FROM od FULL OUTER JOIN nd ON od.k = nd.k
                 WHERE od.h IS DISTINCT FROM nd.h OR od.c IS DISTINCT FROM nd.c),
             o AS ({_side("old_t", restricted)}),
             n AS ({_side("new_t", restricted)}),
             new_has_addr AS (SELECT coalesce(bool_or(addr IS NOT NULL), false) AS placed
                              FROM new_t),
             j AS MATERIALIZED (SELECT {joined} FROM o FULL OUTER JOIN n ON o.name = n.name)
        SELECT * FROM ({" UNION ALL ".join(selects)}) ORDER BY name, k
    """


_PREFIXED = re.compile(r"\b([on])\.(?=[a-z])")


def diff_tables(old: Any, new: Any, selected: Any = None) -> list[Change]:
    """Changes from Arrow table ``old`` to ``new`` (:func:`ksql.history.arrow.catalog_table`'s
    schema); with ``selected`` (an Arrow array or a list of names) only those names."""
    import duckdb
    import pyarrow as pa

    con = duckdb.connect()
    try:
        con.register("old_t", old)
        con.register("new_t", new)
        if selected is not None:
            names = selected if isinstance(selected, pa.Array) else pa.array(list(selected))
            con.register("selected", pa.table({"name": names.cast(pa.string())}))
        rows = con.execute(diff_sql(selected is not None)).fetchall()
    finally:
        con.close()
    kinds = list(KINDS)
    return [Change(kinds[k], *rest) for k, *rest in rows]
