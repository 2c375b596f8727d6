"""The query language's vocabulary: fields (the catalog's columns, from the schema on
:class:`~ksql.model.Symbol`, plus the module's ``.modinfo`` keys), flags and enumerated
values. The compiler, completion and the docs all read these tables; keywords and operators
are the grammar's (:func:`ksql.query.parser.vocabulary`).
"""

from __future__ import annotations

from ksql.model import COLUMNS
from ksql.schema import ValueKind
from ksql.values import frozen

__all__ = ["FIELDS", "FLAGS", "SITE_COLUMNS", "Field", "ValueKind"]


@frozen
class Field:
    name: str
    kind: ValueKind
    help: str
    choices: tuple[str, ...] = ()
    column: str = ""  # the catalog column it reads ("" for .modinfo keys)


# The row's module's .modinfo (ELF sources); a key may hold several values.
_MODINFO = {
    "license": "MODULE_LICENSE of the module",
    "import_ns": "namespaces the module imports",
    "depends": "modules it depends on",
    "vermagic": "kernel release and options it was built for",
    "author": "MODULE_AUTHOR",
    "description": "MODULE_DESCRIPTION",
    "version": "MODULE_VERSION",
    "srcversion": "checksum of its sources",
    "alias": "MODULE_ALIAS / device table aliases",
    "firmware": "MODULE_FIRMWARE",
    "intree": "Y for in-tree modules",
    "softdep": "MODULE_SOFTDEP",
}

FIELDS: dict[str, Field] = {
    c.field: Field(c.field, c.kind, c.help, c.choices, c.name)
    for c in COLUMNS
    if c.kind is not ValueKind.FLAG
} | {key: Field(key, ValueKind.MODINFO, help) for key, help in _MODINFO.items()}

# ``file`` matches the path part of every SITE column: no column of its own.
SITE_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.kind is ValueKind.SITE)
FIELDS["file"] = Field(
    "file", ValueKind.PATH, "path of a site: exported_at, defined_at or declared_at"
)

FLAGS: dict[str, str] = {
    "exported": "exported to modules (any EXPORT_SYMBOL flavour)",
    "gpl": "exported GPL-only (EXPORT_SYMBOL_GPL and the historical GPL kinds)",
    "defined": "defined here (not an undefined reference)",
    "undefined": "an undefined reference (nm U, w, v): what a module imports",
    "global": "global binding",
    "local": "local binding (static)",
    "weak": "weak binding",
    "function": "code (nm T/t/W, ELF STT_FUNC)",
    "data": "data objects (nm D/d/B/b/R/r/..., ELF STT_OBJECT)",
}
