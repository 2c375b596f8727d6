"""Opening a module file for the symbolizer: ``.ko`` as shipped, or compressed by kmod
(``.ko.xz``, ``.ko.gz``, ``.ko.zst``), read through pyelftools."""

from __future__ import annotations

import gzip
import io
import lzma
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

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
