"""ksql: one query language over every Linux kernel symbol source.

What a plugin author and a script need, importable from ``ksql`` itself::

    import ksql

    class MySource(ksql.SourceType): ...

    @ksql.hookimpl
    def ksql_register_sources(registry): registry.register(MySource())

    catalog = ksql.load_catalog(["/proc/kallsyms"])
    for sym in ksql.compile_query("gpl and name=kmalloc*").symbols(catalog): ...

Names load on first use, so ``import ksql`` stays cheap. ``ksql.testing`` has the helpers
for a plugin's tests.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# The built-in plugins and the grammar live at the top of the source tree (plugins/,
# grammar/); src/ksql/plugins and src/ksql/grammar are symlinks to them, so a checkout run
# with PYTHONPATH=src and an editable install see the same package.

# public name -> the module that defines it
_EXPORTS = {
    "hookimpl": "ksql.hookspecs",
    "hookspec": "ksql.hookspecs",
    "SourceType": "ksql.source",
    "SourceRegistry": "ksql.source",
    "DefaultSource": "ksql.source",
    "Kernel": "ksql.source",
    "RunningKernel": "ksql.source",
    "RowSink": "ksql.sink",
    "Batch": "ksql.sink",
    "Symbol": "ksql.model",
    "Bind": "ksql.model",
    "Kind": "ksql.model",
    "ExportKind": "ksql.model",
    "VMLINUX": "ksql.model",
    "Catalog": "ksql.catalog",
    "load_catalog": "ksql.loading",
    "load_plugins": "ksql.pluginmanager",
    "compile_query": "ksql.query.compiler",
    "KsqlError": "ksql.errors",
    "SourceError": "ksql.errors",
    "PluginError": "ksql.errors",
    "QuerySyntaxError": "ksql.errors",
}

__all__ = [  # noqa: RUF022 -- grouped as _EXPORTS is; a test checks they agree
    "__version__",
    "hookimpl",
    "hookspec",
    "SourceType",
    "SourceRegistry",
    "DefaultSource",
    "Kernel",
    "RunningKernel",
    "RowSink",
    "Batch",
    "Symbol",
    "Bind",
    "Kind",
    "ExportKind",
    "VMLINUX",
    "Catalog",
    "load_catalog",
    "load_plugins",
    "compile_query",
    "KsqlError",
    "SourceError",
    "PluginError",
    "QuerySyntaxError",
]

if TYPE_CHECKING:
    from ksql.catalog import Catalog
    from ksql.errors import KsqlError, PluginError, QuerySyntaxError, SourceError
    from ksql.hookspecs import hookimpl, hookspec
    from ksql.loading import load_catalog
    from ksql.model import VMLINUX, Bind, ExportKind, Kind, Symbol
    from ksql.pluginmanager import load_plugins
    from ksql.query.compiler import compile_query
    from ksql.sink import Batch, RowSink
    from ksql.source import DefaultSource, Kernel, RunningKernel, SourceRegistry, SourceType


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ksql' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
