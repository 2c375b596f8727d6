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

from ksql.kernel.definemacros import DEFINE_MACROS, TRACEPOINT_MACROS, defines_of
from ksql.kernel.exportmacros import exports_of, unquote

from .macros import close_paren, invocations, renames, templates, xmacros
from .sites import FileSites

__all__ = ["scan"]

# The patterns start with a literal (``EXPORT_``, ``\n``) so the regex engine skips ahead
# quickly, and use possessive repeats so a long line is read once.
_EXPORT = re.compile(rb"EXPORT_[A-Z0-9_]*+[ \t]*\(((?:[^();{}]|\([^();{}]*\))*+)\)")
_EXPORT_CALL = re.compile(rb"EXPORT_\w*\s*\(")
_WRAPPER = re.compile(
    rb"#[ \t]*define[ \t]+(\w+)\(([\w, \t]*)\)[ \t]+(\w*EXPORT_\w+)[ \t]*\(([^()\n]*)\)"
)
# (A literal first: "^" would be tried at every byte.)
_DEFAULT_NS = re.compile(rb"define[ \t]+DEFAULT_SYMBOL_NAMESPACE[ \t]+(\S+)")
# The line above ends in a return type: "struct kthread_worker *", "int".
_RETURN_TYPE_ABOVE = re.compile(rb"\n[A-Za-z_][\w \t]*[\w*][ \t]*\n\Z")
# kernel/sched/build_policy.c and others build .c files by including them.
# (The literal first: the engine then jumps from "include" to "include".)
_INCLUDE_C = re.compile(rb'include[ \t]+"([^"\n/]+\.[ch]|\.\./[^"\n]+\.c)"')
_DIRECTIVE = re.compile(rb"\n#[ \t]*\Z")
_CALL = re.compile(rb"([A-Za-z_]\w*)\s*\(")
_IDENT = re.compile(rb"[A-Za-z_]\w*")
_WORDS = re.compile(rb"\w+")
# The column-0 lines that may define something, in one pass (each line start is tried once,
# in C), the first alternative that fits:
#   1. a function: words, the name, "(", parameters (no column-0 line), ")", maybe
#      attributes, "{" at column 0 (groups 1 head, 2 "", 3 name); the parameters up to the
#      first ")" the rest follows, in runs, not lazily byte by byte (6.1 tree: 4.1 -> 1.9 s);
#   2. any other "{" at column 0 (group 4): the header is found backwards (_function_at);
#   3. a macro invocation: "DEFINE_MUTEX(", "static DEVICE_ATTR_RW(" (groups 5, 6);
#   4. a line of words that ends a declarator: "static int x =", "struct a b[" (group 7).
# (The lookahead first: most lines are indented and fail there.)
_LINE0 = re.compile(
    rb"\n(?=[A-Za-z_{])(?:"
    rb"((?:[A-Za-z_]\w*+[ \t*]++)*?)()([A-Za-z_]\w*+)[ \t]*\("
    rb"(?:[^;{}\n)]++|\n(?![A-Za-z_#])|\)(?![^;{}()=\n]*+\n\{))*+\)[^;{}()=\n]*\n\{"
    rb"|(\{)"
    rb"|(static[ \t]+)?([A-Z_][A-Z0-9_]*+)\("
    rb"|([A-Za-z_][\w \t*]*+)[;=\[])"
)
# A column-0 line up to its first parenthesis, in a header: maybe a prototype.
_PROTOTYPE = re.compile(rb"\n([A-Za-z_][^\n;(){}=#]*+)\(")
_AFTER = re.compile(rb"\s*(;|_)")  # after a prototype's ")": ";" or an attribute
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
_NOT_DEFINING_PREFIXES = tuple(w + b" " for w in _NOT_DEFINING)
_SKIP_CALLS = frozenset(
    b"__attribute__ __aligned __section __printf __scanf __cold __weak __init __exit __used "
    b"__must_hold __acquires __releases __diag_push __diag_ignore __diag_pop __nocfi "
    b"__no_sanitize_address __alloc_size __malloc __realloc_size __counted_by __free "
    b"__cleanup __visible __no_kcsan __maybe_unused __noreturn __attribute noinline "
    b"__latent_entropy __noinstr_section __ref __always_inline __bpf_kfunc typeof "
    b"__typeof__ __typeof __must_check __nocfi __pure __const __deprecated".split()
)
_STORAGE = re.compile(rb"\b(?:static|STATIC)\b")
_WORD_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_DIGITS = frozenset(b"0123456789")
_DEFINE_MACRO_NAMES = frozenset(m.encode() for m in DEFINE_MACROS)


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
    # (Not b"EXPORT_" in data: 80 of the 116 headers that spell it are amdgpu register
    # lists, "EXPORT_UNUSED = 0x0", where the macro searches then took 0.6 s.)
    exports = _EXPORT_CALL.search(data) is not None
    if exports:
        _exports(data, out)
    # Most header bytes are register #defines (drivers/gpu/drm/amd/include/asic_reg, a third
    # of the tree): a header without ";" (one memchr pass: 2.8 ms for a 24 MB one, where the
    # other three tests took 80 ms), ");", ") __" or "extern" declares nothing.
    declares = b";" in data and (b");" in data or b") _" in data or b"extern" in data)
    # Renames count in the file and in the .c files beside a header (not include/ folders).
    if (not headers or (declares and "include/" not in path)) and b"define" in data:
        out.renames = renames(data)
    if headers:
        if exports:  # kernel/rcu/tasks.h: a header a .c file includes locally
            _definitions(data, out)
        if declares:
            _declarations(data, out)
        if b"_EVENT" in data or b"DECLARE_TRACE" in data:  # (one pass where three missed)
            _tracepoints(data, out)
    else:
        _definitions(data, out)
        if b'#include "' in data:
            out.includes = [
                m.group(1).decode()
                for m in _INCLUDE_C.finditer(data)
                if _DIRECTIVE.search(data, max(0, m.start() - 8), m.start())
            ]
    return out


def _exports(data: bytes, out: FileSites) -> None:
    found = _DEFAULT_NS.search(data) if b"DEFAULT_SYMBOL_NAMESPACE" in data else None
    if found and not _DIRECTIVE.search(data, max(0, found.start() - 8), found.start()):
        found = None
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
    macros = templates(data) if b"define" in data else {}
    lines = _Lines(data)
    for offset, exports, functions in invocations(data, macros, default or "\0"):
        line, col = lines.at(offset)
        out.exports += [(n, line, col, k, "" if ns == "\0" else ns, ns == "\0")
                        for n, k, ns in exports]  # fmt: skip
        out.definitions += [(n, line, col, True, static) for n, static in functions]
    for header, name, template, offset in xmacros(data, macros) if macros else ():
        out.xmacros.append((header, name, template, *lines.at(offset)))


def _definitions(data: bytes, out: FileSites) -> None:
    # Most matches make one definition: the loop keeps to bytes until a name is kept, and
    # tests for a continued line only when the "{" line has more on it (4-15 % less time
    # on 4,000 .c files of the 6.1 tree; the regex alone is a third of it).
    found: list[tuple[int, str, bool, bool]] = []  # offset, name, function, static
    append, size = found.append, len(data)
    for m in _LINE0.finditer(data):
        kind = m.lastindex
        if kind == 3:  # "int foo(args)\n{", "SYSCALL_DEFINE3(open, ...)\n{"
            name, head = m.group(3, 1)
            brace = m.end() - 1
            if name in _NOT_DEFINING or (
                brace + 1 < size and data[brace + 1] != 10 and _continued(data, brace)
            ):
                continue  # "if (x)\n{" at column 0 inside a macro (reiserfs/fix_node.c)
            if name in _SKIP_CALLS or head.startswith(_NOT_DEFINING_PREFIXES):
                found.extend(_function_at(data, brace))  # "__printf(1, 2) void f("
                continue
            static = head.startswith(b"static") or b" static" in head
            if name in _DEFINE_MACRO_NAMES:
                close = close_paren(data, m.end(3) + 1)
                names, function = defines_of(name.decode(), _args(data[m.end(3) + 1 : close]))
                found.extend((m.start(3), n, function, static) for n in names)
            elif head or not name.isupper():  # "FOO(x)\n{": an unknown macro's body
                append((m.start(3), name.decode(), True, static))
        elif kind == 4:  # another "{" at column 0
            if not _continued(data, m.start(4)):
                found.extend(_function_at(data, m.start(4)))
        elif kind == 6:  # "DEFINE_MUTEX(", "static DEVICE_ATTR_RW("
            macro = m.group(6)
            if macro in _DEFINE_MACRO_NAMES:
                close = close_paren(data, m.end())
                names, function = defines_of(macro.decode(), _args(data[m.end() : close]))
                static = bool(m.group(5)) or b"_LOCAL" in macro
                found.extend((m.start(6), n, function, static) for n in names)
        else:  # "static int x =", "struct a b[": a variable
            found.extend(_variable(m.group(7), m.start(7)))
    definitions, count, rfind = out.definitions, data.count, data.rfind
    line, at = 1, 0
    for offset, name, function, static in sorted(set(found)):
        line += count(b"\n", at, offset)
        at = offset
        definitions.append((name, line, offset - rfind(b"\n", 0, offset), function, static))


def _continued(data: bytes, offset: int) -> bool:
    """Whether the line at ``offset`` goes on (``\\``): a macro body, where a function's
    name is a parameter (lib/kstrtox.c ``int f(...)`` in ``kstrto_from_user``)."""
    end = data.find(b"\n", offset)
    if end < 0 or data[end - 1] not in b" \t\\":
        return False
    return data[offset:end].rstrip().endswith(b"\\")


def _variable(head: bytes, at: int) -> list[tuple[int, str, bool, bool]]:
    words = _WORDS.findall(head)
    while len(words) > 2 and _ATTRIBUTE.fullmatch(words[-1]):
        words.pop()
    static = words[0] == b"static"
    if static:
        words.pop(0)
    if len(words) < 2 or words[0] in _NOT_DEFINING or (words[0] in _TAGS and len(words) < 3):
        return []
    name = words[-1]
    if not name[:1].isalpha() and name[:1] != b"_":
        return []
    return [(at + head.rfind(name), name.decode(), False, static)]


def _function_at(data: bytes, brace: int) -> list[tuple[int, str, bool, bool]]:
    """The definition(s) whose body opens at ``brace`` (a ``{`` at column 0)."""
    # Back from the brace to the declarator's first line: the nearest line above that
    # starts at column 0 (continued parameter lines are indented).
    end = brace - 1
    start = data.rfind(b"\n", 0, end) + 1
    for _ in range(64):  # dml/display_mode_vba_*.c headers run to 50 parameter lines
        # ")" alone: dc/dce/dce_i2c.c; "#define" lines: i915/gem/i915_gem_context.c
        if start == 0 or data[start] not in b" \t\n)/#":
            break
        start = data.rfind(b"\n", 0, start - 1) + 1
    text = data[start:end]
    first = _IDENT.match(text)
    if first is None or b";" in text or first.group() in _NOT_DEFINING:
        return []
    paren = text.find(b"(")
    eq = text.find(b"=")
    static = first.group() == b"static" or (
        (b"static" in text or b"STATIC" in text) and bool(_STORAGE.search(text, 0, paren))
    )
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
    # The name is the word before the first "(" that is no attribute ("__printf(2, 3)",
    # "__attribute__((...))": its parentheses are skipped). Found with bytes methods: a
    # regex over the header tries every position and cost 25 us a function.
    pos = 0
    while True:
        paren = text.find(b"(", pos)
        if paren < 0:
            return []
        head = text[:paren].rstrip()
        k = len(head)
        while k and head[k - 1] in _WORD_BYTES:
            k -= 1
        word = head[k:]
        if word and word[0] not in _DIGITS and word not in _SKIP_CALLS:
            break
        pos = close_paren(text, paren + 1) + 1
    name = word.decode()
    if name in DEFINE_MACROS:
        close = close_paren(text, paren + 1)
        names, function = defines_of(name, _args(text[paren + 1 : close]))
        return [(start + k, n, function, static) for n in names]
    if k == 0 and name.isupper():
        return []  # "FOO(args)\n{": an unknown macro's body, not a function named FOO
    return [(start + k, name, True, static)]


_TRACE = re.compile(rb"\n([A-Z_]+)\(\s*(\w+)(?:\s*,\s*(\w+))?")
# Each TRACEPOINT_MACROS name starts with one of these. Lines found with bytes.find, then
# matched: _TRACE.finditer tried every line, 0.38 s in 182 amdgpu register lists that
# spell "_EVENT" and have no tracepoint ("..._EVENT_MASK"). All headers: 3.4 -> 3.0 s.
_TRACE_STARTS = (b"\nTRACE_EVENT", b"\nDEFINE_EVENT", b"\nDECLARE_TRACE")


def _tracepoints(data: bytes, out: FileSites) -> None:
    found = []
    for start in _TRACE_STARTS:
        at = data.find(start)
        while at >= 0:
            m = _TRACE.match(data, at)
            if m is not None:
                arg = TRACEPOINT_MACROS.get(m.group(1).decode())
                if arg is not None and m.group(arg + 2) is not None:
                    found.append((m.start(1), m.group(arg + 2).decode()))
            at = data.find(start, at + 1)
    lines = _Lines(data)
    for offset, name in sorted(found):
        line, col = lines.at(offset)
        out.tracepoints.append((name, line, col))


def _declarations(data: bytes, out: FileSites) -> None:
    # Two in three matches declare (115,308 of 183,154 in the 6.1 tree): the tests run
    # cheapest first, the parameters' ")" is found without a call when none nests, and what
    # follows it is matched in place, not sliced (the tree's headers: 1.72-1.84 -> 1.55-1.63
    # s; the regexes are half of it).
    found: list[tuple[int, bytes]] = []
    append = found.append
    for m in _PROTOTYPE.finditer(data):
        head = m.group(1)
        words = _WORDS.findall(head)
        first = words[0]
        if first == b"static":  # a static inline: defined here, not declared
            continue
        if len(words) == 1:
            if not _RETURN_TYPE_ABOVE.search(data, max(0, m.start() - 160), m.start() + 1):
                continue
            # "struct kthread_worker *\nkthread_create_worker(...);"
        elif (first in _NOT_DEFINING and first != b"extern") or (len(words) < 3 and first in _TAGS):
            continue
        name = words[-1]
        if name in _SKIP_CALLS or name.isupper() or name[0] in _DIGITS:
            continue
        end = m.end()
        close = data.find(b")", end, end + 4096)
        if close < 0 or data.count(b"(", end, close):
            close = close_paren(data, end)
        after = _AFTER.match(data, close + 1, close + 200)
        if after is None:
            continue
        if after.group(1) != b";":  # "__must_check;", "__attribute__((...));"
            rest = data[close + 1 : close + 200].lstrip()
            if b";" not in rest.split(b"{", 1)[0]:
                continue
        append((m.start(1) + head.rfind(name), name))
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
