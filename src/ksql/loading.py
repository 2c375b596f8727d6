"""From source specs (``PATH`` or ``PLUGIN:PATH``) to a loaded :class:`Catalog`: pick the
source type (forced, or the first that recognises the file's content), load, merge.
With no spec, the running kernel's default sources that exist.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from ksql import cache, sideload
from ksql.builder import CatalogBuilder
from ksql.catalog import Catalog
from ksql.errors import KsqlError, SourceError
from ksql.memory import collector_paused, release_free_memory
from ksql.pluginmanager import Plugins, load_plugins
from ksql.sink import Batch, RowSink
from ksql.source import SNIFF_BYTES, DefaultSource, RunningKernel, SourceType
from ksql.values import frozen


@frozen
class Resolved:
    """A source spec matched to the source type that will read it."""

    source_type: SourceType
    path: Path

    @property
    def label(self) -> str:
        return f"{self.source_type.name}:{self.path}"


def split_spec(spec: str, plugins: Plugins) -> tuple[SourceType | None, Path]:
    """``NAME:PATH`` when NAME is a registered source type, else a plain path."""
    name, sep, rest = spec.partition(":")
    if sep and rest:
        source_type = plugins.registry.get(name)
        if source_type is not None:
            return source_type, Path(rest).expanduser()
        if "/" not in name and not Path(spec).exists():
            known = ", ".join(plugins.registry.names())
            raise SourceError(spec, f"no source type {name!r} (known: {known})")
    return None, Path(spec).expanduser()


def resolve(spec: str, plugins: Plugins) -> Resolved:
    forced, path = split_spec(spec, plugins)
    if not path.exists():
        raise SourceError(path, "no such file or directory")
    _check_kind(path)
    if forced is not None:
        return Resolved(forced, path)
    head = b""
    if not path.is_dir():
        try:
            with path.open("rb") as f:
                head = f.read(SNIFF_BYTES)
        except OSError as exc:
            raise SourceError(path, f"cannot read: {exc.strerror or exc}") from exc
    for source_type in plugins.registry:
        if source_type.recognizes(path, head):
            return Resolved(source_type, path)
    known = ", ".join(plugins.registry.names())
    raise SourceError(
        path,
        "not a symbol source ksql recognises",
        hint=f"known types: {known}; force one with -s TYPE:{path}",
    )


def _check_kind(path: Path) -> None:
    """Sources are regular files and directories: a FIFO would hang the load and a device
    (``/dev/zero``) never ends."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise SourceError(path, f"cannot read: {exc.strerror or exc}") from exc
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        kind = "a FIFO" if stat.S_ISFIFO(mode) else "a device or socket"
        raise SourceError(
            path, f"{kind}, not a file", hint="save it to a file first: cat PATH > FILE"
        )


def default_sources(plugins: Plugins, kernel: RunningKernel | None = None) -> list[DefaultSource]:
    """Every default candidate the plugins name for the running kernel."""
    kernel = kernel or RunningKernel.current()
    found: list[DefaultSource] = []
    for result in plugins.manager.hook.ksql_default_sources(kernel=kernel):
        found.extend(result or ())
    return found


def usable_defaults(plugins: Plugins) -> list[Resolved]:
    out = []
    for d in default_sources(plugins):
        source_type = plugins.registry.get(d.source_type)
        if source_type is not None and not d.skip_reason and d.path.exists():
            out.append(Resolved(source_type, d.path))
    return out


def load_one(
    builder: CatalogBuilder,
    resolved: Resolved,
    stream: bool = False,
    before: Callable[[], None] | None = None,
) -> int:
    """Load one source into ``builder``; returns the rows it read. ``stream``: the builder
    takes each batch as the source gives it (the builder is thrown away if the source
    fails); otherwise only once the source has read them all. ``before``: called before
    each batch reaches the builder (the sources before this one, added first)."""
    label = resolved.label
    forwarded = 0

    def forward(batch: Batch) -> None:
        nonlocal forwarded
        forwarded += len(batch)
        if before is not None:
            before()
        builder.add(batch, label)

    batches = decode(resolved, forward if stream else None)
    rows = forwarded
    if batches and before is not None:
        before()
    for batch in batches:
        rows += len(batch)
        builder.add(batch, resolved.label)
    return rows


def decode(resolved: Resolved, forward: Callable[[Batch], None] | None = None) -> list[Batch]:
    """The source's batches (those not given to ``forward`` as they came)."""
    sink = RowSink(resolved.label, forward)
    try:
        resolved.source_type.load(resolved.path, sink)
    except KsqlError:
        raise
    except (OSError, ValueError, UnicodeError) as exc:
        raise SourceError(
            resolved.path, f"cannot load as {resolved.source_type.name}: {_unquoted(exc)}"
        ) from exc
    return sink.batches()


def load_in_order(builder: CatalogBuilder, resolved: list[Resolved]) -> None:
    """Every source into ``builder`` in order, the first failure raised (the builder is
    then thrown away). Big source files are decoded by forked children meanwhile
    (:mod:`ksql.sideload`); each is added when a later source is about to add rows (or at
    the end), so the rows are in the sources' order as one by one."""
    sides = _sides(resolved)
    waiting: list[int] = []  # decoded aside, not added yet, in order

    def flush() -> None:
        while waiting:
            i = waiting.pop(0)
            batches = sides.pop(i).batches()
            if batches is None:  # the child failed: load it here, which words the error
                load_one(builder, resolved[i], stream=True)
                continue
            for batch in batches:
                builder.add(batch, resolved[i].label)
            resolved[i].source_type.taken(resolved[i].path, batches)

    try:
        for i, r in enumerate(resolved):
            if i in sides:
                waiting.append(i)
                continue
            try:
                load_one(builder, r, stream=True, before=flush)
            except Exception:  # (an interrupt is not held up by the children)
                flush()  # an earlier source's error is the one to raise
                raise
            flush()
        flush()
    finally:
        for side in sides.values():
            side.cancel()


def _sides(resolved: list[Resolved]) -> dict[int, sideload.Side]:
    """The children that decode big source files while this process loads the rest: the
    last source, or the directory among them, stays here (a child then has company). None
    unless every source is :meth:`~ksql.source.SourceType.independent`."""
    if len(resolved) < 2 or not sideload.usable():
        return {}
    if not all(r.source_type.independent(r.path) for r in resolved):
        return {}
    big = [i for i, r in enumerate(resolved) if _size(r.path) >= sideload.SIDE_FROM]
    if len(big) == len(resolved):
        big.pop()
    return {i: sideload.Side(partial(decode, resolved[i])) for i in big}


def _size(path: Path) -> int:
    """A regular file's size; -1 for a directory or what cannot be stat'ed."""
    try:
        st = path.stat()
    except OSError:
        return -1
    return st.st_size if stat.S_ISREG(st.st_mode) else -1


_QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"")


def _unquoted(exc: Exception) -> str:
    """An exception's message without its quoted values: ``int('API_TOKEN=…', 16)`` fails
    with the file's text in its message, and source errors reach editors."""
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return _QUOTED.sub("'…'", str(exc))


def load_catalog(
    specs: Sequence[str],
    plugins: Plugins | None = None,
    *,
    on_error: Callable[[KsqlError], None] | None = None,
    use_cache: bool = True,
    long_lived: bool = False,
) -> Catalog:
    """Load ``specs`` (or the defaults when empty) into a new catalog. Without
    ``on_error`` the first bad source raises; with it, bad sources are reported and skipped.
    ``plugins`` defaults to the installed ones (:func:`~ksql.pluginmanager.load_plugins`).
    ``long_lived``: the catalog will be kept for hours (the language server's, the REPL's),
    so a cached one is copied out of its entry rather than left mapped to the file."""
    if plugins is None:
        plugins = load_plugins()
    targets: list[Resolved | str]
    if specs:
        targets = list(specs)
    else:
        targets = list(usable_defaults(plugins))
        if not targets:
            raise KsqlError(
                "no source given and none of the running kernel's was found; use -s PATH"
            )
    resolved: list[Resolved] = []
    for target in targets:
        try:
            resolved.append(target if isinstance(target, Resolved) else resolve(target, plugins))
        except KsqlError as exc:
            if on_error is None:
                raise
            on_error(exc)
    prints = _fingerprints(resolved, plugins) if use_cache else None
    cache_key = cache.key(prints) if prints is not None else None
    if cache_key is not None and prints is not None:
        cached = cache.load(cache_key, prints, copy=long_lived)
        if cached is not None:
            release_free_memory()  # the archive's buffers
            return cached
    builder = CatalogBuilder()
    failed = False
    with collector_paused():
        if on_error is None:
            load_in_order(builder, resolved)  # a failure fails the load
        else:
            for r in resolved:
                try:
                    load_one(builder, r)
                except KsqlError as exc:
                    on_error(exc)
                    failed = True
        catalog = builder.build()
    if cache_key is not None and prints is not None and not failed:
        cache.store(cache_key, catalog, prints)
    return catalog


def _fingerprints(resolved: list[Resolved], plugins: Plugins) -> list[tuple[str, ...]] | None:
    """What the load cache keys on when every source can say what its contents are: each
    source's label, contents fingerprint and the identity of the plugin code that decodes it."""
    if not cache.enabled() or not resolved:
        return None
    prints: list[tuple[str, ...]] = []
    for r in resolved:
        fingerprint = r.source_type.fingerprint(r.path)
        if fingerprint is None:
            return None
        prints.append((r.label, fingerprint, plugins.identity_of(r.source_type)))
    return prints
