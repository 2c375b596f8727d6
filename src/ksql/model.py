"""The symbol model: one immutable :class:`Symbol` per definition or reference, its enums,
and the nm type-letter table that gives each letter its binding, kind and meaning.

``Symbol``'s fields are the catalog's columns, declared once (:mod:`ksql.schema`): the
catalog stores them in columns and materializes a ``Symbol`` only for the rows a query
returns. Enum values are small ints so columns can hold them as ``uint8`` codes.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
import numpy.typing as npt

from ksql.kernel.modules import VMLINUX
from ksql.schema import (
    INT_NONE,
    ColumnSpec,
    Encoding,
    Merge,
    ValueKind,
    column,
    columns_of,
)
from ksql.values import frozen

__all__ = ["COLUMNS", "TYPE_LETTERS", "VMLINUX", "Bind", "ExportKind", "Kind", "Symbol"]


class Bind(IntEnum):
    """ELF-style binding. ``UNKNOWN`` where the source cannot tell (kallsyms module lines)."""

    UNKNOWN = 0
    GLOBAL = 1
    LOCAL = 2
    WEAK = 3
    UNIQUE = 4

    @property
    def label(self) -> str:
        return self.name.lower()


class Kind(IntEnum):
    """What the symbol names, as far as the source tells."""

    UNKNOWN = 0
    FUNCTION = 1
    OBJECT = 2
    ABSOLUTE = 3
    COMMON = 4
    DEBUG = 5
    SECTION = 6
    FILE = 7
    TLS = 8
    NOTYPE = 9

    @property
    def label(self) -> str:
        return self.name.lower()


class ExportKind(IntEnum):
    """How a symbol is exported to modules.

    ``EXPORTED`` means "exported, flavour unknown": a ``__ksymtab_<name>`` label or an
    upper-case kallsyms module letter says the symbol is exported but not whether GPL-only.
    The ``_UNUSED`` kinds and ``_GPL_FUTURE`` are historical (removed in 5.13) but still occur
    in old Module.symvers files.
    """

    NONE = 0
    EXPORTED = 1
    EXPORT_SYMBOL = 2
    EXPORT_SYMBOL_GPL = 3
    EXPORT_SYMBOL_GPL_FUTURE = 4
    EXPORT_UNUSED_SYMBOL = 5
    EXPORT_UNUSED_SYMBOL_GPL = 6

    @property
    def label(self) -> str:
        if self is ExportKind.NONE:
            return "none"
        if self is ExportKind.EXPORTED:
            return "exported"
        return self.name

    @property
    def gpl_only(self) -> bool:
        return self in _GPL_EXPORTS

    @classmethod
    def parse(cls, text: str) -> ExportKind | None:
        """The kind named by ``text`` (``EXPORT_SYMBOL_GPL``, case-insensitive), or None."""
        upper = text.upper()
        for kind in cls:
            if kind.label.upper() == upper:
                return kind
        return None


_GPL_EXPORTS = frozenset(
    {
        ExportKind.EXPORT_SYMBOL_GPL,
        ExportKind.EXPORT_SYMBOL_GPL_FUTURE,
        ExportKind.EXPORT_UNUSED_SYMBOL_GPL,
    }
)


@frozen
class TypeLetter:
    """One nm type letter: its binding and kind, and what nm(1) says it means."""

    letter: str
    bind: Bind
    kind: Kind
    undefined: bool
    meaning: str


def _letters() -> dict[str, TypeLetter]:
    # binutils nm(1) "symbol type" table; lowercase is local, uppercase global (except U,
    # u, w, v: see the man page). W/w and V/v are weak; nm prints V/v for weak objects, so
    # W/w are weak non-objects -- in a kernel, functions.
    rows: list[tuple[str, Bind, Kind, bool, str]] = [
        ("A", Bind.GLOBAL, Kind.ABSOLUTE, False, "absolute value"),
        ("a", Bind.LOCAL, Kind.ABSOLUTE, False, "absolute value (local)"),
        ("B", Bind.GLOBAL, Kind.OBJECT, False, "uninitialized data (bss)"),
        ("b", Bind.LOCAL, Kind.OBJECT, False, "uninitialized data (bss, local)"),
        ("C", Bind.GLOBAL, Kind.COMMON, False, "common symbol"),
        ("c", Bind.LOCAL, Kind.COMMON, False, "common symbol (local)"),
        ("D", Bind.GLOBAL, Kind.OBJECT, False, "initialized data"),
        ("d", Bind.LOCAL, Kind.OBJECT, False, "initialized data (local)"),
        ("G", Bind.GLOBAL, Kind.OBJECT, False, "initialized small data"),
        ("g", Bind.LOCAL, Kind.OBJECT, False, "initialized small data (local)"),
        ("i", Bind.GLOBAL, Kind.FUNCTION, False, "indirect function (ifunc)"),
        ("I", Bind.GLOBAL, Kind.UNKNOWN, False, "indirect reference to another symbol"),
        ("N", Bind.LOCAL, Kind.DEBUG, False, "debugging symbol"),
        ("n", Bind.LOCAL, Kind.DEBUG, False, "read-only non-data section (debug)"),
        ("p", Bind.LOCAL, Kind.UNKNOWN, False, "stack unwind section"),
        ("R", Bind.GLOBAL, Kind.OBJECT, False, "read-only data"),
        ("r", Bind.LOCAL, Kind.OBJECT, False, "read-only data (local)"),
        ("S", Bind.GLOBAL, Kind.OBJECT, False, "uninitialized small data"),
        ("s", Bind.LOCAL, Kind.OBJECT, False, "uninitialized small data (local)"),
        ("T", Bind.GLOBAL, Kind.FUNCTION, False, "text (code)"),
        ("t", Bind.LOCAL, Kind.FUNCTION, False, "text (code, local)"),
        ("U", Bind.GLOBAL, Kind.UNKNOWN, True, "undefined: resolved when linked or loaded"),
        ("u", Bind.UNIQUE, Kind.OBJECT, False, "unique global symbol (GNU extension)"),
        ("V", Bind.WEAK, Kind.OBJECT, False, "weak object with a default value"),
        ("v", Bind.WEAK, Kind.OBJECT, True, "weak object, undefined"),
        ("W", Bind.WEAK, Kind.FUNCTION, False, "weak symbol with a default value"),
        ("w", Bind.WEAK, Kind.FUNCTION, True, "weak symbol, undefined"),
        ("-", Bind.UNKNOWN, Kind.DEBUG, False, "stabs debugging symbol"),
        ("?", Bind.UNKNOWN, Kind.UNKNOWN, False, "type unknown"),
    ]
    return {r[0]: TypeLetter(*r) for r in rows}


TYPE_LETTERS: dict[str, TypeLetter] = _letters()
UNKNOWN_TYPE = "?"


def _letter_table(attr: str, dtype: type) -> npt.NDArray[np.generic]:
    lut: npt.NDArray[np.generic] = np.zeros(256, dtype=dtype)
    for letter, info in TYPE_LETTERS.items():
        lut[ord(letter)] = getattr(info, attr)
    return lut


_BIND_LUT = _letter_table("bind", np.uint8)
_KIND_LUT = _letter_table("kind", np.uint8)
_UNDEF_LUT = _letter_table("undefined", np.bool_)


def bind_of_types(types: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """nm binding implied by each type letter (ASCII codes)."""
    return _BIND_LUT[types]  # type: ignore[return-value]


def kind_of_types(types: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    return _KIND_LUT[types]  # type: ignore[return-value]


def undefined_of_types(types: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    return _UNDEF_LUT[types]  # type: ignore[return-value]


@frozen
class Symbol:
    """One row of the catalog, materialized for a query result -- and the declaration of the
    catalog's columns: each field's ``column(...)`` says how it is stored, merged and queried.

    ``addr``, ``size`` and ``crc`` are None when no source knew them. ``sources`` lists
    ``plugin:path`` for every source that contributed a fact to this row.
    """

    name: str = column(
        object, default="", encoding=Encoding.PACKED, merge=Merge.KEY, help="symbol name"
    )
    module: str = column(
        np.uint32,
        default=VMLINUX,
        encoding=Encoding.INTERNED,
        merge=Merge.KEY,
        help="defining or referencing module; vmlinux for the core",
    )
    addr: int | None = column(
        np.uint64,
        default=None,
        nullable=True,
        kind=ValueKind.NUMBER,
        fmt="0x{:x}",  # JSON numbers lose 64-bit precision in jq and JavaScript
        help="address (unknown when hidden or not given)",
    )
    type: str = column(
        np.uint8,
        default=UNKNOWN_TYPE,
        unknown=ord(UNKNOWN_TYPE),
        kind=ValueKind.LETTER,
        choices=tuple(TYPE_LETTERS),
        help="nm type letter",
    )
    size: int | None = column(
        np.int64, default=None, unknown=INT_NONE, kind=ValueKind.NUMBER, help="size in bytes"
    )
    section: str = column(np.uint32, default="", encoding=Encoding.INTERNED, help="ELF section")
    bind: Bind = column(
        np.uint8,
        default=Bind.UNKNOWN,
        kind=ValueKind.CHOICE,
        enum=Bind,
        from_type=bind_of_types,
        help="binding",
    )
    kind: Kind = column(
        np.uint8,
        default=Kind.UNKNOWN,
        kind=ValueKind.CHOICE,
        enum=Kind,
        from_type=kind_of_types,
        help="function, object, ...",
    )
    export: ExportKind = column(
        np.uint8,
        default=ExportKind.NONE,
        merge=Merge.EXPORT,
        kind=ValueKind.CHOICE,
        enum=ExportKind,
        null_unknown=True,
        help="export macro",
    )
    namespace: str = column(
        np.uint32,
        default="",
        encoding=Encoding.INTERNED,
        help="symbol namespace of the export",
    )
    crc: int | None = column(
        np.int64,
        default=None,
        unknown=INT_NONE,
        kind=ValueKind.NUMBER,
        fmt="0x{:08x}",
        help="modversions CRC",
    )
    bits: int | None = column(
        np.uint8,
        default=None,
        unknown=0,
        kind=ValueKind.NUMBER,
        help="address size of the file the row comes from: 32 or 64 (nm prints 8 or 16 digits)",
    )
    undefined: bool = column(
        np.bool_,
        default=False,
        unknown=False,
        merge=Merge.KEY,
        kind=ValueKind.FLAG,
        from_type=undefined_of_types,
        help="an undefined reference (nm U, w, v): what a module imports",
    )
    decl: str = column(
        np.uint32,
        default="",
        encoding=Encoding.INTERNED,
        help="C declaration (BTF), as pfunct prints it",
    )
    # Sites in a kernel source tree (plugins/tree), "path:line:col" relative to its root.
    exported_at: str = column(
        np.uint32,
        default="",
        encoding=Encoding.INTERNED,
        kind=ValueKind.SITE,
        help="where EXPORT_SYMBOL* names it",
    )
    defined_at: str = column(
        np.uint32,
        default="",
        encoding=Encoding.INTERNED,
        kind=ValueKind.SITE,
        help="where it is defined",
    )
    declared_at: str = column(
        np.uint32,
        default="",
        encoding=Encoding.INTERNED,
        kind=ValueKind.SITE,
        help="where a header declares it",
    )
    sources: tuple[str, ...] = column(
        np.uint32,
        default=(),
        encoding=Encoding.SOURCE_SET,
        merge=Merge.UNION,
        field="source",
        help="plugin:path of a source that gave a fact",
    )

    @property
    def exported(self) -> bool:
        return self.export is not ExportKind.NONE

    @property
    def gpl(self) -> bool:
        return self.export.gpl_only

    @property
    def defined(self) -> bool:
        return not self.undefined

    def as_dict(self) -> dict[str, object]:
        """The row keyed by the query language's field names (JSON-ready); the derived
        flags stand with the flag columns (``exported, gpl, defined, undefined``)."""
        out: dict[str, object] = {}
        for c in COLUMNS:
            if c.kind is ValueKind.FLAG and "defined" not in out:
                out |= {"exported": self.exported, "gpl": self.gpl, "defined": self.defined}
            out[c.field] = c.to_json(getattr(self, c.name))
        return out


COLUMNS: tuple[ColumnSpec, ...] = columns_of(Symbol)
COLUMN: dict[str, ColumnSpec] = {c.name: c for c in COLUMNS}
