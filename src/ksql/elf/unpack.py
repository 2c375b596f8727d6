"""Compressed modules' contents, as kmod reads them (libkmod/libkmod-file.c): xz, gzip and
zstd by their magic, checked to start as an ELF file and capped in size (a small ``.ko.xz``
can expand to gigabytes). Stdlib only (zstandard when a file needs it): ``ksql check`` of a
single module reads through here without the bulk ELF decoder.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path
from typing import Any

from ksql.errors import SourceError

from .magic import ELF_MAGIC, GZIP_MAGIC, XZ_MAGIC, ZSTD_MAGIC

MAX_DECOMPRESSED = 512 << 20  # bytes; the largest Debian 6.1 module (amdgpu) is 13 MB


def max_decompressed() -> int:
    """The cap on a compressed module's contents: ``KSQL_MAX_DECOMPRESSED`` (bytes) or
    :data:`MAX_DECOMPRESSED`. A small ``.ko.xz`` can expand to gigabytes."""
    try:
        return int(os.environ.get("KSQL_MAX_DECOMPRESSED", MAX_DECOMPRESSED))
    except ValueError:
        return MAX_DECOMPRESSED


def decompress(path: Path, data: bytes) -> bytes:
    """``data`` itself when it is not compressed; else its decompressed contents, which must
    start as an ELF file and stay under :func:`max_decompressed` bytes."""
    if not data.startswith((XZ_MAGIC, GZIP_MAGIC, ZSTD_MAGIC)):
        return data
    import lzma  # compressed modules only: ~1.5 ms of every start-up otherwise

    cap = max_decompressed()
    try:
        if data.startswith(XZ_MAGIC):
            return _bounded(path, _Stream(lzma.LZMADecompressor(format=lzma.FORMAT_XZ), data), cap)
        if data.startswith(GZIP_MAGIC):  # kmod writes one gzip member
            return _bounded(path, _Stream(zlib.decompressobj(wbits=31), data), cap)
        if data.startswith(ZSTD_MAGIC):
            import zstandard

            return _bounded(path, _Stream(zstandard.ZstdDecompressor().decompressobj(), data), cap)
    except SourceError:
        raise
    except (lzma.LZMAError, OSError, EOFError, zlib.error, ValueError) as exc:
        raise SourceError(path, f"cannot decompress: {exc}") from exc
    except Exception as exc:  # zstandard.ZstdError derives from Exception only
        raise SourceError(path, f"cannot decompress: {exc}") from exc
    return data


class _Stream:
    """``read(n)``: at most ``n`` more decompressed bytes (b"" at the end), feeding the
    compressed input in 64 KiB pieces so no call makes more than it is asked for."""

    def __init__(self, decompressor: Any, data: bytes) -> None:
        self._d = decompressor
        self._data = memoryview(data)
        self._pos = 0
        self._out = b""

    def read(self, n: int) -> bytes:
        while len(self._out) < n and not self.eof:
            if self._pos >= len(self._data):
                break
            piece = bytes(self._data[self._pos : self._pos + 65536])
            self._pos += len(piece)
            self._out += self._d.decompress(piece)
        out, self._out = self._out[:n], self._out[n:]
        return out

    @property
    def eof(self) -> bool:
        return bool(getattr(self._d, "eof", False))


def _bounded(path: Path, stream: _Stream, cap: int) -> bytes:
    """Decompress ``stream``: the ELF magic is checked on the first bytes and the output
    never grows much past ``cap`` (a decompression bomb stops there)."""
    head = stream.read(len(ELF_MAGIC))
    if len(head) < len(ELF_MAGIC) and not stream.eof:
        raise SourceError(path, "cannot decompress: the compressed data is truncated")
    if not head.startswith(ELF_MAGIC):
        raise SourceError(path, "the decompressed contents are not an ELF file", offset=0)
    parts = [head]
    size = len(head)
    while True:
        chunk = stream.read(1 << 20)
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
        if size > cap:
            raise SourceError(
                path,
                f"decompresses to more than {cap >> 20} MiB, more than any kernel module",
                hint="raise KSQL_MAX_DECOMPRESSED (bytes) if this really is one",
            )
    if not stream.eof:
        raise SourceError(path, "cannot decompress: the compressed data is truncated")
    return b"".join(parts)
