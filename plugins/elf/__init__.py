"""Built-in source: ELF files -- vmlinux, kernel modules (``.ko``, also ``.ko.xz``,
``.ko.zst``, ``.ko.gz``), ``.o`` files -- and directories of modules (``/lib/modules/<rel>``).

Symbols carry nm's type letter exactly as GNU nm prints it (:mod:`.nmtypes`), exports their
flavour, namespace and CRC (:mod:`.kexports`), imports the CRC the module expects, and each
module its ``.modinfo`` as queryable fields (:mod:`.modinfo`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ksql.batch import RowSink
from ksql.hookspecs import hookimpl
from ksql.source import SourceRegistry, SourceType

if TYPE_CHECKING:
    from .image import Rows

from .magic import ELF_MAGIC, is_compressed

# Every ksql run imports every plugin: the decoder (with pyelftools and multiprocessing) is
# imported only when an ELF source is read.


class ElfSource(SourceType):
    name = "elf"
    description = "vmlinux, modules (.ko, .ko.xz/.zst/.gz), .o files, module directories"

    def recognizes(self, path: Path, head: bytes) -> bool:
        if path.is_dir():
            from .files import has_modules

            return has_modules(path)
        if head.startswith(ELF_MAGIC):
            return True
        return is_compressed(head) and path.name.endswith(_COMPRESSED)

    def fingerprint(self, path: Path) -> str | None:
        if not path.is_dir():
            return super().fingerprint(path)
        from .files import tree_fingerprint

        return tree_fingerprint(path)

    def load(self, path: Path, sink: RowSink) -> None:
        from .files import Progress, module_files, read_file, read_tree

        if not path.is_dir():
            emit(read_file(path), sink)
            return
        files = module_files(path)
        progress = Progress(len(files), f"loading {len(files)} modules")
        try:
            for rows in read_tree(files, progress=progress):
                emit(rows, sink)
        finally:
            progress.close()


_COMPRESSED = (".ko.xz", ".ko.gz", ".ko.zst", ".o.xz", ".o.gz", ".o.zst", ".xz", ".gz", ".zst")


def emit(rows: Rows, sink: RowSink) -> None:
    """Hand ``rows`` to the sink as columns."""
    for error in rows.errors:
        sink.problem(error)
    for module, info in rows.modinfo.items():
        sink.module_info(module, info)
    if not len(rows):
        return

    def cat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
        return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)

    sink.extend(
        rows.name,
        module=rows.module,
        addr=cat(rows.addr, np.uint64),
        type=b"".join(rows.type),
        size=cat(rows.size, np.uint64).astype(np.int64),
        section=rows.section,
        bind=cat(rows.bind, np.uint8),
        kind=cat(rows.kind, np.uint8),
        export=cat(rows.export, np.uint8),
        namespace=rows.namespace,
        crc=cat(rows.crc, np.int64),
        undefined=cat(rows.undefined, np.bool_),
    )


@hookimpl
def ksql_register_sources(registry: SourceRegistry) -> None:
    registry.register(ElfSource())
