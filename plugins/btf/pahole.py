"""``pahole -C NAME``'s text for the types of one BTF (dwarves_fprintf.c
``__class__fprintf``, ``class_member__fprintf``, ``union__fprintf``), from the members and
holes :mod:`.layout` finds."""

from __future__ import annotations

from .cdecl import Declarations
from .layout import (
    ARRAY,
    CACHELINE,
    ENUM,
    ENUM64,
    FUNC_PROTO,
    KEYWORD,
    NAME_SPACING,
    PTR,
    QUALIFIED,
    STRUCT,
    TYPE_SPACING,
    TYPEDEF,
    UNION,
    Holes,
    Member,
    find_holes,
    members,
    resolve,
    type_size,
)
from .reader import Btf


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
                keyword = KEYWORD.get(kind, "typedef" if kind == TYPEDEF else "")
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
        if kind in (ENUM, ENUM64):
            return self._enum(type_id) + ";\n"
        if kind == TYPEDEF:
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
        union = btf.kind[type_id] == UNION
        in_union = in_union or union  # conf->union_member stays set below a union
        name = btf.type_name(type_id)
        tabs = "\t" * depth
        inner = tabs + "\t"
        out.append(("union" if union else "struct") + (f" {name}" if name else "") + " {\n")
        mems = members(btf, type_id)
        size = btf.ref[type_id]
        holes = find_holes(size, mems) if not union else Holes([0] * len(mems), [0] * len(mems))
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
        type_id = resolve(btf, type_id)
        while 0 < type_id < btf.count and btf.kind[type_id] == ARRAY:
            type_id = resolve(btf, btf.words(type_id, 1)[0])
        if not 0 < type_id < btf.count or depth > 32:
            return 1
        kind = btf.kind[type_id]
        if kind in (STRUCT, UNION):
            found = [self._alignment(m.type_id, depth + 1) for m in members(btf, type_id)]
            return max(found, default=1)
        return max(type_size(btf, type_id), 1)

    def _stats(self, type_id: int, size: int, count: int, holes: Holes, union: bool) -> list[str]:
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
        if not (0 < type_id < btf.count and btf.kind[type_id] == STRUCT):
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
        if kind in (STRUCT, UNION) and not btf.type_name(target):
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
        if kind in (ENUM, ENUM64) and not btf.type_name(target):
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
        while 0 < type_id < btf.count and btf.kind[type_id] == ARRAY:
            element, _index, count = btf.words(type_id, 3)
            suffix += "[]" if count == 0 and flexible and not suffix else f"[{count}]"
            type_id = element
        kind = btf.kind[type_id] if 0 < type_id < btf.count else 0
        prefix = ""
        while kind in QUALIFIED and 0 < btf.ref[type_id] < btf.count:
            inner = btf.ref[type_id]
            if btf.kind[inner] not in KEYWORD or not btf.type_name(inner):
                break
            prefix += QUALIFIED[kind]  # type__fprintf: the modifier, then the type
            spacing -= len(QUALIFIED[kind])
            type_id, kind = inner, btf.kind[inner]
        if kind == PTR:
            target = btf.ref[type_id]
            if 0 < target < btf.count and btf.kind[target] == FUNC_PROTO:
                ret = self.decls.type_name(btf.ref[target])
                params = self.decls.parameters(target)
                return f"{ret.ljust(spacing)} (*{name}){params}{suffix}"
        if kind in KEYWORD and btf.type_name(type_id):
            word = KEYWORD[kind]
            spelled = btf.type_name(type_id).ljust(spacing - len(word) - 1)
            return f"{prefix}{word} {spelled} {name}{suffix}"
        spelled = self.decls.type_name(type_id)
        return f"{spelled.ljust(spacing)} {name}{suffix}"

    def _enum(self, type_id: int, indent: str = "") -> str:
        btf = self.btf
        name = btf.type_name(type_id)
        per = 3 if btf.kind[type_id] == ENUM64 else 2
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
