"""Decoding a kernel log (an oops, dmesg, a lockdep splat, ``/proc/<pid>/stack``) frame by
frame. The output follows scripts/decode_stacktrace.sh (Linux 6.1) so its users can diff:
a line with a frame is re-tokenised (raw ``[<address>]`` words dropped, timestamps as
``[%13s``), its frame printed ``name (file:line) module`` — with inlined calls, ``name
(file:line call-site ...) module``, the ``addr2line -i`` lines joined as the script joins
them; every other line passes through byte for byte. A bare raw address, which the script
cannot decode, becomes ``%pS`` text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from ksql.errors import KsqlError
from ksql.symbolize.resolve import Frame, Symbolizer
from ksql.symbolize.source import Site
from ksql.symbolize.spec import RAW
from ksql.values import frozen

# decode_stacktrace.sh's test for "a line with an address in it".
_HAS_FRAME = re.compile(r"\[<([^]]+)>\]|[^+ ]+\+0x[0-9a-f]+/0x[0-9a-f]+")
_SYMBOL = re.compile(r"(?P<name>[^+]+)\+(?P<off>0x[0-9a-fA-F]+)(?:/(?P<size>0x[0-9a-fA-F]+))?")
_SYMBOL_IN_LINE = re.compile(r"(?:^|[\s:])(?P<name>[^\s:+]+)\+0x[0-9a-fA-F]+/0x[0-9a-fA-F]+")
_MODULE = re.compile(r"\[([^]]+)\]")

SourceOf = Callable[[Frame], Site]
NO_SITE = Site()


@frozen
class Decoded:
    """One input line: its decoded text, and the frame it holds (None for pass-through)."""

    text: str
    frame: Frame | None = None
    reliable: bool = True
    site: Site = NO_SITE
    error: str = ""
    line: int = 0


def decode(lines: Iterable[str], sym: Symbolizer, source_of: SourceOf) -> list[Decoded]:
    """Every line decoded (``lines`` keep their newlines; pass-through ones come back
    unchanged)."""
    lines = list(lines)
    sym.kernel.prefetch(m.group("name") for line in lines for m in _SYMBOL_IN_LINE.finditer(line))
    out: list[Decoded] = []
    for n, raw in enumerate(lines, 1):
        body = raw.rstrip("\n")
        if not _HAS_FRAME.search(body):
            out.append(Decoded(raw, line=n))
            continue
        out.append(_decode_line(body, raw[len(body) :], sym, source_of, n))
    return out


def _decode_line(body: str, eol: str, sym: Symbolizer, source_of: SourceOf, n: int) -> Decoded:
    words = body.split()
    raws = [m.group("addr") for w in words for m in [RAW.search(w)] if m]
    words = [w for w in words if not RAW.search(w)]
    for i in range(len(words) - 1):  # "[", "12.345678]" -> "[    12.345678]"
        if words[i] == "[" and words[i + 1].endswith("]"):
            words[i : i + 2] = ["", f"[{words[i + 1]:>13}"]
    words = [w for w in words if w]
    if len(words) >= 2 and re.match(r"^[0-9a-f]+\]", words[-1]):  # "[mod build-id]"
        words[-2:] = [words[-2] + " " + words[-1]]
    module = build_id = ""
    if words and _MODULE.search(words[-1]) and len(words) >= 2:
        module, _, build_id = words.pop().strip("[]").partition(" ")
    symbol = words.pop() if words else ""
    reliable = "?" not in words
    segment = ""
    if ":" in symbol:
        seg, _, symbol = symbol.partition(":")
        segment = seg + ":"
    m = _SYMBOL.fullmatch(symbol)
    frame: Frame | None = None
    error = ""
    try:
        if m:
            size = m.group("size")
            frame = sym.locate(
                m.group("name"),
                int(m.group("off"), 16),
                int(size, 16) if size else None,
                module,
                build_id.lower(),
            )
        elif raws:
            frame = sym.describe([int(raws[-1], 16)])[0]
            if frame is not None:
                if symbol:  # not a frame: a word of the line
                    words.append(segment + symbol)
                segment, module = "", frame.module
                symbol = f"{frame.name}+{frame.offset:#x}/{frame.size:#x}"
    except KsqlError as exc:
        error = str(exc)
    if frame is None and not m:  # raw addresses only, none known: keep them
        return Decoded(
            body + eol, None, reliable, NO_SITE, error or "not inside any known symbol", n
        )
    site = source_of(frame) if frame is not None else NO_SITE
    if site.source and frame is not None:  # decode_stacktrace.sh: "name (file:line ...)"
        shown = f"{segment}{frame.name} ({site.locations()})"
    elif site.defined_at:  # no line table: keep the offset, say where it is defined
        shown = f"{segment}{symbol} (defined at {site.defined_at})"
    else:
        shown = segment + symbol
    text = " ".join([*words, f"{shown} {module}"]) + eol
    return Decoded(text, frame, reliable, site, error, n)
