"""Getting BTF bytes: a raw blob (``/sys/kernel/btf/*``, a ``.btf`` dump) as it is, or the
``.BTF`` section of an ELF file -- vmlinux, or a module (compressed ones too)."""

from __future__ import annotations

from pathlib import Path

from ksql.errors import SourceError
from ksql.source import read_bounded

from .reader import is_btf

SECTION = ".BTF"  # the section pahole -J / kbuild's link-vmlinux.sh writes


def elf_section(path: Path, data: bytes) -> bytes | None:
    """The ``.BTF`` section of the ELF file ``data`` (None when it has none)."""
    from ..elf.reader import ElfImage

    image = ElfImage(path, data)
    index = image.index(SECTION)
    return None if index is None else bytes(image.section_bytes(index))


def read_blob(path: Path) -> bytes:
    """The BTF in ``path``: the file itself or its ELF ``.BTF`` section."""
    data = read_bounded(path)
    if is_btf(data):
        return data
    from ..elf.files import decompress

    data = decompress(path, data)
    if data[:4] == b"\x7fELF":
        found = elf_section(path, data)
        if found is None:
            raise SourceError(path, "this ELF file has no .BTF section (CONFIG_DEBUG_INFO_BTF)")
        return found
    raise SourceError(path, "not BTF (no 0xeB9F magic) and not an ELF file", offset=0)
