"""Symbols a file makes through its own function-like macros: a ``#define M(params)`` whose
body exports (and usually defines) names pasted from its parameters, expanded at each
``M(args)`` line of the same file -- kernel/params.c ``STANDARD_PARAM_DEF(name, ...)``
(``param_set_##name``, ``param_get_##name``, ``param_ops_##name``), drivers/base/core.c
``define_dev_printk_level(func, level)``, net/core/dev.c ``define_netdev_printk_level``,
drivers/infiniband/core/device.c ``define_ibdev_printk_level``, lib/kstrtox.c
``kstrto_from_user(f, g, type)``, drivers/char/random.c ``DEFINE_BATCHED_ENTROPY(type)``
(``get_random_##type``), kernel/sched/core.c ``PREEMPT_MODEL_ACCESSOR(mode)``,
kernel/trace/bpf_trace.c ``BPF_TRACE_DEFN_x(x)``, drivers/pci/access.c
``PCI_USER_READ_CONFIG``/``PCI_USER_WRITE_CONFIG``, drivers/virt/vboxguest/vboxguest_utils.c
``VBG_LOG(name, pr_func)``. Also the object-like renames ``#define name other`` where
``other`` contains ``name`` (drivers/staging/rtl8192u/ieee80211/ieee80211.h ``#define
ieee80211_rx ieee80211_rx_rsl``, kernel/locking/qspinlock.c ``#define
queued_spin_lock_slowpath native_queued_spin_lock_slowpath``): the C preprocessor replaces
the name wherever the file (or a header it includes) uses it, so the symbol the object file
exports and defines is the other one.
"""

from __future__ import annotations

import re

from ksql.kernel.exportmacros import EXPORT_MACROS, exports_of

__all__ = ["Template", "close_paren", "expand", "invocations", "renames", "templates"]

# A function-like macro, its parameters and its body with the continued lines.
_DEFINE = re.compile(rb"#[ \t]*define[ \t]+(\w+)\(([\w, \t.]*)\)((?:[^\n]*\\\n)*[^\n]*)")
# In a body: a call of an export macro; a function header "type name##x(params) {".
_CALL = re.compile(r"\b([A-Z_][A-Z0-9_]*)\s*\(((?:[^()]|\((?:[^()]|\([^()]*\))*\))*)\)")
_FUNCTION = re.compile(
    r"(?:^|[;}])\s*((?:[A-Za-z_]\w*[\s*]+)+?)([A-Za-z_]\w*(?:\s*##\s*\w+)*)\s*\([^;{}]*\)\s*\{"
)
_KEYWORDS = frozenset(["if", "for", "while", "switch", "return", "sizeof", "do", "else", "case"])
_RENAME = re.compile(rb"#[ \t]*define[ \t]+([A-Za-z_]\w*)[ \t]+([A-Za-z_]\w*)[ \t]*(?:/[*/]|\n)")

# A macro's symbols: its parameters, exports (macro, argument templates) and functions
# (name template, static).
Template = tuple[list[str], list[tuple[str, list[str]]], list[tuple[str, bool]]]


def templates(data: bytes) -> dict[str, Template]:
    """The function-like macros of ``data`` whose body calls an export macro."""
    out: dict[str, Template] = {}
    for m in _DEFINE.finditer(data):
        body = m.group(3)
        if b"EXPORT_" not in body:
            continue
        text = body.decode("latin-1").replace("\\\n", "\n")
        exports = [
            (c.group(1), split_args(c.group(2)))
            for c in _CALL.finditer(text)
            if c.group(1) in EXPORT_MACROS
        ]
        if not exports:
            continue
        functions = [
            (f.group(2), f.group(1).split()[0] == "static")
            for f in _FUNCTION.finditer(text)
            if f.group(2) not in _KEYWORDS and f.group(1).split()[0] not in _KEYWORDS
        ]
        params = [p.strip() for p in m.group(2).decode("latin-1").split(",")]
        out.setdefault(m.group(1).decode("latin-1"), (params, exports, functions))
    return out


def split_args(text: str) -> list[str]:
    """Top-level comma-separated arguments (parentheses and string literals nest)."""
    args, depth, start, quoted = [], 0, 0, False
    for i, c in enumerate(text):
        if c == '"' and text[i - 1 : i] != "\\":
            quoted = not quoted
        elif quoted:
            continue
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "," and not depth:
            args.append(text[start:i].strip())
            start = i + 1
    args.append(text[start:].strip())
    return args


def paste(template: str, bound: dict[str, str]) -> str:
    """``template`` with each parameter replaced by its argument and ``##`` pasted."""
    parts = [p.strip() for p in template.split("##")]
    return "".join(bound.get(p, p) for p in parts)


def expand(
    template: Template, args: list[str], default_namespace: str
) -> tuple[list[tuple[str, int, str]], list[tuple[str, bool]]]:
    """The exports ``(name, kind, namespace)`` and functions ``(name, static)`` that one
    ``M(args)`` makes; names that do not come out as identifiers are dropped."""
    params, exports, functions = template
    bound = dict(zip(params, args, strict=False))
    found: list[tuple[str, int, str]] = []
    for macro, margs in exports:
        values = [paste(a, bound) for a in margs]
        found += [(n, int(k), ns) for n, k, ns in exports_of(macro, values, default_namespace)]
    names = [(paste(t, bound), static) for t, static in functions]
    return found, [(n, s) for n, s in names if n.isidentifier()]


def renames(data: bytes) -> dict[str, list[str]]:
    """``#define name other`` where ``other`` contains ``name``: name -> the others."""
    out: dict[str, list[str]] = {}
    for m in _RENAME.finditer(data):
        name, other = m.group(1), m.group(2)
        if name != other and name in other:
            targets = out.setdefault(name.decode(), [])
            if other.decode() not in targets:
                targets.append(other.decode())
    return out


def invocations(
    data: bytes, found: dict[str, Template], default_namespace: str
) -> list[tuple[int, list[tuple[str, int, str]], list[tuple[str, bool]]]]:
    """``(offset, exports, functions)`` for each line of ``data`` that starts with a call of
    one of ``found``'s macros outside a ``#define`` (where it would be a parameter's use)."""
    out = []
    for name, template in found.items():
        call = re.compile(rb"^[ \t]*(" + re.escape(name.encode()) + rb")[ \t]*\(", re.M)
        for m in call.finditer(data):
            start = m.start(1)
            line_start = data.rfind(b"\n", 0, start) + 1
            if line_start >= 2 and data[line_start - 2 : line_start - 1] == b"\\":
                continue  # a continued line: inside another macro's body
            close = close_paren(data, m.end())
            args = split_args(data[m.end() : close].decode("latin-1"))
            exports, functions = expand(template, args, default_namespace)
            if exports or functions:
                out.append((start, exports, functions))
    out.sort(key=lambda item: item[0])
    return out


def close_paren(data: bytes, at: int) -> int:
    """The offset of the ``)`` that closes the parenthesis opened just before ``at`` (``at``
    when there is none within 4 KiB)."""
    depth = 1
    for i in range(at, min(len(data), at + 4096)):
        if data[i] == 0x28:
            depth += 1
        elif data[i] == 0x29:
            depth -= 1
            if not depth:
                return i
    return at
