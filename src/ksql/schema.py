"""How a catalog column is declared: :func:`column` describes one field of
:class:`~ksql.model.Symbol` -- its storage dtype, the stored value that means "unknown", its
encoding, how facts from two sources merge, and what the query language makes of it -- and
:func:`columns_of` reads the declarations back in field order.

``Symbol`` is the one declaration of the catalog's columns: the row sink, the column storage,
the merge, the query language's field table, the renderers and the load cache all iterate
:data:`ksql.model.COLUMNS`. A new field is one ``column(...)`` line on ``Symbol`` plus the
code that fills it.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum, IntEnum
from typing import Any

import numpy as np

from ksql import values
from ksql.values import frozen

INT_NONE = -1  # sizes and CRCs: never a real one

_SPEC_KEY = "ksql.column"


class Encoding(Enum):
    """How a column's values are stored."""

    PLAIN = "plain"  # one numpy scalar per row (the Python value converts to and from it)
    INTERNED = "interned"  # strings as uint32 codes into a string table; code 0 is ""
    PACKED = "packed"  # one string per row, packed into one blob once loaded (names)
    SOURCE_SET = "source-set"  # uint32 codes of the sets of sources that gave the row


class Merge(Enum):
    """What happens when a second source describes a row that is already there."""

    KEY = "key"  # part of the row's identity (name, module, undefined): never changes
    FILL = "fill"  # the first known value wins; unknown ones are filled in
    EXPORT = "export"  # a precise export kind beats "exported, flavour unknown"
    UNION = "union"  # provenance: the row remembers every source


class ValueKind(Enum):
    """What a field's values look like to the query language."""

    STRING = "string"  # globs with = and !=, regular expressions with ~
    NUMBER = "number"  # decimal or 0x hex; < <= > >= work
    LETTER = "letter"  # one nm letter
    CHOICE = "choice"  # one of a fixed list (an enum's labels)
    MODINFO = "modinfo"  # a .modinfo key of the row's module (not a column)
    FLAG = "flag"  # a boolean column, queried as a flag word (``undefined``)
    SITE = "site"  # "path:line:col" in a source tree, queried as a string
    PATH = "path"  # the path of any SITE column of the row (``file``; not a column)


@frozen
class ColumnSpec:
    """One catalog column. ``name`` is the Symbol attribute, ``field`` the query language's
    name for it (the same unless said otherwise)."""

    name: str
    dtype: np.dtype[Any]
    unknown: Any  # the stored value meaning "no source knew" (fills unused capacity)
    encoding: Encoding
    merge: Merge
    kind: ValueKind
    help: str
    field: str
    default: Any  # the Symbol attribute's default: what a source that does not say gives
    choices: tuple[str, ...] = ()
    enum: type[IntEnum] | None = None
    # Rows of sources that do not give this column get it from the nm type letter.
    from_type: Callable[[Any], Any] | None = None
    fmt: str = ""  # how JSON, CSV and tables show a known number ("0x{:08x}")
    null_unknown: bool = False  # JSON shows the enum's unknown member as null
    # Every value is a real one (an address may be all ones: ppc64el's test_feature): which
    # rows are known is a boolean companion column, ``known_key``.
    nullable: bool = False

    @property
    def known_key(self) -> str:
        return f"{self.name}.known"

    @property
    def string(self) -> bool:
        return self.encoding in (Encoding.INTERNED, Encoding.PACKED)

    @property
    def interned(self) -> bool:
        return self.encoding is Encoding.INTERNED

    def to_python(self, stored: Any) -> Any:
        """The Symbol attribute's value of a stored PLAIN scalar."""
        if self.enum is not None:
            return self.enum(int(stored))
        if self.kind is ValueKind.LETTER:
            return chr(int(stored))
        if self.dtype == np.bool_:
            return bool(stored)
        value = int(stored)
        return None if value == int(self.unknown) else value

    def to_json(self, value: Any) -> Any:
        """The Symbol attribute's value as JSON (``--format json``, csv)."""
        if isinstance(value, tuple):
            return list(value)
        if self.enum is not None:
            if self.null_unknown and int(value) == int(self.unknown):
                return None
            label: str = value.label
            return label
        if value == "" and self.string:
            return None
        if value is not None and self.fmt:
            return self.fmt.format(value)
        return value


def column(
    dtype: Any,
    *,
    default: Any,
    help: str,
    unknown: Any = 0,
    encoding: Encoding = Encoding.PLAIN,
    merge: Merge = Merge.FILL,
    kind: ValueKind = ValueKind.STRING,
    field: str = "",
    enum: type[IntEnum] | None = None,
    choices: tuple[str, ...] = (),
    from_type: Callable[[Any], Any] | None = None,
    fmt: str = "",
    null_unknown: bool = False,
    nullable: bool = False,
) -> Any:
    """A dataclass field that declares a catalog column (see :class:`ColumnSpec`)."""
    spec = {
        "dtype": np.dtype(dtype),
        "unknown": unknown,
        "encoding": encoding,
        "merge": merge,
        "kind": kind,
        "help": help,
        "field": field,
        "enum": enum,
        "choices": choices or (tuple(getattr(e, "label", e.name) for e in enum) if enum else ()),
        "from_type": from_type,
        "fmt": fmt,
        "null_unknown": null_unknown,
        "nullable": nullable,
    }
    return values.field(default=default, metadata={_SPEC_KEY: spec})


def columns_of(cls: type) -> tuple[ColumnSpec, ...]:
    """The column specs declared on dataclass ``cls``, in field order."""
    out = []
    for f in values.fields(cls):
        spec = dict(f.metadata[_SPEC_KEY])
        spec["field"] = spec["field"] or f.name
        spec["default"] = f.default
        out.append(ColumnSpec(name=f.name, **spec))
    return tuple(out)
