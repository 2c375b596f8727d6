"""What a kernel C file says, read with a real C parser (tree-sitter-c): the identifiers it
references (not those it declares, defines as macros or uses as struct members; nothing in
comments or strings), its MODULE_LICENSE and MODULE_IMPORT_NS, whether it is a module
source, and what sits at a cursor. Pure: text in, facts out.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass, field

from tree_sitter import Language, Node, Parser, Query, QueryCursor, Tree

from ksql.values import frozen

# Calls that only a module source makes (include/linux/module.h, include/linux/init.h).
MODULE_MARKERS = frozenset(
    {
        "MODULE_LICENSE",
        "MODULE_AUTHOR",
        "MODULE_DESCRIPTION",
        "MODULE_IMPORT_NS",
        "MODULE_ALIAS",
        "MODULE_DEVICE_TABLE",
        "MODULE_VERSION",
        "module_init",
        "module_exit",
    }
)
_DRIVER_MACRO = re.compile(r"module_\w+_driver$")
_WORD = re.compile(r"[A-Za-z_]\w*")
_NOT_CODE = frozenset(
    {
        "comment",
        "string_literal",
        "char_literal",
        "system_lib_string",
        "string_content",
        "escape_sequence",
    }
)


@frozen
class Span:
    """0-based line and character (code point) positions, end exclusive."""

    line: int
    start: int
    end_line: int
    end: int


@frozen
class Ref:
    name: str
    span: Span


@dataclass(slots=True)
class CFile:
    references: list[Ref] = field(default_factory=list)
    declared: set[str] = field(default_factory=set)
    license: str | None = None
    imports: list[str] = field(default_factory=list)
    import_style: str | None = None  # "string" (6.13+) or "bare", as the file writes it
    is_module: bool = False
    insert_line: int = 0  # where a MODULE_IMPORT_NS line goes: after the last MODULE_*()


@functools.cache
def _language() -> Language:
    import tree_sitter_c

    return Language(tree_sitter_c.language())


@functools.cache
def _scan() -> Query:
    """One pass over the tree: every identifier (``id``); what a preprocessor tests, not
    code (``c``): an ``#include`` line, an ``#if``/``#elif`` condition (``defined(X)`` only
    occurs there), the macro of ``#ifdef``/``#elifdef``; the identifiers that declare a
    name (``decl``: a macro's name or parameter, an enumerator, every declarator of a
    declaration; labels are ``statement_identifier`` nodes, never references); the functions
    called by name (``call``). Classified by tree-sitter, not by a Python look at each
    identifier's parent: analyze() 31 -> 17-21 ms for a 3,000-line file."""
    return Query(
        _language(),
        """
        (identifier) @id
        (preproc_include) @c
        (preproc_if condition: (_) @c)
        (preproc_elif condition: (_) @c)
        (preproc_ifdef name: (identifier) @c)
        (preproc_elifdef name: (identifier) @c)
        (preproc_def name: (identifier) @decl)
        (preproc_function_def name: (identifier) @decl)
        (preproc_params (identifier) @decl)
        (enumerator (identifier) @decl)
        (_ declarator: (identifier) @decl)
        (call_expression function: (identifier) @call)
        """,
    )


def parse(text: str) -> Tree:
    return Parser(_language()).parse(text.encode("utf-8", "surrogatepass"))


class _Columns:
    """tree-sitter counts UTF-8 bytes; LSP positions here count code points."""

    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")
        self.ascii = text.isascii()

    def char(self, row: int, byte_col: int) -> int:
        if self.ascii or row >= len(self.lines):
            return byte_col
        return len(self.lines[row].encode("utf-8")[:byte_col].decode("utf-8", "replace"))

    def span(self, node: Node) -> Span:
        (r0, c0), (r1, c1) = node.start_point, node.end_point
        return Span(r0, self.char(r0, c0), r1, self.char(r1, c1))


class _ConditionBytes:
    """Whether a byte offset lies in a preprocessor condition (:func:`_scan`'s ``c``), by
    binary search in their merged byte ranges. Walking every identifier's ancestors to find
    one took 11 % of a 3,000-line file's diagnostics; conditions hold no code, so a range
    is all there is to know."""

    def __init__(self, conditions: list[Node]) -> None:
        spans = sorted((n.start_byte, n.end_byte) for n in conditions)
        self.starts: list[int] = []
        self.ends: list[int] = []
        for start, end in spans:
            if self.ends and start <= self.ends[-1]:
                self.ends[-1] = max(self.ends[-1], end)
            else:
                self.starts.append(start)
                self.ends.append(end)

    def __call__(self, offset: int) -> bool:
        i = bisect.bisect_right(self.starts, offset) - 1
        return i >= 0 and offset < self.ends[i]


def _string_value(node: Node) -> str | None:
    if node.type == "string_literal":
        return "".join(
            (c.text or b"").decode("utf-8", "replace")
            for c in node.children
            if c.type in ("string_content", "escape_sequence")
        )
    if node.type == "identifier":
        return (node.text or b"").decode("utf-8", "replace")
    return None


def analyze(text: str, tree: Tree | None = None) -> CFile:
    tree = tree or parse(text)
    cols = _Columns(text)
    out = CFile()
    candidates: list[tuple[Node, str]] = []
    found = QueryCursor(_scan()).captures(tree.root_node)
    # Identifiers never nest: a start byte names one.
    declares = {n.start_byte for n in found.get("decl", [])}
    calls = {n.start_byte for n in found.get("call", [])}
    for node in found.get("id", []):
        name = (node.text or b"").decode("utf-8", "replace")
        start = node.start_byte
        if start in declares:
            out.declared.add(name)
            continue
        if start in calls and (call := node.parent) is not None:
            _module_call(name, call, node, cols, out)
        candidates.append((node, name))
    in_condition = _ConditionBytes(found.get("c", []))
    refs = []
    for node, name in candidates:
        if name in out.declared or in_condition(node.start_byte):
            continue
        refs.append(Ref(name, cols.span(node)))
    refs.sort(key=lambda r: (r.span.line, r.span.start))
    out.references = refs
    return out


def _module_call(name: str, call: Node, fn: Node, cols: _Columns, out: CFile) -> None:
    if call.child_by_field_name("function") != fn:
        return
    if name in MODULE_MARKERS or _DRIVER_MACRO.match(name):
        out.is_module = True
        out.insert_line = max(out.insert_line, call.end_point[0] + 1)
    args = call.child_by_field_name("arguments")
    first = args.named_children[0] if args is not None and args.named_children else None
    if first is None:
        return
    value = _string_value(first)
    if name == "MODULE_LICENSE" and first.type == "string_literal":
        out.license = value
    elif name == "MODULE_IMPORT_NS" and value:
        out.imports.append(value)
        out.import_style = "string" if first.type == "string_literal" else "bare"


@frozen
class Cursor:
    """The identifier at or before a position, and what surrounds it."""

    word: str
    span: Span
    code: bool  # not in a comment or string
    member: bool  # after '.' or '->': a struct member, not a kernel symbol


def cursor(text: str, line: int, character: int, tree: Tree | None = None) -> Cursor:
    """The identifier touching (``line``, ``character``) -- for hover, the whole word; for
    completion, the part before the cursor is ``word[: character - span.start]``."""
    lines = text.split("\n")
    row = lines[line] if 0 <= line < len(lines) else ""
    return cursor_in_row(row, line, character, tree or parse(text))


def cursor_in_row(row: str, line: int, character: int, tree: Tree) -> Cursor:
    """:func:`cursor` given the line's text and the document's tree: no work that grows
    with the document (hovers on a 3,000-line file stay well under a millisecond)."""
    row = row.rstrip("\r\n")
    character = max(0, min(character, len(row)))
    start = character
    while start > 0 and (row[start - 1].isalnum() or row[start - 1] == "_"):
        start -= 1
    end = character
    while end < len(row) and (row[end].isalnum() or row[end] == "_"):
        end += 1
    word = row[start:end]
    if word and not _WORD.fullmatch(word):
        word = ""
    before = row[:start].rstrip()
    member = before.endswith((".", "->"))
    probe = max(start, min(character, len(row)) - 1) if word else max(character - 1, 0)
    byte = probe if row.isascii() else len(row[:probe].encode("utf-8"))
    point = (line, byte)
    node = tree.root_node.descendant_for_point_range(point, point)
    code = True
    while node is not None:
        if node.type in _NOT_CODE or node.type == "preproc_include":
            code = False
            break
        node = node.parent
    if code and _in_line_comment(row, start):
        code = False
    return Cursor(word, Span(line, start, line, end), code, member)


def _in_line_comment(row: str, column: int) -> bool:
    """A ``//`` before ``column`` outside a string (tree-sitter may not have seen it yet
    when the comment is being typed at the end of a broken file)."""
    in_string = False
    i = 0
    while i < min(column, len(row)):
        c = row[i]
        if c == '"' and (i == 0 or row[i - 1] != "\\"):
            in_string = not in_string
        elif not in_string and row.startswith("//", i):
            return True
        i += 1
    return False


# A line that starts with a call to a MODULE_*() or module_*() macro: where every fact
# module_facts() reports is written.
_MODULE_CALL = re.compile(r"^[ \t]*(?:MODULE_[A-Z_]+|module_\w+)[ \t]*\(", re.MULTILINE)
_STATEMENT_LINES = 8  # a module macro call spans at most this many lines


def module_facts(text: str, tree: Tree | None = None) -> CFile:
    """The file-wide facts of :func:`analyze` (license, namespace imports, module source,
    where an import goes) without reading the whole file: only the statements that start
    with a module macro are parsed. With the document's ``tree``, calls inside comments and
    strings are skipped. What hovers and completions need, in time that does not grow with
    the file's code (a 10 MB document: tens of milliseconds)."""
    out = CFile()
    line, pos = 0, 0
    for m in _MODULE_CALL.finditer(text):
        start = text.rfind("\n", 0, m.start()) + 1
        line += text.count("\n", pos, start)
        pos = start
        if tree is not None and not _code_at(
            tree, line, m.end() - 1 - start, text[start : m.end()]
        ):
            continue
        stop = text.find(";", m.end())
        limit = start
        for _ in range(_STATEMENT_LINES):
            limit = text.find("\n", limit + 1)
            if limit < 0:
                limit = len(text)
                break
        stop = limit if stop < 0 or stop > limit else stop + 1
        part = analyze(text[start:stop])
        out.is_module = out.is_module or part.is_module
        if part.is_module:
            out.insert_line = max(out.insert_line, line + part.insert_line)
        if part.license is not None:
            out.license = part.license
        if part.imports:
            out.imports.extend(part.imports)
            out.import_style = part.import_style
    return out


def _code_at(tree: Tree, line: int, column: int, row: str) -> bool:
    byte = column if row.isascii() else len(row[:column].encode("utf-8"))
    node: Node | None = tree.root_node.descendant_for_point_range((line, byte), (line, byte))
    while node is not None:
        if node.type in _NOT_CODE:
            return False
        node = node.parent
    return True
