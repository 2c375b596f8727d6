"""Which kernel release a set of symbol sources describes, as (major, minor): the quick fix
needs it because ``MODULE_IMPORT_NS`` takes a string literal from 6.13 on (cdd30ebb1b9f,
"module: Convert symbol namespace to string literal") and a bare name before.

Pure: it reads plain values (a module's ``.modinfo``, source labels, a release string), not
a catalog.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

# A module's vermagic starts with the release it was built for: include/linux/vermagic.h
# VERMAGIC_STRING is UTS_RELEASE " " followed by the flags ("6.12.0 SMP preempt mod_unload").
_VERMAGIC = re.compile(r"^(\d+)\.(\d+)")
# Paths that name the release: /lib/modules/<release>/ (where `make modules_install` and
# kmod put modules), the Debian/Ubuntu linux-headers-<release> package, and the
# System.map-<release> / vmlinux-<release> files that installkernel (run by the kernel's
# scripts/install.sh) and distribution debug packages install.
_RELEASE = re.compile(r"(?:/modules/|linux-headers-|System\.map-|vmlinux-)(\d+)\.(\d+)")
_KALLSYMS = "/proc/kallsyms"


def kernel_version(
    module_info: Mapping[str, Mapping[str, Sequence[str]]],
    source_labels: Iterable[str],
    running: str | None = None,
) -> tuple[int, int] | None:
    """(major, minor) from, first found: a module's ``vermagic`` (``module_info`` maps a
    module to its ``.modinfo`` keys), a source label that names the release, else the
    ``running`` release when a source is ``/proc/kallsyms`` (it describes the running
    kernel); None when nothing tells."""
    for info in module_info.values():
        for magic in info.get("vermagic", ()):
            m = _VERMAGIC.match(magic)
            if m:
                return int(m.group(1)), int(m.group(2))
    labels = list(source_labels)
    for label in labels:
        m = _RELEASE.search(label)
        if m:
            return int(m.group(1)), int(m.group(2))
    if running and any(_KALLSYMS in label for label in labels):
        m = _VERMAGIC.match(running)
        if m:
            return int(m.group(1)), int(m.group(2))
    return None


# The whole release string in the same places: what `uname -r` prints for that kernel.
_RELEASE_FULL = re.compile(
    r"(?:/modules/|linux-headers-|System\.map-|vmlinux-|config-)(\d+\.\d+[^/\s:]*)"
)


def kernel_release(
    module_info: Mapping[str, Mapping[str, Sequence[str]]],
    source_labels: Iterable[str],
    running: str | None = None,
) -> str | None:
    """The full release (``6.1.0-50-amd64``) the sources describe, found as
    :func:`kernel_version` finds its numbers; None when nothing tells."""
    labels = list(source_labels)
    if running and any(_KALLSYMS in label for label in labels):
        return running  # /proc/kallsyms is the running kernel, whatever else was loaded
    for label in labels:
        m = _RELEASE_FULL.search(label)
        if m:
            return m.group(1)
    for info in module_info.values():
        for magic in info.get("vermagic", ()):
            if _VERMAGIC.match(magic):
                return magic.split()[0]
    return None
