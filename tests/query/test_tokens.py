"""Highlighting classes from the grammar's terminals."""

from __future__ import annotations

import pytest

from ksql.query.tokens import tokens


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "exported AND module=m2",
            [("flag", "exported"), ("text", " "), ("keyword", "AND"), ("text", " "),
             ("field", "module"), ("operator", "="), ("name", "m2")],
        ),
        (
            'type in (T, "t") limit 0x10',
            [("field", "type"), ("text", " "), ("keyword", "in"), ("text", " "),
             ("punctuation", "("), ("name", "T"), ("punctuation", ","), ("text", " "),
             ("string", '"t"'), ("punctuation", ")"), ("text", " "), ("keyword", "limit"),
             ("text", " "), ("number", "0x10")],
        ),
        ('name="open', [("field", "name"), ("operator", "="), ("error", '"open')]),
        ("", []),
    ],
)  # fmt: skip
def test_tokens(text: str, expected: list[tuple[str, str]]) -> None:
    got = tokens(text)
    assert got == expected
    assert "".join(t for _, t in got) == text
