"""Property-based fuzzing of the query language: queries generated from the grammar's pieces
(and raw text) either answer or raise QuerySyntaxError -- never another exception -- and no
query takes more than a second. ``KSQL_FUZZ_EXAMPLES`` sets the budget (default 3000 here;
CI runs the default)."""

from __future__ import annotations

import os
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ksql.catalog import Catalog
from ksql.errors import QuerySyntaxError
from ksql.query.compiler import compile_query
from ksql.query.fields import FIELDS, FLAGS
from ksql.testing import load
from tests.conftest import DATA

EXAMPLES = int(os.environ.get("KSQL_FUZZ_EXAMPLES", "3000"))
SLOW = 1.0  # seconds

NASTY = [
    "*", "?", "[a-z]", "[z-a]", "[!x]", "[", "]", "a{9999999999}", "(a+)+", "(?i)", "(?u)(?ai)",
    "\\", "\\A", "$", "^", "²", "٣", "-1", "0x", "0xffffffffffffffffff", "((((", "[[a]]",
    "(a|aa)+$", "\\n", "\x00", "é", "kern_path", "usb-storage", "module:kvm", "",
]  # fmt: skip
WORD_CHARS = "abcdefghijklmnopqrstuvwxyz_0123456789*?[]!-.:/"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


values = st.one_of(
    st.sampled_from(NASTY),
    st.text(alphabet=WORD_CHARS, min_size=1, max_size=12),
    st.text(max_size=12).map(_quoted),
    st.sampled_from(NASTY).map(_quoted),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)
fields = st.one_of(st.sampled_from(sorted(FIELDS)), st.sampled_from(["nmae", "x", "", "1"]))
ops = st.sampled_from(["=", "!=", "<", "<=", ">", ">=", "~", "==", "=~"])
atoms = st.one_of(
    st.sampled_from(sorted(FLAGS)),
    st.builds(lambda f, o, v: f"{f}{o}{v}", fields, ops, values),
    st.builds(lambda f, vs: f"{f} in ({', '.join(vs)})", fields, st.lists(values, max_size=5)),
    values,
)
exprs = st.recursive(
    atoms,
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"{a} and {b}", inner, inner),
        st.builds(lambda a, b: f"{a} or {b}", inner, inner),
        st.builds(lambda a: f"not {a}", inner),
        st.builds(lambda a: f"({a})", inner),
        st.builds(lambda a: f"({a}", inner),
    ),
    max_leaves=12,
)
tails = st.one_of(
    st.just(""),
    st.builds(lambda f, d: f" order by {f} {d}", fields, st.sampled_from(["", "asc", "desc"])),
    st.builds(lambda v: f" limit {v}", values),
)
queries = st.one_of(st.builds(lambda e, t: e + t, exprs, tails), st.text(max_size=40))


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return load(
        DATA / "System.map-6.1-excerpt",
        DATA / "Module.symvers-6.1-excerpt",
        DATA / "m1.ko",
        DATA / "m2.ko",
        DATA / "kallsyms-m2-excerpt.txt",
    )


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same examples every run: CI is reproducible
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(query=queries)
def test_any_query_answers_or_is_a_syntax_error(cat: Catalog, query: str) -> None:
    start = time.perf_counter()
    try:
        compile_query(query).rows(cat)
    except QuerySyntaxError as exc:
        assert exc.column >= 1 and str(exc)
    assert time.perf_counter() - start < SLOW, query
