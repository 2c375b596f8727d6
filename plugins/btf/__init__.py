"""Built-in source: BTF, what each symbol *is* -- every function's prototype and every
per-CPU variable's type, as the ``decl`` field, spelled as dwarves' ``pfunct`` spells them.

Recognised by content: raw BTF blobs (magic 0xeB9F: ``/sys/kernel/btf/vmlinux``,
``/sys/kernel/btf/<module>``, ``.btf`` dumps). Forced with ``-s btf:PATH`` it also reads the
``.BTF`` section of an ELF file (vmlinux, a ``.ko``). A base blob's rows are ``vmlinux``'s,
a split (module) blob's the file's module; split BTF needs its base (:mod:`.bases`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ksql.hookspecs import hookimpl
from ksql.sink import RowSink
from ksql.source import DefaultSource, Kernel, SourceRegistry, SourceType

from .format import HEADER_MIN, MAGIC_BE, MAGIC_LE


class BtfSource(SourceType):
    name = "btf"
    description = "BTF: /sys/kernel/btf/*, .btf dumps (-s btf:FILE also reads an ELF's .BTF)"

    def recognizes(self, path: Path, head: bytes) -> bool:
        return len(head) >= HEADER_MIN and head[:2] in (MAGIC_LE, MAGIC_BE) and head[2] == 1

    def fingerprint(self, path: Path) -> str | None:
        # /sys/kernel/btf/* holds the same bytes for the whole boot: keyed by it (.store).
        from .store import fingerprint

        return fingerprint(path)

    def load(self, path: Path, sink: RowSink) -> None:
        from .load import load_btf

        load_btf(path, sink)


@hookimpl
def ksql_register_sources(registry: SourceRegistry) -> None:
    registry.register(BtfSource())


@hookimpl(trylast=True)  # after the symbol tables: BTF adds what a symbol is
def ksql_default_sources(kernel: Kernel) -> Iterable[DefaultSource]:
    if kernel.running:  # sysfs describes the running kernel only
        yield DefaultSource("btf", Path("/sys/kernel/btf/vmlinux"))


__all__ = ["BtfSource"]
