"""What the kernel's module loader reads from a ``.ko``, as :class:`ModuleFacts` for the rules
of :mod:`ksql.kernel.loader`: undefined symbols in symbol-table order with the CRC
``__versions`` records, exports, COMMON symbols, ``.modinfo``, ``.gnu.linkonce.this_module``,
the ELF header and section flags, and the signature trailer. Pure over the file's bytes, so
worker processes can run it for a whole tree.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ksql.elf.magic import is_compressed
from ksql.elf.modfacts import assemble
from ksql.errors import SourceError
from ksql.kernel.facts import Export, Import, ModuleFacts
from ksql.kernel.modules import module_name_of_file

from . import kexports, modinfo
from .files import MMAP_FROM, decompress
from .reader import SHF_EXECINSTR, SHF_WRITE, SHN_COMMON, SHN_UNDEF, ElfImage

STB_WEAK = 2


def _elf_bytes(path: Path, whole: bool) -> bytes:
    """The module's ELF bytes: mapped when plain (a probe touches only the pages of the
    headers it reads), decompressed otherwise. The signature trails the compressed file's
    contents (scripts/sign-file runs before compression), so it is looked for after."""
    try:
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(8)
            if (size >= MMAP_FROM or not whole) and size and not is_compressed(head):
                return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)  # type: ignore[return-value]
            data = head + f.read()
    except (OSError, ValueError) as exc:
        raise SourceError(path, f"cannot read: {getattr(exc, 'strerror', None) or exc}") from exc
    return decompress(path, data)


def read_facts(path: Path, *, probe: bool = False) -> ModuleFacts:
    """The loader's view of the module at ``path`` (plain or compressed). ``probe``: the
    headers, sections and ``.modinfo`` only -- no symbols (the catalog has those)."""
    data = _elf_bytes(path, not probe)
    try:
        return facts_of(path, data, symbols=not probe)
    except SourceError:
        raise
    except (ValueError, IndexError, KeyError, OverflowError, TypeError) as exc:
        raise SourceError(path, f"malformed ELF file ({type(exc).__name__}: {exc})") from exc


def facts_of(path: Path, data: bytes, *, symbols: bool = True) -> ModuleFacts:
    image = ElfImage(path, data)
    if symbols:
        info = modinfo.modinfo(image)
        expected = modinfo.expected_crcs(image)
    else:  # a probe: the name, and module_layout's CRC (the catalog has the rest)
        info = _name_only(image)
        expected = _layout_crc(image)
    names = info.get("name")
    name = names[0] if names and names[0] else module_name_of_file(path.name)
    syms = image.symbols() if symbols else None
    imports: list[Import] = []
    common: list[str] = []
    exports: list[Export] = []
    if syms is not None:
        shndx = syms.shndx
        for i in np.flatnonzero(shndx == SHN_UNDEF).tolist():
            n = syms.name[i]
            if i and n:
                weak = (int(syms.info[i]) >> 4) == STB_WEAK
                imports.append(Import(n, weak, expected.get(n)))
        common = [syms.name[i] for i in np.flatnonzero(shndx == SHN_COMMON).tolist()]
        for n, e in kexports.find_exports(image, syms).items():
            exports.append(Export(n, name, e.kind.gpl_only, e.namespace, e.crc))
    flags = image.sections["flags"]
    wx = np.flatnonzero((flags & (SHF_WRITE | SHF_EXECINSTR)) == (SHF_WRITE | SHF_EXECINSTR))
    wx_sections = [(int(i), image.section_names[int(i)]) for i in wx.tolist()]
    return assemble(image, path, data, name, info, expected, (imports, exports, common),
                    wx_sections)  # fmt: skip


def _name_only(image: ElfImage) -> dict[str, list[str]]:
    index = image.index(".modinfo")
    if index is None:
        return {}
    raw = image.section_bytes(index)
    at = raw.find(b"name=")
    while at > 0 and raw[at - 1] != 0:
        at = raw.find(b"name=", at + 1)
    if at < 0:
        return {}
    end = raw.find(b"\0", at)
    return {"name": [raw[at + 5 : end if end >= 0 else None].decode("utf-8", "replace")]}


def _layout_crc(image: ElfImage) -> dict[str, int]:
    """module_layout's record in ``__versions`` (struct modversion_info: the CRC word, then
    the name)."""
    index = image.index("__versions")
    if index is None:
        return {}
    raw = image.section_bytes(index)
    word = 8 if image.is64 else 4
    at = raw.find(b"module_layout\0")
    while at >= 0 and (at - word) % modinfo.MODULE_NAME_LEN:
        at = raw.find(b"module_layout\0", at + 1)
    if at < 0:
        return {}
    return {
        "module_layout": image.u32(raw[at - word : at])
        if image.little
        else int.from_bytes(raw[at - word : at], "big") & 0xFFFFFFFF
    }


def _chunk(paths: list[str], probe: bool = False) -> list[ModuleFacts | str]:
    out: list[ModuleFacts | str] = []
    for p in paths:
        try:
            out.append(read_facts(Path(p), probe=probe))
        except SourceError as exc:
            out.append(str(exc))
    return out


def read_many(
    paths: list[Path], chunk: int = 256, *, probe: bool = False
) -> Iterator[ModuleFacts | str]:
    """Facts of many modules, on every core; a bad file is its error message."""
    chunks = [[str(p) for p in paths[i : i + chunk]] for i in range(0, len(paths), chunk)]
    workers = min(len(os.sched_getaffinity(0)), len(chunks))
    if workers <= 1:
        for c in chunks:
            yield from _chunk(c, probe)
        return
    import multiprocessing
    import threading
    from concurrent.futures import ProcessPoolExecutor

    # fork only from a single-threaded process (see files.read_tree).
    context = multiprocessing.get_context("fork" if threading.active_count() == 1 else "spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        for result in pool.map(_chunk, chunks, [probe] * len(chunks)):
            yield from result
