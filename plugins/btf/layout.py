"""Struct and union layouts from BTF, printed as dwarves' ``pahole -C NAME`` prints them
(dwarves_fprintf.c ``__class__fprintf``, ``class_member__fprintf``, ``union__fprintf``;
dwarves.c ``class__find_holes``; defaults ``type_spacing`` 26, ``name_spacing`` 23, 64-byte
cachelines): each member with its offset and size, bitfields with their bit offsets,
holes, cacheline boundaries, anonymous structs and unions expanded in place, then the
size, cachelines, member count, hole sums, padding and the last cacheline's fill.

Also the small API other commands use: :func:`find` (a struct by name), :func:`size_of`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .cdecl import Declarations
from .format import BtfKind
from .reader import Btf

CACHELINE = 64
TYPE_SPACING = 26
NAME_SPACING = 23

_STRUCT, _UNION, _ENUM, _ENUM64 = (
    int(BtfKind.STRUCT),
    int(BtfKind.UNION),
    int(BtfKind.ENUM),
    int(BtfKind.ENUM64),
)
_PTR, _ARRAY, _FUNC_PROTO = int(BtfKind.PTR), int(BtfKind.ARRAY), int(BtfKind.FUNC_PROTO)
_TYPEDEF, _FWD = int(BtfKind.TYPEDEF), int(BtfKind.FWD)
_MODIFIERS = frozenset(
    int(k) for k in (BtfKind.CONST, BtfKind.VOLATILE, BtfKind.RESTRICT, BtfKind.TYPE_TAG)
)
_KEYWORD = {_STRUCT: "struct", _UNION: "union", _ENUM: "enum", _ENUM64: "enum"}
_QUALIFIED = {int(BtfKind.CONST): "const ", int(BtfKind.VOLATILE): "volatile "}


@dataclass(frozen=True, slots=True)
class Member:
    """One member as pahole sees it: byte offset and size of its storage; for a bitfield,
    its bit offset in that storage and its width."""

    name: str
    type_id: int
    byte_offset: int
    byte_size: int
    bit_offset: int  # from the start of the struct
    bitfield_offset: int = 0
    bitfield_size: int = 0


def find(btf: Btf, name: str) -> int | None:
    """The id of ``struct NAME`` / ``union NAME`` / ``enum NAME`` / ``NAME`` (a struct,
    union, enum or typedef) in ``btf``: a definition before a forward declaration."""
    keyword, _, bare = name.strip().rpartition(" ")
    wanted = {"struct": {_STRUCT}, "union": {_UNION}, "enum": {_ENUM, _ENUM64}}.get(
        keyword.strip(), {_STRUCT, _UNION, _ENUM, _ENUM64, _TYPEDEF}
    )
    for type_id in range(1, btf.count):
        if btf.kind[type_id] in wanted and btf.type_name(type_id) == bare:
            return type_id
    return None


def size_of(btf: Btf, name: str) -> int | None:
    """``sizeof`` of a struct, union or enum by name (``"struct module"``), from BTF; None
    when ``btf`` has no such type. What ``ksql check`` asks for sizeof(struct module)."""
    type_id = find(btf, name)
    return None if type_id is None else _size(btf, type_id)


def _resolve(btf: Btf, type_id: int) -> int:
    """Through typedefs and qualifiers to the type that has a size."""
    seen = 0
    while 0 < type_id < btf.count and (
        btf.kind[type_id] in _MODIFIERS or btf.kind[type_id] == _TYPEDEF
    ):
        type_id = btf.ref[type_id]
        seen += 1
        if seen > 64:  # a loop in a corrupt blob
            return 0
    return type_id


def _size(btf: Btf, type_id: int) -> int:
    """tag__size: bytes of ``type_id`` (pointers 8, arrays element x count)."""
    type_id = _resolve(btf, type_id)
    if not 0 < type_id < btf.count:
        return 0
    kind = btf.kind[type_id]
    if kind == _PTR:
        return 8
    if kind == _ARRAY:
        element, _index, count = btf.words(type_id, 3)
        return _size(btf, element) * count
    if kind in (_FUNC_PROTO, _FWD):
        return 0
    return btf.ref[type_id]  # INT, ENUM, STRUCT, UNION, FLOAT: btf_type.size


def members(btf: Btf, type_id: int) -> list[Member]:
    """A struct's or union's members (btf_member: name_off, type, offset -- with kind_flag
    the offset packs bitfield_size << 24 | bit offset, btf.h)."""
    words = btf.words(type_id, 3 * btf.vlen[type_id])
    kflag = btf.kflag[type_id]
    out: list[Member] = []
    for i in range(0, len(words), 3):
        name_off, member_type, offset = words[i : i + 3]
        bits = offset & 0xFFFFFF if kflag else offset
        width = offset >> 24 if kflag else 0
        size = _size(btf, member_type)
        name = btf.name(name_off) if name_off else ""
        if width:
            # btf_loader: a bitfield's byte offset is that of its storage unit.
            unit = size * 8 or 8
            byte_offset = bits // unit * unit // 8
            out.append(
                Member(name, member_type, byte_offset, size, bits, bits - byte_offset * 8, width)
            )
        else:
            out.append(Member(name, member_type, bits // 8, size, bits))
    return out


@dataclass(slots=True)
class _Holes:
    """class__find_holes' results: per member the byte and bit hole after it."""

    hole: list[int]
    bit_hole: list[int]
    pre_hole: int = 0
    pre_bit_hole: int = 0
    padding: int = 0
    bit_padding: int = 0


def find_holes(size: int, mems: list[Member]) -> _Holes:
    """dwarves.c ``class__find_holes``."""
    holes = _Holes([0] * len(mems), [0] * len(mems))
    last_seen_bit = 0
    in_bitfield = False
    cur_bitfield_end = 0
    cur_bitfield_size = 0
    for k, pos in enumerate(mems):
        bit_start = pos.bit_offset
        bit_end = bit_start + (pos.bitfield_size or pos.byte_size * 8)
        bit_holes = byte_holes = 0
        if in_bitfield:
            bitfield_end = min(bit_start, cur_bitfield_end)
            bit_holes = bitfield_end - last_seen_bit
            last_seen_bit = bitfield_end
        if pos.bitfield_size:
            aligned_start = pos.byte_offset * 8
            if last_seen_bit < aligned_start <= bit_start:
                byte_holes = pos.byte_offset - last_seen_bit // 8
                last_seen_bit = aligned_start
            bit_holes += bit_start - last_seen_bit
        else:
            byte_holes = bit_start // 8 - last_seen_bit // 8
        if k:
            holes.hole[k - 1], holes.bit_hole[k - 1] = byte_holes, bit_holes
        else:
            holes.pre_hole, holes.pre_bit_hole = byte_holes, bit_holes
        in_bitfield = pos.bitfield_size != 0
        if in_bitfield:
            bit_size = pos.byte_size * 8
            if bit_end > cur_bitfield_end or bit_size > cur_bitfield_size:
                cur_bitfield_size = bit_size
                cur_bitfield_end = pos.byte_offset * 8 + cur_bitfield_size
                if bit_end > cur_bitfield_end:
                    cur_bitfield_end += cur_bitfield_size
        last_seen_bit = max(last_seen_bit, bit_end)
    if in_bitfield:
        bitfield_end = min(size * 8, cur_bitfield_end)
        holes.bit_padding = bitfield_end - last_seen_bit
        last_seen_bit = bitfield_end
    holes.padding = size - last_seen_bit // 8
    return holes


class Printer:
    """pahole's ``-C`` text for the types of one :class:`Btf`."""

    def __init__(self, btf: Btf) -> None:
        self.btf = btf
        self.decls = Declarations(btf)
        self._index: dict[tuple[str, str], int] | None = None

    def layout(self, name: str) -> str | None:
        """The layout of the type called ``name``, or None when there is none."""
        type_id = self.find(name)
        return None if type_id is None else self.type_layout(type_id)

    def find(self, name: str) -> int | None:
        """:func:`find` through an index built on first use (hover asks many times)."""
        if self._index is None:
            btf = self.btf
            index: dict[tuple[str, str], int] = {}
            for type_id in range(btf.count - 1, 0, -1):  # the first definition wins
                kind = btf.kind[type_id]
                keyword = _KEYWORD.get(kind, "typedef" if kind == _TYPEDEF else "")
                if keyword:
                    index[keyword, btf.type_name(type_id)] = type_id
            self._index = index
        keyword, _, bare = name.strip().rpartition(" ")
        keyword = keyword.strip()
        if keyword:
            return self._index.get((keyword, bare))
        for keyword in ("struct", "union", "enum", "typedef"):
            found = self._index.get((keyword, bare))
            if found is not None:
                return found
        return None

    def type_layout(self, type_id: int) -> str:
        btf = self.btf
        kind = btf.kind[type_id]
        if kind in (_ENUM, _ENUM64):
            return self._enum(type_id) + ";\n"
        if kind == _TYPEDEF:
            target = btf.ref[type_id]
            spelled = self.decls.type_name(target)
            return f"typedef {spelled} {btf.type_name(type_id)};\n"
        out: list[str] = []
        cacheline = [0]
        self._class(type_id, out, depth=0, base=0, cacheline=cacheline, stats=True)
        return "".join(out) + ";\n"

    # -- structs and unions -------------------------------------------------------------

    def _class(
        self,
        type_id: int,
        out: list[str],
        *,
        depth: int,
        base: int,
        cacheline: list[int],
        stats: bool,
        in_union: bool = False,
    ) -> None:
        btf = self.btf
        union = btf.kind[type_id] == _UNION
        in_union = in_union or union  # conf->union_member stays set below a union
        name = btf.type_name(type_id)
        tabs = "\t" * depth
        inner = tabs + "\t"
        out.append(("union" if union else "struct") + (f" {name}" if name else "") + " {\n")
        mems = members(btf, type_id)
        size = btf.ref[type_id]
        holes = find_holes(size, mems) if not union else _Holes([0] * len(mems), [0] * len(mems))
        newline = False
        if not union and holes.pre_hole > 0:
            out.append("\n")
            out.append(f"{inner}/* XXX {_plural(holes.pre_hole, 'byte')} hole, try to pack */\n")
            newline = True
        sum_bytes = sum_bits = sum_holes = sum_bit_holes = 0
        start_line = cacheline[0]
        for k, pos in enumerate(mems):
            if newline:
                out.append("\n")
                newline = False
            out.append(inner)
            flexible = k == len(mems) - 1 and len(mems) > 1 and not in_union
            self._member(pos, out, depth + 1, base, cacheline, flexible, in_union)
            padded = self._trailing_padding(pos.type_id) if stats else 0
            if padded:
                if not newline:
                    out.append("\n")
                    newline = True
                out.append(
                    f"\n{inner}/* XXX last struct has {_plural(padded, 'byte')} of padding */"
                )
            if not union:
                if holes.bit_hole[k]:
                    if not newline:
                        out.append("\n")
                        newline = True
                    bits = holes.bit_hole[k]
                    out.append(f"\n{inner}/* XXX {_plural(bits, 'bit')} hole, try to pack */")
                    sum_bit_holes += bits
                if holes.hole[k] > 0:
                    if not newline:
                        out.append("\n")
                        newline = True
                    out.append(
                        f"\n{inner}/* XXX {_plural(holes.hole[k], 'byte')} hole, try to pack */"
                    )
                    sum_holes += holes.hole[k]
            out.append("\n")
            if union:
                cacheline[0] = start_line
            if pos.bitfield_size:
                sum_bits += pos.bitfield_size
            else:
                sum_bytes += pos.byte_size
        if stats:
            lines = self._stats(type_id, size, len(mems), holes, union)
            lines_sum: list[str] = []
            if sum_holes > 0 or sum_bit_holes > 0:
                nr_holes = sum(1 for h in holes.hole if h > 0) + (holes.pre_hole > 0)
                nr_bit_holes = sum(1 for h in holes.bit_hole if h) + (holes.pre_bit_hole > 0)
                if sum_bytes > 0:
                    text = f"sum members: {sum_bytes}"
                    if sum_holes > 0:
                        text += f", holes: {nr_holes}, sum holes: {sum_holes}"
                    lines_sum.append(text)
                if sum_bits > 0:
                    text = f"sum bitfield members: {sum_bits} bits"
                    if sum_bit_holes > 0:
                        text += f", bit holes: {nr_bit_holes}, sum bit holes: {sum_bit_holes} bits"
                    else:
                        text += f" ({sum_bits // 8} bytes)"
                    lines_sum.append(text)
            out.append("\n")
            out.append(f"{inner}/* {lines[0]} */\n")
            for text in lines_sum:
                out.append(f"{inner}/* {text} */\n")
            if holes.padding > 0 and not union:
                out.append(f"{inner}/* padding: {holes.padding} */\n")
            paddings = self._member_paddings(mems) if not union else (0, 0)
            if paddings[0]:
                out.append(f"{inner}/* paddings: {paddings[0]}, sum paddings: {paddings[1]} */\n")
            if holes.bit_padding > 0 and not union:
                out.append(f"{inner}/* bit_padding: {holes.bit_padding} bits */\n")
            last = (base + size) % CACHELINE
            if last:
                out.append(f"{inner}/* last cacheline: {last} bytes */\n")
        out.append(tabs + "}")
        if not union and self._packed(size, mems):
            out.append(" __attribute__((__packed__))")

    def _packed(self, size: int, mems: list[Member]) -> bool:
        """dwarves.c ``class__infer_packed_attributes``: a member off its natural alignment,
        or a size that is not a multiple of the largest one."""
        most = 1
        for pos in mems:
            natural = self._alignment(pos.type_id)
            if not pos.bitfield_size and pos.byte_offset % natural:
                return True
            most = max(most, natural)
        return size % most != 0

    def _alignment(self, type_id: int, depth: int = 0) -> int:
        """tag__natural_alignment: a scalar's size, an array's element's, a struct's largest
        member's; at least 1."""
        btf = self.btf
        type_id = _resolve(btf, type_id)
        while 0 < type_id < btf.count and btf.kind[type_id] == _ARRAY:
            type_id = _resolve(btf, btf.words(type_id, 1)[0])
        if not 0 < type_id < btf.count or depth > 32:
            return 1
        kind = btf.kind[type_id]
        if kind in (_STRUCT, _UNION):
            found = [self._alignment(m.type_id, depth + 1) for m in members(btf, type_id)]
            return max(found, default=1)
        return max(_size(btf, type_id), 1)

    def _stats(self, type_id: int, size: int, count: int, holes: _Holes, union: bool) -> list[str]:
        cachelines = (size + CACHELINE - 1) // CACHELINE
        return [f"size: {size}, cachelines: {cachelines}, members: {count}"]

    def _member_paddings(self, mems: list[Member]) -> tuple[int, int]:
        """Members whose (named struct) type ends in padding: how many, how much."""
        count = total = 0
        for pos in mems:
            padding = self._trailing_padding(pos.type_id)  # a struct, not a typedef or const
            if padding > 0:
                count += 1
                total += padding
        return count, total

    def _trailing_padding(self, type_id: int) -> int:
        """The padding at the end of a member's struct type (not through a typedef)."""
        btf = self.btf
        if not (0 < type_id < btf.count and btf.kind[type_id] == _STRUCT):
            return 0
        inner = members(btf, type_id)
        return find_holes(btf.ref[type_id], inner).padding if inner else 0

    def _member(
        self,
        pos: Member,
        out: list[str],
        depth: int,
        base: int,
        cacheline: list[int],
        flexible: bool,
        in_union: bool,
    ) -> None:
        btf = self.btf
        offset = base + pos.byte_offset
        line = offset // CACHELINE
        if line > cacheline[0]:
            at = offset % CACHELINE
            was = f" was {at} bytes ago" if at else ""
            out.append(
                f"/* --- cacheline {line} boundary ({offset - at} bytes){was} --- */\n"
                + "\t" * depth
            )
            cacheline[0] = line
        spacing = TYPE_SPACING - 8 * (depth - 1)
        target = pos.type_id
        kind = btf.kind[target] if 0 < target < btf.count else 0
        if kind in (_STRUCT, _UNION) and not btf.type_name(target):
            self._class(
                target,
                out,
                depth=depth,
                base=offset,
                cacheline=cacheline,
                stats=False,
                in_union=in_union,
            )
            slen = len(pos.name) if pos.name else -1
            text = f" {pos.name};" if pos.name else ";"
            out.append(text)
            pad = spacing + NAME_SPACING - slen - 3
            out.append(" " * max(pad, 1) + f"/* {offset:5d} {pos.byte_size:5d} */")
            return
        if kind in (_ENUM, _ENUM64) and not btf.type_name(target):
            # enumeration__fprintf inline, then the name as for an anonymous struct
            body = self._enum(target, "\t" * depth)
            name = pos.name + (f":{pos.bitfield_size}" if pos.bitfield_size else "")
            out.append(body + (f" {name};" if pos.name else ";"))
            pad = spacing + NAME_SPACING - (len(pos.name) if pos.name else -1) - 3
            comment = f"/* {offset:5d}"
            if pos.bitfield_size:
                comment += f":{pos.bitfield_offset:2d} {pos.byte_size:2d} */"
            else:
                comment += f" {pos.byte_size:5d} */"
            out.append(" " * max(pad, 1) + comment)
            return
        text = self._declarator(target, pos.name, spacing, flexible)
        if pos.bitfield_size:
            text += f":{pos.bitfield_size}"
        text += ";"
        pad = spacing + NAME_SPACING - len(text)
        comment = f"/* {offset:5d}"
        width = 5
        if pos.bitfield_size:
            comment += f":{pos.bitfield_offset:2d}"
            width = 2
        out.append(text + " " * max(pad, 1) + comment + f" {pos.byte_size:{width}d} */")

    def _declarator(self, type_id: int, name: str, spacing: int, flexible: bool) -> str:
        """type__fprintf of a member: the type padded to ``spacing``, then the name; a
        last member's zero-length array is a flexible one, ``[]`` (array_type__fprintf)."""
        btf = self.btf
        suffix = ""
        while 0 < type_id < btf.count and btf.kind[type_id] == _ARRAY:
            element, _index, count = btf.words(type_id, 3)
            suffix += "[]" if count == 0 and flexible and not suffix else f"[{count}]"
            type_id = element
        kind = btf.kind[type_id] if 0 < type_id < btf.count else 0
        prefix = ""
        while kind in _QUALIFIED and 0 < btf.ref[type_id] < btf.count:
            inner = btf.ref[type_id]
            if btf.kind[inner] not in _KEYWORD or not btf.type_name(inner):
                break
            prefix += _QUALIFIED[kind]  # type__fprintf: the modifier, then the type
            spacing -= len(_QUALIFIED[kind])
            type_id, kind = inner, btf.kind[inner]
        if kind == _PTR:
            target = btf.ref[type_id]
            if 0 < target < btf.count and btf.kind[target] == _FUNC_PROTO:
                ret = self.decls.type_name(btf.ref[target])
                params = self.decls.parameters(target)
                return f"{ret.ljust(spacing)} (*{name}){params}{suffix}"
        if kind in _KEYWORD and btf.type_name(type_id):
            word = _KEYWORD[kind]
            spelled = btf.type_name(type_id).ljust(spacing - len(word) - 1)
            return f"{prefix}{word} {spelled} {name}{suffix}"
        spelled = self.decls.type_name(type_id)
        return f"{spelled.ljust(spacing)} {name}{suffix}"

    def _enum(self, type_id: int, indent: str = "") -> str:
        btf = self.btf
        name = btf.type_name(type_id)
        per = 3 if btf.kind[type_id] == _ENUM64 else 2
        words = btf.words(type_id, per * btf.vlen[type_id])
        signed = btf.kflag[type_id]
        entries: list[tuple[str, int]] = []
        for i in range(0, len(words), per):
            value = words[i + 1] if per == 2 else words[i + 1] | words[i + 2] << 32
            bits = 32 if per == 2 else 64
            if signed and value >> (bits - 1):
                value -= 1 << bits
            entries.append((btf.name(words[i]), value))
        text = "enum" + (f" {name}" if name else "")
        if not entries:
            return text
        width = max(len(n) for n, _ in entries)
        body = "".join(f"{indent}\t{n:<{width}} = {v},\n" for n, v in entries)
        text += " {\n" + body + indent + "}"
        if btf.ref[type_id] != 4:
            text += " __attribute__((__packed__))"
        return text


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}{'s' if count != 1 else ''}"
