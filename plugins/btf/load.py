"""Reading one BTF input into a sink: raw or ELF-wrapped, base or split (with its base)."""

from __future__ import annotations

from pathlib import Path

from ksql.errors import SourceError
from ksql.kernel.modules import VMLINUX, module_name_of_file
from ksql.sink import Batch, RowSink

from . import bases, store
from .blob import read_blob
from .reader import Btf, is_split
from .rows import rows


def module_of(path: Path, split: bool) -> str:
    """vmlinux for base BTF; a module's name from its file (``/sys/kernel/btf/ext4``,
    ``usb-storage.ko.xz``) for split BTF."""
    return module_name_of_file(path.name) if split else VMLINUX


def decode(path: Path, data: bytes, *, split: bool, module: str) -> Batch:
    """The rows of one blob; split BTF without a base is one note and no rows."""
    if not split:
        return rows(Btf(path, data), module)
    base = bases.base_path(path)
    if base is None:
        return Batch(
            Batch.of([]).columns,
            notes=[
                f"{path}: module BTF skipped: no vmlinux BTF to continue from (load a vmlinux "
                "or /sys/kernel/btf/vmlinux of the same kernel before it)"
            ],
        )
    try:
        base_btf = bases.load_base(base)
    except SourceError as exc:
        return Batch(Batch.of([]).columns, notes=[f"{path}: module BTF skipped: {exc}"])
    return rows(Btf(path, data, base=base_btf), module)


def load_btf(path: Path, sink: RowSink) -> None:
    kept = store.load(path, VMLINUX)  # only a base blob's rows are kept: they are vmlinux's
    if kept is not None:
        bases.remember(path)
        sink.append(kept)
        return
    data = read_blob(path)
    try:
        split = is_split(data)
        if not split:
            bases.remember(path)
        batch = decode(path, data, split=split, module=module_of(path, split))
        if not split:
            store.save(path, VMLINUX, batch)
        sink.append(batch)
    except SourceError:
        raise
    except (ValueError, IndexError, KeyError, OverflowError, TypeError) as exc:
        raise SourceError(path, f"malformed BTF ({type(exc).__name__}: {exc})") from exc


def load_elf(path: Path, sink: RowSink) -> None:
    """The ELF source's entry point: the rows of ``path``'s ``.BTF`` section (vmlinux: base
    BTF; a ``.ko``: split BTF over the vmlinux read before it, or the running kernel's).
    An ELF file without ``.BTF`` gives one note, not an error."""
    try:
        load_btf(path, sink)
    except SourceError as exc:
        if "no .BTF section" not in exc.message:
            raise
        sink.append(Batch(Batch.of([]).columns, notes=[f"{path}: no .BTF section: no decl"]))
