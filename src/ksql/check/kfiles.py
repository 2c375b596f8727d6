"""Where ``ksql check`` finds kernel K's files beside its sources: the configuration
(``.config``, ``include/config/auto.conf``, ``/boot/config-<release>``), the release, and
``sizeof(struct module)`` from a BTF or vmlinux. Light: no catalog, no numpy.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

_RELEASE = re.compile(r"(?:/lib/modules/|config-|System\.map-|vmlinux-|linux-headers-)([^/\s]+)")


def find_config(specs: Sequence[str], given: str | None) -> Path | None:
    """K's configuration: ``given``; else a ``.config`` / ``include/config/auto.conf``
    beside a source (a headers or build tree), ``/boot/config-<release>`` for a source in
    ``/lib/modules/<release>`` or named ``*-<release>``; with no source, the running
    kernel's ``/boot/config-$(uname -r)``."""
    if given:
        return Path(given)
    candidates: list[Path] = []
    paths = [Path(s.split(":", 1)[1] if _typed(s) else s) for s in specs]
    for p in paths:
        folder = p if p.is_dir() else p.parent
        candidates += [folder / ".config", folder / "include/config/auto.conf"]
        if (folder / "build").is_dir():
            candidates += [folder / "build/.config", folder / "build/include/config/auto.conf"]
        m = _RELEASE.search(str(p.resolve() if p.exists() else p))
        if m:
            candidates.append(Path("/boot") / f"config-{m.group(1)}")
    if not specs:
        candidates.append(Path("/boot") / f"config-{os.uname().release}")
    return next((c for c in candidates if c.is_file()), None)


def _typed(spec: str) -> bool:
    name, sep, _ = spec.partition(":")
    return bool(sep) and "/" not in name and not Path(spec).exists()


def release_of(config_path: Path | None, specs: Sequence[str]) -> str | None:
    """K's release: ``include/config/kernel.release`` of a build tree, the ``-<release>``
    of ``config-<release>`` or a source path, else (no source) the running kernel's."""
    if config_path is not None:
        # include/config/auto.conf sits beside include/config/kernel.release (top Makefile).
        release_file = config_path.parent / "kernel.release"
        if config_path.name == "auto.conf" and release_file.is_file():
            return release_file.read_text().strip()
        if config_path.name.startswith("config-"):
            return config_path.name[len("config-") :]
    for s in specs:
        m = _RELEASE.search(s)
        if m:
            return m.group(1)
    return os.uname().release if not specs else None


def struct_module_size(specs: Sequence[str], btf: str | None) -> int | None:
    """``sizeof(struct module)`` from ``btf``, else a vmlinux or raw BTF among the sources,
    else (no source) the running kernel's ``/sys/kernel/btf/vmlinux``."""
    from ksql.check.elfio import struct_size

    paths = [btf] if btf else []
    for s in specs:
        p = s.split(":", 1)[1] if _typed(s) else s
        if Path(p).name.startswith("vmlinux") and Path(p).is_file():
            paths.append(p)
    if not specs and not btf:
        paths.append("/sys/kernel/btf/vmlinux")
    for p in paths:
        if Path(p).is_file():
            try:
                size = struct_size(Path(p), "module")
            except Exception:  # no .BTF in this vmlinux: another may have it
                continue
            if size is not None:
                return size
    return None


def load_config(path: Path | None) -> Mapping[str, str]:
    """K's configuration, each option read when asked (:class:`ConfigText`)."""
    if path is None:
        return {}
    from ksql.kernel.kconfig import ConfigText

    return ConfigText(path.read_text(errors="replace"))
