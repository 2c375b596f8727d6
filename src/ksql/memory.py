"""Giving memory back after a load. Parsing makes millions of short-lived objects; once the
catalog is packed into columns they are gone, but glibc keeps the freed heap pages mapped
(measured on 919 k rows: 249 B/row resident for 82 B/row of live data).
``malloc_trim(0)`` returns them to the kernel (179 B/row). A no-op off glibc.
"""

from __future__ import annotations


def release_free_memory() -> None:
    import ctypes

    try:
        trim = ctypes.CDLL(None).malloc_trim  # the running process's libc
    except (OSError, AttributeError):
        return
    trim.argtypes = [ctypes.c_size_t]
    trim(0)
