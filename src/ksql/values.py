"""Immutable value classes: :func:`frozen` makes what ``@dataclass(frozen=True, slots=True)``
makes (``__slots__``, ``__init__`` with defaults and factories, ``__repr__``, ``__eq__``,
``__hash__``, ``__match_args__``, assignment refused, pickling), and :func:`field`,
:func:`fields` and :func:`replace` stand in for the ``dataclasses`` functions of those names.

Why not ``dataclasses`` itself: start-up. On this project's 2-core machine, importing
``dataclasses`` costs 18-24 ms (it pulls in ``inspect``, ``ast``, ``dis``, ``tokenize``), and each
frozen slotted class 1.1-1.3 ms to create (six ``exec`` calls, one ``inspect.signature`` for
the docstring, then the class made a second time for its slots). A warm ``ksql query``
created 28 of them (47 ms of its 344 ms) and a warm one-module ``ksql check`` 10 (with the
import, ~26 ms of 106 ms, against a 100 ms goal). :func:`frozen` compiles one source per
class: 0.15-0.25 ms. Type checkers see the classes as frozen dataclasses through
:func:`typing.dataclass_transform`.

Mutable accumulators (``@dataclass(slots=True)``) stay ``dataclasses``: they live off the
start-up paths.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from operator import attrgetter
from typing import Any, TypeVar, dataclass_transform

T = TypeVar("T")

__all__ = ["Field", "FrozenError", "field", "fields", "frozen", "replace"]


class FrozenError(AttributeError):
    """An assignment to (or deletion of) a field of a :func:`frozen` value."""


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class Field:
    """One field of a :func:`frozen` class, as :func:`fields` lists them."""

    __slots__ = ("compare", "default", "default_factory", "metadata", "name", "repr")

    def __init__(
        self,
        default: Any = MISSING,
        default_factory: Any = MISSING,
        compare: bool = True,
        repr: bool = True,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("a field cannot have both a default and a default_factory")
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.compare = compare
        self.repr = repr
        self.metadata: Mapping[str, Any] = metadata or {}

    def __repr__(self) -> str:
        return f"Field(name={self.name!r}, default={self.default!r})"


def field(
    *,
    default: Any = MISSING,
    default_factory: Callable[[], Any] | Any = MISSING,
    compare: bool = True,
    repr: bool = True,
    metadata: Mapping[str, Any] | None = None,
) -> Any:
    """A field's default, factory, comparison and metadata, as ``dataclasses.field``."""
    return Field(default, default_factory, compare, repr, metadata)


def _is_classvar(annotation: object) -> bool:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    return isinstance(text, str) and text.split("[", 1)[0].rsplit(".", 1)[-1] == "ClassVar"


def _collect(cls: type) -> list[Field]:
    if any(hasattr(base, "__value_fields__") for base in cls.__mro__[1:]):
        # Not needed so far; dataclasses' rules for it (field order, slots) are not copied.
        raise TypeError(f"{cls.__qualname__}: a frozen value class cannot extend another")
    out: list[Field] = []
    # inspect.get_annotations would import inspect, the cost this module avoids
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():  # noqa: RUF063
        if _is_classvar(annotation):
            continue
        given = cls.__dict__.get(name, MISSING)
        f = given if isinstance(given, Field) else Field(default=given)
        f.name = name
        out.append(f)
    seen = False
    for f in out:  # as Python's own signature rule, which dataclasses enforces too
        if f.default is not MISSING or f.default_factory is not MISSING:
            seen = True
        elif seen:
            raise TypeError(f"{cls.__qualname__}: non-default field {f.name!r} after a default")
    return out


def _init_source(all_fields: list[Field], post_init: bool) -> tuple[str, dict[str, Any]]:
    """``__init__``'s text and the globals it needs: the one method compiled per class, so
    that making a value costs what a dataclass's does (1.4 us for four fields, 1.6 us)."""
    env: dict[str, Any] = {"MISSING": MISSING, "_set": object.__setattr__}
    params, body = ["self"], []
    for i, f in enumerate(all_fields):
        n = f.name
        if f.default_factory is not MISSING:
            env[f"_f{i}"] = f.default_factory
            params.append(f"{n}=MISSING")
            body.append(f"    _set(self, {n!r}, _f{i}() if {n} is MISSING else {n})")
        elif f.default is not MISSING:
            env[f"_d{i}"] = f.default
            params.append(f"{n}=_d{i}")
            body.append(f"    _set(self, {n!r}, {n})")
        else:
            params.append(n)
            body.append(f"    _set(self, {n!r}, {n})")
    if post_init:
        body.append("    self.__post_init__()")
    return "\n".join([f"def __init__({', '.join(params)}):", *(body or ["    pass"])]), env


def _getter(names: tuple[str, ...]) -> Callable[[object], tuple[Any, ...]]:
    """The values of ``names`` as a tuple, for any number of names."""
    if not names:
        return lambda value: ()
    get = attrgetter(*names)
    if len(names) == 1:
        return lambda value: (get(value),)
    return get


def _methods(cls: type, own: list[Field]) -> dict[str, Any]:
    names = tuple(f.name for f in own)
    shown = tuple(f.name for f in own if f.repr)
    key = _getter(tuple(f.name for f in own if f.compare))
    state = _getter(names)

    def __repr__(self: object) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in shown)
        return f"{type(self).__qualname__}({inner})"

    def __eq__(self: object, other: object) -> bool:
        if other.__class__ is self.__class__:
            return key(self) == key(other)
        return NotImplemented

    def __hash__(self: object) -> int:
        return hash(key(self))

    def __reduce__(self: object) -> tuple[type, tuple[Any, ...]]:
        return (self.__class__, state(self))

    text, env = _init_source(own, "__post_init__" in cls.__dict__)
    exec(compile(text, f"<ksql.values {cls.__module__}.{cls.__qualname__}>", "exec"), env)
    made = {"__init__": env["__init__"], "__repr__": __repr__, "__eq__": __eq__}
    made |= {"__hash__": __hash__, "__reduce__": __reduce__}
    for name, method in made.items():
        method.__qualname__ = f"{cls.__qualname__}.{name}"
    return made


def _refuse_set(self: object, name: str, value: object) -> None:
    raise FrozenError(f"cannot assign to field {name!r}")


def _refuse_delete(self: object, name: str) -> None:
    raise FrozenError(f"cannot delete field {name!r}")


@dataclass_transform(frozen_default=True, field_specifiers=(field, Field))
def frozen(cls: type[T]) -> type[T]:
    """``cls`` remade as an immutable slotted value class (see the module's docstring).
    Methods the class defines itself are kept, as ``dataclasses`` keeps them."""
    own = _collect(cls)
    names = tuple(f.name for f in own)
    namespace = {k: v for k, v in cls.__dict__.items() if k not in names}
    for key in ("__dict__", "__weakref__"):
        namespace.pop(key, None)
    if namespace.get("__hash__", MISSING) is None and "__eq__" in namespace:
        del namespace["__hash__"]  # Python's None for a class defining __eq__: not a choice
    for name, method in _methods(cls, own).items():
        namespace.setdefault(name, method)
    namespace |= {"__setattr__": _refuse_set, "__delattr__": _refuse_delete}
    namespace |= {"__slots__": names, "__match_args__": names, "__value_fields__": own}
    meta: Any = type(cls)  # a metaclass the class chose is kept
    made: type[T] = meta(cls.__name__, cls.__bases__, namespace)
    made.__qualname__ = cls.__qualname__
    return made


def fields(value: object) -> tuple[Field, ...]:
    """The fields of a :func:`frozen` class or value, in declaration order."""
    found = getattr(value, "__value_fields__", None)
    if found is None:
        raise TypeError(f"{value!r} is not a frozen value class or value")
    return tuple(found)


def replace(value: T, **changes: Any) -> T:
    """A copy of ``value`` with ``changes`` made, as ``dataclasses.replace``."""
    for f in fields(value):
        if f.name not in changes:
            changes[f.name] = getattr(value, f.name)
    return type(value)(**changes)
