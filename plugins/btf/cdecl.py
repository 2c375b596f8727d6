"""C declarations of BTF functions and variables, spelled exactly as dwarves' ``pfunct -F btf
--prototypes`` prints them (dwarves_fprintf.c, v1.24: ``__tag__name``, ``tag__ptr_name``,
``ftype__fprintf``, ``ftype__fprintf_parms``), quirks included, so the two compare byte for
byte: a pointer is ``TYPE *`` (``char * *``), a qualifier leaves a trailing blank
(``const char  * buf``), an array decays to its element type, a function-pointer parameter
is ``int (*cb)(void *)``, a bare ``_Bool`` is ``bool _Bool``, a float ``single float``.

pfunct formats into fixed buffers (128 bytes for a parameter's or a qualified type's name,
1024 for a pointer's target), so a name longer than a buffer is cut there; so is it here.
Where pfunct 1.24 cannot print (a TYPE_TAG, unknown to it), this follows later dwarves,
which see through the tag (btf_loader.c, ``DW_TAG_LLVM_annotation``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .format import INT_BOOL, BtfKind
from .reader import Btf

_SMALL = 128  # char sbf[128], tmpbf[128]
_LARGE = 1024  # tag__ptr_name's tmpbf[1024]
_QUALIFIER: dict[int, tuple[str, str]] = {
    BtfKind.CONST: ("const ", ""),
    BtfKind.VOLATILE: ("volatile ", ""),
    BtfKind.RESTRICT: ("", " restrict"),
}
_TAGGED: dict[int, str] = {
    BtfKind.STRUCT: "struct ",
    BtfKind.UNION: "union ",
    BtfKind.ENUM: "enum ",
    BtfKind.ENUM64: "enum ",
}
# What pahole 1.24's BTF loader turns into a tag that has a name (all else it drops).
_NAMED = frozenset(
    int(k)
    for k in {
        BtfKind.INT,
        BtfKind.FLOAT,
        BtfKind.PTR,
        BtfKind.ARRAY,
        BtfKind.STRUCT,
        BtfKind.UNION,
        BtfKind.ENUM,
        BtfKind.ENUM64,
        BtfKind.FWD,
        BtfKind.TYPEDEF,
        BtfKind.VOLATILE,
        BtfKind.CONST,
        BtfKind.RESTRICT,
        BtfKind.FUNC,
        BtfKind.FUNC_PROTO,
        BtfKind.VAR,
        BtfKind.TYPE_TAG,
    }
)


# Plain ints for the per-type code: an IntEnum member lookup costs ~1 us a time.
_ARRAY = int(BtfKind.ARRAY)
_CONST = int(BtfKind.CONST)
_FLOAT = int(BtfKind.FLOAT)
_FUNC_PROTO = int(BtfKind.FUNC_PROTO)
_FWD = int(BtfKind.FWD)
_INT = int(BtfKind.INT)
_PTR = int(BtfKind.PTR)
_TYPE_TAG = int(BtfKind.TYPE_TAG)


# Kinds whose name alone is their spelling (a bool or a float INT is not: see _type_name).
_PLAIN = np.array(
    [BtfKind.STRUCT, BtfKind.UNION, BtfKind.ENUM, BtfKind.ENUM64, BtfKind.TYPEDEF], np.uint8
)


def _cut(text: str, size: int) -> str:
    """What snprintf leaves in a ``size``-byte buffer."""
    return text if len(text) < size else text[: size - 1]


def _missing(type_id: int) -> str:
    return f"<ERROR: type {type_id} not found>"


class Declarations:
    """pfunct's spelling of the types, functions and variables of one :class:`Btf`."""

    def __init__(self, btf: Btf) -> None:
        self.btf = btf
        self._names: dict[tuple[int, int], str] = {}
        self._params: dict[int, str] = {}
        self._param: dict[tuple[int, int], str] = {}

    def known(self, type_id: int) -> bool:
        """Whether pahole would have a tag for ``type_id`` (``cu__type`` not NULL)."""
        return 0 < type_id < self.btf.count and self.btf.kind[type_id] in _NAMED

    def type_name(self, type_id: int, size: int = _SMALL) -> str:
        """``__tag__name`` of a type into a ``size``-byte buffer; 0 is void."""
        key = (type_id, size)
        found = self._names.get(key)
        if found is None:
            found = self._names[key] = _cut(self._type_name(type_id, size), size)
        return found

    def _type_name(self, type_id: int, size: int) -> str:
        if type_id == 0 or not self.known(type_id):
            return "void"
        btf = self.btf
        kind = btf.kind[type_id]
        target = btf.ref[type_id]
        if kind == _INT:
            (encoding,) = btf.words(type_id, 1)
            name = btf.type_name(type_id)
            return f"bool {name}" if (encoding >> 24) & INT_BOOL else name
        if kind == _FLOAT:  # base_type__name: BT_FP_SINGLE for every BTF float
            return f"single {btf.type_name(type_id)}"
        if kind == _PTR:
            return self._pointer(target)
        if kind in _QUALIFIER:
            if target and not self.known(target):
                return _missing(target)
            prefix, suffix = _QUALIFIER[kind]
            return f"{prefix}{self.type_name(target, _SMALL)}{suffix} "
        if kind == _ARRAY:
            (element,) = btf.words(type_id, 1)
            return self.type_name(element, size) if self.known(element) else _missing(element)
        if kind == _FUNC_PROTO:
            return f"{self.type_name(target)} ()" + self.parameters(type_id)
        if kind == _TYPE_TAG:  # __tag__name, DW_TAG_LLVM_annotation (dwarves 1.25+)
            if target and not self.known(target):
                return _missing(target)
            return self.type_name(target, size)
        if kind == _FWD:
            return ("union " if btf.kflag[type_id] else "struct ") + btf.type_name(type_id)
        return _TAGGED.get(kind, "") + btf.type_name(type_id)

    def _pointer(self, target: int) -> str:
        if target == 0:
            return "void *"
        if not self.known(target):
            return f"{_missing(target)} *"
        btf = self.btf
        const = ""
        if btf.kind[target] == _CONST:
            inner = btf.ref[target]
            if self.known(inner) and btf.kind[inner] == _PTR:
                const, target = "const ", inner
        return f"{self.type_name(target, _LARGE)} {const}*"

    def parameters(self, proto: int) -> str:
        """``ftype__fprintf_parms``: ``(int a, char * b, ...)``, ``(void)`` for none."""
        found = self._params.get(proto)
        if found is None:
            found = self._params[proto] = self._parameters(proto)
        return found

    def _parameters(self, proto: int) -> str:
        btf = self.btf
        cache = self._param
        words = btf.words(proto, 2 * btf.vlen[proto])
        parts: list[str] = []
        varargs = False
        for i in range(0, len(words), 2):
            name_off, type_id = words[i], words[i + 1]
            if type_id == 0:  # a trailing void parameter: "..." (btf.h, btf_param)
                varargs = True
                continue
            text = cache.get((type_id, name_off))
            if text is None:
                name = btf.name(name_off) if name_off else ""
                text = cache[type_id, name_off] = self.parameter(type_id, name)
            parts.append(text)
        if not parts:
            return "(void)"
        return "(" + ", ".join(parts) + (", ...)" if varargs else ")")

    def parameter(self, type_id: int, name: str) -> str:
        """One parameter (or a variable) of type ``type_id`` called ``name``."""
        if not self.known(type_id):
            text = _missing(type_id)
        else:
            btf = self.btf
            kind = btf.kind[type_id]
            if kind == _PTR and btf.ref[type_id]:
                target = btf.ref[type_id]
                if not self.known(target):
                    return _missing(target)
                if btf.kind[target] == _FUNC_PROTO:
                    return self._prototype(target, name, pointer=True)
            elif kind == _FUNC_PROTO:
                return "inline " + self._prototype(type_id, name, bare=True)
            text = self.type_name(type_id)
        return f"{text} {name}" if name else text

    def _prototype(
        self, proto: int, name: str, *, pointer: bool = False, bare: bool = False
    ) -> str:
        ret = self.type_name(self.btf.ref[proto])
        if bare:
            return f"{ret} {name}" + self.parameters(proto)
        return f"{ret} ({'*' if pointer else ''}{name})" + self.parameters(proto)

    def function(self, func: int) -> str:
        """A BTF_KIND_FUNC's prototype: ``int kobject_uevent(struct kobject * kobj, ...)``."""
        btf = self.btf
        proto = btf.ref[func]
        name = btf.type_name(func)
        if not (self.known(proto) and btf.kind[proto] == _FUNC_PROTO):
            return f"void {name}(void)"
        return f"{self.type_name(btf.ref[proto])} {name}" + self.parameters(proto)

    def functions(self, protos: npt.NDArray[np.int64], names: list[str]) -> list[str]:
        """:meth:`function` of many FUNCs, given each one's ``ref`` (its FUNC_PROTO) and
        name, in bulk: each distinct prototype is spelled once (:meth:`heads`), however many
        functions share it, and the declarations are assembled by one join and one split."""
        if not len(protos):
            return []
        unique, inverse = np.unique(protos, return_inverse=True)
        returns, lists = self.heads(unique)
        parts = np.empty((len(protos), 4), dtype=object)
        parts[:, 0] = returns[inverse.ravel()]
        parts[:, 1] = names
        parts[:, 2] = lists[inverse.ravel()]
        parts[:, 3] = "\0"  # never in a BTF string (NUL-terminated) nor in a declaration
        return "".join(parts.ravel().tolist()).split("\0")[:-1]

    def heads(
        self, protos: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.object_]]:
        """For ascending type ids meant as FUNC_PROTOs, what goes before and after a
        function's name: its return type and a blank, its parameter list; ``"void "`` and
        ``"(void)"`` for an id that is not a prototype (pfunct prints a function without one
        so).

        Every parameter record of every prototype is gathered with numpy
        (:meth:`Btf.records`), each distinct parameter type is spelled once
        (:meth:`_shape`), and the lists are cut from one joined string: 160 ms -> 40 ms for
        the 25,000 prototypes of a vmlinux, then 29 ms less than a join per list."""
        btf = self.btf
        returns = np.full(len(protos), "void ", dtype=object)
        lists = np.full(len(protos), "(void)", dtype=object)
        kinds = btf.column("kind", protos)
        mask = (kinds == _FUNC_PROTO) & (protos > 0) & (protos < btf.count)
        valid = protos[mask]
        if not len(valid):
            return returns, lists
        counts, records = btf.records(valid, 2)
        # 72,000 parameters of a vmlinux are 19,000 distinct (type, name) pairs: each pair
        # is spelled once.
        pairs, inverse = np.unique(
            records[:, 1].astype(np.int64) << 32 | records[:, 0], return_inverse=True
        )
        types = (pairs >> 32).tolist()
        distinct = np.unique(pairs >> 32)
        shapes: dict[int, tuple[str, str, str] | None] = {}
        shapes.update(self._common_shapes(distinct))
        for t in set(distinct.tolist()).difference(shapes):
            shapes[t] = self._shape(t)
        names = btf.names(pairs & 0xFFFFFFFF)
        spelled_pairs = np.array(
            [
                ("" if shape is None else shape[0] + name + shape[1] if name else shape[2])
                for shape, name in zip(map(shapes.__getitem__, types), names, strict=True)
            ],
            dtype=object,
        )
        # Each prototype's parameters, ", " between them and ")\0(" after its last, in one
        # string: split, each piece is one prototype's list without its outer parentheses.
        total = len(records)
        seq = np.empty(2 * total, dtype=object)
        seq[0::2] = spelled_pairs[inverse.ravel()]
        seq[1::2] = ", "
        has = counts > 0
        seq[2 * (np.cumsum(counts)[has] - 1) + 1] = ")\0("
        own_lists = lists[mask]
        if total:
            own_lists[has] = ("(" + "".join(seq.tolist())).split("\0")[:-1]
        # A void parameter means "..." (btf.h, struct btf_param): those few prototypes take
        # the one-by-one path, which places it.
        odd = np.isin(records[:, 1], [t for t, shape in shapes.items() if shape is None])
        if odd.any():
            owner = np.repeat(np.arange(len(valid)), counts)
            for k in np.unique(owner[odd]).tolist():
                own_lists[k] = self.parameters(int(valid[k]))
        lists[mask] = own_lists
        ret_ids = btf.column("ref", valid).tolist()
        spelled = {r: self.type_name(r) + " " for r in set(ret_ids)}
        returns[mask] = list(map(spelled.__getitem__, ret_ids))
        self._params.update(zip(valid.tolist(), own_lists.tolist(), strict=True))
        return returns, lists

    def _common_shapes(self, ids: npt.NDArray[np.int64]) -> dict[int, tuple[str, str, str]]:
        """:meth:`_shape` of the common parameter types, spelled in bulk: a struct, union,
        enum or typedef by name, and a pointer to one, plain or const. They are 89 % of the
        5,781 distinct parameter and return types of a vmlinux; one by one they cost 40 ms.
        Other ids are left out (the caller takes :meth:`_shape`'s path for them)."""
        btf = self.btf
        ids = ids[(ids > 0) & (ids < btf.count)]
        kind = btf.column("kind", ids)
        ref = btf.column("ref", ids).astype(np.int64)
        ref_kind = btf.column("kind", ref)
        ref_ref = btf.column("ref", ref).astype(np.int64)
        named = np.isin(kind, _PLAIN)
        to_named = (kind == _PTR) & (ref > 0) & np.isin(ref_kind, _PLAIN)
        to_const = (
            (kind == _PTR)
            & (ref > 0)
            & (ref_kind == _CONST)
            & (ref_ref > 0)
            & np.isin(btf.column("kind", ref_ref), _PLAIN)
        )
        target = np.where(named, ids, np.where(to_named, ref, ref_ref))
        chosen = named | to_named | to_const
        ids, target = ids[chosen], target[chosen]
        tags = btf.column("kind", target).tolist()
        names = btf.names(btf.column("name_off", target))
        how = np.where(named[chosen], 0, np.where(to_named[chosen], 1, 2)).tolist()
        out: dict[int, tuple[str, str, str]] = {}
        cache = self._names
        for type_id, tag, name, form in zip(ids.tolist(), tags, names, how, strict=True):
            text = _cut(_TAGGED.get(tag, "") + name, _SMALL)
            if form == 1:  # _pointer: the target's name into 1024 bytes, then " *"
                text = _cut(text + " *", _SMALL)
            elif form == 2:  # _pointer to a qualifier: "const " NAME " " into 1024, " *"
                text = _cut("const " + text + "  *", _SMALL)
            cache[type_id, _SMALL] = text
            out[type_id] = (text + " ", "", text)
        return out

    def _shape(self, type_id: int) -> tuple[str, str, str] | None:
        """How :meth:`parameter` spells a parameter of ``type_id``: (before the name, after
        it, without a name); None where the name would not be printed at all."""
        if type_id == 0:
            return None
        if not self.known(type_id):
            text = _missing(type_id)
            return text + " ", "", text
        btf = self.btf
        kind = btf.kind[type_id]
        if kind == _PTR and btf.ref[type_id]:
            target = btf.ref[type_id]
            if not self.known(target):
                return None
            if btf.kind[target] == _FUNC_PROTO:
                ret = self.type_name(btf.ref[target])
                params = self.parameters(target)
                return f"{ret} (*", ")" + params, f"{ret} (*)" + params
        elif kind == _FUNC_PROTO:
            head = f"inline {self.type_name(btf.ref[type_id])} "
            return head, self.parameters(type_id), head + self.parameters(type_id)
        text = self.type_name(type_id)
        return text + " ", "", text

    def variable(self, var: int) -> str:
        """A BTF_KIND_VAR as ``type name``, arrays with their bounds (``int x[4]``)."""
        btf = self.btf
        type_id = btf.ref[var]
        bounds = ""
        while self.known(type_id) and btf.kind[type_id] == _ARRAY:
            element, _index, count = btf.words(type_id, 3)
            bounds += f"[{count}]"
            type_id = element
        return self.parameter(type_id, btf.type_name(var)) + bounds
