"""A query language that does not guess silently: keywords are never bare names, a bare word
that names nothing but looks like a flag is a typo, and case mistakes in case-sensitive
kernel names get a did-you-mean -- each an error at its column."""

from __future__ import annotations

import pytest

from ksql.catalog import Catalog
from ksql.errors import QuerySyntaxError
from ksql.query.compiler import compile_query
from ksql.testing import load, names
from tests.conftest import DATA


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return load(DATA / "System.map-6.1-excerpt", DATA / "Module.symvers-6.1-excerpt")


@pytest.mark.parametrize(
    ("query", "column", "message"),
    [
        ("exported and and", 14, "'and' is a keyword here, not a name; to match a symbol of "
         "that name, quote it: name=\"and\""),
        ("or or or", 1, "'or' is a keyword here, not a name; to match a symbol of that name, "
         "quote it: name=\"or\""),
        ("exported and limit", 14, "'limit' is a keyword here, not a name; to match a symbol of "
         "that name, quote it: name=\"limit\""),
        ("exported and not gpl_only", 18, "no symbol is named 'gpl_only' and it is no flag; did "
         "you mean 'gpl'? (quote it to look for the name: name=\"gpl_only\")"),
        ("expoted", 1, "no symbol is named 'expoted' and it is no flag; did you mean 'exported'? "
         "(quote it to look for the name: name=\"expoted\")"),
        ("exported and declared_at", 14, "no symbol is named 'declared_at' and it is no flag; "
         "'declared_at' is a field: compare it (declared_at=* for any value) (quote it to look "
         "for the name: name=\"declared_at\")"),
        ("size", 1, "no symbol is named 'size' and it is no flag; 'size' is a field: compare it "
         "(e.g. size>0) (quote it to look for the name: name=\"size\")"),
        ("namespace=dma_buf", 11, "no namespace 'dma_buf'; did you mean 'DMA_BUF'? (namespaces "
         "are case-sensitive)"),
        ("module=USB_storage", 8, "no module 'USB_storage'; did you mean 'usb_storage'? (modules "
         "are case-sensitive)"),
    ],
)  # fmt: skip
def test_guesses_are_errors(cat: Catalog, query: str, column: int, message: str) -> None:
    with pytest.raises(QuerySyntaxError) as err:
        compile_query(query).rows(cat)
    assert (err.value.message, err.value.column) == (message, column)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('name="and"', []),  # quoted: a name, found or not
        ("no_such_symbol_anywhere", []),  # not close to any flag: an empty answer, exit 1
        ("namespace=DMA_BUF", ["dma_buf_export"]),
        ('namespace="dma_buf"', []),  # quoted: literal, no guessing either way
        ("kern_path and exported", ["kern_path"]),
    ],
)
def test_what_is_not_a_guess_still_answers(cat: Catalog, query: str, expected: list[str]) -> None:
    assert names(cat, query) == expected
