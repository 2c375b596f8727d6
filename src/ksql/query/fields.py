"""The query language's vocabulary: fields (with the kind of value each takes), flags and
enumerated values. The compiler, completion and the docs all read these tables; keywords and
operators are the grammar's (:func:`ksql.query.parser.vocabulary`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ksql.model import TYPE_LETTERS, Bind, ExportKind, Kind


class ValueKind(Enum):
    STRING = "string"  # name, module, section, namespace, source: globs with = and !=
    NUMBER = "number"  # addr, size, crc: decimal or 0x hex; < <= > >= work
    LETTER = "letter"  # the type field: one nm letter
    CHOICE = "choice"  # bind, kind, export: one of a fixed list
    MODINFO = "modinfo"  # a .modinfo key of the row's module: license, import_ns, ...


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    kind: ValueKind
    help: str
    choices: tuple[str, ...] = ()


FIELDS: dict[str, Field] = {
    f.name: f
    for f in [
        Field("name", ValueKind.STRING, "symbol name"),
        Field("module", ValueKind.STRING, "defining or referencing module; vmlinux for the core"),
        Field("addr", ValueKind.NUMBER, "address (unknown when hidden or not given)"),
        Field("type", ValueKind.LETTER, "nm type letter", tuple(TYPE_LETTERS)),
        Field("size", ValueKind.NUMBER, "size in bytes"),
        Field("section", ValueKind.STRING, "ELF section"),
        Field("bind", ValueKind.CHOICE, "binding", tuple(b.label for b in Bind)),
        Field("kind", ValueKind.CHOICE, "function, object, ...", tuple(k.label for k in Kind)),
        Field("export", ValueKind.CHOICE, "export macro", tuple(e.label for e in ExportKind)),
        Field("namespace", ValueKind.STRING, "symbol namespace of the export"),
        Field("crc", ValueKind.NUMBER, "modversions CRC"),
        Field("source", ValueKind.STRING, "plugin:path of a source that gave a fact"),
        # The row's module's .modinfo (ELF sources); a key may hold several values.
        Field("license", ValueKind.MODINFO, "MODULE_LICENSE of the module"),
        Field("import_ns", ValueKind.MODINFO, "namespaces the module imports"),
        Field("depends", ValueKind.MODINFO, "modules it depends on"),
        Field("vermagic", ValueKind.MODINFO, "kernel release and options it was built for"),
        Field("author", ValueKind.MODINFO, "MODULE_AUTHOR"),
        Field("description", ValueKind.MODINFO, "MODULE_DESCRIPTION"),
        Field("version", ValueKind.MODINFO, "MODULE_VERSION"),
        Field("srcversion", ValueKind.MODINFO, "checksum of its sources"),
        Field("alias", ValueKind.MODINFO, "MODULE_ALIAS / device table aliases"),
        Field("firmware", ValueKind.MODINFO, "MODULE_FIRMWARE"),
        Field("intree", ValueKind.MODINFO, "Y for in-tree modules"),
        Field("softdep", ValueKind.MODINFO, "MODULE_SOFTDEP"),
    ]
}

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
