"""A ``decl`` (the BTF source's C declaration, as dwarves' ``pfunct`` prints it) taken
apart: return type, name, parameters -- what completion's label details and signature help
show. Pure: a string in, a value out; a declaration it cannot read is None, never an error.
"""

from __future__ import annotations

import functools
import re

from ksql.values import frozen

_STAR_SPACE = re.compile(r"\* +(?=[*\w(])")


@frozen
class Prototype:
    """``struct dma_buf * dma_buf_get(int fd)``: returns ``struct dma_buf *``, name
    ``dma_buf_get``, parameters ``("int fd",)``. ``params`` is empty for ``(void)``."""

    returns: str
    name: str
    params: tuple[str, ...]

    @property
    def arguments(self) -> str:
        """The parameter list as clangd's completion label shows it: ``(int fd)``."""
        return "(" + ", ".join(self.params) + ")"

    @property
    def label(self) -> str:
        """The signature help label: ``struct dma_buf *dma_buf_get(int fd)``."""
        sep = "" if self.returns.endswith("*") else " "
        # C's "f()" leaves the parameters unspecified; a prototype without any says (void).
        return f"{self.returns}{sep}{self.name}{self.arguments if self.params else '(void)'}"

    def offsets(self) -> list[tuple[int, int]]:
        """Each parameter's ``[start, end)`` in :attr:`label` (code points)."""
        out = []
        at = len(self.label) - len(self.arguments) + 1
        for p in self.params:
            out.append((at, at + len(p)))
            at += len(p) + 2
        return out


def tidy(text: str) -> str:
    """pfunct spaces pointers as ``const char  * buf`` and ``char * * envp``; clangd (and
    kernel style) write ``const char *buf``, ``char **envp``."""
    return _STAR_SPACE.sub("*", " ".join(text.split()))


def split_params(text: str) -> list[str]:
    """``text`` (between a call's or a prototype's parentheses) at its top-level commas:
    ``int (*cb)(void *, int), void *arg`` is two parameters."""
    out, depth, start = [], 0, 0
    for i, c in enumerate(text):
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "," and depth == 0:
            out.append(text[start:i])
            start = i + 1
    out.append(text[start:])
    return [p.strip() for p in out]


@functools.lru_cache(maxsize=65536)  # a completion list parses up to 100 of them per key
def parse_prototype(decl: str, name: str) -> Prototype | None:
    """The prototype of function ``name`` in ``decl``; None for a variable's ``decl`` or one
    that does not name ``name`` before a parenthesis."""
    at = decl.find(name + "(")
    while at > 0 and (decl[at - 1].isalnum() or decl[at - 1] == "_"):
        at = decl.find(name + "(", at + 1)
    if at < 0:
        return None
    open_ = at + len(name)
    close = decl.find(")", open_)
    if close < 0:
        return None
    if decl.find("(", open_ + 1, close) < 0:
        # No parenthesis inside (no function-pointer parameter; 94 % of vmlinux's BTF):
        # cut at the commas in C, not character by character: 21 -> 5 us per declaration
        # (a completion list can show 100 never seen before).
        inner = tidy(decl[open_ + 1 : close])
        params = () if inner in ("", "void") else tuple(p.strip() for p in inner.split(","))
        return Prototype(tidy(decl[:at]).rstrip(), name, params)
    depth = 0
    for close in range(open_, len(decl)):
        depth += decl[close] == "("
        depth -= decl[close] == ")"
        if depth == 0:
            break
    else:
        return None
    inner = decl[open_ + 1 : close].strip()
    params = () if inner in ("", "void") else tuple(tidy(p) for p in split_params(inner))
    returns = tidy(decl[:at]).rstrip()
    return Prototype(returns, name, params)
