"""The decoded rows of a base BTF blob, kept between runs.

The whole-catalog load cache (:mod:`ksql.cache`) cannot serve the default source set:
``/proc/kallsyms`` changes unseen, so that set has no fingerprint and every default run
decoded ``/sys/kernel/btf/vmlinux`` again (0.3-1 s). Yet that file holds the same bytes for
the whole boot (the kernel builds it once from its own ``.BTF`` section, kernel/bpf/sysfs_btf.c),
so its rows are kept here, keyed by the boot (``/proc/sys/kernel/random/boot_id``) and the
file's size; a regular file is keyed by device, inode, size and modification time. The key
also names ksql's version and the modification times of this plugin's files.

An entry is an ``.npz`` (no pickle) in the user's private cache directory
(:mod:`ksql.private`), checked like the load cache's: a trusted regular file whose zip CRCs
hold and whose columns agree in length; anything else is a miss and is rewritten.
``KSQL_NO_CACHE=1`` turns it off.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ksql import __version__
from ksql.model import Kind
from ksql.private import open_entry, private_folder
from ksql.sink import Batch

FORMAT = 1
PREFIX = "btf-rows-"
KEEP = 8  # entries: a few kernels' BTF, ~3 MB each
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
_SEP = "\0"  # BTF strings are NUL-terminated: no name or declaration holds one


def fingerprint(path: Path) -> str | None:
    """What identifies ``path``'s bytes: the boot for ``/sys/kernel/btf/*`` (fixed while the
    kernel runs; a module's file goes with its unload, so its size is in the key too), the
    usual device, inode, size and mtime for a regular file, None otherwise."""
    try:
        resolved = path.resolve()
        st = resolved.stat()
    except OSError:
        return None
    if str(resolved).startswith("/sys/kernel/btf/"):
        try:
            boot = BOOT_ID.read_text().strip()
        except OSError:
            return None
        return f"boot:{boot}:{resolved}:{st.st_size}"
    if str(resolved).startswith(("/proc/", "/sys/", "/dev/")) or not stat.S_ISREG(st.st_mode):
        return None
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"


def _code_stamp() -> str:
    here = Path(__file__).parent
    return ";".join(
        f"{f.name}:{f.stat().st_mtime_ns}:{f.stat().st_size}" for f in sorted(here.glob("*.py"))
    )


def _entry(print_: str, module: str) -> Path | None:
    if os.environ.get("KSQL_NO_CACHE"):
        return None
    folder = private_folder(create=True)
    if folder is None:
        return None
    identity = json.dumps([FORMAT, __version__, _code_stamp(), print_, module])
    return folder / f"{PREFIX}{hashlib.sha256(identity.encode()).hexdigest()[:32]}.npz"


def load(path: Path, module: str) -> Batch | None:
    """The rows stored for ``path`` read as ``module``, or None (a miss)."""
    print_ = fingerprint(path)
    entry = _entry(print_, module) if print_ else None
    if entry is None:
        return None
    try:
        opened = open_entry(entry)
        if opened is None:
            return None
        with opened[0] as f, np.load(f, allow_pickle=False) as npz:
            meta = json.loads(bytes(npz["meta"]).decode())
            kind = npz["kind"]
            strings = {k: _split(npz[k], int(meta["count"])) for k in ("name", "decl")}
            section = _split(npz["section"], int(meta["count"]))
        if kind.dtype != np.uint8 or len(kind) != meta["count"]:
            raise ValueError("bad kind column")
        if not set(kind.tolist()) <= {int(Kind.FUNCTION), int(Kind.OBJECT)}:
            raise ValueError("bad kind codes")
    except Exception:
        entry.unlink(missing_ok=True)
        return None
    batch = Batch.of(
        strings["name"], module=module, decl=strings["decl"], kind=kind, section=section
    )
    batch.notes.extend(str(n) for n in meta.get("notes", []))
    return batch


def _split(blob: npt.NDArray[Any], count: int) -> list[str]:
    if blob.dtype != np.uint8:
        raise ValueError("bad string column")
    if not count:
        return []
    out = blob.tobytes().decode("utf-8", "surrogateescape").split(_SEP)
    if len(out) != count:
        raise ValueError("string column of another length")
    return out


def save(path: Path, module: str, batch: Batch) -> None:
    """Keep ``batch`` (the rows of ``path`` read as ``module``); a failure only costs speed."""
    print_ = fingerprint(path)
    entry = _entry(print_, module) if print_ else None
    if entry is None:
        return
    arrays: dict[str, Any] = {
        key: np.frombuffer(_SEP.join(batch[key]).encode("utf-8", "surrogateescape"), dtype=np.uint8)
        for key in ("name", "decl", "section")
    }
    arrays["kind"] = np.asarray(batch["kind"], np.uint8)
    meta = {"count": len(batch), "notes": batch.notes}
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    try:
        fd, tmp = tempfile.mkstemp(dir=entry.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **arrays)
            os.replace(tmp, entry)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        old = sorted(
            entry.parent.glob(f"{PREFIX}*.npz"), key=lambda p: p.stat().st_mtime, reverse=True
        )
        for stale in old[KEEP:]:
            stale.unlink(missing_ok=True)
    except OSError:
        return
