"""Builds a fresh pluggy plugin manager: the built-in sources registered by import (as
pytest's ``default_plugins`` are), then third-party plugins from the ``ksql`` entry-point
group, then modules named with ``--plugin``; ``--block NAME`` keeps any of them from loading.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType

import pluggy

from ksql import __version__, hookspecs
from ksql.errors import PluginError
from ksql.source import SourceRegistry, SourceType
from ksql.values import field, frozen

ENTRY_POINT_GROUP = "ksql"
# The modules of the ksql.plugins package, in registration order.
BUILTIN_PLUGINS = ("kallsyms", "symvers", "elf", "btf", "tree")


@frozen
class Plugins:
    """A loaded plugin manager and the source types its plugins registered."""

    manager: pluggy.PluginManager
    registry: SourceRegistry
    distributions: Mapping[str, str] = field(default_factory=dict)  # plugin -> "dist version"

    def plugin_of(self, source_type: SourceType) -> str:
        """The registered name of the plugin that defined ``source_type``."""
        found = self._plugin(source_type)
        return found[0] if found else type(source_type).__module__

    def identity_of(self, source_type: SourceType) -> str:
        """What identifies the code that decodes ``source_type``'s files, for the load
        cache: ksql's version for a built-in; a distribution's name and version for an
        entry point; and the modification times of the plugin's own files, so an edited
        plugin never answers from rows its old code decoded."""
        found = self._plugin(source_type)
        if found is None:
            return f"{type(source_type).__module__} (unknown plugin)"
        name, plugin = found
        parts = [name]
        if name in BUILTIN_PLUGINS and getattr(plugin, "__name__", "").startswith("ksql.plugins"):
            parts.append(f"ksql {__version__}")
        if name in self.distributions:
            parts.append(self.distributions[name])
        if isinstance(plugin, ModuleType):
            parts.append(_files_stamp(plugin))
        return " ".join(parts)

    def _plugin(self, source_type: SourceType) -> tuple[str, object] | None:
        module = type(source_type).__module__
        for name, plugin in self.manager.list_name_plugin():
            plugin_module = getattr(plugin, "__name__", None)
            if plugin_module is not None and (
                module == plugin_module or module.startswith(plugin_module + ".")
            ):
                return name, plugin
        return None


def _files_stamp(module: ModuleType) -> str:
    """The modification times of a plugin module's file, or every file of its package."""
    files: list[Path] = []
    for folder in getattr(module, "__path__", []):
        files.extend(sorted(Path(folder).rglob("*.py")))
    if not files and getattr(module, "__file__", None):
        files.append(Path(str(module.__file__)))
    stamps = []
    for f in files:
        try:
            st = f.stat()
        except OSError:
            continue
        stamps.append(f"{st.st_mtime_ns}:{st.st_size}")
    return ",".join(stamps)


def make_plugin_manager(
    extra: Sequence[str] = (), blocked: Sequence[str] = ()
) -> pluggy.PluginManager:
    """A new manager with the hookspecs, the built-ins, entry-point plugins and ``extra``
    modules."""
    return _build(extra, blocked)[0]


def _build(
    extra: Sequence[str], blocked: Sequence[str]
) -> tuple[pluggy.PluginManager, dict[str, str]]:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for name in blocked:
        pm.set_blocked(name)
    for name in BUILTIN_PLUGINS:
        if not pm.is_blocked(name):
            pm.register(importlib.import_module(f"ksql.plugins.{name}"), name=name)
    distributions = _register_entry_points(pm)
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
    return pm, distributions


def _register_entry_points(pm: pluggy.PluginManager) -> dict[str, str]:
    """Register the ``ksql`` group's entry points as pluggy's ``load_setuptools_entrypoints``
    does (a name already registered or blocked is skipped), from the cached list
    (:mod:`ksql.entrypoints`); returns plugin name -> distribution."""
    from ksql.entrypoints import entry_points

    distributions: dict[str, str] = {}
    for ep in entry_points(ENTRY_POINT_GROUP):
        if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
            continue
        module_name, _, attrs = ep.value.partition(":")
        try:
            plugin: object = importlib.import_module(module_name.strip())
            for attr in filter(None, attrs.strip().split(".")):
                plugin = getattr(plugin, attr)
            pm.register(plugin, name=ep.name)
        except Exception as exc:  # a broken third-party distribution must not crash ksql
            raise PluginError(
                f"cannot load plugin {ep.name!r} ({ep.value}, from {ep.distribution}) of "
                f"entry-point group 'ksql': {exc}"
            ) from exc
        distributions[ep.name] = ep.distribution
    return distributions


def load_plugins(extra: Sequence[str] = (), blocked: Sequence[str] = ()) -> Plugins:
    """Load the plugins and collect their source types."""
    pm, distributions = _build(extra, blocked)
    registry = SourceRegistry()
    pm.hook.ksql_register_sources(registry=registry)
    return Plugins(pm, registry, distributions)
