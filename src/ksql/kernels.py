"""Kernel selection: ``-k RELEASE`` and ``-b ROOT`` turned into source specs, once, for every
command. As kmod's ``modinfo -k`` and ``depmod -b``: RELEASE defaults to the running kernel's
(or the only one installed under ROOT), and ROOT to ``/``. The paths come from the plugins'
``ksql_default_sources`` hook, asked about that kernel: ``/boot/System.map-RELEASE``,
``/lib/modules/RELEASE/build/Module.symvers``, the module tree ``/lib/modules/RELEASE``, a
debug ``vmlinux``, and ``/proc/kallsyms`` and ``/sys/kernel/btf/vmlinux`` only when it is the
running kernel.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ksql.errors import KsqlError
from ksql.source import Kernel
from ksql.values import frozen

if TYPE_CHECKING:  # the plugin manager imports every plugin: only when selecting
    from ksql.catalog import Catalog
    from ksql.config import Config
    from ksql.pluginmanager import Plugins


@frozen
class Selection:
    """A chosen kernel and what ksql will read for it."""

    kernel: Kernel
    specs: tuple[str, ...]  # ``TYPE:PATH``, existing and not skipped, in plugin order
    skipped: tuple[tuple[str, str], ...]  # (path, why): missing, or a plugin's skip reason

    @property
    def kconfig(self) -> Path | None:
        """``/boot/config-RELEASE`` when installed: the configuration it was built with."""
        path = self.kernel.path(f"/boot/config-{self.kernel.release}")
        return path if path.is_file() else None

    @property
    def label(self) -> str:
        """``6.1.0-50-amd64`` or ``6.1.0-50-amd64 under /srv/img``."""
        root = self.kernel.root
        return self.kernel.release + ("" if root == Path("/") else f" under {root}")


def sources_for(config: Config, plugins: Plugins | None) -> tuple[list[str], Selection | None]:
    """What to read, from the winning layer's ``sources``, ``kernel`` and ``basedir``: the
    selected kernel's artifacts first, then the named sources; empty for the running
    kernel's defaults. ``plugins`` are needed only when a kernel is selected."""
    from ksql.config import expand

    running = Kernel.current()
    specs = [expand(s, running) for s in config.sources or ()]
    if config.kernel is None and config.basedir is None:
        return specs, None
    if plugins is None:
        from ksql.pluginmanager import load_plugins

        plugins = load_plugins()
    selection = select(config.kernel, config.basedir, plugins)
    return [*selection.specs, *specs], selection


def installed(root: Path) -> list[str]:
    """Releases with artifacts under ``root``: ``/lib/modules/*`` and ``/boot/System.map-*``."""
    found: set[str] = set()
    modules = Kernel("", "", root).path("/lib/modules")
    if modules.is_dir():
        found.update(p.name for p in modules.iterdir() if p.is_dir())
    boot = Kernel("", "", root).path("/boot")
    if boot.is_dir():
        found.update(p.name[len("System.map-") :] for p in boot.glob("System.map-?*"))
    return sorted(found)


def select(release: str | None, basedir: str | None, plugins: Plugins) -> Selection:
    """The artifacts of kernel ``release`` under ``basedir``; a :class:`KsqlError` saying what
    is installed when there are none."""
    from ksql.loading import default_sources

    running = Kernel.current()
    root = Path(basedir).expanduser().absolute() if basedir else Path("/")
    if not root.is_dir():
        raise KsqlError(f"-b {basedir}: no such directory")
    if release is not None and (not release or "/" in release):
        raise KsqlError(f"-k {release!r}: expected a kernel release such as {running.release}")
    if release is None:
        release = _default_release(root, running.release)
    kernel = Kernel(
        release=release,
        machine=running.machine,
        root=root,
        running=root == Path("/") and release == running.release,
        selected=True,
    )
    specs: list[str] = []
    skipped: list[tuple[str, str]] = []
    for d in default_sources(plugins, kernel):
        if d.skip_reason:
            skipped.append((str(d.path), f"skipped: {d.skip_reason}"))
        elif not d.path.exists():
            skipped.append((str(d.path), "not found"))
        elif plugins.registry.get(d.source_type) is not None:
            specs.append(f"{d.source_type}:{d.path}")
    if not specs:
        raise KsqlError(_nothing_found(kernel, skipped))
    return Selection(kernel, tuple(specs), tuple(skipped))


def _default_release(root: Path, running: str) -> str:
    if root == Path("/"):
        return running
    releases = installed(root)
    if running in releases:
        return running
    if len(releases) == 1:
        return releases[0]
    if not releases:
        raise KsqlError(f"-b {root}: no kernel there (no lib/modules/* or boot/System.map-*)")
    raise KsqlError(f"-b {root}: {len(releases)} kernels ({', '.join(releases)}); pick one with -k")


def _nothing_found(kernel: Kernel, skipped: list[tuple[str, str]]) -> str:
    where = "" if kernel.root == Path("/") else f" under {kernel.root}"
    looked = ", ".join(p for p, _ in skipped) or "nothing"
    message = f"-k {kernel.release}: no artifacts of that kernel{where} (looked for {looked})"
    releases = installed(kernel.root)
    others = [r for r in releases if r != kernel.release]
    import difflib

    close = difflib.get_close_matches(kernel.release, others, n=1, cutoff=0.6)
    if close:
        message += f"; did you mean {close[0]!r}?"
    if releases:
        message += f" installed: {', '.join(releases)}"
    return message


def release_of(catalog: Catalog, selection: Selection | None) -> str | None:
    """The release an answer describes: the selected kernel's, else what the sources tell
    (a release in a path, a module's vermagic, /proc/kallsyms for the running kernel)."""
    from ksql.kernel.version import kernel_release

    if selection is not None:
        return selection.label
    labels = [label for label, _rows in catalog.loaded]
    return kernel_release(catalog.module_info, labels, Kernel.current().release)


def describe(catalog: Catalog, selection: Selection | None) -> str:
    """Which kernel an answer describes and from which files:
    ``6.1.0-50-amd64 (System.map, Module.symvers)``."""
    files = [_short(label) for label, _rows in catalog.loaded]
    shown = ", ".join(files)
    if len(files) > 4:
        shown = f"{', '.join(files[:3])} and {len(files) - 3} more"
    release = release_of(catalog, selection)
    return f"{release or 'an unknown release'} ({shown or 'no sources'})"


def _short(label: str) -> str:
    """A file by its name; a directory (a module tree) and /proc, /sys files in full."""
    path = label.partition(":")[2] or label
    if path.startswith(("/proc/", "/sys/")) or Path(path).is_dir():
        return path
    return Path(path).name or path
