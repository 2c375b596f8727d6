"""One ELF file's bytes -> the rows ksql keeps: nm-visible symbols with their nm letter,
binding, kind, section and size; exports with flavour, namespace and CRC; imports with the
CRC the module expects; and the module's ``.modinfo``. Pure: no I/O, so worker processes
can run it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ksql.batch import ADDR_NONE
from ksql.model import VMLINUX, Bind, normalize_module_name

from . import kexports, modinfo, nmtypes
from .reader import ET_EXEC, SHN_UNDEF, ElfImage


@dataclass(slots=True)
class Rows:
    """Column lists for one or more ELF files (concatenated by :meth:`extend`)."""

    name: list[str] = field(default_factory=list)
    module: list[str] = field(default_factory=list)
    addr: list[npt.NDArray[np.uint64]] = field(default_factory=list)
    type: list[bytes] = field(default_factory=list)
    size: list[npt.NDArray[np.uint64]] = field(default_factory=list)
    section: list[str] = field(default_factory=list)
    bind: list[npt.NDArray[np.uint8]] = field(default_factory=list)
    kind: list[npt.NDArray[np.uint8]] = field(default_factory=list)
    export: list[npt.NDArray[np.uint8]] = field(default_factory=list)
    namespace: list[str] = field(default_factory=list)
    crc: list[npt.NDArray[np.int64]] = field(default_factory=list)
    undefined: list[npt.NDArray[np.bool_]] = field(default_factory=list)
    modinfo: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    files: int = 0

    def extend(self, other: Rows) -> None:
        for key in ("name", "module", "section", "namespace", *_ARRAYS, "errors"):
            getattr(self, key).extend(getattr(other, key))
        for module, info in other.modinfo.items():
            self.modinfo.setdefault(module, {}).update(info)
        self.files += other.files

    def __len__(self) -> int:
        return len(self.name)

    # Worker processes send Rows back pickled: one joined string instead of a string per
    # name, runs instead of a module per row, a table plus codes for sections, namespaces
    # only where set. Several times faster to pickle and unpickle at 600 k rows.

    def __getstate__(self) -> dict[str, object]:
        runs: list[tuple[str, int]] = []
        for m in self.module:
            if runs and runs[-1][0] == m:
                runs[-1] = (m, runs[-1][1] + 1)
            else:
                runs.append((m, 1))
        table: dict[str, int] = {}
        codes = np.fromiter(
            (table.setdefault(x, len(table)) for x in self.section), np.uint32, len(self.section)
        )
        state = {k: getattr(self, k) for k in (*_ARRAYS, "modinfo", "errors", "files")}
        state |= {
            "names": "\n".join(self.name),
            "count": len(self.name),
            "runs": runs,
            "sections": list(table),
            "section_codes": codes,
            "namespaces": {i: ns for i, ns in enumerate(self.namespace) if ns},
        }
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for k in (*_ARRAYS, "modinfo", "errors", "files"):
            setattr(self, k, state[k])
        count: int = state["count"]
        self.name = state["names"].split("\n") if count else []
        self.module = [m for m, n in state["runs"] for m in [m] * n]
        table = np.array(state["sections"], dtype=object)
        self.section = table[state["section_codes"]].tolist() if count else []
        self.namespace = [""] * count
        for i, ns in state["namespaces"].items():
            self.namespace[i] = ns


_ARRAYS = ("addr", "type", "size", "bind", "kind", "export", "crc", "undefined")


def module_name(path: Path, image: ElfImage, info: dict[str, list[str]]) -> str:
    """vmlinux for a linked kernel; else ``.modinfo name=`` (kbuild writes KBUILD_MODNAME),
    else the file name up to its first '.', '-' -> '_' (kmod's modname_normalize)."""
    if image.e_type == ET_EXEC:
        return VMLINUX
    names = info.get("name")
    if names and names[0]:
        return names[0]
    return normalize_module_name(path.name.split(".", 1)[0])


def read_image(path: Path, data: bytes) -> Rows:
    """Rows of one ELF file; raises SourceError for a malformed one."""
    image = ElfImage(path, data)
    syms = image.symbols()
    info = modinfo.modinfo(image) if image.e_type != ET_EXEC else {}
    module = module_name(path, image, info)
    rows = Rows(files=1)
    if info:
        rows.modinfo[module] = info
    if syms is None:
        return rows
    keep = np.flatnonzero(nmtypes.visible(syms))
    letters = nmtypes.nm_letters(image, syms)[keep]
    names = [syms.name[i] for i in keep.tolist()]
    undefined = syms.shndx[keep] == SHN_UNDEF
    bind = nmtypes.binds(syms)[keep]
    exports = kexports.find_exports(image, syms)
    export, namespace, crc = kexports.mark(exports, names, undefined, bind == Bind.LOCAL)
    expected = modinfo.expected_crcs(image)
    if expected:
        for j in np.flatnonzero(undefined).tolist():
            want = expected.get(names[j])
            if want is not None:
                crc[j] = want
    rows.name = names
    rows.module = [module] * len(names)
    addr = nmtypes.values(image, syms)[keep]
    addr[undefined] = ADDR_NONE  # an import has no address of its own (nm prints blanks)
    rows.addr = [addr]
    rows.type = [letters.tobytes()]
    rows.size = [syms.size[keep]]
    rows.section = nmtypes.section_names(image, syms.shndx[keep])
    rows.bind = [bind]
    rows.kind = [nmtypes.kinds(syms)[keep]]
    rows.export = [export]
    rows.namespace = namespace
    rows.crc = [crc]
    rows.undefined = [undefined]
    return rows
