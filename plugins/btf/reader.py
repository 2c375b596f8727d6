"""A BTF blob -> its types as flat per-id lists, strings by offset, and each record's extra
words on demand. Base BTF (``/sys/kernel/btf/vmlinux``, a vmlinux's ``.BTF``) numbers its
types from 1; split BTF (a module's) continues a base's type ids and string offsets.

The record walk is the only per-type Python loop (records have variable length, so where
one starts is known only from the one before); everything else is numpy over the type
section. Every offset is checked: a bad blob is a :class:`~ksql.errors.SourceError` with
the byte offset; an unknown kind ends the walk with one note (its length is unknowable).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from ksql.errors import SourceError

from .format import (
    FIXED_WORDS,
    HEAD_WORDS,
    HEADER_MIN,
    KIND_MAX,
    MAGIC_BE,
    MAGIC_LE,
    VERSION,
    WORDS_PER_VLEN,
    BtfKind,
)
from .strings import Strings

_FIXED = tuple(HEAD_WORDS + FIXED_WORDS.get(k, 0) for k in range(32))
_PER = tuple(WORDS_PER_VLEN.get(k, 0) for k in range(32))
_FIXED_NP = np.array(_FIXED, np.int64)
_PER_NP = np.array(_PER, np.int64)


def is_btf(head: bytes) -> bool:
    """Whether ``head`` starts a BTF blob (magic 0xeB9F in either byte order, version 1)."""
    return len(head) >= HEADER_MIN and head[:2] in (MAGIC_LE, MAGIC_BE) and head[2] == VERSION


def is_split(data: bytes) -> bool:
    """Whether a well-formed blob is split BTF. A base's string section starts with the empty
    string; libbpf rejects one that does not (tools/lib/bpf/btf.c, btf_parse_str_sec) and
    writes a split blob's strings from its first own string (btf_new_empty: ``str_len =
    base_btf ? 0 : 1``), as pahole does for every module."""
    little = data[:2] == MAGIC_LE
    hdr_len, _to, _tl, str_off, str_len = struct.unpack_from(
        ("<" if little else ">") + "5I", data, 4
    )
    start = hdr_len + str_off
    return str_len == 0 or data[start : start + 1] != b"\0"


class Btf:
    """The types of one BTF blob (with its base's, for split BTF), indexed by type id.

    ``kind``, ``vlen``, ``kflag`` and ``ref`` (btf_type's size-or-type word) are lists over
    every id from 0 (void) to ``count - 1``, the base's ids included, so a formatter reads
    any id without asking which blob holds it. Where a record starts and its name offset
    stay numpy arrays (``own``), read once per type: as lists, their 126,699 large ints cost
    16 ms of a 75 ms decode of a vmlinux BTF.
    """

    __slots__ = (
        "_names",
        "_strings",
        "_words",
        "base",
        "count",
        "kflag",
        "kind",
        "notes",
        "own",
        "path",
        "ref",
        "start_id",
        "start_str",
        "vlen",
    )
    kind: Sequence[int]
    vlen: Sequence[int]
    kflag: Sequence[int]
    ref: Sequence[int]

    def __init__(self, path: str | Path, data: bytes, base: Btf | None = None) -> None:
        self.path = str(path)
        self.base = base
        self.notes: list[str] = []
        little = _byte_order(self.path, data)
        order = "<" if little else ">"
        if len(data) < HEADER_MIN:
            raise SourceError(path, "truncated BTF header", offset=len(data))
        hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from(order + "5I", data, 4)
        if hdr_len < HEADER_MIN or hdr_len > len(data):
            raise SourceError(path, f"BTF header length {hdr_len} is out of range", offset=4)
        for what, off, size, at in (
            ("type", type_off, type_len, 8),
            ("string", str_off, str_len, 16),
        ):
            if hdr_len + off + size > len(data):
                raise SourceError(
                    path,
                    f"BTF {what} section ({off}+{size} after the header) runs past the end "
                    f"of the blob ({len(data)} bytes)",
                    offset=at,
                )
        if type_off % 4 or type_len % 4:
            raise SourceError(path, "BTF type section is not 4-byte aligned", offset=8)
        self.start_id: int = base.count if base else 1
        self.start_str: int = base.start_str + len(base._strings) if base else 0
        self._strings: bytes = bytes(data[hdr_len + str_off : hdr_len + str_off + str_len])
        if self._strings and self._strings[-1] != 0:
            raise SourceError(
                path, "BTF string section does not end with a NUL", offset=hdr_len + str_off
            )
        self._names: Strings | None = None
        words = np.frombuffer(data, order + "u4", type_len // 4, hdr_len + type_off)
        native = words.astype(np.uint32)  # a copy only for the other byte order
        pos = self._walk(native, hdr_len + type_off)
        info = native[pos + 1] if len(pos) else np.zeros(0, np.uint32)
        kind = ((info >> 24) & 0x1F).astype(np.uint8)
        name_off = native[pos] if len(pos) else np.zeros(0, np.uint32)
        end = self.start_str + len(self._strings)
        if len(name_off) and int(name_off.max()) >= end:
            bad = int(np.flatnonzero(name_off >= end)[0])
            raise SourceError(
                path,
                f"type {self.start_id + bad}: name offset {int(name_off[bad])} is past the "
                f"string section{'s' if base else ''} ({end} bytes)",
                offset=hdr_len + type_off + 4 * int(pos[bad]),
            )
        self._words = native
        vlen = info & 0xFFFF
        # This blob's own types as arrays (index = id - start_id), for bulk selection.
        self.own: dict[str, npt.NDArray[Any]] = {
            "kind": kind,
            "name_off": name_off,
            "ref": native[pos + 2] if len(pos) else np.zeros(0, np.uint32),
            "vlen": vlen,
            "pos": pos,
        }
        # Per id from 0 (void, no record), base ids first: Python lists, because formatting
        # reads them one id at a time (a list index costs a tenth of a numpy scalar's).
        # A split blob leaves its base's lists alone (:class:`_Joined`): a module's BTF is a
        # few hundred types over vmlinux's 130,000, and copying those per module would cost
        # more than decoding the module.
        lists = (
            kind.tolist(),
            vlen.tolist(),
            (info >> 31).tolist(),
            self.own["ref"].tolist(),
        )
        if base is None:
            self.kind, self.vlen, self.kflag, self.ref = ([0, *own] for own in lists)
        else:
            self.kind, self.vlen, self.kflag, self.ref = (
                _Joined(theirs, own)
                for theirs, own in zip(
                    (base.kind, base.vlen, base.kflag, base.ref),
                    lists,
                    strict=True,
                )
            )
        self.count: int = len(self.kind)

    def _walk(self, words: npt.NDArray[np.uint32], at: int) -> npt.NDArray[np.int64]:
        """Where each record starts (word index); stops at the first unknown kind.

        :func:`record_starts` finds them with numpy; when it cannot (an unknown kind, a record
        running past the end), the record-by-record walk below finds where and says so.
        """
        found = record_starts(words)
        if found is not None:
            return found
        n = len(words)
        mv = memoryview(words.data).cast("B").cast("I") if n else memoryview(b"").cast("I")
        fixed, per = _FIXED, _PER
        starts: list[int] = []
        append = starts.append
        i = 0
        while i < n:
            if i + HEAD_WORDS > n:
                raise SourceError(self.path, "truncated BTF type record", offset=at + 4 * i)
            info = mv[i + 1]
            k = info >> 24 & 0x1F
            if k > KIND_MAX or k == BtfKind.UNKN:
                self.notes.append(
                    f"{self.path}: BTF kind {k} (type {self.start_id + len(starts)}) is unknown "
                    f"to ksql; it and the {n - i} words of types after it are skipped"
                )
                break
            append(i)
            i += fixed[k] + per[k] * (info & 0xFFFF)
        if i > n:
            raise SourceError(
                self.path,
                f"BTF type {self.start_id + len(starts) - 1} runs past the type section",
                offset=at + 4 * starts[-1],
            )
        return np.array(starts, dtype=np.int64)

    def words(self, type_id: int, count: int) -> list[int]:
        """``count`` words after type ``type_id``'s three-word head (members, params...)."""
        btf: Btf = self
        while btf.base is not None and type_id < btf.start_id:
            btf = btf.base
        start = int(btf.own["pos"][type_id - btf.start_id]) + HEAD_WORDS
        return btf._words[start : start + count].tolist()  # type: ignore[no-any-return]

    def column(self, key: str, ids: npt.NDArray[np.int64]) -> npt.NDArray[Any]:
        """``own[key]`` ("kind", "ref", "vlen"...) of any ids, a base's included; 0 for
        id 0 and ids past the last."""
        ids = np.asarray(ids, np.int64)
        mine = self.own[key]
        at = ids - self.start_id
        inside = (at >= 0) & (at < len(mine))
        values = np.where(inside, mine[np.where(inside, at, 0)] if len(mine) else 0, 0)
        if self.base is not None:
            below = ids < self.start_id
            if below.any():
                values[below] = self.base.column(key, ids[below])
        return values

    def records(
        self, ids: npt.NDArray[np.int64], per: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint32]]:
        """The ``vlen`` records of ``per`` words after each of ``ids``' heads (parameters,
        members, variables), all at once: (record count per id, one row per record, in
        ``ids`` order). ``ids`` ascend (a base's ids come before a split blob's own)."""
        if self.base is not None:
            cut = int(np.searchsorted(ids, self.start_id))
            if cut:
                counts, rows = self.base.records(ids[:cut], per)
                mine, more = self.records(ids[cut:], per) if cut < len(ids) else _none(per)
                return np.concatenate((counts, mine)), np.concatenate((rows, more))
        at = ids - self.start_id
        if len(at) and (at[0] < 0 or int(at.max()) >= len(self.own["pos"])):
            raise ValueError(f"type ids out of range or not ascending: {ids[:3]}...")
        counts = self.own["vlen"][at].astype(np.int64)
        total = int(counts.sum())
        if not total:
            return counts, np.zeros((0, per), np.uint32)
        # Word index of each record: its id's first record plus per * its rank among them.
        first = self.own["pos"][at] + HEAD_WORDS
        rank = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
        start = np.repeat(first, counts) + per * rank
        return counts, self._words[start[:, None] + np.arange(per)]

    def name(self, off: int) -> str:
        """The string at offset ``off`` (base strings first, then this blob's)."""
        if off < self.start_str:
            assert self.base is not None
            return self.base.name(off)
        table = self._names
        if table is None:
            table = self._names = Strings(self.path, self._strings, self.start_str)
        return table.one(off)

    def names(self, offsets: list[int] | npt.NDArray[np.integer[Any]]) -> list[str]:
        """The strings at many offsets, in bulk."""
        offs = np.asarray(offsets, np.int64)
        if self.base is not None and len(offs) and int(offs.min()) < self.start_str:
            return [self.name(o) for o in offs.tolist()]
        table = self._names
        if table is None:
            table = self._names = Strings(self.path, self._strings, self.start_str)
        return table.many(offs)

    def type_name(self, type_id: int) -> str:
        """The name of type ``type_id`` ("" for none), a base's types included."""
        if not 0 < type_id < self.count:
            return ""
        btf: Btf = self
        while btf.base is not None and type_id < btf.start_id:
            btf = btf.base
        return btf.name(int(btf.own["name_off"][type_id - btf.start_id]))

    def ids(self, kind: BtfKind) -> list[int]:
        """This blob's own ids of ``kind`` (not the base's)."""
        return [i for i in range(self.start_id, self.count) if self.kind[i] == kind]


def record_starts(words: npt.NDArray[np.uint32]) -> npt.NDArray[np.int64] | None:
    """Where each record of a well-formed type section starts (word index), or None when the
    chain of records does not end exactly at the section's end through known kinds.

    A record's length follows from its own info word, so "the record after one starting at
    word i" is a function of i alone. Every word whose next word carries a known kind is a
    candidate start (on the kernel's vmlinux BTF 128,730 candidates for 126,699 types), and
    the records are the chain of successors from word 0, found by pointer doubling: after
    round r the chain's first 2**r records are known. 17 rounds of numpy gathers over the
    candidates instead of a Python step per type: 35 ms instead of 230 ms for the running
    kernel's /sys/kernel/btf/vmlinux.
    """
    n = len(words)
    if n < HEAD_WORDS:
        return None if n else np.zeros(0, np.int64)
    info = words[1 : n - 1]  # the info word of a record starting at word 0 .. n - 3
    kind = (info >> 24) & 0x1F
    cand = np.flatnonzero((kind >= 1) & (kind <= KIND_MAX))
    if not len(cand) or cand[0] != 0:
        return None
    m = len(cand)
    kc = kind[cand]
    after = cand + _FIXED_NP[kc] + _PER_NP[kc] * (info[cand] & 0xFFFF).astype(np.int64)
    # Positions -> candidate index; the section's end is m ("done"), anything else m + 1.
    index_of = np.full(n + 2, m + 1, np.int32)
    index_of[cand] = np.arange(m, dtype=np.int32)
    index_of[n] = m
    step = np.empty(m + 2, np.int32)
    step[:m] = index_of[np.minimum(after, n + 1)]
    step[m], step[m + 1] = m, m + 1
    first = step.copy()
    chain = np.zeros(1, np.int32)
    jump = step
    while True:
        ahead = jump[chain]
        ahead = ahead[ahead < m]
        if not len(ahead):
            break
        chain = np.concatenate((chain, ahead))
        jump = jump[jump]
    last = int(chain.max())
    if first[last] != m:  # ran past the end or into a non-record
        return None
    chain.sort()
    return cand[chain]


def _byte_order(path: str, data: bytes) -> bool:
    """True for little-endian; the magic 0xeB9F is written in the producer's byte order."""
    head = bytes(data[:3])
    if head[:2] == MAGIC_LE:
        little = True
    elif head[:2] == MAGIC_BE:
        little = False
    else:
        raise SourceError(path, "not BTF (no 0xeB9F magic)", offset=0)
    if len(head) < 3 or head[2] != VERSION:
        raise SourceError(path, f"BTF version {head[2:3].hex() or '?'}, ksql reads 1", offset=2)
    return little


def _none(per: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint32]]:
    return np.zeros(0, np.int64), np.zeros((0, per), np.uint32)


class _Joined(Sequence[int]):
    """A base's per-id list followed by a split blob's own, without copying the base's."""

    __slots__ = ("_base", "_cut", "_own")

    def __init__(self, base: Sequence[int], own: list[int]) -> None:
        self._base = base
        self._own = own
        self._cut = len(base)

    def __len__(self) -> int:
        return self._cut + len(self._own)

    @overload
    def __getitem__(self, i: int) -> int: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[int]: ...

    def __getitem__(self, i: int | slice) -> int | Sequence[int]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        return self._base[i] if i < self._cut else self._own[i - self._cut]
