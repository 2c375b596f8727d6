"""Built-in source: ``Module.symvers``, the export list kbuild's modpost writes.

Tab-separated, one export per line; fields are never split on spaces. Layouts, all read:

- >= 5.6, 5190044c2965 ("modpost: move the namespace field in Module.symvers last"):
  ``CRC<TAB>NAME<TAB>MODULE<TAB>EXPORT<TAB>NAMESPACE`` -- a trailing tab when the namespace
  is empty (write_dump: ``"0x%08x\\t%s\\t%s\\tEXPORT_SYMBOL%s\\t%s\\n"``);
- 5.4-5.5, cb9b55d21fe0 ("modpost: add support for symbol namespaces"):
  ``CRC<TAB>NAME<TAB>NAMESPACE<TAB>MODULE<TAB>EXPORT``;
- 2.6.18-5.3, bd5cbcedf446 ("kbuild: export-type enhancement to modpost.c"):
  ``CRC<TAB>NAME<TAB>MODULE<TAB>EXPORT``;
- before 2.6.18: ``CRC<TAB>NAME<TAB>MODULE``.

MODULE is ``vmlinux`` or the module's path without ``.ko`` (``drivers/usb/storage/usb-storage``;
absolute for ``M=`` builds); the module's name is its basename with ``-`` -> ``_``. Without
CONFIG_MODVERSIONS every CRC is ``0x00000000``: then no CRC is known.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from ksql.errors import SourceError
from ksql.hookspecs import hookimpl
from ksql.kernel.modules import VMLINUX, normalize_module_name
from ksql.model import ExportKind
from ksql.schema import INT_NONE
from ksql.sink import RowSink
from ksql.source import DefaultSource, Kernel, SourceRegistry, SourceType, read_bounded

_CRC = re.compile(r"0x[0-9a-fA-F]{1,16}")
_SNIFF = re.compile(rb"^0x[0-9a-fA-F]{8,16}\t[^\t\n]+\t[^\t\n]*(\t[^\n]*)?$")
_MACRO = re.compile(r"EXPORT_[A-Z_]{1,40}")
_EXPECTED = (
    "expected 'CRC<TAB>NAME<TAB>MODULE<TAB>EXPORT<TAB>NAMESPACE' (or an older layout: "
    "namespace third, no namespace, no export type)"
)
_KINDS = {k.name: k for k in ExportKind if k > ExportKind.EXPORTED}


class ModuleSymvers(SourceType):
    name = "symvers"
    description = "Module.symvers (modpost's export list: CRC, module, export kind, namespace)"

    def recognizes(self, path: Path, head: bytes) -> bool:
        # The first line decides; load() reports later bad lines with their numbers.
        first = next((ln for ln in head.split(b"\n")[:64] if ln.strip()), b"")
        return bool(_SNIFF.match(first.rstrip(b"\r")))

    def independent(self, path: Path) -> bool:
        return True  # a text parse: its rows are all it gives

    def load(self, path: Path, sink: RowSink) -> None:
        text = read_bounded(path).decode("utf-8", "surrogateescape")
        names: list[str] = []
        modules: list[str] = []
        crcs: list[int] = []
        exports: list[int] = []
        namespaces: list[str] = []
        module_names: dict[str, str] = {}
        for number, line in enumerate(text.split("\n"), 1):
            if not line:
                continue
            fields = line.rstrip("\r").split("\t")
            crc, name, module, export, namespace = _fields(path, number, fields)
            names.append(name)
            mod = module_names.get(module)
            if mod is None:
                mod = module_names[module] = (
                    VMLINUX if module == VMLINUX else normalize_module_name(module)
                )
            modules.append(mod)
            crcs.append(crc)
            exports.append(export)
            namespaces.append(namespace)
        crc_col = np.array(crcs, dtype=np.int64)
        if len(crc_col) and not crc_col.any():
            crc_col[:] = INT_NONE  # built without CONFIG_MODVERSIONS
        sink.extend(
            names,
            module=modules,
            crc=crc_col,
            export=exports,
            namespace=namespaces,
            undefined=np.zeros(len(names), dtype=np.bool_),
        )


def _fields(path: Path, number: int, f: list[str]) -> tuple[int, str, str, int, str]:
    """(crc, name, module, export kind, namespace) of one line, whatever its layout."""

    def fail(what: str) -> SourceError:
        return SourceError(path, f"{what}; {_EXPECTED}", line=number)

    if len(f) < 3:
        raise fail(f"{len(f)} tab-separated field(s)")
    if not _CRC.fullmatch(f[0]):
        raise fail("bad CRC in field 1 (not a hexadecimal number)")
    if not f[1]:
        raise fail("empty symbol name")
    crc = int(f[0], 16)
    if len(f) == 3:
        return crc, f[1], f[2], ExportKind.EXPORTED, ""
    if len(f) == 4:
        return crc, f[1], f[2], _kind(f[3], fail), ""
    if len(f) == 5:
        if f[3].startswith("EXPORT_"):
            return crc, f[1], f[2], _kind(f[3], fail), f[4]
        if f[4].startswith("EXPORT_"):
            return crc, f[1], f[3], _kind(f[4], fail), f[2]
        raise fail("no EXPORT_* kind in field 4 or 5")
    raise fail(f"{len(f)} tab-separated fields")


def _kind(text: str, fail: Callable[[str], SourceError]) -> int:
    kind = _KINDS.get(text)
    if kind is None:
        # Quoted only when it is a kernel macro's name: messages reach editors, and the
        # file may not be a Module.symvers at all.
        what = repr(text) if _MACRO.fullmatch(text) else "in the export field"
        raise fail(f"unknown export kind {what} (known: {', '.join(_KINDS)})")
    return int(kind)


@hookimpl
def ksql_register_sources(registry: SourceRegistry) -> None:
    registry.register(ModuleSymvers())


@hookimpl
def ksql_default_sources(kernel: Kernel) -> Iterable[DefaultSource]:
    # build is the link `make modules_install` (scripts/depmod.sh's caller, Makefile
    # `_modinst_`) and the linux-headers packages leave to the build or headers tree
    yield DefaultSource(
        "symvers", kernel.path(f"/lib/modules/{kernel.release}/build/Module.symvers")
    )
