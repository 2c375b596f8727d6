"""What the module loader reads from a ``.ko`` (:class:`~ksql.kernel.facts.ModuleFacts`),
decoded with the plain-Python reader (:mod:`.reader`): ``.modinfo``, the ``__versions``
CRCs, imports, COMMON symbols, exports (:mod:`.exports`), sections and the signature
trailer -- the same facts :func:`ksql.plugins.elf.loadfacts.facts_of` finds, for ``ksql
check`` of a few modules without numpy. The tests hold the two equal on every module of the
corpus; :func:`assemble`, the part that reads no symbols, is both readers'.
"""

from __future__ import annotations

import os
from pathlib import Path
from struct import error as struct_error
from typing import Literal, Protocol

from ksql.errors import SourceError
from ksql.kernel.facts import Export, Import, ModuleFacts
from ksql.kernel.loadchecks import SIG_TRAILER
from ksql.kernel.modinfo import MODULE_NAME_LEN, extended_crcs, modinfo, modinfo_facts
from ksql.kernel.modules import module_name_of_file

from .exports import find_exports
from .magic import is_compressed
from .reader import (
    SHF_ALLOC,
    SHF_EXECINSTR,
    SHF_WRITE,
    SHN_COMMON,
    SHN_UNDEF,
    SHT_NOBITS,
    LiteImage,
)
from .unpack import decompress

STB_WEAK = 2
_THIS_MODULE = ".gnu.linkonce.this_module"
_WX = SHF_WRITE | SHF_EXECINSTR


def read_facts(path: Path) -> ModuleFacts:
    """The loader's view of the module at ``path`` (plain or compressed)."""
    try:
        with path.open("rb") as f:
            data = f.read()
    except (OSError, ValueError) as exc:
        raise SourceError(path, f"cannot read: {getattr(exc, 'strerror', None) or exc}") from exc
    if is_compressed(data[:8]):
        data = decompress(path, data)
    try:
        return facts_of(path, data)
    except SourceError:
        raise
    except (ValueError, IndexError, KeyError, OverflowError, TypeError, struct_error) as exc:
        raise SourceError(path, f"malformed ELF file ({type(exc).__name__}: {exc})") from exc


def expected_crcs(image: LiteImage) -> dict[str, int]:
    """name -> CRC the module was built against (``__versions``, ``__version_ext_*``)."""
    out: dict[str, int] = {}
    index = image.index("__versions")
    if index is not None:
        raw = image.section_bytes(index)
        word = 8 if image.is64 else 4
        order: Literal["little", "big"] = "little" if image.little else "big"
        for at in range(0, len(raw) // MODULE_NAME_LEN * MODULE_NAME_LEN, MODULE_NAME_LEN):
            name = raw[at + word : at + MODULE_NAME_LEN].rstrip(b"\0")
            if name:
                crc = int.from_bytes(raw[at : at + word], order)
                out[name.split(b"\0", 1)[0].decode("utf-8", "replace")] = crc & 0xFFFFFFFF
    out.update(extended_crcs(image))
    return out


def facts_of(path: Path, data: bytes) -> ModuleFacts:
    image = LiteImage(path, data)
    info = modinfo(image)
    expected = expected_crcs(image)
    names = info.get("name")
    name = names[0] if names and names[0] else module_name_of_file(path.name)
    syms = image.symbols()
    imports: list[Import] = []
    common: list[str] = []
    exports: list[Export] = []
    if syms is not None:
        for i, (n, shndx) in enumerate(zip(syms.name, syms.shndx, strict=True)):
            if shndx == SHN_UNDEF and i and n:
                imports.append(Import(n, (syms.info[i] >> 4) == STB_WEAK, expected.get(n)))
            elif shndx == SHN_COMMON:
                common.append(n)
        for n, (gpl, ns, crc) in find_exports(image, syms).items():
            exports.append(Export(n, name, gpl, ns, crc))
    wx = [(i, image.section_names[i]) for i, s in enumerate(image.sections) if s.flags & _WX == _WX]
    return assemble(image, path, data, name, info, expected, (imports, exports, common), wx)


class LoaderImage(Protocol):
    """What :func:`assemble` reads of an ELF image (both readers provide it)."""

    is64: bool
    e_type: int
    machine: int

    def index(self, name: str) -> int | None: ...
    def section_type(self, index: int) -> int: ...
    def section_size(self, index: int) -> int: ...
    def section_flags(self, index: int) -> int: ...


def assemble(
    image: LoaderImage,
    path: Path,
    data: bytes,
    name: str,
    info: dict[str, list[str]],
    expected: dict[str, int],
    symbols: tuple[list[Import], list[Export], list[str]],
    wx: list[tuple[int, str]],
) -> ModuleFacts:
    """The :class:`ModuleFacts` of a module image from what each reader decoded its own way
    (``.modinfo``, the ``__versions`` CRCs, imports, exports, COMMON symbols and the
    writable-and-executable sections): the rest the loader reads is looked up here."""
    imports, exports, common = symbols
    this = image.index(_THIS_MODULE)
    this_size = None
    alloc = True
    if this is not None:
        this_size = 0 if image.section_type(this) == SHT_NOBITS else image.section_size(this)
        alloc = bool(image.section_flags(this) & SHF_ALLOC)
    versions = any(image.index(s) is not None for s in ("__versions", "__version_ext_crcs"))
    return ModuleFacts(
        path=str(path),
        name=name,
        **modinfo_facts(info),
        imports=tuple(imports),
        exports=tuple(exports),
        common=tuple(common),
        versions=versions,
        # modpost lists module_layout in __versions without an undefined symbol for it
        # (sym_add_unresolved("module_layout", ...)): check_modstruct_version() reads it.
        layout_crc=expected.get("module_layout"),
        this_module=this_size,
        this_module_alloc=alloc,
        machine=image.machine,
        is64=image.is64,
        e_type=image.e_type,
        wx_sections=tuple(wx),
        signed=bytes(data[-len(SIG_TRAILER) :]) == SIG_TRAILER,
    )


def read_many(paths: list[Path]) -> list[ModuleFacts | str]:
    """Facts of a few modules, in this process; a bad file is its error message."""
    out: list[ModuleFacts | str] = []
    for p in paths:
        try:
            out.append(read_facts(p))
        except SourceError as exc:
            out.append(str(exc))
    return out


def small(paths: list[Path], limit: int = 8 << 20) -> bool:
    """Whether ``paths`` are few and small enough that plain Python beats importing numpy
    (a module's symbols decode at ~1 µs each; numpy's import alone is ~100 ms)."""
    total = 0
    for p in paths:
        try:
            total += os.stat(p).st_size
        except OSError:
            continue
    return len(paths) <= 16 and total <= limit
