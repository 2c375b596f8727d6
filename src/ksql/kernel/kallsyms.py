"""What kallsyms keeps and how ``%pS`` names an address: the symbol filter and alias order of
``scripts/kallsyms.c``, the look-up of ``kernel/kallsyms.c`` and the module rules of
``kernel/module/kallsyms.c`` and ``kernel/module/main.c`` (all as of Linux 6.1).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# scripts/kallsyms.c is_ignored_symbol(): names that vary between link passes.
_IGNORED = frozenset(
    {
        "kallsyms_addresses",
        "kallsyms_offsets",
        "kallsyms_relative_base",
        "kallsyms_num_syms",
        "kallsyms_names",
        "kallsyms_markers",
        "kallsyms_token_table",
        "kallsyms_token_index",
        "kallsyms_seqs_of_names",
        "_SDA_BASE_",
        "_SDA2_BASE_",
    }
)
_IGNORED_PREFIXES = (
    "__efistub_",
    "__kvm_nvhe_$",
    "__kvm_nvhe_.L",
    "__AArch64ADRPThunk_",
    "__ARMV5PILongThunk_",
    "__ARMV7PILongThunk_",
    "__ThumbV7PILongThunk_",
    "__LA25Thunk_",
    "__microLA25Thunk_",
    "__kcfi_typeid_",
)
_IGNORED_SUFFIXES = ("_from_arm", "_from_thumb", "_veneer")
_IGNORED_MATCHES = (".long_branch.", ".plt_branch.")
# The absolute symbols kallsyms keeps (ia64's gate page and __gp).
KEPT_ABSOLUTE = frozenset(
    {"__kernel_syscall_via_break", "__kernel_syscall_via_epc", "__kernel_sigtramp", "__gp"}
)


# The name rules over names joined by newlines (a catalog's packed name blob, which starts
# with one): each hit is an offset inside the ignored name, whose row follows from it. The
# regular expression starts with a literal "\n", which re scans for quickly; suffixes and
# infixes are plain substring searches (as one unanchored regex they cost ~0.2 s a vmlinux).
IGNORED_ANCHORED = re.compile(
    "\n(?:(?:"
    + "|".join(map(re.escape, sorted(_IGNORED)))
    + ")(?=\n)|"
    + "|".join(map(re.escape, _IGNORED_PREFIXES))
    + ")"
)
IGNORED_SUBSTRINGS = tuple(x + "\n" for x in _IGNORED_SUFFIXES) + _IGNORED_MATCHES


def ignored_offsets(blob: str) -> list[int]:
    """Offsets in ``blob`` (newline-separated names) that fall inside ignored names."""
    hits = [m.start() for m in IGNORED_ANCHORED.finditer(blob)]
    for needle in IGNORED_SUBSTRINGS:
        at = blob.find(needle)
        while at >= 0:
            hits.append(at)
            at = blob.find(needle, at + 1)
    return hits


IGNORED_LETTERS = "UuNn"  # undefined and debugging symbols
ABSOLUTE_LETTERS = "Aa"  # dropped unless named in KEPT_ABSOLUTE


def is_ignored_symbol(name: str, letter: str) -> bool:
    """True when scripts/kallsyms.c's is_ignored_symbol() leaves ``name`` (nm ``letter``)
    out of the kernel's symbol table: undefined, debugging and most absolute symbols, and the
    linker's per-pass names."""
    if letter in IGNORED_LETTERS:
        return True
    if letter in ABSOLUTE_LETTERS and name not in KEPT_ABSOLUTE:
        return True
    return bool(ignored_offsets("\n" + name + "\n"))


def _linker_provided(name: str) -> bool:
    """scripts/kallsyms.c may_be_linker_script_provide_symbol()."""
    if len(name) < 8 or not name.startswith("__"):
        return False
    return (
        name.startswith(("__start_", "__stop_", "__end_"))
        or name.endswith("_start")
        or name.endswith("_end")
    )


def alias_rank(name: str, letter: str) -> tuple[bool, bool, int, bytes]:
    """Where a symbol sorts among those at its address in the kernel's table: the first one
    is the name ``%pS`` prints (kernel/kallsyms.c get_symbol_pos() walks back to the first
    alias). scripts/kallsyms.c compare_symbols() puts weak symbols last, then linker-provided
    ``__start_*``/``*_end`` names, then names with more leading underscores, and keeps the
    input order otherwise; its input is ``nm -n``, which orders one address's names by
    strcmp (binutils nm.c numeric_forward() falls back to non_numeric_forward())."""
    return (
        letter in "wW",
        _linker_provided(name),
        len(name) - len(name.lstrip("_")),
        name.encode("utf-8", "surrogateescape"),
    )


# Symbols bounding the kernel image (include/asm-generic/sections.h __is_kernel() and
# is_kernel_inittext(); kernel/kallsyms.c is_ksym_addr() with CONFIG_KALLSYMS_ALL, which
# Debian and most distributions set).
KERNEL_BOUNDS = ("_stext", "_end", "__init_begin", "__init_end", "_sinittext", "_einittext")


def is_arm_mapping_symbol(name: str) -> bool:
    """kernel/module/kallsyms.c is_arm_mapping_symbol(): ``$a``, ``$x.1``... carry no name."""
    return len(name) >= 2 and name[0] == "$" and name[1] in "axtd" and name[2:3] in ("", ".")


def module_init_layout_section(name: str) -> bool:
    """kernel/module/main.c module_init_layout_section(): ``.init*`` sections go to the
    init layout, freed after the module's init returns (``.exit*`` too only without
    CONFIG_MODULE_UNLOAD, which distributions set)."""
    return name.startswith(".init")


SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 0x1, 0x2, 0x4
MODULE_PAGE = 4096  # strict_align() with CONFIG_STRICT_MODULE_RWX on x86-64


def module_text_layout(
    names: Sequence[str], flags: Sequence[int], sizes: Sequence[int], aligns: Sequence[int]
) -> tuple[dict[int, tuple[bool, int]], int, int]:
    """Where a module's executable sections land, as kernel/module/main.c layout_sections()
    places them (mask ``SHF_EXECINSTR | SHF_ALLOC`` first, in section-header order, each at
    ``ALIGN(size, sh_addralign)`` by module_get_offset()): section index -> (in the init
    layout, offset from its layout's base), plus the core and init text sizes (page-aligned
    by strict_align()), which bound the last function's size in find_kallsyms_symbol()."""
    placed: dict[int, tuple[bool, int]] = {}
    size = {False: 0, True: 0}
    want = SHF_EXECINSTR | SHF_ALLOC
    for init in (False, True):
        for i, (name, flag) in enumerate(zip(names, flags, strict=True)):
            if i == 0 or flag & want != want or module_init_layout_section(name) != init:
                continue
            align = max(int(aligns[i]), 1)
            offset = -(-size[init] // align) * align
            placed[i] = (init, offset)
            size[init] = offset + int(sizes[i])
    core = -(-size[False] // MODULE_PAGE) * MODULE_PAGE
    init_size = -(-size[True] // MODULE_PAGE) * MODULE_PAGE
    return placed, core, init_size
