"""The user's private cache directory: ``KSQL_CACHE_DIR``, else platformdirs' user cache
directory. ksql only reads or writes files there when the directory belongs to the user and
no one else can write to it, so another local user cannot plant a file ksql would believe
(a load-cache entry, a parser table). Light: no numpy, no catalog.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO


def directory() -> Path:
    explicit = os.environ.get("KSQL_CACHE_DIR")
    if explicit:
        return Path(explicit)
    from ksql.xdg import user_dir

    found = user_dir("XDG_CACHE_HOME")
    if found is not None:
        return found
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("ksql"))


def private_folder(*, create: bool) -> Path | None:
    """:func:`directory` when it is this user's and no one else can write to it."""
    folder = directory()
    try:
        if create:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = folder.lstat()
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or not trusted(st):
        return None
    return folder


def trusted(st: os.stat_result) -> bool:
    """Owned by this user and writable by no one else."""
    return st.st_uid == os.geteuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def open_entry(path: Path) -> tuple[BinaryIO, os.stat_result] | None:
    """A cache entry opened for reading, with its status, as every cache trusts one: not
    through a link, never blocking (a FIFO planted there), a regular file of this user's.
    None when it cannot be opened (a miss); ValueError, the file closed, when it is open
    but not a file to trust (the caller removes it)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    f = os.fdopen(fd, "rb")
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or not trusted(st):
        f.close()
        raise ValueError("not a regular file of this user's")
    return f, st


def private_file(name: str) -> Path | None:
    """A path for ``name`` in the private folder (None without one); an existing file there
    that is not a trusted regular file is removed first."""
    folder = private_folder(create=True)
    if folder is None:
        return None
    path = folder / name
    try:
        st = path.lstat()
    except FileNotFoundError:
        return path
    except OSError:
        return None
    if stat.S_ISREG(st.st_mode) and trusted(st):
        return path
    try:
        path.unlink()
    except OSError:
        return None
    return path
