"""Builds a fresh pluggy plugin manager: built-in and third-party plugins both come from the
``ksql`` entry-point group, plus modules named with ``--plugin``; ``--block NAME`` keeps a
plugin (built-in or not) from loading.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass

import pluggy

from ksql import hookspecs
from ksql.errors import PluginError
from ksql.source import SourceRegistry, SourceType

ENTRY_POINT_GROUP = "ksql"


@dataclass(frozen=True, slots=True)
class Plugins:
    """A loaded plugin manager and the source types its plugins registered."""

    manager: pluggy.PluginManager
    registry: SourceRegistry

    def plugin_of(self, source_type: SourceType) -> str:
        """The registered name of the plugin that defined ``source_type``."""
        module = type(source_type).__module__
        for name, plugin in self.manager.list_name_plugin():
            if getattr(plugin, "__name__", None) == module:
                return name
        return module


def make_plugin_manager(
    extra: Sequence[str] = (), blocked: Sequence[str] = ()
) -> pluggy.PluginManager:
    """A new manager with the hookspecs, entry-point plugins and ``extra`` modules."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for name in blocked:
        pm.set_blocked(name)
    try:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    except Exception as exc:  # a broken third-party distribution must not crash ksql
        raise PluginError(f"cannot load a plugin from entry-point group 'ksql': {exc}") from exc
    for module_name in extra:
        if pm.is_blocked(module_name) or pm.get_plugin(module_name) is not None:
            continue
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise PluginError(f"--plugin {module_name}: cannot import it ({exc})") from exc
        pm.register(module, name=module_name)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(str(exc)) from exc
    return pm


def load_plugins(extra: Sequence[str] = (), blocked: Sequence[str] = ()) -> Plugins:
    """Load the plugins and collect their source types."""
    pm = make_plugin_manager(extra, blocked)
    registry = SourceRegistry()
    pm.hook.ksql_register_sources(registry=registry)
    return Plugins(pm, registry)
