"""Where the kernel and its modules were loaded: the KASLR offset (an oops's ``Kernel
Offset:`` line, or ``_text`` in a ``/proc/kallsyms`` snapshot against the link-time table)
and module bases (``/proc/modules`` lines).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ksql.errors import KsqlError

# arch/x86/kernel/setup.c dump_kernel_offset(): "Kernel Offset: 0x%lx from 0x%lx
# (relocation range: ...)", or "Kernel Offset: disabled".
KERNEL_OFFSET = re.compile(
    r"Kernel Offset: (?:0x(?P<off>[0-9a-fA-F]+) from 0x[0-9a-fA-F]+|disabled)"
)
# kernel/module/procfs.c m_show(): "name size refcount deps state 0xbase[ taints]".
PROC_MODULES = re.compile(
    r"^(?P<name>[\w-]+) \d+ (?:-|\d+) \S+ (?:Live|Loading|Unloading) 0x(?P<base>[0-9a-fA-F]+)"
)
# /proc/kallsyms: "ffffffff81000000 T _text".
_KALLSYMS_TEXT = re.compile(r"^(?P<addr>[0-9a-fA-F]+) [Tt] _text$")


def kernel_offset(lines: Iterable[str]) -> int | None:
    """The KASLR offset an oops reports, 0 when it says "disabled", None when silent."""
    for line in lines:
        m = KERNEL_OFFSET.search(line)
        if m:
            return int(m.group("off"), 16) if m.group("off") else 0
    return None


def module_bases(lines: Iterable[str]) -> dict[str, int]:
    """Module core bases from ``/proc/modules``-style lines (needs root: others see 0)."""
    found: dict[str, int] = {}
    for line in lines:
        m = PROC_MODULES.match(line.strip())
        if m and int(m.group("base"), 16):
            found[m.group("name").replace("-", "_")] = int(m.group("base"), 16)
    return found


def offset_from_kallsyms(text: str, link_text: int | None, origin: str) -> int:
    """The KASLR offset from a ``/proc/kallsyms`` snapshot: its ``_text`` minus the
    link-time ``_text``."""
    for line in text.splitlines():
        m = _KALLSYMS_TEXT.match(line.strip())
        if m:
            if link_text is None:
                raise KsqlError(f"{origin}: the symbol table has no _text to compare with")
            return (int(m.group("addr"), 16) - link_text) % (1 << 64)
    raise KsqlError(f"{origin}: no '_text' line (expected /proc/kallsyms, read as root)")
