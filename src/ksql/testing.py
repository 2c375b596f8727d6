"""Helpers for testing ksql plugins (and ksql itself), like pytest's ``pytester``::

    from ksql.testing import load, names

    def test_demo_source(tmp_path):
        (tmp_path / "a.list").write_text("#ksql-demo\\nkfree vmlinux gpl\\n")
        catalog = load(tmp_path / "a.list", plugins=["ksql_demo"])
        assert names(catalog, "gpl") == ["kfree"]

``load`` never reads or writes the load cache, so an edited plugin is always what decodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ksql.catalog import Catalog
from ksql.loading import load_catalog
from ksql.model import Symbol
from ksql.pluginmanager import load_plugins
from ksql.query.compiler import compile_query

__all__ = ["load", "names", "query"]


def load(*sources: str | Path, plugins: Sequence[str] = (), block: Sequence[str] = ()) -> Catalog:
    """A catalog of ``sources`` (paths, or ``TYPE:PATH``), read by the installed plugins
    plus the modules named in ``plugins``, without those in ``block``."""
    return load_catalog([str(s) for s in sources], load_plugins(plugins, block), use_cache=False)


def query(catalog: Catalog, text: str) -> list[Symbol]:
    """The symbols ``text`` selects, in result order."""
    return compile_query(text).symbols(catalog)


def names(catalog: Catalog, text: str) -> list[str]:
    """The names of the rows ``text`` selects, in result order."""
    name = catalog.columns().name
    return [name[r] for r in compile_query(text).rows(catalog).tolist()]
