"""One ELF file's bytes -> the rows ksql keeps: nm-visible symbols with their nm letter,
binding, kind, section and size; exports with flavour, namespace and CRC; imports with the
CRC the module expects; and the module's ``.modinfo``. Pure: no I/O, so worker processes
can run it.
"""

from __future__ import annotations

from itertools import compress
from pathlib import Path

import numpy as np

from ksql.kernel.modules import VMLINUX, module_name_of_file
from ksql.model import Bind
from ksql.sink import Batch

from . import kexports, modinfo, nmtypes, special
from .reader import ET_DYN, ET_EXEC, SHN_UNDEF, ElfImage, Symbols


def is_kernel_image(path: Path, image: ElfImage, syms: Symbols | None) -> bool:
    """Whether the file is a linked kernel (vmlinux), from its content. Most architectures
    link vmlinux as ET_EXEC, but arm64 (and others with CONFIG_RELOCATABLE) link it with
    ``-pie`` as ET_DYN (arch/arm64/Makefile: ``LDFLAGS_vmlinux += -shared -Bsymbolic -z notext``
    and later ``--pie``). A module is ET_REL with ``.gnu.linkonce.this_module`` (the ``struct
    module`` of include/linux/module.h, emitted by scripts/mod/modpost.c); a kernel image
    has the export tables (include/asm-generic/vmlinux.lds.h ``__ksymtab``) or the
    ``_text`` / ``linux_banner`` symbols (init/version.c)."""
    if (
        image.e_type not in (ET_EXEC, ET_DYN)
        or image.index(".gnu.linkonce.this_module") is not None
    ):
        return False
    if image.e_type == ET_EXEC or path.name.startswith("vmlinux"):
        return True
    if image.index("__ksymtab") is not None or image.index("__ksymtab_strings") is not None:
        return True
    return syms is not None and bool({"_text", "linux_banner"} & set(syms.name))


def module_name(path: Path, kernel: bool, info: dict[str, list[str]]) -> str:
    """vmlinux for a linked kernel; else ``.modinfo name=`` (kbuild writes KBUILD_MODNAME),
    else the file name up to its first '.', '-' -> '_' (kmod's modname_normalize)."""
    if kernel:
        return VMLINUX
    names = info.get("name")
    if names and names[0]:
        return names[0]
    return module_name_of_file(path.name)


def read_image(path: Path, data: bytes) -> Batch:
    """The rows of one ELF file; raises SourceError for a malformed one."""
    image = ElfImage(path, data)
    syms = image.symbols()
    kernel = is_kernel_image(path, image, syms)
    # vmlinux has a .modinfo too since 5.2 (898490c010b5): its built-in modules', not its own.
    info = {} if kernel else modinfo.modinfo(image)
    module = module_name(path, kernel, info)
    module_info = {module: info} if info else {}
    if syms is None:
        return Batch(Batch.of([]).columns, module_info=module_info)
    shown = nmtypes.visible(syms.info)
    shown[special.hidden(image.machine, syms.head)] = False
    keep = np.flatnonzero(shown)
    letters = nmtypes.nm_letters(image, syms)[keep]
    # compress over the mask: 4-6 ms for vmlinux's 127 k names, where an object array
    # indexed by ``keep`` and turned back into a list took 10-11 ms
    names = list(compress(syms.name, shown.tolist()))
    undefined = syms.shndx[keep] == SHN_UNDEF
    bind = nmtypes.binds(syms.info)[keep]
    exports = kexports.find_exports(image, syms)
    export, namespace, crc = kexports.mark(exports, names, undefined, bind == Bind.LOCAL)
    expected = modinfo.expected_crcs(image)
    if expected:
        for j in np.flatnonzero(undefined).tolist():
            want = expected.get(names[j])
            if want is not None:
                crc[j] = want
    addr = nmtypes.values(image, syms)[keep]
    # An import has no address of its own (nm prints blanks).
    addr = np.ma.MaskedArray(addr, mask=undefined)
    batch = Batch.of(
        names,
        module=module,
        addr=addr,
        type=letters.tobytes(),
        size=syms.size[keep].astype(np.int64),
        section=nmtypes.section_names(image, syms.shndx[keep]),
        bind=bind,
        kind=nmtypes.kinds(syms.info)[keep],
        export=export,
        namespace=namespace,
        crc=crc,
        undefined=undefined,
        bits=64 if image.is64 else 32,
    )
    batch.module_info.update(module_info)
    return batch
