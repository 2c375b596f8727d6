"""One source file's sites, found by regular expressions over its bytes: exports
(``EXPORT_SYMBOL`` and every macro of :mod:`ksql.kernel.exportmacros`), definitions at
column 0 in kernel style (a function whose body opens with ``{`` at column 0, a variable,
a definition macro of :mod:`ksql.kernel.definemacros`) and, in headers, declarations
(prototypes, ``extern`` variables).

No preprocessor: a site inside ``#if 0`` counts, a name made by ``##`` inside a macro body
does not. Positions are 1-based lines and columns (bytes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ksql.kernel.definemacros import DEFINE_MACROS, TRACEPOINT_MACROS, defines_of
from ksql.kernel.exportmacros import exports_of, unquote

__all__ = ["FileSites", "scan"]

# (name, line, col, kind code, namespace, namespace-is-the-default)
Export = tuple[str, int, int, int, str, bool]
# (name, line, col, is_function, is_static)
Definition = tuple[str, int, int, bool, bool]
Declaration = tuple[str, int, int]


@dataclass(slots=True)
class FileSites:
    path: str  # relative to the tree root
    exports: list[Export] = field(default_factory=list)
    definitions: list[Definition] = field(default_factory=list)
    declarations: list[Declaration] = field(default_factory=list)
    # '#include "x.c"' and local headers ('#include "tasks.h"'), as written
    includes: list[str] = field(default_factory=list)
    # Exports through a macro the table does not know (IWL_EXPORT_SYMBOL(x)), resolved once
    # every file's wrapper definitions are known: (macro, args, line, col).
    wrapped: list[tuple[str, list[str], int, int]] = field(default_factory=list)
    # "#define W(a, b) EXPORT_SYMBOL_NS_GPL(a, NS)": W -> (params, target macro, its args).
    wrappers: dict[str, tuple[list[str], str, list[str]]] = field(default_factory=dict)
    default_namespace: str = ""  # '#define DEFAULT_SYMBOL_NAMESPACE NS' in the file
    tracepoints: list[Declaration] = field(default_factory=list)  # TRACE_EVENT(name, ...)


# The patterns start with a literal (``EXPORT_``, ``\n``) so the regex engine skips ahead
# quickly, and use possessive repeats so a long line is read once.
_EXPORT = re.compile(rb"EXPORT_[A-Z0-9_]*+[ \t]*\(((?:[^();{}]|\([^();{}]*\))*+)\)")
_WRAPPER = re.compile(
    rb"#[ \t]*define[ \t]+(\w+)\(([\w, \t]*)\)[ \t]+(\w*EXPORT_\w+)[ \t]*\(([^()\n]*)\)"
)
_DEFAULT_NS = re.compile(rb"^[ \t]*#[ \t]*define[ \t]+DEFAULT_SYMBOL_NAMESPACE[ \t]+(\S+)", re.M)
_BODY = re.compile(rb"\n\{")
_COLUMN0 = re.compile(rb"\n[A-Za-z_]")
# The line above ends in a return type: "struct kthread_worker *", "int".
_RETURN_TYPE_ABOVE = re.compile(rb"\n[A-Za-z_][\w \t]*[\w*][ \t]*\n\Z")
# kernel/sched/build_policy.c and others build .c files by including them.
_INCLUDE_C = re.compile(rb'\n#[ \t]*include[ \t]+"([^"\n/]+\.[ch]|\.\./[^"\n]+\.c)"')
# The common function header: column-0 words, the name, "(", parameters, "{" at column 0.
_FUNCTION = re.compile(rb"\n([A-Za-z_][\w \t*]*+)\([^;{}]*+(?<=\n)\{")
_CALL = re.compile(rb"([A-Za-z_]\w*)\s*\(")
_IDENT = re.compile(rb"[A-Za-z_]\w*")
_WORDS = re.compile(rb"\w+")
# A column-0 line of words that ends a declarator: "static int x =", "struct a b[" ...
_VARIABLE = re.compile(rb"\n([A-Za-z_][\w \t*]*+)[;=\[]")
# A column-0 invocation of a macro: "DEFINE_MUTEX(", "static DEVICE_ATTR_RW(".
_MACRO = re.compile(rb"\n(static[ \t]+)?([A-Z_][A-Z0-9_]*+)\(")
# A column-0 line up to its first parenthesis, in a header: maybe a prototype.
_PROTOTYPE = re.compile(rb"\n([A-Za-z_][^\n;(){}=#]*+)\(")
_EXTERN = re.compile(rb"\nextern[ \t]([^;(){}=#]*+);")
# Words after a variable's name: section and alignment attributes (include/linux/cache.h,
# include/linux/init.h, include/linux/compiler_attributes.h).
_ATTRIBUTE = re.compile(
    rb"__(?:read_mostly|ro_after_init|init\w*|exit\w*|ref\w*|cacheline_aligned\w*|"
    rb"maybe_unused|used|visible|weak|percpu|page_aligned\w*|lsm_ro_after_init|nosave\w*|"
    rb"always_unused|unused|meminit\w*|cpuinit\w*|bss\w*|data\w*|rcu|user|iomem|"
    rb"force|must_check|noinitretpoline|ro_hibernate|guarded_by)"
)
# Words that begin a column-0 line without defining anything there.
_NOT_DEFINING = frozenset(
    b"typedef return goto if else for while do switch case default extern asm __asm__ "
    b"module_init module_exit late_initcall static_assert".split()
)
_TAGS = frozenset((b"struct", b"union", b"enum"))
_SKIP_CALLS = frozenset(
    b"__attribute__ __aligned __section __printf __scanf __cold __weak __init __exit __used "
    b"__must_hold __acquires __releases __diag_push __diag_ignore __diag_pop __nocfi "
    b"__no_sanitize_address __alloc_size __malloc __realloc_size __counted_by __free "
    b"__cleanup __visible __no_kcsan __maybe_unused __noreturn __attribute noinline "
    b"__latent_entropy __noinstr_section __ref __always_inline __bpf_kfunc typeof "
    b"__typeof__ __typeof __must_check __nocfi __pure __const __deprecated".split()
)
_STORAGE = re.compile(rb"\b(?:static|STATIC)\b")


class _Lines:
    """Byte offsets to 1-based (line, column), for offsets asked in increasing order."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0
        self.line = 1

    def at(self, offset: int) -> tuple[int, int]:
        if offset < self.offset:
            self.offset, self.line = 0, 1
        self.line += self.data.count(b"\n", self.offset, offset)
        self.offset = offset
        return self.line, offset - (self.data.rfind(b"\n", 0, offset) + 1) + 1


def _line_bounds(data: bytes, offset: int) -> tuple[int, int]:
    start = data.rfind(b"\n", 0, offset) + 1
    end = data.find(b"\n", offset)
    return start, len(data) if end < 0 else end


def _in_macro_or_comment(data: bytes, offset: int) -> bool:
    """Whether the text at ``offset`` is part of a ``#define`` (a continued line) or a
    comment line, where a macro parameter, not a symbol, is named."""
    start, end = _line_bounds(data, offset)
    line = data[start:end]
    if line.rstrip().endswith(b"\\"):
        return True
    head = line.lstrip()
    if head.startswith((b"#", b"*", b"/*", b"//")):
        return True
    return start >= 2 and data[start - 2 : start - 1] == b"\\"


def _args(raw: bytes) -> list[str]:
    return [a.strip() for a in raw.decode("latin-1").split(",")]


def scan(path: str, data: bytes, *, headers: bool = False) -> FileSites:
    """The sites in one file: exports and definitions in ``.c``/``.S`` files, declarations
    in headers (``headers=True``; a header's exports count too)."""
    out = FileSites(path)
    if b"EXPORT_" in data:
        _exports(data, out)
    if headers:
        _declarations(data, out)
        if b"TRACE" in data:
            _tracepoints(data, out)
    else:
        _definitions(data, out)
        if b'#include "' in data:
            out.includes = [m.group(1).decode() for m in _INCLUDE_C.finditer(data)]
    return out


def _exports(data: bytes, out: FileSites) -> None:
    found = _DEFAULT_NS.search(data)
    default = unquote(found.group(1).decode("latin-1")) if found else ""
    out.default_namespace = default
    if b"define" in data:
        for w in _WRAPPER.finditer(data):
            params = _args(w.group(2))
            out.wrappers.setdefault(w.group(1).decode(), (params, w.group(3).decode(),
                                                          _args(w.group(4))))  # fmt: skip
    lines = _Lines(data)
    for m in _EXPORT.finditer(data):
        start = m.start()
        while start and (data[start - 1 : start].isalnum() or data[start - 1] == 0x5F):
            start -= 1  # a longer name: IWL_EXPORT_SYMBOL, __EXPORT_SYMBOL
        macro = data[start : data.index(b"(", m.start())].strip().decode("ascii")
        args = _args(m.group(1))
        exported = exports_of(macro, args, default or "\0")
        if (not exported and not args[0].isidentifier()) or _in_macro_or_comment(data, start):
            continue
        line, col = lines.at(start)
        if not exported:
            out.wrapped.append((macro, args, line, col))
            continue
        for name, kind, namespace in exported:
            is_default = namespace == "\0"
            out.exports.append((name, line, col, int(kind), "" if is_default else namespace,
                                is_default))  # fmt: skip


def _definitions(data: bytes, out: FileSites) -> None:
    found: list[tuple[int, str, bool, bool]] = []  # offset, name, function, static
    done = set()
    for m in _FUNCTION.finditer(data):
        head = m.group(1)
        words = head.split()
        name = words[-1]
        if name in _SKIP_CALLS or words[0] in _NOT_DEFINING or not _IDENT.fullmatch(name):
            continue
        if _COLUMN0.search(data, m.end(1), m.end() - 1):
            continue  # the header is a later column-0 line: _function_at finds it
        done.add(m.end() - 1)
        static = words[0] == b"static"
        at = m.start(1) + head.rfind(name)
        text = name.decode()
        if text in DEFINE_MACROS:
            names, function = defines_of(
                text, _args(data[m.end(1) + 1 : _close_paren(data, m.end(1) + 1)])
            )
            found.extend((at, n, function, static) for n in names)
        elif len(words) > 1 or not text.isupper():
            found.append((at, text, True, static))
    for m in _BODY.finditer(data):
        if m.start() + 1 not in done:
            found.extend(_function_at(data, m.start() + 1))
    for m in _MACRO.finditer(data):
        macro = m.group(2).decode()
        if macro in DEFINE_MACROS:
            close = _close_paren(data, m.end())
            names, function = defines_of(macro, _args(data[m.end() : close]))
            static = bool(m.group(1)) or "_LOCAL" in macro
            found.extend((m.start(2), n, function, static) for n in names)
    for m in _VARIABLE.finditer(data):
        words = _WORDS.findall(m.group(1))
        while len(words) > 2 and _ATTRIBUTE.fullmatch(words[-1]):
            words.pop()
        static = words[0] == b"static"
        if static:
            words.pop(0)
        if len(words) < 2 or words[0] in _NOT_DEFINING or (words[0] in _TAGS and len(words) < 3):
            continue
        name = words[-1]
        if not name[:1].isalpha() and name[:1] != b"_":
            continue
        at = m.start(1) + m.group(1).rfind(name)
        found.append((at, name.decode(), False, static))
    lines = _Lines(data)
    for offset, name, function, static in sorted(set(found)):
        line, col = lines.at(offset)
        out.definitions.append((name, line, col, function, static))


def _function_at(data: bytes, brace: int) -> list[tuple[int, str, bool, bool]]:
    """The definition(s) whose body opens at ``brace`` (a ``{`` at column 0)."""
    # Back from the brace to the declarator's first line: the nearest line above that
    # starts at column 0 (continued parameter lines are indented).
    end = brace - 1
    start = data.rfind(b"\n", 0, end) + 1
    for _ in range(16):
        if start == 0 or data[start] not in b" \t\n":
            break
        start = data.rfind(b"\n", 0, start - 1) + 1
    text = data[start:end]
    first = _IDENT.match(text)
    if first is None or b";" in text or first.group() in _NOT_DEFINING:
        return []
    paren = text.find(b"(")
    eq = text.find(b"=")
    static = first.group() == b"static" or bool(_STORAGE.search(text, 0, paren))
    if eq >= 0 and (paren < 0 or eq < paren):  # "type name[] =\n{": a variable
        words = _WORDS.findall(text[:eq].split(b"[", 1)[0])
        while len(words) > 2 and _ATTRIBUTE.fullmatch(words[-1]):
            words.pop()
        if len(words) < 2 or not _IDENT.fullmatch(words[-1]):
            return []
        at = start + text.rfind(words[-1], 0, eq)
        return [(at, words[-1].decode(), False, static)]
    if paren < 0:
        return []
    for m in _CALL.finditer(text):
        word = m.group(1)
        if word in _SKIP_CALLS:
            continue
        name = word.decode()
        if name in DEFINE_MACROS:
            close = _close_paren(text, m.end())
            names, function = defines_of(name, _args(text[m.end() : close]))
            return [(start + m.start(1), n, function, static) for n in names]
        if first.group() in _TAGS and m.start() == paren and len(_WORDS.findall(text[:paren])) < 3:
            return []
        return [(start + m.start(1), name, True, static)]
    return []


def _close_paren(text: bytes, at: int) -> int:
    depth = 1
    for i in range(at, min(len(text), at + 4096)):
        c = text[i]
        if c == 0x28:
            depth += 1
        elif c == 0x29:
            depth -= 1
            if not depth:
                return i
    return at


_TRACE = re.compile(rb"\n([A-Z_]+)\(\s*(\w+)(?:\s*,\s*(\w+))?")


def _tracepoints(data: bytes, out: FileSites) -> None:
    lines = _Lines(data)
    for m in _TRACE.finditer(data):
        arg = TRACEPOINT_MACROS.get(m.group(1).decode())
        if arg is None or m.group(arg + 2) is None:
            continue
        line, col = lines.at(m.start(1))
        out.tracepoints.append((m.group(arg + 2).decode(), line, col))


def _declarations(data: bytes, out: FileSites) -> None:
    found: list[tuple[int, bytes]] = []
    for m in _PROTOTYPE.finditer(data):
        words = _WORDS.findall(m.group(1))
        if len(words) == 1 and _RETURN_TYPE_ABOVE.search(
            data, max(0, m.start() - 160), m.start() + 1
        ):
            words.insert(0, b"")  # "struct kthread_worker *\nkthread_create_worker(...);"
        if len(words) < 2 or (words[0] in _NOT_DEFINING and words[0] != b"extern"):
            continue
        if words[0] in (b"static", b"struct", b"union", b"enum") and len(words) < 3:
            continue
        if words[0] == b"static":  # a static inline: defined here, not declared
            continue
        name = words[-1]
        if name in _SKIP_CALLS or name.isupper() or not _IDENT.fullmatch(name):
            continue
        close = _close_paren(data, m.end())
        after = data[close + 1 : close + 200].lstrip()
        if not after.startswith((b";", b"__", b"_")):
            continue
        if not after.startswith(b";") and b";" not in after.split(b"{", 1)[0]:
            continue
        found.append((m.start(1) + m.group(1).rfind(name), name))
    for m in _EXTERN.finditer(data):
        words = _WORDS.findall(m.group(1).split(b"[", 1)[0])
        while len(words) > 2 and _ATTRIBUTE.fullmatch(words[-1]):
            words.pop()
        if len(words) >= 2 and _IDENT.fullmatch(words[-1]):
            found.append((m.start(1) + m.group(1).rfind(words[-1]), words[-1]))
    lines = _Lines(data)
    for offset, name in sorted(found):
        line, col = lines.at(offset)
        out.declarations.append((name.decode(), line, col))
