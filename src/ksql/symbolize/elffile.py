"""Opening ELF files for the symbolizer: a module as shipped or compressed by kmod (``.ko.xz``,
``.ko.gz``, ``.ko.zst``), read through pyelftools; a linked image mapped, its DWARF sections
read in place."""

from __future__ import annotations

import gzip
import io
import lzma
import mmap
from pathlib import Path
from typing import IO, cast

from elftools.common.exceptions import ELFError
from elftools.dwarf.dwarfinfo import DebugSectionDescriptor
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import Section

from ksql.errors import SourceError

MAX_BYTES = 512 << 20  # the largest Debian 6.1 module (amdgpu) is 13 MB


def module_bytes(path: Path) -> bytes:
    """The ELF bytes of a module file, decompressed (bounded) when kmod compressed it."""
    try:
        raw = path.read_bytes()
        if raw.startswith(b"\xfd7zXZ\x00"):
            data = lzma.LZMADecompressor().decompress(raw, MAX_BYTES)
        elif raw.startswith(b"\x1f\x8b"):
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as f:
                data = f.read(MAX_BYTES)
        elif raw.startswith(b"\x28\xb5\x2f\xfd"):
            import zstandard

            data = zstandard.ZstdDecompressor().decompressobj().decompress(raw)[:MAX_BYTES]
        else:
            data = raw
    except OSError as exc:
        raise SourceError(path, f"cannot read: {exc.strerror or exc}") from exc
    except (lzma.LZMAError, EOFError, ValueError) as exc:
        raise SourceError(path, f"cannot decompress: {exc}") from exc
    if not data.startswith(b"\x7fELF"):
        raise SourceError(path, "not an ELF file (no \\x7fELF magic)", offset=0)
    return data


def open_elf(path: Path, data: bytes) -> ELFFile:
    try:
        return ELFFile(io.BytesIO(data))
    except ELFError as exc:
        raise SourceError(path, f"bad ELF file: {exc}") from exc


class _Window:
    """A read-only file-like view of ``size`` bytes at ``start`` of a mapped file: what
    pyelftools reads a DWARF section through, without copying it."""

    def __init__(self, data: mmap.mmap, start: int, size: int) -> None:
        self._data, self._start, self._size, self._pos = data, start, size, 0

    def seek(self, pos: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._size}[whence]
        self._pos = max(0, base + pos)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, n: int = -1) -> bytes:
        end = self._size if n < 0 else min(self._size, self._pos + n)
        if end <= self._pos:
            return b""
        out = self._data[self._start + self._pos : self._start + end]
        self._pos = end
        return out


SHF_COMPRESSED = 0x800  # include/uapi/linux/elf.h
COPY_BYTES = 32 << 20  # sections up to this size are copied (.debug_line: 15 MB); larger
# ones (.debug_info: 150 MB) stay windows on the mapping


class MappedELF(ELFFile):
    """A linked image (vmlinux, ~100-300 MB with DWARF) read through ``mmap``: its DWARF
    sections are read from the mapping (the largest, ``.debug_info``, in place, never
    copied) and never relocated: a linked image's ``.rel.debug_*`` (kept by the linker's
    ``--emit-relocs``) are already applied."""

    def __init__(self, path: Path) -> None:
        with path.open("rb") as f:
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        super().__init__(cast(IO[bytes], self._map))

    def _read_dwarf_section(
        self, section: Section, relocate_dwarf_sections: bool
    ) -> DebugSectionDescriptor:
        if int(section["sh_flags"]) & SHF_COMPRESSED or section["sh_type"] == "SHT_NOBITS":
            return super()._read_dwarf_section(section, False)
        start, size = int(section["sh_offset"]), int(section["sh_size"])
        stream = (
            io.BytesIO(self._map[start : start + size])  # a copy reads at C speed
            if size <= COPY_BYTES
            else _Window(self._map, start, size)
        )
        return DebugSectionDescriptor(
            stream=cast(IO[bytes], stream),
            name=section.name,
            global_offset=start,
            size=size,
            address=int(section["sh_addr"]),
        )
