"""File magics, as kmod sniffs them (libkmod/libkmod-file.c): ELF, and the compressions
distributions use for modules (xz, gzip, zstd). Cheap to import: ``recognizes`` needs only
this."""

from __future__ import annotations

ELF_MAGIC = b"\x7fELF"
XZ_MAGIC = b"\xfd7zXZ\x00"
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
COMPRESSED_MAGICS = (XZ_MAGIC, GZIP_MAGIC, ZSTD_MAGIC)


def is_compressed(head: bytes) -> bool:
    return head.startswith(COMPRESSED_MAGICS)
