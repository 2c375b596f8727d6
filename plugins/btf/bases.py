"""Where split BTF finds its base. A module's BTF (``/sys/kernel/btf/<module>``, a ``.ko``'s
``.BTF``) continues vmlinux's type ids and string offsets -- pahole --btf_base, 3b1a8a6f6b4a
("kbuild: Build kernel module BTFs if BTF is enabled and pahole supports it", 5.11) -- and
cannot be read without it.

The base is the vmlinux BTF read last by this process (a vmlinux ELF file or a
raw base blob: :func:`remember`), else, for the running kernel's own modules, its
``/sys/kernel/btf/vmlinux``. Bases are decoded once per process (worker processes too) and
kept while their file is unchanged.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from ksql.errors import SourceError

if TYPE_CHECKING:  # remember() runs on every vmlinux load: the decoder loads when used
    from .reader import Btf

RUNNING = Path("/sys/kernel/btf/vmlinux")
_remembered: list[str] = []


def remember(path: Path | str) -> None:
    """``path`` (a vmlinux or a raw base BTF blob) is the base for module BTF read after it."""
    text = str(Path(path).resolve())
    if text in _remembered:
        _remembered.remove(text)
    _remembered.append(text)


def forget() -> None:
    """Drop the remembered bases (tests; a new load with other sources)."""
    _remembered.clear()


def base_path(module_path: Path) -> Path | None:
    """The base for the split BTF in ``module_path``: the last vmlinux remembered, else the
    running kernel's when the file is one of its (``/sys/kernel/btf/*``,
    ``/lib/modules/<release>/``)."""
    if _remembered:
        return Path(_remembered[-1])
    text = str(module_path.resolve())
    running = text.startswith("/sys/kernel/btf/") or text.startswith(
        f"/lib/modules/{os.uname().release}/"
    )
    if running and RUNNING.exists():
        return RUNNING
    return None


def load_base(path: Path) -> Btf:
    """The decoded base BTF in ``path`` (raw, or a vmlinux's ``.BTF``), cached per file."""
    try:
        st = path.stat()
    except OSError as exc:
        raise SourceError(path, f"cannot read the base BTF: {exc.strerror or exc}") from exc
    return _load(str(path), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=2)
def _load(path: str, _size: int, _mtime: int) -> Btf:
    from .blob import read_blob
    from .reader import Btf

    return Btf(path, read_blob(Path(path)))
