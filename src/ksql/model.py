"""The symbol model: one immutable :class:`Symbol` per definition or reference, its enums,
and the nm type-letter table that gives each letter its binding, kind and meaning.

The catalog stores these fields in columns; a ``Symbol`` is materialized only for the rows a
query returns. Enum values are small ints so columns can hold them as ``uint8`` codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

VMLINUX = "vmlinux"


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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class Symbol:
    """One row of the catalog, materialized for a query result.

    ``addr``, ``size`` and ``crc`` are None when no source knew them. ``sources`` lists
    ``plugin:path`` for every source that contributed a fact to this row.
    """

    name: str
    module: str = VMLINUX
    addr: int | None = None
    type: str = UNKNOWN_TYPE
    size: int | None = None
    section: str = ""
    bind: Bind = Bind.UNKNOWN
    kind: Kind = Kind.UNKNOWN
    export: ExportKind = ExportKind.NONE
    namespace: str = ""
    crc: int | None = None
    undefined: bool = False
    sources: tuple[str, ...] = ()

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
        """The row keyed by the query language's field names (JSON-ready)."""
        return {
            "name": self.name,
            "module": self.module,
            "addr": self.addr,
            "type": self.type,
            "size": self.size,
            "section": self.section or None,
            "bind": self.bind.label,
            "kind": self.kind.label,
            "export": None if self.export is ExportKind.NONE else self.export.label,
            "namespace": self.namespace or None,
            "crc": None if self.crc is None else f"0x{self.crc:08x}",
            "exported": self.exported,
            "gpl": self.gpl,
            "defined": self.defined,
            "undefined": self.undefined,
            "source": list(self.sources),
        }


def normalize_module_name(name: str) -> str:
    """The kernel's module name for a file stem or path: basename, ``-`` becomes ``_``.

    kbuild derives KBUILD_MODNAME with ``$(subst -,_,...)`` (scripts/Makefile.lib) and kmod
    compares names through ``modname_normalize`` (libkmod/libkmod-util.c) the same way.
    """
    base = name.rsplit("/", 1)[-1]
    for suffix in (".ko", ".o"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    return base.replace("-", "_")
