"""nm's type letter for every ELF symbol, computed for the whole table at once.

The rules are binutils': bfd/syms.c ``bfd_decode_symclass`` (common, undefined, ifunc, weak,
unique, absolute, then the section's class), ``coff_section_type`` and
``decode_section_type``; the section flags come from bfd/elf.c
``_bfd_elf_make_section_from_shdr`` (SEC_HAS_CONTENTS unless SHT_NOBITS, SEC_READONLY
without SHF_WRITE, SEC_CODE for SHF_EXECINSTR, SEC_DATA for other loaded sections, and
SEC_DEBUGGING for non-allocated ``.debug*``/``.zdebug*``/``.line``/``.stab*`` sections);
symbol flags from bfd/elfcode.h ``elf_slurp_symbol_table``. nm hides debugging symbols
(STT_SECTION, STT_FILE) unless ``-a``: :func:`visible` says which rows it prints.
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt

from ksql.coded import Coded
from ksql.model import Bind, Kind

from .reader import (
    ET_REL,
    SHF_ALLOC,
    SHF_EXECINSTR,
    SHF_WRITE,
    SHN_COMMON,
    SHN_UNDEF,
    SHT_NOBITS,
    ElfImage,
    Symbols,
)

STB_LOCAL, STB_GLOBAL, STB_WEAK, STB_GNU_UNIQUE = 0, 1, 2, 10
STT_NOTYPE, STT_OBJECT, STT_FUNC, STT_SECTION, STT_FILE, STT_COMMON, STT_TLS = 0, 1, 2, 3, 4, 5, 6
STT_GNU_IFUNC = 10

_COFF_TYPES = ((".drectve", "i"), (".edata", "e"), (".idata", "i"), (".pdata", "p"))
_DEBUG_PREFIXES = (
    ".debug",
    ".gnu.debuglto_.debug_",
    ".gnu.linkonce.wi.",
    ".zdebug",
    ".line",
    ".stab",
)

U8 = npt.NDArray[np.uint8]


@functools.lru_cache(maxsize=4096)
def section_letter(name: str, sh_type: int, sh_flags: int) -> str:
    """The lower-case class nm gives symbols of one section (``N`` stays upper-case)."""
    for prefix, letter in _COFF_TYPES:
        if name.startswith(prefix):
            return letter
    has_contents = sh_type != SHT_NOBITS
    alloc = bool(sh_flags & SHF_ALLOC)
    code = bool(sh_flags & SHF_EXECINSTR)
    readonly = not sh_flags & SHF_WRITE
    if code:
        return "t"
    if alloc and has_contents:  # SEC_DATA
        return "r" if readonly else "d"
    if not has_contents:
        return "b"
    if not alloc and (name.startswith(_DEBUG_PREFIXES) or name == ".gdb_index"):
        return "N"
    if readonly:
        return "n"
    return "?"


def section_letters(
    names: list[str], types: npt.NDArray[np.uint32], flags: npt.NDArray[np.uint64]
) -> U8:
    """Each section's :func:`section_letter`, as ASCII codes: worked out once for each
    distinct section (a run of modules repeats the same few hundred)."""
    keys = list(zip(names, types.tolist(), flags.tolist(), strict=True))
    letters: dict[tuple[str, int, int], int] = dict.fromkeys(keys, 0)
    for key in letters:
        letters[key] = ord(section_letter(*key))
    return np.fromiter(map(letters.__getitem__, keys), np.uint8, len(keys))


def visible(info: U8, first: int | npt.NDArray[np.intp] = 0) -> npt.NDArray[np.bool_]:
    """Rows ``nm`` prints: not the null symbol (row ``first``: each table's first), not
    section or file symbols."""
    stype = info & 0xF
    keep: npt.NDArray[np.bool_] = (stype != STT_SECTION) & (stype != STT_FILE)
    if len(keep):
        keep[first] = False
    return keep


def nm_letters(image: ElfImage, symbols: Symbols) -> U8:
    """nm's letter for every symbol, as ASCII codes."""
    secs = image.sections
    sec = section_letters(image.section_names, secs["type"], secs["flags"])
    return letter_codes(symbols.info, symbols.shndx, sec, len(secs))


def letter_codes(
    info: U8,
    shndx: npt.NDArray[np.uint32],
    sec: U8,
    nsec: int | npt.NDArray[np.int64],
    base: int | npt.NDArray[np.int64] = 0,
) -> U8:
    """nm's letters from the symbols' ``st_info`` and section indexes, ``sec`` holding each
    section's letter (:func:`section_letters`). Several files' tables at once
    (:mod:`.batch`): ``nsec`` is then each symbol's file's section count and ``base`` where
    that file's sections start in ``sec``."""
    bind = info >> 4
    stype = info & 0xF
    # Absolute symbols, and those in sections BFD makes none for, are 'a'.
    in_section = (shndx != SHN_UNDEF) & (shndx < nsec)
    c = np.full(len(shndx), ord("a"), dtype=np.uint8)
    c[in_section] = sec[(shndx + base)[in_section]]
    glob = (bind == STB_GLOBAL) & (shndx != SHN_UNDEF) & (shndx != SHN_COMMON)
    lower = (c >= ord("a")) & (c <= ord("z"))
    c = np.where(glob & lower, c - 32, c).astype(np.uint8)
    is_object = (stype == STT_OBJECT) | (stype == STT_COMMON)
    # bfd_decode_symclass, lowest priority first so later rules override earlier ones.
    c[(bind != STB_LOCAL) & (bind != STB_GLOBAL) & (bind != STB_WEAK)] = ord("?")
    c[bind == STB_GNU_UNIQUE] = ord("u")
    weak = bind == STB_WEAK
    c[weak] = np.where(is_object[weak], ord("V"), ord("W"))
    c[stype == STT_GNU_IFUNC] = ord("i")
    undef = shndx == SHN_UNDEF
    c[undef] = ord("U")
    c[undef & weak] = np.where(is_object[undef & weak], ord("v"), ord("w"))
    c[shndx == SHN_COMMON] = ord("C")
    return c


_BINDS = {
    STB_LOCAL: Bind.LOCAL,
    STB_GLOBAL: Bind.GLOBAL,
    STB_WEAK: Bind.WEAK,
    STB_GNU_UNIQUE: Bind.UNIQUE,
}
_KINDS = {
    STT_NOTYPE: Kind.NOTYPE,
    STT_OBJECT: Kind.OBJECT,
    STT_FUNC: Kind.FUNCTION,
    STT_SECTION: Kind.SECTION,
    STT_FILE: Kind.FILE,
    STT_COMMON: Kind.COMMON,
    STT_TLS: Kind.TLS,
    STT_GNU_IFUNC: Kind.FUNCTION,
}
_BIND_LUT = np.zeros(16, dtype=np.uint8)
_KIND_LUT = np.zeros(16, dtype=np.uint8)
for _stb, _bind in _BINDS.items():
    _BIND_LUT[_stb] = _bind
for _stt, _kind in _KINDS.items():
    _KIND_LUT[_stt] = _kind


def binds(info: U8) -> U8:
    out: U8 = _BIND_LUT[info >> 4]
    return out


def kinds(info: U8) -> U8:
    out: U8 = _KIND_LUT[info & 0xF]
    return out


def values(image: ElfImage, symbols: Symbols) -> npt.NDArray[np.uint64]:
    """The value nm prints: bfd_asymbol_value() = section VMA + symbol value, where BFD
    made a relocatable object's values section-relative (bfd/elfcode.h); linked images'
    values are already addresses. A .ko's sections usually have address 0, not always
    (6.12's modules place .data after alloc tags)."""
    if image.e_type != ET_REL:
        return symbols.value
    return relocatable_values(
        symbols.value, symbols.shndx, image.sections["addr"], len(image.sections)
    )


def relocatable_values(
    value: npt.NDArray[np.uint64],
    shndx: npt.NDArray[np.uint32],
    addr: npt.NDArray[np.uint64],
    nsec: int | npt.NDArray[np.int64],
    base: int | npt.NDArray[np.int64] = 0,
) -> npt.NDArray[np.uint64]:
    """:func:`values` of relocatable files' symbols, ``addr`` holding every section's
    address (``nsec``, ``base``: as in :func:`letter_codes`)."""
    in_section = (shndx != SHN_UNDEF) & (shndx < nsec)
    out = np.zeros(len(shndx), dtype=np.uint64)
    out[in_section] = addr[(shndx + base)[in_section]]
    out += value
    return out


def section_names(image: ElfImage, shndx: npt.NDArray[np.uint32]) -> Coded:
    """Each symbol's section name; ``*ABS*`` and ``*COM*`` as objdump writes them, and
    nothing for undefined symbols."""
    return symbol_sections(image.section_names, shndx, len(image.section_names))


def symbol_sections(
    names: list[str],
    shndx: npt.NDArray[np.uint32],
    nsec: int | npt.NDArray[np.int64],
    base: int | npt.NDArray[np.int64] = 0,
) -> Coded:
    """:func:`section_names` with ``names`` holding every section's name (``nsec``,
    ``base``: as in :func:`letter_codes`)."""
    n = len(names)
    index = np.where(shndx < nsec, shndx + base, n + 1)
    index[shndx == SHN_UNDEF] = n
    index[shndx == SHN_COMMON] = n + 2
    return Coded([*names, "", "*ABS*", "*COM*"], index)
