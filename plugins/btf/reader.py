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
from pathlib import Path

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

_FIXED = tuple(HEAD_WORDS + FIXED_WORDS.get(k, 0) for k in range(32))
_PER = tuple(WORDS_PER_VLEN.get(k, 0) for k in range(32))


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

    ``kind``, ``vlen``, ``kflag``, ``name_off`` and ``ref`` (btf_type's size-or-type word)
    are lists over every id from 0 (void) to ``count - 1``, the base's ids included, so a
    formatter reads any id without asking which blob holds it.
    """

    __slots__ = (
        "_names",
        "_pos",
        "_strings",
        "_words",
        "base",
        "count",
        "kflag",
        "kind",
        "name_off",
        "notes",
        "own",
        "path",
        "ref",
        "start_id",
        "start_str",
        "vlen",
    )

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
        self._names: dict[int, str] | None = None
        words = np.frombuffer(data, order + "u4", type_len // 4, hdr_len + type_off)
        native = words.astype(np.uint32)  # a copy only for the other byte order
        starts = self._walk(native, hdr_len + type_off)
        pos = np.array(starts, dtype=np.int64)
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
        # This blob's own types as arrays (index = id - start_id), for bulk selection.
        self.own: dict[str, npt.NDArray[np.uint32] | npt.NDArray[np.uint8]] = {
            "kind": kind,
            "name_off": name_off,
            "ref": native[pos + 2] if len(pos) else np.zeros(0, np.uint32),
        }
        if base is None:
            self._pos = [0, *pos.tolist()]  # id 0 is void: no record
            self.kind = [0, *kind.tolist()]
            self.vlen = [0, *(info & 0xFFFF).tolist()]
            self.kflag = [0, *(info >> 31).tolist()]
            self.name_off = [0, *name_off.tolist()]
            self.ref = [0, *native[pos + 2].tolist()] if len(pos) else [0]
        else:
            self._pos = base._pos + pos.tolist()  # each id's position in its own blob
            self.kind = base.kind + kind.tolist()
            self.vlen = base.vlen + (info & 0xFFFF).tolist()
            self.kflag = base.kflag + (info >> 31).tolist()
            self.name_off = base.name_off + name_off.tolist()
            self.ref = base.ref + (native[pos + 2].tolist() if len(pos) else [])
        self.count: int = len(self.kind)

    def _walk(self, words: npt.NDArray[np.uint32], at: int) -> list[int]:
        """Where each record starts (word index); stops at the first unknown kind."""
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
        return starts

    def words(self, type_id: int, count: int) -> list[int]:
        """``count`` words after type ``type_id``'s three-word head (members, params...)."""
        btf: Btf = self
        while btf.base is not None and type_id < btf.start_id:
            btf = btf.base
        start = btf._pos[type_id] + HEAD_WORDS
        return btf._words[start : start + count].tolist()  # type: ignore[no-any-return]

    def name(self, off: int) -> str:
        """The string at offset ``off`` (base strings first, then this blob's)."""
        if off < self.start_str:
            assert self.base is not None
            return self.base.name(off)
        table = self._names
        if table is None:
            table = self._names = _string_table(self._strings, self.start_str)
        found = table.get(off)
        if found is not None:
            return found
        rel = off - self.start_str
        if not 0 <= rel < len(self._strings):
            raise SourceError(self.path, f"string offset {off} is past the string section")
        end = self._strings.index(b"\0", rel)
        return self._strings[rel:end].decode("utf-8", "surrogateescape")

    def names(self, offsets: list[int]) -> list[str]:
        """The strings at many offsets (one dictionary pass when all are this blob's)."""
        if self._names is None:
            self._names = _string_table(self._strings, self.start_str)
        found = list(map(self._names.get, offsets))
        if None in found:
            return [self.name(o) if s is None else s for o, s in zip(offsets, found, strict=True)]
        return found  # type: ignore[return-value]

    def type_name(self, type_id: int) -> str:
        return self.name(self.name_off[type_id]) if 0 < type_id < self.count else ""

    def ids(self, kind: BtfKind) -> list[int]:
        """This blob's own ids of ``kind`` (not the base's)."""
        return [i for i in range(self.start_id, self.count) if self.kind[i] == kind]


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


def _string_table(strings: bytes, start: int) -> dict[int, str]:
    """Every string by offset: one C-level decode and split, offsets by a cumulative sum."""
    text = strings.decode("utf-8", "surrogateescape")
    if text.isascii():
        pieces = text.split("\0")
        lengths = np.fromiter(map(len, pieces), np.int64, len(pieces))
    else:
        raw = strings.split(b"\0")
        pieces = [p.decode("utf-8", "surrogateescape") for p in raw]
        lengths = np.fromiter(map(len, raw), np.int64, len(raw))
    offsets = np.zeros(len(pieces), np.int64)
    np.cumsum(lengths[:-1] + 1, out=offsets[1:])
    offsets += start
    return dict(zip(offsets.tolist(), pieces, strict=True))
