"""Inline chains, as ``addr2line -i`` prints them, from one compile unit's DIEs (pyelftools):
the unit's top-level ``DW_TAG_subprogram`` ranges are indexed once per unit (siblings are
skipped through ``DW_AT_sibling``, so no function body is parsed), then only the function
holding the address is walked, descending into the ``DW_TAG_inlined_subroutine`` (and
lexical block) DIEs whose ``DW_AT_low_pc``/``DW_AT_high_pc`` or ``DW_AT_ranges`` hold it.
The chain is innermost first; each link is the inlined function's name and its call site
(``DW_AT_call_file``/``DW_AT_call_line``), binutils' bfd/dwarf2.c ``caller_func`` chain
that addr2line.c walks with ``bfd_find_inliner_info()``. Ranges follow DWARF 5 section
2.17 (``DW_AT_high_pc`` of a constant class is a length; range lists are based on the
unit's ``DW_AT_low_pc``).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable

from elftools.dwarf.compileunit import CompileUnit
from elftools.dwarf.die import DIE
from elftools.dwarf.dwarfinfo import DWARFInfo
from elftools.dwarf.ranges import BaseAddressEntry, RangeEntry

from ksql.values import frozen

SUBPROGRAM, INLINED = "DW_TAG_subprogram", "DW_TAG_inlined_subroutine"
_SCOPES = frozenset({INLINED, "DW_TAG_lexical_block"})  # what C code nests inlines in
_LENGTH_FORMS = frozenset(
    {
        "DW_FORM_data1",
        "DW_FORM_data2",
        "DW_FORM_data4",
        "DW_FORM_data8",
        "DW_FORM_udata",
        "DW_FORM_sdata",
        "DW_FORM_implicit_const",
    }
)
_MAX_DEPTH = 64  # inline nesting deeper than this is malformed input, not C code


@frozen
class Inlined:
    """One inlined call: the function inlined and where its caller called it."""

    name: str
    call_source: str  # "file:line" in the caller ("??:?" when the DIE does not say)


class UnitFunctions:
    """One compile unit's functions: sorted (start, end, DIE offset) ranges of its
    top-level subprograms, built on first need."""

    def __init__(self, info: DWARFInfo, cu: CompileUnit) -> None:
        self.info = info
        self.cu = cu
        top = cu.get_top_DIE()
        low = top.attributes.get("DW_AT_low_pc")
        self.base = int(low.value) if low is not None else 0
        spans: list[tuple[int, int, int]] = []
        for die in top.iter_children():
            if die.tag == SUBPROGRAM:
                spans.extend((lo, hi, die.offset) for lo, hi in self.ranges(die))
        spans.sort()
        self._spans = spans
        self._starts = [s[0] for s in spans]

    def ranges(self, die: DIE) -> list[tuple[int, int]]:
        """The ``[low, high)`` address ranges of a DIE (empty when it has no code)."""
        return die_ranges(self.info, self.cu, die, self.base)

    def function_at(self, address: int) -> DIE | None:
        """The top-level subprogram whose code holds ``address`` (the smallest range wins
        when ranges overlap, as bfd/dwarf2.c's lookup_address_in_function_table())."""
        i = bisect_right(self._starts, address)
        best: tuple[int, int] | None = None
        while i > 0:
            i -= 1
            lo, hi, offset = self._spans[i]
            if lo <= address < hi and (best is None or hi - lo < best[0]):
                best = (hi - lo, offset)
            if address - lo > 1 << 24:  # no function is 16 MB long: stop scanning back
                break
        return self.cu.get_DIE_from_refaddr(best[1]) if best is not None else None

    def chain(self, address: int, file_name: Callable[[int], str]) -> list[Inlined]:
        """The inlined calls holding ``address``, innermost first (empty when the address
        is in no inlined code). ``file_name`` turns a ``DW_AT_call_file`` index into the
        path the line table's rows print."""
        die = self.function_at(address)
        found = self._inlined_in(die, address, 0) if die is not None else []
        return [Inlined(function_name(d), call_source(d, file_name)) for d in reversed(found)]

    def _inlined_in(self, die: DIE, address: int, depth: int) -> list[DIE]:
        """The inlined-subroutine DIEs under ``die`` holding ``address``, outermost first:
        a scope with ranges is entered only when they hold the address; one without (a
        lexical block GCC gave no code) is searched through."""
        if depth >= _MAX_DEPTH:
            return []
        for child in die.iter_children():
            if child.tag not in _SCOPES:
                continue
            spans = self.ranges(child)
            if spans:
                if not any(lo <= address < hi for lo, hi in spans):
                    continue
                inner = self._inlined_in(child, address, depth + 1) if child.has_children else []
                return ([child] if child.tag == INLINED else []) + inner
            if child.tag == INLINED or not child.has_children:
                continue
            inner = self._inlined_in(child, address, depth + 1)
            if inner:
                return inner
        return []


def die_ranges(info: DWARFInfo, cu: CompileUnit, die: DIE, base: int) -> list[tuple[int, int]]:
    """The ``[low, high)`` ranges of a DIE of ``cu`` (range lists offset from ``base``, the
    unit's ``DW_AT_low_pc``, until a base-address entry says otherwise)."""
    attrs = die.attributes
    if "DW_AT_ranges" in attrs:
        lists = info.range_lists()
        if lists is None:
            return []
        out = []
        for entry in lists.get_range_list_at_offset(int(attrs["DW_AT_ranges"].value), cu):
            if isinstance(entry, BaseAddressEntry):
                base = int(entry.base_address)
            elif isinstance(entry, RangeEntry):
                lo, hi = int(entry.begin_offset), int(entry.end_offset)
                if not entry.is_absolute:
                    lo, hi = lo + base, hi + base
                if lo < hi:
                    out.append((lo, hi))
        return out
    low = attrs.get("DW_AT_low_pc")
    high = attrs.get("DW_AT_high_pc")
    if low is None or high is None:
        return []
    lo = int(low.value)
    hi = lo + int(high.value) if high.form in _LENGTH_FORMS else int(high.value)
    return [(lo, hi)] if lo < hi else []


def unit_spans(info: DWARFInfo) -> list[tuple[int, int, int]]:
    """(low, high, unit offset) of every unit's own ranges, from its top DIE alone: where
    units are when ``.debug_aranges`` is missing (no line program or body is decoded)."""
    spans: list[tuple[int, int, int]] = []
    for cu in info.iter_CUs():
        top = cu.get_top_DIE()
        low = top.attributes.get("DW_AT_low_pc")
        base = int(low.value) if low is not None else 0
        spans.extend((lo, hi, cu.cu_offset) for lo, hi in die_ranges(info, cu, top, base))
    return spans


def function_name(die: DIE) -> str:
    """A function DIE's name, followed through ``DW_AT_abstract_origin`` and
    ``DW_AT_specification`` (an inlined instance names its abstract function)."""
    seen = 0
    while seen < 8:
        seen += 1
        name = die.attributes.get("DW_AT_name")
        if name is not None:
            value = name.value
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        for ref in ("DW_AT_abstract_origin", "DW_AT_specification"):
            if ref in die.attributes:
                die = die.get_DIE_from_attribute(ref)
                break
        else:
            return "??"
    return "??"


def call_source(die: DIE, file_name: Callable[[int], str]) -> str:
    """``file:line`` of an inlined call (addr2line prints ``?`` for an unknown line)."""
    attrs = die.attributes
    file_attr, line_attr = attrs.get("DW_AT_call_file"), attrs.get("DW_AT_call_line")
    name = file_name(int(file_attr.value)) if file_attr is not None else "??"
    line = int(line_attr.value) if line_attr is not None else 0
    return f"{name}:{line or '?'}"
