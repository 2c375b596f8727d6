"""Every hook a ksql plugin can implement, typed and documented in one place.

A plugin is a module (or object) with functions decorated by :data:`hookimpl`, published
under the ``ksql`` entry-point group -- the built-in sources in ``ksql.plugins`` load exactly
that way. Hooks are prefixed ``ksql_``; a misspelled implementation fails at start-up
(``PluginManager.check_pending``).
"""

from __future__ import annotations

from collections.abc import Iterable

import pluggy

from ksql.source import DefaultSource, Kernel, SourceRegistry

PROJECT = "ksql"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def ksql_register_sources(registry: SourceRegistry) -> None:
    """Register this plugin's source types with ``registry.register(SourceType())``.

    Called once for every plugin manager. A source type's ``name`` is what users write in
    ``-s NAME:PATH``; names are unique across plugins.
    """


@hookspec
def ksql_default_sources(kernel: Kernel) -> Iterable[DefaultSource] | None:
    """Paths this plugin's source types would read for ``kernel``: the running kernel when
    the user names no source, or the one named with ``-k RELEASE`` / ``-b ROOT``
    (``/proc/kallsyms``, ``/lib/modules/<release>/build/Module.symvers``...).

    Spell paths through ``kernel.path("/boot/...")`` so that they land under ``-b ROOT``;
    name ``/proc`` and ``/sys`` files only when ``kernel.running``; name artifacts too slow
    for every default run (a whole module tree) only when ``kernel.selected``.

    Return every candidate, existing or not; set ``skip_reason`` for one that exists but
    must not be read (a placeholder file). ksql reads the candidates that exist and are not
    skipped, in plugin order.
    """
