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

import numpy as np
import numpy.typing as npt

EM_ARM = 40
EM_AARCH64 = 183
EM_RISCV = 243
_ARM_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyz")
_AARCH64_LETTERS = frozenset("xdmfp")


def wanted() -> bool:
    """Whether special symbols are kept (``KSQL_SPECIAL_SYMS``)."""
    return os.environ.get("KSQL_SPECIAL_SYMS", "") not in ("", "0")


def hidden(machine: int, head: npt.NDArray[np.uint8]) -> npt.NDArray[np.intp]:
    """Indexes of the symbols nm hides on ``machine`` (an ELF ``e_machine``), decided on
    each name's first four bytes (``Symbols.head``). riscv64 modules hold ~40 local labels
    per real symbol: a regular-expression scan over the names took 4.9 of 8.8 s of loading
    400 riscv64 modules; this takes 0.05 s."""
    if wanted() or machine not in (EM_ARM, EM_AARCH64, EM_RISCV) or not len(head):
        return np.zeros(0, dtype=np.intp)
    c0, c1, c2, c3 = head[:, 0], head[:, 1], head[:, 2], head[:, 3]
    if machine == EM_RISCV:
        riscv = (
            (c0 == 0)  # the empty name
            | ((c0 == _DOLLAR) & ((c1 == ord("x")) | (c1 == ord("d"))))  # $x..., $d...
            | ((c0 == _DOT) & ((c1 == ord("L")) | (c1 == _DOT)))  # .L..., ....
            | ((c0 == ord("_")) & (c1 == _DOT) & (c2 == ord("L")) & (c3 == ord("_")))
        )
        return np.flatnonzero(riscv)
    letters = _ARM_LETTERS if machine == EM_ARM else _AARCH64_LETTERS
    codes = np.array([ord(c) for c in sorted(letters)], dtype=np.uint8)
    # "$" + letter, alone or followed by ".".
    arm = (c0 == _DOLLAR) & np.isin(c1, codes) & ((c2 == 0) | (c2 == _DOT))
    return np.flatnonzero(arm)


_DOLLAR, _DOT = ord("$"), ord(".")
