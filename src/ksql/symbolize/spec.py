"""What ``ksql addr`` accepts: an address (``0xffffffff81234567``, ``ffffffff81234567``,
``[<ffffffff81234567>]``) or a symbolic location as ``%pS``/``%pB`` print it
(``name+0xoff/0xsize [module build-id]``), and the regular expressions the oops decoder
shares with it.
"""

from __future__ import annotations

import re

from ksql.errors import KsqlError
from ksql.values import frozen

# lib/vsprintf.c symbol_string() -> kernel/kallsyms.c __sprint_symbol(): name, "+%#lx/%#lx",
# then " [module]" or, with CONFIG_STACKTRACE_BUILD_ID (%pSb/%pBb), " [module build-id]".
SYMBOLIC = re.compile(
    r"(?P<name>[^\s+/()\[\]<>]+)\+(?P<off>0x[0-9a-fA-F]+)(?:/(?P<size>0x[0-9a-fA-F]+))?"
    r"(?:\s+\[(?P<mod>[^\]\s]+)(?:\s+(?P<bid>[0-9a-fA-F]+))?\])?"
)
# arch/x86/kernel/dumpstack.c before 4.14 printed raw "[<%p>]" before every frame.
RAW = re.compile(r"\[<(?P<addr>[0-9a-fA-F]+)>\]")
_ADDR = re.compile(r"(?:0x)?(?P<addr>[0-9a-fA-F]+)")


@frozen
class Location:
    """A parsed ``ksql addr`` argument: an address, or name+offset[/size] [module]."""

    address: int | None = None
    name: str = ""
    offset: int = 0
    size: int | None = None
    module: str = ""
    build_id: str = ""


def parse_location(text: str) -> Location:
    """One argument or input line; KsqlError naming what was expected."""
    t = text.strip()
    m = RAW.fullmatch(t) or _ADDR.fullmatch(t)
    if m:
        return Location(address=int(m.group("addr"), 16))
    m = SYMBOLIC.fullmatch(t)
    if m:
        size = m.group("size")
        return Location(
            name=m.group("name"),
            offset=int(m.group("off"), 16),
            size=int(size, 16) if size else None,
            module=m.group("mod") or "",
            build_id=(m.group("bid") or "").lower(),
        )
    m = re.fullmatch(r"(?P<name>[A-Za-z_.$][\w.$]*)(?:\s+\[(?P<mod>[^\]\s]+)\])?", t)
    if m:
        return Location(name=m.group("name"), module=m.group("mod") or "")
    raise KsqlError(
        f"{text!r}: expected an address (0xffffffff81000000) or NAME[+0xOFF[/0xSIZE]] [MODULE]"
    )
