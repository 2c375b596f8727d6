"""Built-in source: nm-style text -- ``/proc/kallsyms``, ``System.map`` and ``nm`` output.

Lines are ``ADDRESS TYPE NAME`` with an optional ``<TAB>[MODULE]`` (kallsyms), or
``TYPE NAME`` after blanks for undefined symbols (nm). ``nm`` run on several files prints a
``FILE:`` header before each file's lines; its rows take the module name from the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ksql.errors import SourceError
from ksql.hookspecs import hookimpl
from ksql.kernel.ksymtab import KSYMTAB_PREFIX, mark_ksymtab_exports
from ksql.kernel.modules import VMLINUX, module_name_of_file, normalize_module_name
from ksql.model import Bind, ExportKind, bind_of_types, kind_of_types, undefined_of_types
from ksql.sink import RowSink, parse_hex
from ksql.source import DefaultSource, Kernel, SourceRegistry, SourceType, read_bounded
from ksql.storage import rows_with_prefix

# One symbol line. Module tags are "\t[name]" in kallsyms (kernel/kallsyms.c s_show); a
# space is accepted too, as in copies pasted from a terminal.
_LINE = re.compile(
    r"^([0-9a-fA-F]*) +([A-Za-z?-]) (\S+)(?:[ \t]+\[([^\]\s]+)\])?[ \t\r]*$", re.MULTILINE
)
_LETTERS = frozenset("AaBbCcDdGgiINnpRrSsTtUuVvWw-?")
_HEX = frozenset("0123456789abcdefABCDEF")
_HEX_RUN = re.compile(r"[0-9a-fA-F]*\Z")
_HEADER = re.compile(r"^(\S+):[ \t\r]*$")
# Debian ships /boot/System.map-<release> as a one-line placeholder pointing at the -dbg
# package (debian/rules.real, "The real System.map is in the linux-image-<version>-dbg
# package").
PLACEHOLDER = "The real System.map is in"
# kallsyms_show_value() (kernel/kallsyms.c; c0f3ea158939 ("stop using '%pK' for
# /proc/kallsyms pointer values"), 4.15) prints every address as zero to readers without
# CAP_SYSLOG; a table of a kernel's size cannot really be all zero.
_HIDDEN_MIN_ROWS = 100
# Pseudo-modules printed by kallsyms for code that belongs to no module, always lower-case:
# bpf programs, 74451e66d516 ("bpf: make jited programs visible in traces", 4.11); ftrace
# trampolines, fc0ea795f53c ("ftrace: Add symbols for ftrace trampolines", 5.9); kprobe
# instruction pages (kernel/kprobes.c kprobe_cache_get_kallsym, 5.9).
PSEUDO_MODULES = frozenset({"bpf", "__builtin__ftrace", "__builtin__kprobes"})

_EXPECTED = "expected 'ADDRESS TYPE NAME[<TAB>[MODULE]]' or 'U NAME'"


class NmText(SourceType):
    name = "kallsyms"
    description = "/proc/kallsyms, System.map and nm output (text)"

    def recognizes(self, path: Path, head: bytes) -> bool:
        if not head or b"\0" in head:
            return False
        text = head.decode("utf-8", "replace")
        if PLACEHOLDER in text:
            return True
        # The first line decides; a bad line further down is then reported by load()
        # with its number instead of the file going unrecognised.
        lines = [ln for ln in text.splitlines()[:64] if ln.strip()]
        if lines and _HEADER.match(lines[0]):  # nm's "FILE:" header
            lines = lines[1:]
        return bool(lines) and bool(_LINE.match(lines[0]))

    def independent(self, path: Path) -> bool:
        return True  # a text parse: its rows are all it gives

    def load(self, path: Path, sink: RowSink) -> None:
        text = read_bounded(path).decode("utf-8", "surrogateescape")
        if PLACEHOLDER in text[:512]:
            raise SourceError(
                path,
                "this is Debian's placeholder System.map, not a symbol table",
                line=1,
                hint="install linux-image-<version>-dbg and use "
                "/usr/lib/debug/boot/System.map-<version>",
            )
        addrs, types, names, tags, files = _parse(path, text)
        if files is None and not any(tags) and "__this_module" in names:
            # nm output of one module (m1.ko > m1.nm.txt): only modules define
            # __this_module (scripts/mod/modpost.c writes it into the .mod.c). Its name is
            # the file name up to the first '.', as kmod's modname_normalize() takes it.
            module = module_name_of_file(path.name)
            files = [module] * len(names)
            sink.note(f"{path}: nm output of a module; module name {module!r} from the file name")
        load_columns(path, sink, addrs, types, names, tags, files)


Columns = tuple[list[str], list[str], list[str], list[str], list[str] | None]


def _parse(path: Path, text: str) -> Columns:
    """(addresses, letters, names, kallsyms module tags, nm file modules or None)."""
    # kallsyms lists vmlinux first, then the modules (kernel/kallsyms.c update_iter):
    # "ADDR TYPE NAME" lines, then "ADDR TYPE NAME\t[MODULE]" lines. Each block splits into
    # columns with one str.split(); anything else takes the regular-expression path.
    tagged = text.find("\t[")
    cut = len(text) if tagged < 0 else text.rfind("\n", 0, tagged) + 1
    head = _split_columns(text[:cut], 3)
    tail = _split_columns(text[cut:], 4) if head is not None else None
    if head is not None and tail is not None and (head[0] or tail[0]):
        # One string per module, not per row: per-row survivors would pin the allocator's
        # arenas long after the parse's other strings are gone.
        unbracket = {t: t[1:-1] for t in set(tail[3])}
        tags = [""] * len(head[0]) + [unbracket[t] for t in tail[3]]
        return head[0] + tail[0], head[1] + tail[1], head[2] + tail[2], tags, None
    matches = _LINE.findall(text)
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    if "\n\n" in text or text.startswith("\n"):
        lines = sum(1 for line in text.splitlines() if line.strip())
    if len(matches) == lines and matches:
        addrs, types, names, tags = (list(c) for c in zip(*matches, strict=True))
        return addrs, types, names, tags, None
    return _parse_lines(path, text)


def _split_columns(chunk: str, width: int) -> list[list[str]] | None:
    """The columns of ``chunk`` if every line has exactly ``width`` well-formed fields."""
    if not chunk:
        return [[] for _ in range(width)]
    lines = chunk.count("\n") + (0 if chunk.endswith("\n") else 1)
    tokens = chunk.split()
    if len(tokens) != width * lines:
        return None
    cols = [tokens[i::width] for i in range(width)]
    addrs, types = cols[0], cols[1]
    # One width and hex digits throughout, at C speed: on /proc/kallsyms' 122 k lines the
    # per-address length test and the per-character set test took 14 and 30 ms, map(len)
    # and one match over the joined addresses 10 and 7 ms.
    if not _LETTERS.issuperset(types) or len(set(map(len, addrs))) != 1:
        return None
    if _HEX_RUN.match("".join(addrs)) is None:
        return None
    if width == 4 and not all(t[:1] == "[" and t[-1:] == "]" for t in cols[3]):
        return None
    return cols


def _parse_lines(path: Path, text: str) -> Columns:
    """The slow path: line by line, for ``nm`` file headers and to name a bad line."""
    addrs: list[str] = []
    types: list[str] = []
    names: list[str] = []
    tags: list[str] = []
    files: list[str] = []
    current = ""
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        m = _LINE.match(line)
        if m is None:
            h = _HEADER.match(line)
            if h is None:
                raise SourceError(path, f"{_EXPECTED}, got {_shape(line)}", line=number)
            current = normalize_module_name(h.group(1))
            continue
        addrs.append(m.group(1) or "")
        types.append(m.group(2))
        names.append(m.group(3))
        tags.append(m.group(4) or "")
        files.append(current)
    return addrs, types, names, tags, files if any(files) else None


def _shape(line: str) -> str:
    """A bad line described by the kinds of its fields ('HEX T WORD WORD'), never quoted:
    the message may end up in an editor, and the file may be something else entirely (a
    forced ``kallsyms:~/.netrc``)."""
    kinds = []
    for i, f in enumerate(line.split()[:6]):
        if _HEX.issuperset(f):
            kinds.append("HEX")
        elif i < 2 and len(f) == 1 and f.isalpha():  # where the type letter goes
            kinds.append(f)
        elif f.startswith("[") and f.endswith("]"):
            kinds.append("[MODULE]")
        else:
            kinds.append("WORD")
    more = " ..." if len(line.split()) > 6 else ""
    return f"a line shaped '{' '.join(kinds)}{more}'"


def load_columns(
    path: Path,
    sink: RowSink,
    addrs: list[str],
    types: list[str],
    names: list[str],
    tags: list[str],
    files: list[str] | None = None,
) -> None:
    """Turn parsed nm/kallsyms columns into rows, applying kallsyms' rules to the rows that
    carry a ``[module]`` tag; ``files`` names the module of nm rows without a tag."""
    n = len(names)
    addr = parse_hex(addrs)
    letters = np.frombuffer("".join(types).encode("ascii"), dtype=np.uint8)
    defined = letters != ord("U")
    if n and _addresses_hidden(path, addr, defined, tags):
        addr[:] = np.ma.masked
        sink.note(
            f"{path}: every address is 0 (kallsyms hides them from readers without "
            "CAP_SYSLOG): addresses are unknown; run as root or add System.map"
        )
    has_modules = any(tags)
    known = {t: normalize_module_name(t) for t in set(tags) if t}
    known[""] = VMLINUX
    if files is None:
        module_names = [known[t] for t in tags]
    else:
        module_names = [known[t] if t else (f or VMLINUX) for t, f in zip(tags, files, strict=True)]
    bind = None
    kind = None
    undefined = None
    export = np.zeros(n, dtype=np.uint8)
    if has_modules:
        # kernel/kallsyms.c s_show(): for module symbols the letter is upper-case when the
        # symbol is exported and lower-case when not -- not nm's global/local. The module
        # loader's elf_type() (kernel/module/kallsyms.c) only ever stores lower-case
        # letters, so the case carries nothing else. Pseudo-modules never export.
        # One exception: aba4b5c22cba ("ftrace: Save module init functions kallsyms
        # symbols for tracing") prints a module's freed init functions as 'T' with
        # exported=1; where a module's __ksymtab_ labels are listed they decide instead
        # (mark_ksymtab_exports below overrides and clear_unlabelled drops the rest).
        is_mod = np.array([bool(t) and t not in PSEUDO_MODULES for t in tags], dtype=np.bool_)
        upper = (letters >= ord("A")) & (letters <= ord("Z")) & (letters != ord("U"))
        export[is_mod & upper] = ExportKind.EXPORTED
        lower = letters | np.uint8(0x20)
        weak = np.isin(lower, np.frombuffer(b"wv", dtype=np.uint8))
        bind = bind_of_types(letters)
        bind[is_mod] = np.where(weak[is_mod], Bind.WEAK, Bind.UNKNOWN)
        kind = kind_of_types(lower.astype(np.uint8))
        undefined = undefined_of_types(letters)
        # Loaded modules list only defined symbols (is_core_symbol skips SHN_UNDEF).
        undefined[is_mod] = letters[is_mod] == ord("U")
    if has_modules:
        _clear_unlabelled(names, module_names, export)
    local = (letters >= ord("a")) & (letters <= ord("z"))
    mark_ksymtab_exports(
        names, module_names, addr, ~defined if undefined is None else undefined, local, export
    )
    sink.extend(
        names,
        module=module_names,
        addr=addr,
        type=types,
        bind=bind,
        kind=kind,
        export=export,
        undefined=undefined,
        bits=_bits(addrs),
    )


def _bits(addrs: list[str]) -> int | None:
    """32 or 64 from the address width: kallsyms prints ``%px`` (2 * sizeof(void *) digits,
    kernel/kallsyms.c s_show) and nm 8 or 16 digits by ELF class."""
    width = max((len(a) for a in addrs[:64]), default=0)
    return 32 if width == 8 else 64 if width == 16 else None


def _clear_unlabelled(names: list[str], modules: list[str], export: np.ndarray) -> None:
    """In modules that list ``__ksymtab_`` labels, only labelled symbols are exported."""
    labelled = {modules[i] for i in rows_with_prefix(names, (KSYMTAB_PREFIX,))}
    labelled.discard(VMLINUX)
    if labelled:
        in_labelled = np.fromiter(
            (m in labelled for m in modules), dtype=np.bool_, count=len(modules)
        )
        export[in_labelled] = ExportKind.NONE


def _addresses_hidden(path: Path, addr: np.ndarray, defined: np.ndarray, tags: list[str]) -> bool:
    known = addr[defined]
    if len(known) == 0 or known.any():
        return False
    return str(path).startswith("/proc/") or any(tags) or len(known) >= _HIDDEN_MIN_ROWS


def _is_placeholder(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return PLACEHOLDER.encode() in f.read(512)
    except OSError:
        return False


@hookimpl
def ksql_register_sources(registry: SourceRegistry) -> None:
    registry.register(NmText())


@hookimpl
def ksql_default_sources(kernel: Kernel) -> Iterable[DefaultSource]:
    if kernel.running:
        yield DefaultSource("kallsyms", Path("/proc/kallsyms"))
    # installkernel (the kernel's scripts/install.sh) puts it there, as distributions do
    system_map = kernel.path(f"/boot/System.map-{kernel.release}")
    reason = ""
    if system_map.exists() and _is_placeholder(system_map):
        reason = "Debian's placeholder; the real one is in linux-image-<version>-dbg"
    yield DefaultSource("kallsyms", system_map, reason)
