"""``ksql.values.frozen`` behaves as ``@dataclass(frozen=True, slots=True)`` for everything
the project uses: construction, defaults and factories, equality, hashing, repr, refusal to
change, pickling, ``replace`` and ``fields``."""

from __future__ import annotations

import dataclasses
import pickle
from typing import Any, ClassVar  # noqa: F401 - dataclasses resolves "ClassVar[int]" here

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ksql import values
from ksql.values import FrozenError, field, frozen


def _pair(with_factory: bool) -> tuple[Any, Any]:
    """The same class made by dataclasses and by ``frozen``."""

    def body() -> dict[str, Any]:
        ns: dict[str, Any] = {
            "__annotations__": {"a": "int", "b": "str", "K": "ClassVar[int]", "c": "int"},
            "K": 7,
            "c": 3,
        }
        if with_factory:
            ns["__annotations__"]["d"] = "tuple[int, ...]"
            ns["d"] = dataclasses.field(default_factory=tuple)
        return ns

    theirs = dataclasses.dataclass(frozen=True, slots=True)(type("V", (), body()))
    ours_ns = body()
    if with_factory:
        ours_ns["d"] = field(default_factory=tuple)
    ours = frozen(type("V", (), ours_ns))
    return theirs, ours


@given(
    a=st.integers(),
    b=st.text(max_size=5),
    c=st.integers(),
    a2=st.integers(),
    b2=st.text(max_size=5),
    factory=st.booleans(),
)
def test_same_behaviour_as_dataclasses(
    a: int, b: str, c: int, a2: int, b2: str, factory: bool
) -> None:
    theirs, ours = _pair(factory)
    x, y = ours(a, b, c), ours(a2, b2)
    tx, ty = theirs(a, b, c), theirs(a2, b2)
    assert repr(x) == repr(tx) and repr(y) == repr(ty)
    assert (x == y) == (tx == ty)
    assert (x == ours(a, b, c)) and hash(x) == hash(ours(a, b, c))
    assert x != tx  # another class: not equal, as between two dataclasses
    assert ours.__slots__ == theirs.__slots__ and ours.__match_args__ == theirs.__match_args__
    assert ours.K == 7 and y.c == 3
    assert [f.name for f in values.fields(ours)] == [f.name for f in dataclasses.fields(theirs)]
    assert values.replace(x, b="z") == ours(a, "z", c)
    assert values.replace(x, b="z") == values.replace(x, b="z")


@frozen
class _Pickled:
    name: str
    items: tuple[int, ...] = field(default_factory=tuple)


def test_pickles_through_init() -> None:
    value = _Pickled("a", (1, 2))
    assert pickle.loads(pickle.dumps(value)) == value
    assert pickle.loads(pickle.dumps(_Pickled("b"))).items == ()


def test_refuses_change_and_new_attributes() -> None:
    @frozen
    class P:
        x: int

    p = P(1)
    with pytest.raises(FrozenError, match="'x'"):
        p.x = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        p.y = 2  # type: ignore[attr-defined]
    with pytest.raises(FrozenError):
        del p.x  # type: ignore[misc]
    assert not hasattr(p, "__dict__")


def test_factories_are_called_per_value_and_post_init_runs() -> None:
    seen: list[int] = []

    @frozen
    class Q:
        x: int
        items: list[int] = field(default_factory=list, compare=False)
        note: str = field(default="", compare=False, repr=False)

        def __post_init__(self) -> None:
            seen.append(self.x)

    a, b = Q(1), Q(2, note="n")
    assert a.items is not b.items
    assert seen == [1, 2]
    assert Q(1, note="a") == Q(1, note="b")  # compare=False
    assert hash(Q(1, note="a")) == hash(Q(1, note="b"))
    assert (
        repr(Q(1))
        == "test_factories_are_called_per_value_and_post_init_runs.<locals>.Q(x=1, items=[])"
    )


def test_own_methods_are_kept_and_metadata_is_listed() -> None:
    @frozen
    class R:
        x: int = field(default=0, metadata={"k": "v"})

        def __repr__(self) -> str:
            return "mine"

    assert repr(R()) == "mine"
    assert values.fields(R)[0].metadata == {"k": "v"} and values.fields(R())[0].default == 0


def test_class_defining_eq_stays_hashable_as_with_dataclasses() -> None:
    @frozen
    class S:
        x: int

        def __eq__(self, other: object) -> bool:
            return isinstance(other, S) and other.x % 2 == self.x % 2

    assert S(1) == S(3) and isinstance(hash(S(1)), int)


def test_default_before_non_default_is_refused() -> None:
    with pytest.raises(TypeError, match="non-default field 'b'"):

        @frozen
        class Bad:
            a: int = 0
            b: int  # type: ignore[misc]


def test_fields_of_something_else() -> None:
    with pytest.raises(TypeError, match="not a frozen value"):
        values.fields(object())


def test_extending_a_value_class_is_refused() -> None:
    @frozen
    class Base:
        x: int

    with pytest.raises(TypeError, match="cannot extend another"):

        @frozen
        class Derived(Base):
            y: int
