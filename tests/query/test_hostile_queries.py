"""Hostile queries: every bad one is a QuerySyntaxError with a column, every good one answers
fast -- no internal error, no hang (the audit's reproducers, one per line)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ksql.catalog import Catalog
from ksql.errors import QuerySyntaxError
from ksql.query.compiler import compile_query
from ksql.testing import load
from tests.conftest import DATA

DEEP = "(" * 500 + "x" + ")" * 500


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return load(DATA / "System.map-6.1-excerpt", DATA / "Module.symvers-6.1-excerpt")


@pytest.mark.parametrize(
    ("query", "column", "message"),
    [
        ("type=[z-a]", 6, "bad glob: [z-a]: bad character range z-a"),
        ("name=[z-a]x", 6, "bad glob: [z-a]: bad character range z-a"),
        ("module=[b-a]*", 8, "bad glob: [b-a]: bad character range b-a"),
        ('name~"a{9999999999}"', 9, "bad regular expression: repeat count too big"),
        (
            'name~"(?u)(?ai)x"',
            7,
            "bad regular expression: ASCII, LOCALE and UNICODE flags are mutually incompatible",
        ),
        (f'name~"{DEEP}"', 7, "regular expression of 1001 characters; at most 1000"),
        (DEEP, 65, "parentheses nested more than 64 deep"),
        ("limit ²", 7, "limit takes a whole number, not '²'"),
        ("limit ٣", 7, "limit takes a whole number, not '٣'"),
        ("exported order by author", 19, "cannot order by author, a .modinfo key of the row's "
         "module; order by one of: name, module, addr, type, size, section, bind, kind, export, "
         "namespace, crc, bits, decl, exported_at, defined_at, declared_at, source"),
        ("*" * 20000, 1, "a query of 20,000 characters; at most 16,384"),
        (f"name={'*a' * 600}", 6, "bad glob: 1200 characters; at most 1000"),
        (
            "name in (" + ",".join("x" * 4097) + ")",
            1,
            "4,097 values in a list; at most 4,096",
        ),
    ],
)  # fmt: skip
def test_bad_queries_are_syntax_errors_at_their_column(
    cat: Catalog, query: str, column: int, message: str
) -> None:
    with pytest.raises(QuerySyntaxError) as err:
        compile_query(query).rows(cat)
    assert (err.value.message, err.value.column) == (message, column)


@pytest.mark.parametrize(
    ("query", "count"),
    [
        ('name~"([a-z_0-9]+)+!"', 0),
        ('name~"[[a]]"', 0),  # a nested set: no FutureWarning escapes
        (" and ".join(["defined"] * 1300), 25),  # a long chain: no RecursionError
        ("not " * 3001 + "defined", 0),
        ("(" * 64 + "exported" + ")" * 64, 7),
        ("name in (" + ",".join(f"x{i}" for i in range(2000)) + ",kern_path)", 2),
        ('name~"\\\\Akern_path\\\\Z"', 2),  # \A, \Z: the name's start and end
        ('name~"(?i)KERN_PATH$"', 3),
        ('name~"kern\\\\spath"', 0),  # \s could cross from one name into the next: it does not
        (f"name={'*a' * 20}*b", 0),
    ],
)
def test_hostile_but_valid_queries_answer_fast(cat: Catalog, query: str, count: int) -> None:
    start = time.perf_counter()
    assert len(compile_query(query).rows(cat)) == count
    assert time.perf_counter() - start < 2


def test_a_backtracking_regex_gives_up_within_its_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KSQL_REGEX_TIMEOUT", "0.2")
    kallsyms = tmp_path / "kallsyms"
    kallsyms.write_text("".join(f"{i:016x} T {'a' * 40}{i}!\n" for i in range(1, 50)))
    catalog = load(kallsyms)
    start = time.perf_counter()
    with pytest.raises(QuerySyntaxError) as err:
        compile_query('exported or name~"(a|aa)+$"').rows(catalog)
    assert time.perf_counter() - start < 2
    assert err.value.column == 19
    assert err.value.message.startswith("regular expression gave up after 0.2 s")


def test_regex_on_names_equals_searching_each_name(cat: Catalog) -> None:
    import re

    names = cat.columns().name.tolist()
    for pattern in ["^dma_", "read$", "_", "^$", "k.*p", "[^_]{12,}", "\\bpath", "(?i)USER"]:
        expected = [i for i, n in enumerate(names) if re.search(pattern, n)]
        quoted = '"' + pattern.replace("\\", "\\\\") + '"'
        got = compile_query(f"name~{quoted}").rows(cat).tolist()
        assert got == expected, pattern


@pytest.mark.parametrize("query", ["*", "name=*", "name~x", "exported order by name", "a*"])
@pytest.mark.parametrize("fmt", ["table", "json", "csv", "nm", "names", "count"])
def test_an_empty_catalog_answers_nothing_in_every_format(query: str, fmt: str) -> None:
    import io

    from ksql.render import RENDERERS

    empty = Catalog()
    rows = compile_query(query).rows(empty)
    assert len(rows) == 0
    out = io.StringIO()
    RENDERERS[fmt](empty, rows, out)
    assert out.getvalue() in (
        "",
        "0\n",
        "[]\n",
        "addr  type  name  module  export  namespace  crc\n",
    ) or (fmt == "csv" and out.getvalue().count("\n") == 1)
