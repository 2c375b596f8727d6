"""A third-party ksql source plugin, as a distribution would ship it: symbols listed in a
``#ksql-demo`` file, one ``NAME MODULE [gpl]`` per line."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ksql.errors import SourceError
from ksql.hookspecs import hookimpl
from ksql.model import ExportKind
from ksql.sink import RowSink
from ksql.source import DefaultSource, RunningKernel, SourceRegistry, SourceType

MAGIC = b"#ksql-demo"


class DemoList(SourceType):
    name = "demo"
    description = "demo symbol list"

    def recognizes(self, path: Path, head: bytes) -> bool:
        return head.startswith(MAGIC)

    def load(self, path: Path, sink: RowSink) -> None:
        for number, line in enumerate(path.read_text().splitlines()[1:], 2):
            fields = line.split()
            if len(fields) not in (2, 3):
                raise SourceError(path, "expected 'NAME MODULE [gpl]'", line=number)
            gpl = fields[2:] == ["gpl"]
            sink.add(
                fields[0],
                module=fields[1],
                type="T",
                export=ExportKind.EXPORT_SYMBOL_GPL if gpl else ExportKind.EXPORT_SYMBOL,
            )


@hookimpl
def ksql_register_sources(registry: SourceRegistry) -> None:
    registry.register(DemoList())


@hookimpl
def ksql_default_sources(kernel: RunningKernel) -> Iterable[DefaultSource]:
    return [DefaultSource("demo", Path(f"/nonexistent/demo-{kernel.release}.list"))]
