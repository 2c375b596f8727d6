"""One ELF file's bytes -> the rows ksql keeps: nm-visible symbols with their nm letter,
binding, kind, section and size; exports with flavour, namespace and CRC; imports with the
CRC the module expects; and the module's ``.modinfo``. Pure: no I/O, so worker processes
can run it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ksql.kernel.modules import VMLINUX, module_name_of_file
from ksql.model import Bind
from ksql.schema import ADDR_NONE
from ksql.sink import Batch

from . import kexports, modinfo, nmtypes
from .reader import ET_EXEC, SHN_UNDEF, ElfImage


def module_name(path: Path, image: ElfImage, info: dict[str, list[str]]) -> str:
    """vmlinux for a linked kernel; else ``.modinfo name=`` (kbuild writes KBUILD_MODNAME),
    else the file name up to its first '.', '-' -> '_' (kmod's modname_normalize)."""
    if image.e_type == ET_EXEC:
        return VMLINUX
    names = info.get("name")
    if names and names[0]:
        return names[0]
    return module_name_of_file(path.name)


def read_image(path: Path, data: bytes) -> Batch:
    """The rows of one ELF file; raises SourceError for a malformed one."""
    image = ElfImage(path, data)
    syms = image.symbols()
    info = modinfo.modinfo(image) if image.e_type != ET_EXEC else {}
    module = module_name(path, image, info)
    module_info = {module: info} if info else {}
    if syms is None:
        return Batch(Batch.of([]).columns, module_info=module_info)
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
    addr = nmtypes.values(image, syms)[keep]
    addr[undefined] = ADDR_NONE  # an import has no address of its own (nm prints blanks)
    batch = Batch.of(
        names,
        module=module,
        addr=addr,
        type=letters.tobytes(),
        size=syms.size[keep].astype(np.int64),
        section=nmtypes.section_names(image, syms.shndx[keep]),
        bind=bind,
        kind=nmtypes.kinds(syms)[keep],
        export=export,
        namespace=namespace,
        crc=crc,
        undefined=undefined,
    )
    batch.module_info.update(module_info)
    return batch
