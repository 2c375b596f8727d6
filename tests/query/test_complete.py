"""What the query completer offers at a cursor (the REPL's Tab): the grammar's lookahead
mapped to keywords, fields, flags, operators and catalog values."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ksql.catalog import Catalog
from ksql.query.complete import complete
from ksql.query.fields import FIELDS as _FIELDS
from tests.conftest import DATA

Load = Callable[..., Catalog]
FIELDS = list(_FIELDS)


@pytest.fixture(scope="module")
def cat() -> Catalog:
    from ksql.loading import load_catalog
    from ksql.pluginmanager import load_plugins

    c = load_catalog(
        [str(DATA / "System.map-6.1-excerpt"), str(DATA / "Module.symvers-6.1-excerpt"),
         str(DATA / "m2.ko")], load_plugins())  # fmt: skip
    c.name_order()
    return c


@pytest.mark.parametrize(
    ("text", "start", "offered"),
    [
        ("names", 0, ["namespace"]),
        ("exported and mod", 13, ["module"]),
        ("module=", 7, ["m2", "usb_storage", "vmlinux"]),
        ("module=u", 7, ["usb_storage"]),
        ("type=", 5, None),
        ("name=ker", 5, ["kern_path"]),
        ("kern", 0, ["kern_path"]),
        ("exported ", 9, ["and", "or", "order by", "limit"]),
        ("addr ", 5, ["=", "!=", "<", "<=", ">", ">=", "in"]),
        ("name ", 5, ["=", "!=", "~", "in"]),
        ("name in (ker", 9, ["kern_path"]),
        ("name in (a, ", 12, []),
        ("exported order ", 15, ["by"]),
        ("exported order by ad", 18, ["addr"]),
        ("exported order by addr ", 23, ["asc", "desc", "limit"]),
        ("namespace=", 10, ["DMA_BUF", "USB_STORAGE"]),
        ("export=EXPORT_SYMBOL_G", 7, ["EXPORT_SYMBOL_GPL", "EXPORT_SYMBOL_GPL_FUTURE"]),
        ("license=", 8, ['"Dual BSD/GPL"']),
        ('license="Du', 8, ['"Dual BSD/GPL"']),
        ("bind=", 5, ["unknown", "global", "local", "weak", "unique"]),
        ('name="abc', 5, []),
        ("exported limit ", 15, []),
        ("not (exp", 5, ["export", "exported_at", "exported"]),
        # Where the grammar, not a guess, decides what may follow:
        ("(exported ", 10, ["and", "or", ")"]),  # no "order by" inside a group
        ("name in ", 8, ["("]),
        ("kmalloc ", 8, ["and", "or", "order by", "limit"]),  # not a field: no operators
        ("exported an", 9, ["and"]),
        ("ORD", 0, ["order by"]),
        ("exported order by addr, ", 24, None),
        ("name in (a ", 11, [")"]),
        ("module in (m2, u", 15, ["usb_storage"]),
        ('name="ker', 5, ["kern_path"]),
        ("name=or", 5, []),  # a value, though "or" is a keyword elsewhere
        ('"ker', 0, []),
        ("limit 3 ", 8, []),
        ("x !", 3, []),
    ],
)
def test_offers(cat: Catalog, text: str, start: int, offered: list[str] | None) -> None:
    got = complete(text, len(text), cat)
    assert got.start == start
    if offered is None:
        first = {"type=": ["A", "a", "B", "b"], "exported order by addr, ": FIELDS[:4]}[text]
        assert [c.text for c in got.candidates][:4] == first
    else:
        assert [c.text for c in got.candidates] == offered


def test_start_offers_fields_flags_and_names(cat: Catalog) -> None:
    got = complete("", 0, cat)
    kinds = {c.kind for c in got.candidates}
    assert kinds == {"keyword", "punctuation", "field", "flag"}  # no names without a prefix
    assert [c.text for c in got.candidates][:4] == ["not", "order by", "limit", "("]
    got = complete("rday", 4, cat)
    assert [(c.text, c.kind) for c in got.candidates] == [("rday_2", "name"), ("rday_3", "name")]


def test_cursor_in_the_middle(cat: Catalog) -> None:
    text = "modu=m2 and exported"
    got = complete(text, 4, cat)
    assert (got.start, [c.text for c in got.candidates]) == (0, ["module"])
