"""``ksql export --format parquet DIR``: one Parquet file per kernel, in Hive-style
``DIR/release=R/arch=A/symbols.parquet`` directories, rows sorted by (name, module), zstd.

The columns are :func:`ksql.history.arrow.symbol_schema` (every catalog column, versioned in the
file's metadata) plus the kernel's ``vermagic`` and ``distro_version``; ``release`` and
``arch`` are the partition directories, as Hive, DuckDB (``hive_partitioning``), Spark and
Trino read them, so they are not repeated inside the file.
"""

from __future__ import annotations

import os
import re
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ksql.catalog import Catalog
from ksql.errors import KsqlError
from ksql.values import frozen

FILE_NAME = "symbols.parquet"
# Row groups of 64 Ki rows: the file is sorted by name, so each group's min/max name lets a
# reader (DuckDB, Spark, Trino) skip all groups but one for "name=X"; one 1 Mi-row group
# per kernel made a 100-kernel "since when" read every name.
ROW_GROUP = 1 << 16
KERNEL_COLUMNS = ("release", "arch", "vermagic", "distro_version")


def write_table(table: Any, path: Path) -> None:
    """One kernel's table (sorted by name) as Parquet: :func:`_writer`'s file, 64 Ki-row
    groups."""
    with _writer(path, table.schema) as writer:
        writer.write_table(table, row_group_size=ROW_GROUP)


def write_sorted(table: Any, order: Any, path: Path) -> None:
    """:func:`write_table` of ``table.take(order)``, each row group taken while the one
    before is encoded: pyarrow encodes a file on one thread and lets go of the GIL, so the
    take runs beside it. On Debian 6.1's full kernel (917,638 rows) sorting, taking and
    writing went 1.49-1.73 -> 0.95-1.35 s (two cores, three runs)."""
    import pyarrow as pa

    pending: deque[Future[None]] = deque()
    with _writer(path, table.schema) as writer, ThreadPoolExecutor(1) as pool:
        for start in range(0, len(order), ROW_GROUP):
            part = table.take(pa.array(order[start : start + ROW_GROUP]))
            pending.append(pool.submit(writer.write_table, part, row_group_size=ROW_GROUP))
            if len(pending) > 2:  # at most two groups taken ahead of the encoder
                pending.popleft().result()
        while pending:
            pending.popleft().result()


def _writer(path: Path, schema: Any) -> Any:
    """A Parquet writer for kernel tables: zstd, every column dictionary-encoded but the
    name, which is front-coded (DELTA_BYTE_ARRAY: each name stores only what differs from
    the one before, and sorted kernel names share long prefixes). On Debian 6.1's full
    kernel (917,638 rows) the name took 5.32 of the file's 10.36 bytes a row as a
    dictionary; front-coded the file is 8.38 bytes a row, written in the same time."""
    import pyarrow.parquet as pq

    return pq.ParquetWriter(
        path,
        schema,
        compression="zstd",
        use_dictionary=[c for c in schema.names if c != "name"],
        column_encoding={"name": "DELTA_BYTE_ARRAY"},
    )


# Paths that name the full release string (the same places ksql.kernel.version reads).
_RELEASE_IN_PATH = re.compile(
    r"(?:/modules/|linux-headers-|linux-image-|System\.map-|vmlinux-|config-)"
    r"(\d+\.\d+[0-9A-Za-z.+_-]*?)(?=/|\.deb|_|$)"
)
_SAFE = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+_~-]*")


@frozen
class Kernel:
    """The kernel a catalog describes: its partition and its constant columns."""

    release: str
    arch: str
    vermagic: str | None = None
    distro_version: str | None = None


def kernel_of(
    catalog: Catalog, release: str | None, arch: str | None, distro_version: str | None
) -> Kernel:
    """``release`` and ``arch`` as given, else from a module's vermagic (whose first word is
    UTS_RELEASE, include/linux/vermagic.h) or the source paths; Debian's flavour suffix
    (``-amd64``, ``-cloud-arm64``) names the architecture."""
    vermagic = _vermagic(catalog.module_info.values())
    release = release or (vermagic.split()[0] if vermagic else None)
    if not release:
        release = _release_from_paths(label for label, _ in catalog.loaded)
    if not release:
        raise KsqlError("export: cannot tell the kernel release from the sources; give --release")
    arch = arch or _debian_arch(release)
    for what, value in (("release", release), ("arch", arch)):
        if not _SAFE.fullmatch(value):
            raise KsqlError(f"export: {what} {value!r} is not a safe directory name")
    return Kernel(release, arch, vermagic, distro_version or None)


def _vermagic(infos: Iterable[dict[str, list[str]]]) -> str | None:
    for info in infos:
        for magic in info.get("vermagic", ()):
            return magic
    return None


def _release_from_paths(labels: Iterable[str]) -> str | None:
    for label in labels:
        m = _RELEASE_IN_PATH.search(label)
        if m:
            return m.group(1)
    return None


_DEBIAN_ARCHES = frozenset(
    [
        "amd64",
        "arm64",
        "armmp",
        "armmp-lpae",
        "686",
        "686-pae",
        "powerpc64le",
        "s390x",
        "mips64r2el",
        "loong64",
        "riscv64",
        "marvell",
        "octeon",
        "4kc-malta",
        "5kc-malta",
    ]
)


def _debian_arch(release: str) -> str:
    """``amd64`` of ``6.1.0-50-cloud-amd64``; ``unknown`` when the release has no suffix."""
    parts = release.split("-")
    for n in (2, 1):
        if len(parts) > n and "-".join(parts[-n:]) in _DEBIAN_ARCHES:
            return "-".join(parts[-n:])
    return "unknown"


def kernel_table(catalog: Catalog, kernel: Kernel) -> Any:
    """The catalog as an Arrow table sorted by (name, module), with the kernel's columns."""
    import pyarrow as pa

    table, order = _unsorted_table(catalog, kernel)
    return table.take(pa.array(order))


def _unsorted_table(catalog: Catalog, kernel: Kernel) -> tuple[Any, Any]:
    """The catalog as an Arrow table with the kernel's columns, in the catalog's order, and
    the row numbers that sort it by (name, module)."""
    import numpy as np
    import pyarrow as pa

    from ksql.history.arrow import catalog_table, name_array

    names = name_array(catalog)
    modules = catalog.table("module").strings
    rank = np.empty(len(modules), dtype=np.int32)
    rank[sorted(range(len(modules)), key=modules.__getitem__)] = np.arange(len(modules))
    order = sorted_rows(catalog, names, rank[catalog.columns()["module"]])
    table = catalog_table(catalog, None, names)
    n = table.num_rows
    for column in ("vermagic", "distro_version"):
        value = getattr(kernel, column)
        table = table.append_column(
            pa.field(column, pa.dictionary(pa.int32(), pa.string())),
            pa.DictionaryArray.from_arrays(
                pa.array([0] * n if value is not None else [None] * n, type=pa.int32()),
                pa.array([value or ""], type=pa.string()),
            ),
        )
    return table, order


def sorted_rows(catalog: Catalog, names: Any, module_rank: Any) -> Any:
    """The rows' order by (name, module rank), as numpy row numbers. Arrow sorts on one
    thread: with more cores the rows are split at a first byte into two halves, all of one
    before all of the other, sorted side by side (Arrow's kernels let go of the GIL). On
    Debian 6.1's full kernel (917,638 rows) 0.85 -> 0.45 s on two cores."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    keys = [("name", "ascending"), ("module", "ascending")]

    def sort(rows: Any) -> Any:
        part = pa.table({"name": names.take(pa.array(rows)), "module": module_rank[rows]})
        return rows[pc.sort_indices(part, sort_keys=keys).to_numpy()]

    n = len(catalog)
    blob = catalog.columns().name.blob
    every = np.arange(n, dtype=np.int64)
    if n < 4096 or len(os.sched_getaffinity(0)) < 2 or not blob.isascii():
        return sort(every)
    starts = catalog.columns().name.starts
    first = np.frombuffer(blob.encode("ascii"), dtype=np.uint8)[starts[:-1] + 1]
    first[np.diff(starts) == 1] = 0  # an empty name (its "first byte" is the newline)
    split = int(np.searchsorted(np.bincount(first, minlength=256).cumsum(), n // 2))
    low = first <= split
    with ThreadPoolExecutor(2) as pool:
        halves = list(pool.map(sort, [every[low], every[~low]]))
    return np.concatenate(halves)


def export_parquet(catalog: Catalog, root: Path, kernel: Kernel) -> Path:
    """Write the kernel's file (replacing it atomically); returns its path."""

    table, order = _unsorted_table(catalog, kernel)
    directory = root / f"release={kernel.release}" / f"arch={kernel.arch}"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise KsqlError(f"export: {directory}: {exc.strerror or exc}") from exc
    path = directory / FILE_NAME
    partial = directory / f".{FILE_NAME}.{os.getpid()}"
    try:
        write_sorted(table, order, partial)
        partial.replace(path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise KsqlError(f"export: {path}: {exc.strerror or exc}") from exc
    return path
