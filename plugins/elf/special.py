"""Target-special symbols: what ``nm`` leaves out unless given ``--special-syms``.

binutils' nm skips every symbol for which ``bfd_is_target_special_symbol`` holds
(binutils/nm.c ``filter_symbols``). Only three kernel architectures define it (binutils 2.40,
Debian bookworm's, checked against ``nm -p`` on ``tests/data/arch/special-*.o``):

- 32-bit ARM (bfd/cpu-arm.c ``bfd_is_arm_special_symbol_name``, ANY type): ``$`` and one
  lower-case letter, alone or followed by ``.``: the mapping symbols ``$a`` ``$t`` ``$d``,
  tags ``$m`` ``$f`` ``$p`` and the rest of ``$a``..``$z`` (``$d.7`` too, not ``$dfoo``).
- AArch64 (bfd/cpu-aarch64.c ``bfd_is_aarch64_special_symbol_name``): the same shape with
  only ``$x`` ``$d`` (mapping) and ``$m`` ``$f`` ``$p`` (tags).
- RISC-V (bfd/elfnn-riscv.c ``riscv_elf_is_target_special_symbol``): the empty name, local
  labels (bfd/elf.c ``_bfd_elf_is_local_label_name``: ``.L``, ``..``, ``_.L_`` prefixes) and
  mapping symbols: any name starting ``$x`` or ``$d`` (``$xrv64i2p1_m2p0``, ``$x.12``).

Other machines hide nothing. ``KSQL_SPECIAL_SYMS=1`` (``ksql --special-syms``) keeps them all,
as ``nm --special-syms`` does.
"""

from __future__ import annotations

import os

from ksql.storage import rows_with_prefix

EM_ARM = 40
EM_AARCH64 = 183
EM_RISCV = 243
_ARM_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyz")
_AARCH64_LETTERS = frozenset("xdmfp")


def wanted() -> bool:
    """Whether special symbols are kept (``KSQL_SPECIAL_SYMS``)."""
    return os.environ.get("KSQL_SPECIAL_SYMS", "") not in ("", "0")


def hidden(machine: int, names: list[str]) -> list[int]:
    """Indexes of ``names`` nm hides on ``machine`` (an ELF ``e_machine``)."""
    if wanted() or machine not in (EM_ARM, EM_AARCH64, EM_RISCV):
        return []
    if machine == EM_RISCV:  # riscv64 modules hold ~40 local labels per real symbol
        rows = rows_with_prefix(names, _RISCV_PREFIXES)
        return sorted(rows + [i for i, n in enumerate(names) if not n])
    letters = _ARM_LETTERS if machine == EM_ARM else _AARCH64_LETTERS
    return [i for i in rows_with_prefix(names, ("$",)) if _mapping(names[i], letters)]


_RISCV_PREFIXES = ("$x", "$d", ".L", "..", "_.L_")


def _mapping(name: str, letters: frozenset[str]) -> bool:
    return len(name) >= 2 and name[1] in letters and (len(name) == 2 or name[2] == ".")
