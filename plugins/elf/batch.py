"""Many modules decoded as one table: the section header tables, symbol tables and string
tables of a run of relocatable files (``.ko``) laid end to end, and every per-symbol rule of
:mod:`.image` applied once to the whole run.

One module at a time, :func:`.image.read_image` costs ~1.2 ms a Debian module, spread over
~100 small numpy calls and no hotspot (4,022 modules: 5.0 s on one core, where ``nm -p``
reads and prints them all in ~2 s). Here those calls are made once per run.

A file the run cannot take as it is -- not ET_REL, another ELF class, byte order or
machine, no symbol table or an empty one, extended section numbers, string tables that are
not plain NUL-terminated ASCII, a table past the end of the file -- is decoded on its own by
:func:`.files.decode_file`, which also words the error for a malformed one. Rows come out in
file order either way, and equal the one-file path's (tests/plugins/test_elf_batch.py).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ksql.coded import Coded
from ksql.elf.header import ElfHeader
from ksql.errors import SourceError
from ksql.kernel.modinfo import modinfo
from ksql.model import Bind
from ksql.sink import Batch

from . import kexports, nmtypes, special
from .image import module_name
from .reader import (
    ET_REL,
    SHN_UNDEF,
    SHN_XINDEX,
    SHT_NOBITS,
    SHT_SYMTAB,
    dtypes,
    heads,
    name_objects,
    names_at,
)
from .runversions import Sections, expected_crcs
from .slips import SLIPS

I64 = npt.NDArray[np.int64]
# The sections a run looks up by name (a file with __kflagstab is read on its own).
_NAMED = frozenset(
    (".modinfo", "__versions", "__version_ext_crcs", "__version_ext_names", "__kflagstab")
)


class _Odd(Exception):
    """Files of the run turned out odd while its rows were made: decode again without them."""


class _File:
    __slots__ = ("data", "header", "path")

    def __init__(self, path: Path, data: bytes, header: ElfHeader) -> None:
        self.path, self.data, self.header = path, data, header

    def kind(self) -> tuple[bool, bool, int]:
        return self.header.is64, self.header.little, self.header.machine


def read_many(paths: Sequence[Path]) -> Batch:
    """The rows of every file, in order; a file that cannot be read or decoded becomes one
    of the batch's problems."""
    from .files import decode_file, load_bytes

    parts: list[Batch] = []
    problems: list[str] = []
    run: list[_File] = []
    for path in paths:
        try:
            data = load_bytes(path)
            header = ElfHeader(path, data)
        except SourceError as exc:
            parts.extend(_decode(run, problems))  # the problems stay in file order
            run = []
            problems.append(str(exc))
            continue
        file = _File(path, data, header)
        if run and (header.e_type != ET_REL or file.kind() != run[0].kind()):
            parts.extend(_decode(run, problems))
            run = []
        if header.e_type == ET_REL:
            run.append(file)
        else:
            try:
                parts.append(decode_file(path, data))
            except SourceError as exc:
                problems.append(str(exc))
    parts.extend(_decode(run, problems))
    batch = parts[0] if len(parts) == 1 else Batch.concat(parts)
    batch.problems.extend(problems)
    return batch


def _decode(files: list[_File], problems: list[str]) -> list[Batch]:
    """``files`` as one batch, or, where some cannot join a run, the runs between them
    and those files one by one."""
    if not files:
        return []
    from .files import decode_file

    every = set(range(len(files)))  # a slip the run's checks did not foresee: each alone
    try:
        run: Run | None = Run(files)
    except SLIPS:
        run = None
    odd = every if run is None else run.odd
    if run is not None and not odd:
        try:
            return [run.batch()]
        except _Odd:
            odd = run.odd
        except SLIPS:
            odd = every
    out: list[Batch] = []
    start = 0
    for i in sorted(odd):
        out.extend(_decode(files[start:i], problems))
        try:
            out.append(decode_file(files[i].path, files[i].data))
        except SourceError as exc:
            problems.append(str(exc))
        start = i + 1
    out.extend(_decode(files[start:], problems))
    return out


def _table(data: bytes, offset: int, size: int) -> bytes | None:
    """A string table's bytes, when inside the file, ASCII, NUL-terminated and free of
    newlines (what the joined decoding below relies on); None otherwise."""
    if size <= 0 or offset + size > len(data):
        return None
    raw = data[offset : offset + size]
    if raw[-1] != 0 or not raw.isascii() or b"\n" in raw:
        return None
    return raw


def _starts(sizes: list[int]) -> I64:
    out = np.zeros(len(sizes), dtype=np.int64)
    if len(sizes) > 1:
        np.cumsum(sizes[:-1], out=out[1:])
    return out


class Run:
    """One run's tables laid end to end; ``odd``: the files that cannot join it."""

    def __init__(self, files: list[_File]) -> None:
        self.files = files
        self.odd: set[int] = set()
        first = files[0].header
        self.is64, self.machine = first.is64, first.machine
        sh_dtype, self.sym_dtype, _ = dtypes(first.is64, first.order)
        self.word = np.dtype(first.order + ("u8" if first.is64 else "u4"))
        headers = [f.header for f in files]
        blob = b"".join(
            f.data[h.shoff : h.shoff + h.shnum * h.shentsize]
            for f, h in zip(files, headers, strict=True)
        )
        self.secs = np.frombuffer(blob, sh_dtype)
        self.types: list[int] = self.secs["type"].tolist()
        self.offsets: list[int] = self.secs["offset"].tolist()
        self.sizes: list[int] = self.secs["size"].tolist()
        self.nsec = [h.shnum for h in headers]
        self.secbase = _starts(self.nsec)
        self._section_names(headers)
        if not self.odd:
            self._symbol_tables()

    def _section_names(self, headers: list[ElfHeader]) -> None:
        offsets, sizes, types = self.offsets, self.sizes, self.types
        tables: list[bytes] = []
        for i, (f, h) in enumerate(zip(self.files, headers, strict=True)):
            row = int(self.secbase[i]) + h.shstrndx
            raw = None if types[row] == SHT_NOBITS else _table(f.data, offsets[row], sizes[row])
            if raw is None:
                self.odd.add(i)
            tables.append(raw or b"")
        if self.odd:
            return
        lengths = [len(t) for t in tables]
        file_of = np.repeat(np.arange(len(self.files)), self.nsec)
        name = self.secs["name"].astype(np.int64)
        past = np.flatnonzero(name >= np.array(lengths)[file_of])
        if len(past):
            self.odd.update(file_of[past].tolist())
            return
        self.section_names = names_at(b"".join(tables), name + _starts(lengths)[file_of], "")

    def _symbol_tables(self) -> None:
        secs, files = self.secs, self.files
        links, entsize = secs["link"].tolist(), secs["entsize"].tolist()
        offsets, sizes, types = self.offsets, self.sizes, self.types
        found = np.flatnonzero(secs["type"] == SHT_SYMTAB)
        owner = np.searchsorted(self.secbase, found, side="right") - 1
        owners, first = np.unique(owner, return_index=True)
        symtab = np.full(len(files), -1, dtype=np.int64)
        symtab[owners] = found[first]
        item = self.sym_dtype.itemsize
        tables: list[bytes] = []
        strings: list[bytes] = []
        # The sections read by name, each file's first of each name: one pass over the
        # run's names rather than a dictionary of every section per file.
        self.named: list[dict[str, int]] = [{} for _ in files]
        bases = self.secbase.tolist()
        for row, section in enumerate(self.section_names):
            if section in _NAMED:
                i = bisect_right(bases, row) - 1
                self.named[i].setdefault(section, row - bases[i])
        for i, row in enumerate(symtab.tolist()):
            data, base, n = files[i].data, bases[i], self.nsec[i]
            if row < 0 or (entsize[row] and entsize[row] != item) or links[row] >= n:
                self.odd.add(i)
                continue
            count = sizes[row] // item
            end = offsets[row] + count * item
            strtab = base + links[row]
            raw = (
                None
                if types[strtab] == SHT_NOBITS
                else _table(data, offsets[strtab], sizes[strtab])
            )
            if count == 0 or offsets[row] + sizes[row] > len(data) or raw is None:
                self.odd.add(i)
                continue
            for k in self.named[i].values():
                if offsets[base + k] + sizes[base + k] > len(data):
                    self.odd.add(i)  # the one-file path words the error
            tables.append(data[offsets[row] : end])
            strings.append(raw)
        if self.odd:
            return
        self.counts = [len(t) // item for t in tables]
        self.symbase = _starts(self.counts)
        table = np.frombuffer(b"".join(tables), self.sym_dtype)
        self.fid = np.repeat(np.arange(len(files)), self.counts)
        lengths = [len(s) for s in strings]
        name = table["name"].astype(np.int64)
        self.shndx = table["shndx"].astype(np.uint32)
        odd = np.flatnonzero((name >= np.array(lengths)[self.fid]) | (self.shndx == SHN_XINDEX))
        if len(odd):
            self.odd.update(self.fid[odd].tolist())
            return
        joined = b"".join(strings)
        offs = name + _starts(lengths)[self.fid]
        self.name_objects = name_objects(joined, offs, "")  # (no newline: _table)
        self.names: list[str] = self.name_objects.tolist()
        self.head = heads(joined, offs)
        self.info = table["info"].astype(np.uint8)
        self.value = table["value"].astype(np.uint64)
        self.size = table["size"].astype(np.uint64)

    def index(self, i: int, name: str) -> int | None:
        """File ``i``'s first section called ``name`` (one of :data:`_NAMED`)."""
        return self.named[i].get(name)

    def by_name(self, i: int) -> dict[str, int]:
        """File ``i``'s every section by name (its first of each name)."""
        base = int(self.secbase[i])
        names = self.section_names[base : base + self.nsec[i]]
        return {s: k for k, s in reversed(list(enumerate(names)))}

    def batch(self) -> Batch:
        nsec = np.array(self.nsec, dtype=np.int64)[self.fid]
        base = self.secbase[self.fid]
        shown = nmtypes.visible(self.info, self.symbase)
        shown[special.hidden(self.machine, self.head)] = False
        keep = np.flatnonzero(shown)
        secs = self.secs
        sec_letters = nmtypes.section_letters(self.section_names, secs["type"], secs["flags"])
        shndx = self.shndx
        letters = nmtypes.letter_codes(self.info, shndx, sec_letters, nsec, base)[keep]
        names: list[str] = self.name_objects[keep].tolist()
        undefined = shndx[keep] == SHN_UNDEF
        bind = nmtypes.binds(self.info)[keep]
        fid = self.fid[keep]
        export, namespace, crc = self._exports(fid, names, undefined, bind)
        self.odd.update(expected_crcs(self, fid, names, undefined, crc))
        info = []
        for i in range(len(self.files)):
            try:
                info.append(modinfo(Sections(self, i)))
            except SLIPS:
                self.odd.add(i)
        if self.odd:
            raise _Odd
        addr = nmtypes.relocatable_values(self.value, shndx, secs["addr"], nsec, base)[keep]
        modules = [module_name(f.path, False, inf) for f, inf in zip(self.files, info, strict=True)]
        batch = Batch.of(
            names,
            module=Coded(modules, fid),
            addr=np.ma.MaskedArray(addr, mask=undefined),
            type=letters.tobytes(),
            size=self.size[keep].astype(np.int64),
            section=nmtypes.symbol_sections(
                self.section_names, shndx[keep], nsec[keep], base[keep]
            ),
            bind=bind,
            kind=nmtypes.kinds(self.info)[keep],
            export=export,
            namespace=namespace,
            crc=crc,
            undefined=undefined,
            bits=64 if self.is64 else 32,
        )
        for module, inf in zip(modules, info, strict=True):
            if inf:
                batch.module_info.setdefault(module, {}).update(inf)
        return batch

    def _exports(
        self,
        kfid: npt.NDArray[np.int64],
        names: list[str],
        undefined: npt.NDArray[np.bool_],
        bind: npt.NDArray[np.uint8],
    ) -> tuple[npt.NDArray[np.uint8], list[str], npt.NDArray[np.int64]]:
        """Export kind, namespace and CRC columns of the kept rows (file ``kfid``, name
        ``names``): :func:`.runexports.run_exports` marked by :func:`.kexports.mark`."""
        from .runexports import run_exports

        exports, odd = run_exports(self)
        if odd:
            self.odd.update(odd)
            raise _Odd
        starts = np.searchsorted(kfid, np.arange(len(self.files) + 1)).tolist()
        undefined_of, local_of = undefined.tolist(), (bind == Bind.LOCAL).tolist()
        rows: list[int] = []
        chosen: list[kexports.Export] = []
        for i, found in exports.items():
            s, e = starts[i], starts[i + 1]
            r, c = kexports.marked(found, names[s:e], undefined_of, local_of, s)
            rows.extend(r)
            chosen.extend(c)
        return kexports.export_columns(len(names), rows, chosen)
