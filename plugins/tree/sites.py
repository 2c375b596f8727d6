"""One file's sites as the scanner (:mod:`.scan`) finds them: the record that goes between
the worker processes and the parent, and into the stored sites of the last run
(:mod:`.store`), as plain data (:meth:`FileSites.as_tuple`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["INCLUDES", "Declaration", "Definition", "Export", "FileSites"]

# (name, line, col, kind code, namespace, namespace-is-the-default)
Export = tuple[str, int, int, int, str, bool]
# (name, line, col, is_function, is_static)
Definition = tuple[str, int, int, bool, bool]
Declaration = tuple[str, int, int]


@dataclass(slots=True)
class FileSites:
    path: str  # relative to the tree root
    exports: list[Export] = field(default_factory=list)
    definitions: list[Definition] = field(default_factory=list)
    declarations: list[Declaration] = field(default_factory=list)
    # '#include "x.c"' and local headers ('#include "tasks.h"'), as written
    includes: list[str] = field(default_factory=list)
    # Exports through a macro the table does not know (IWL_EXPORT_SYMBOL(x)), resolved once
    # every file's wrapper definitions are known: (macro, args, line, col).
    wrapped: list[tuple[str, list[str], int, int]] = field(default_factory=list)
    # "#define W(a, b) EXPORT_SYMBOL_NS_GPL(a, NS)": W -> (params, target macro, its args).
    wrappers: dict[str, tuple[list[str], str, list[str]]] = field(default_factory=dict)
    default_namespace: str = ""  # '#define DEFAULT_SYMBOL_NAMESPACE NS' in the file
    tracepoints: list[Declaration] = field(default_factory=list)  # TRACE_EVENT(name, ...)
    renames: dict[str, list[str]] = field(default_factory=dict)  # '#define f f_rsl'
    xmacros: list[Any] = field(default_factory=list)  # (header, macro, template, line, col)

    def as_tuple(self) -> tuple[Any, ...]:
        """The fields in order, as plain data (``marshal``: between processes and runs)."""
        return (self.path, self.exports, self.definitions, self.declarations, self.includes,
                self.wrapped, self.wrappers, self.default_namespace, self.tracepoints,
                self.renames, self.xmacros)  # fmt: skip

    @classmethod
    def from_tuple(cls, data: tuple[Any, ...]) -> FileSites:
        if len(data) != 11 or not isinstance(data[0], str):
            raise ValueError("not a FileSites tuple")
        return cls(*data)


INCLUDES = 4  # where as_tuple() puts ``includes``
