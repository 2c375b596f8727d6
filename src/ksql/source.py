"""What a source plugin provides: a :class:`SourceType` that recognises paths and loads them
into a :class:`~ksql.sink.RowSink`, registered through the ``ksql_register_sources`` hook
on a :class:`SourceRegistry`.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ksql.errors import PluginError, SourceError
from ksql.values import frozen

if TYPE_CHECKING:  # the sink pulls in numpy: naming a type must not
    from ksql.sink import Batch, RowSink

SNIFF_BYTES = 4096


class SourceType(ABC):
    """A kind of symbol source (a file format, a directory layout, a service...).

    Subclasses set ``name`` (used in ``-s NAME:PATH``) and ``description``.
    """

    name: str = ""
    description: str = ""

    @abstractmethod
    def recognizes(self, path: Path, head: bytes) -> bool:
        """Whether ``path`` is this kind of source. ``head`` holds the file's first
        :data:`SNIFF_BYTES` bytes (empty for directories). Decide on content, not on the
        file name alone; never raise."""

    @abstractmethod
    def load(self, path: Path, sink: RowSink) -> None:
        """Read ``path`` into ``sink``. Raise :class:`~ksql.errors.SourceError` naming the
        file and line (or byte offset) for bad input."""

    def independent(self, path: Path) -> bool:
        """Whether loading ``path`` reads nothing an earlier source's load left in this
        process, and leaves nothing besides its rows that :meth:`taken` does not redo. When
        every source of a load is, the loader may decode them side by side (a big file in
        a forked child, :mod:`ksql.sideload`). False unless a source type says so."""
        return False

    def taken(self, path: Path, batches: Sequence[Batch]) -> None:
        """Called in this process for a file a child decoded, as its rows join the catalog
        (in their place among the sources): redo here what :meth:`load` does besides giving
        rows. Nothing by default."""
        return None

    def fingerprint(self, path: Path) -> str | None:
        """What identifies this input's current contents, for the decoded-source cache;
        None to never cache it. The default: a regular file's device, inode, size and
        modification time -- nothing under /proc, /sys or /dev, which change unseen."""
        if str(path.resolve()).startswith(("/proc/", "/sys/", "/dev/")):
            return None
        try:
            st = path.stat()
        except OSError:
            return None
        if not path.is_file():
            return None
        return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"


MAX_TEXT = 1 << 30  # bytes: a distro kallsyms with every module is ~70 MB


def read_bounded(path: Path, limit: int = MAX_TEXT) -> bytes:
    """A source file's bytes, refusing more than ``limit`` (a text source never needs a
    gigabyte; /proc files report size 0, so the read itself is bounded)."""
    try:
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise SourceError(path, f"cannot read: {exc.strerror or exc}") from exc
    if len(data) > limit:
        raise SourceError(path, f"more than {limit >> 20} MiB: not a symbol list ksql reads")
    return data


_SYMLINK_HOPS = 40  # the kernel's own limit (fs/namei.c MAXSYMLINKS)


@frozen
class Kernel:
    """The kernel whose artifacts plugins name in ``ksql_default_sources``: the running one,
    or one chosen with ``-k RELEASE`` / ``-b ROOT`` (as kmod's ``modinfo -k``, ``depmod -b``).

    ``running`` says whether it is the kernel ksql runs on (only then do ``/proc`` and
    ``/sys`` describe it); ``selected`` whether the user named it, so that artifacts too
    heavy for every default run (the module tree, a debug vmlinux) are worth reading."""

    release: str
    machine: str
    root: Path = Path("/")
    running: bool = True
    selected: bool = False

    @classmethod
    def current(cls) -> Kernel:
        u = os.uname()  # platform.machine() is this on every system with os.uname()
        return cls(release=u.release, machine=u.machine)

    def path(self, absolute: str) -> Path:
        """``absolute`` (``/boot/System.map-<release>``) inside :attr:`root`, following
        symbolic links as a chroot would: ``/lib/modules/<release>/build`` is an absolute
        link (``/usr/src/linux-headers-<release>``) that must not leave the root."""
        if self.root == Path("/"):
            return Path(absolute)
        return _inside(self.root, absolute)


def _inside(root: Path, absolute: str) -> Path:
    parts = [p for p in absolute.split("/") if p]
    current = root
    hops = 0
    while parts:
        part = parts.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            current = current.parent if current != root else root
            continue
        candidate = current / part
        if candidate.is_symlink() and hops < _SYMLINK_HOPS:
            hops += 1
            target = os.readlink(candidate)
            if target.startswith("/"):
                current = root
            parts[:0] = [p for p in target.split("/") if p]
            continue
        current = candidate
    return current


# The name plugins written before kernel selection import.
RunningKernel = Kernel


@frozen
class DefaultSource:
    """A path a plugin would read for the running kernel, or why it is skipped."""

    source_type: str
    path: Path
    skip_reason: str = ""


class SourceRegistry:
    """Source types by name; passed to ``ksql_register_sources``."""

    def __init__(self) -> None:
        self._types: dict[str, SourceType] = {}

    def register(self, source_type: SourceType) -> None:
        name = source_type.name
        if not name or ":" in name or "/" in name:
            raise PluginError(f"source type {source_type!r} needs a name without ':' or '/'")
        if name in self._types:
            raise PluginError(
                f"source type {name!r} registered twice ({type(self._types[name]).__module__} "
                f"and {type(source_type).__module__})"
            )
        self._types[name] = source_type

    def get(self, name: str) -> SourceType | None:
        return self._types.get(name)

    def __iter__(self) -> Iterator[SourceType]:
        """By name: sniffing order and listings do not depend on plugin load order."""
        return iter(sorted(self._types.values(), key=lambda t: t.name))

    def __len__(self) -> int:
        return len(self._types)

    def names(self) -> list[str]:
        return sorted(self._types)
