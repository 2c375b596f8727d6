"""``ksql diff`` output: text (one change a line), ksymvers' ``short`` and ``symbols``
formats, JSON and Markdown. Each writer takes the changes, their verdicts and a stream.

``short`` and ``symbols`` reproduce ``ksymvers compare -f short|symbols``
(SUSE/suse-kabi-tools ``src/symvers/mod.rs``, ``compare_with_buffer``): additions, then
removals, then per name its CRC and type changes; rules-tolerated changes are only counted
in the closing line; ``symbols`` lists the names with a breaking change.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TextIO

from ksql.history.diff import Change
from ksql.history.severity import KSYMVERS_KINDS, Verdict
from ksql.render import shown

Writer = Callable[[Sequence[Change], Sequence[Verdict], TextIO], None]

_ADDED = frozenset({"added", "exported"})
_REMOVED = frozenset({"removed", "unexported"})


def _value(text: str | None) -> str:
    return "-" if text is None else shown(text)


def write_text(changes: Sequence[Change], verdicts: Sequence[Verdict], out: TextIO) -> None:
    for c, v in zip(changes, verdicts, strict=True):
        out.write(
            f"{v.value:<9} {c.kind:<17} {shown(c.name)}  {_value(c.old)} -> {_value(c.new)}"
            f"  [{shown(c.module)}]\n"
        )


def _suffix(v: Verdict) -> str:
    return " (implicitly tolerated)" if v is Verdict.PASS else ""


def write_short(changes: Sequence[Change], verdicts: Sequence[Verdict], out: TextIO) -> None:
    pairs = [(c, v) for c, v in zip(changes, verdicts, strict=True) if c.kind in KSYMVERS_KINDS]
    counts = {"added": 0, "removed": 0}
    for group, word in ((_ADDED, "added"), (_REMOVED, "removed")):
        for c, v in sorted((p for p in pairs if p[0].kind in group), key=lambda p: p[0].name):
            if v is Verdict.TOLERATED:
                counts[word] += 1
            else:
                out.write(f"Export '{c.name}' has been {word}{_suffix(v)}\n")
    modified: dict[str, bool] = {}  # name -> every modification tolerated by rules
    for c, v in pairs:  # already in name order, CRC before type (ksql.history.diff.KINDS)
        if c.kind in _ADDED or c.kind in _REMOVED:
            continue
        modified[c.name] = modified.get(c.name, True) and v is Verdict.TOLERATED
        if v is Verdict.TOLERATED:
            continue
        if c.kind == "crc":
            out.write(f"Export '{c.name}' changed CRC from '{c.old}' to '{c.new}'{_suffix(v)}\n")
        else:
            out.write(f"Export '{c.name}' changed type from '{c.old}' to '{c.new}'{_suffix(v)}\n")
    out.write(
        f"Changes tolerated by rules: '{counts['added']}' additions, '{counts['removed']}'"
        f" removals, '{sum(modified.values())}' modifications\n"
    )


def write_symbols(changes: Sequence[Change], verdicts: Sequence[Verdict], out: TextIO) -> None:
    names = {
        c.name
        for c, v in zip(changes, verdicts, strict=True)
        if v is Verdict.FAIL and c.kind in KSYMVERS_KINDS
    }
    for name in sorted(names):
        out.write(shown(name) + "\n")


def write_json(changes: Sequence[Change], verdicts: Sequence[Verdict], out: TextIO) -> None:
    records = [c.as_dict() | {"verdict": v.value} for c, v in zip(changes, verdicts, strict=True)]
    failing = sum(v is Verdict.FAIL for v in verdicts)
    json.dump({"failing": failing, "changes": records}, out, indent=1)
    out.write("\n")


def _cell(text: str | None) -> str:
    return "" if text is None else shown(text).replace("|", "\\|")


def write_markdown(changes: Sequence[Change], verdicts: Sequence[Verdict], out: TextIO) -> None:
    failing = sum(v is Verdict.FAIL for v in verdicts)
    out.write(f"**{len(changes)} changes, {failing} failing**\n\n")
    out.write("| verdict | change | symbol | old | new | module |\n")
    out.write("|---|---|---|---|---|---|\n")
    for c, v in zip(changes, verdicts, strict=True):
        out.write(
            f"| {v.value} | {c.kind} | `{_cell(c.name)}` | {_cell(c.old)} | {_cell(c.new)}"
            f" | {_cell(c.module)} |\n"
        )


WRITERS: dict[str, Writer] = {
    "text": write_text,
    "short": write_short,
    "symbols": write_symbols,
    "json": write_json,
    "markdown": write_markdown,
}
