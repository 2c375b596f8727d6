"""Struct and union layouts from BTF, printed as dwarves' ``pahole -C NAME`` prints them
(dwarves_fprintf.c ``__class__fprintf``, ``class_member__fprintf``, ``union__fprintf``;
dwarves.c ``class__find_holes``; defaults ``type_spacing`` 26, ``name_spacing`` 23, 64-byte
cachelines): each member with its offset and size, bitfields with their bit offsets,
holes, cacheline boundaries, anonymous structs and unions expanded in place, then the
size, cachelines, member count, hole sums, padding and the last cacheline's fill.

The types' data: :func:`members` with their offsets, :func:`find_holes`, and the small API
other commands use: :func:`find` (a struct by name), :func:`size_of`. The text itself is
:mod:`.pahole`'s.
"""

from __future__ import annotations

from dataclasses import dataclass

from ksql.values import frozen

from .format import BtfKind
from .reader import Btf

CACHELINE = 64
TYPE_SPACING = 26
NAME_SPACING = 23

STRUCT, UNION, ENUM, ENUM64 = (
    int(BtfKind.STRUCT),
    int(BtfKind.UNION),
    int(BtfKind.ENUM),
    int(BtfKind.ENUM64),
)
PTR, ARRAY, FUNC_PROTO = int(BtfKind.PTR), int(BtfKind.ARRAY), int(BtfKind.FUNC_PROTO)
TYPEDEF, FWD = int(BtfKind.TYPEDEF), int(BtfKind.FWD)
MODIFIERS = frozenset(
    int(k) for k in (BtfKind.CONST, BtfKind.VOLATILE, BtfKind.RESTRICT, BtfKind.TYPE_TAG)
)
KEYWORD = {STRUCT: "struct", UNION: "union", ENUM: "enum", ENUM64: "enum"}
QUALIFIED = {int(BtfKind.CONST): "const ", int(BtfKind.VOLATILE): "volatile "}


@frozen
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
    wanted = {"struct": {STRUCT}, "union": {UNION}, "enum": {ENUM, ENUM64}}.get(
        keyword.strip(), {STRUCT, UNION, ENUM, ENUM64, TYPEDEF}
    )
    for type_id in range(1, btf.count):
        if btf.kind[type_id] in wanted and btf.type_name(type_id) == bare:
            return type_id
    return None


def size_of(btf: Btf, name: str) -> int | None:
    """``sizeof`` of a struct, union or enum by name (``"struct module"``), from BTF; None
    when ``btf`` has no such type. What ``ksql check`` asks for sizeof(struct module)."""
    type_id = find(btf, name)
    return None if type_id is None else type_size(btf, type_id)


def resolve(btf: Btf, type_id: int) -> int:
    """Through typedefs and qualifiers to the type that has a size."""
    seen = 0
    while 0 < type_id < btf.count and (
        btf.kind[type_id] in MODIFIERS or btf.kind[type_id] == TYPEDEF
    ):
        type_id = btf.ref[type_id]
        seen += 1
        if seen > 64:  # a loop in a corrupt blob
            return 0
    return type_id


def type_size(btf: Btf, type_id: int) -> int:
    """tag__size: bytes of ``type_id`` (pointers 8, arrays element x count)."""
    type_id = resolve(btf, type_id)
    if not 0 < type_id < btf.count:
        return 0
    kind = btf.kind[type_id]
    if kind == PTR:
        return 8
    if kind == ARRAY:
        element, _index, count = btf.words(type_id, 3)
        return type_size(btf, element) * count
    if kind in (FUNC_PROTO, FWD):
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
        size = type_size(btf, member_type)
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
class Holes:
    """class__find_holes' results: per member the byte and bit hole after it."""

    hole: list[int]
    bit_hole: list[int]
    pre_hole: int = 0
    pre_bit_hole: int = 0
    padding: int = 0
    bit_padding: int = 0


def find_holes(size: int, mems: list[Member]) -> Holes:
    """dwarves.c ``class__find_holes``."""
    holes = Holes([0] * len(mems), [0] * len(mems))
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
