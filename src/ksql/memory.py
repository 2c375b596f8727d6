"""Memory around a load: the cyclic garbage collector paused while sources decode, and
freed memory given back afterwards.

Decoding makes hundreds of thousands of objects (strings, lists, tuples) that hold no
reference cycles, yet each allocation burst triggers the collector, which walks every live
container each time it reaches the oldest generation: 40 ms of a 420 ms cold load of a
vmlinux BTF (126,699 types), measured with and without. :func:`collector_paused` keeps
it off for the load; anything cyclic made meanwhile is collected once it is back on.
A long-lived process then keeps what it loaded out of later collections
(:func:`settle_long_lived`).

Parsing makes millions of short-lived objects; once the
catalog is packed into columns they are gone, but glibc keeps the freed heap pages mapped
(measured on 919 k rows: 249 B/row resident for 82 B/row of live data).
``malloc_trim(0)`` returns them to the kernel (179 B/row). A no-op off glibc.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off inside the block (as it was, after)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def settle_long_lived() -> None:
    """After a long-lived process (the language server) loads its catalog: collect once,
    then move every object alive now out of the collector's sight (``gc.freeze``). The
    catalog's containers (string tables, module facts, name lists) are never garbage while
    it is in use, yet each full collection walked them all: a 57 ms pause on the 918 k-row
    catalog with BTF, landing on whatever request runs then (rare enough that
    bench_lsp.py's p99 did not move).
    :func:`unsettle` gives them back before the next load, so a replaced catalog is
    collected."""
    gc.collect()
    gc.freeze()


def unsettle() -> None:
    gc.unfreeze()


def release_free_memory() -> None:
    import ctypes

    try:
        trim = ctypes.CDLL(None).malloc_trim  # the running process's libc
    except (OSError, AttributeError):
        return
    trim.argtypes = [ctypes.c_size_t]
    trim(0)
