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
        functions share it."""
        heads = self.heads(np.unique(protos))
        return [
            head[0] + name + head[1]
            for head, name in zip(map(heads.__getitem__, protos.tolist()), names, strict=True)
        ]

    def heads(self, protos: npt.NDArray[np.int64]) -> dict[int, tuple[str, str]]:
        """For ascending type ids meant as FUNC_PROTOs: (return type and a blank, parameter
        list), what goes before and after a function's name; ``("void ", "(void)")`` for an
        id that is not a prototype (pfunct prints a function without one so).

        Every parameter record of every prototype is gathered with numpy
        (:meth:`Btf.records`), each distinct parameter type is spelled once
        (:meth:`_shape`), and a parameter is then one concatenation: 160 ms -> 40 ms for
        the 25,000 prototypes of a vmlinux."""
        btf = self.btf
        out = dict.fromkeys(protos.tolist(), ("void ", "(void)"))
        kinds = btf.column("kind", protos)
        valid = protos[(kinds == _FUNC_PROTO) & (protos > 0) & (protos < btf.count)]
        if not len(valid):
            return out
        counts, records = btf.records(valid, 2)
        # 72,000 parameters of a vmlinux are 19,000 distinct (type, name) pairs: each pair
        # is spelled once.
        pairs, inverse = np.unique(
            records[:, 1].astype(np.int64) << 32 | records[:, 0], return_inverse=True
        )
        types = (pairs >> 32).tolist()
        shapes = {t: self._shape(t) for t in set(types)}
        names = btf.names(pairs & 0xFFFFFFFF)
        spelled_pairs = [
            ("" if shape is None else shape[0] + name + shape[1] if name else shape[2])
            for shape, name in zip(map(shapes.__getitem__, types), names, strict=True)
        ]
        texts = list(map(spelled_pairs.__getitem__, inverse.ravel().tolist()))
        stops = np.cumsum(counts)
        bounds = zip((stops - counts).tolist(), stops.tolist(), strict=True)
        lists = ["(" + ", ".join(texts[a:b]) + ")" if a < b else "(void)" for a, b in bounds]
        # A void parameter means "..." (btf.h, struct btf_param): those few prototypes take
        # the one-by-one path, which places it.
        odd = np.isin(records[:, 1], [t for t, shape in shapes.items() if shape is None])
        if odd.any():
            owner = np.repeat(np.arange(len(valid)), counts)
            for k in np.unique(owner[odd]).tolist():
                lists[k] = self.parameters(int(valid[k]))
        returns = btf.column("ref", valid).tolist()
        spelled = {r: self.type_name(r) + " " for r in set(returns)}
        ids = valid.tolist()
        self._params.update(zip(ids, lists, strict=True))
        out.update(
            zip(ids, zip(map(spelled.__getitem__, returns), lists, strict=True), strict=True)
        )
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
