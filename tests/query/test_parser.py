"""Parsing: the AST with positions, and syntax errors at exact columns."""

from __future__ import annotations

import pytest

from ksql.errors import QuerySyntaxError
from ksql.query import ast
from ksql.query.parser import parse


def S(a: int, b: int) -> ast.Span:
    return ast.Span(a, b)


def test_precedence_and_positions() -> None:
    q = parse("exported and module=m2 or not type=D")
    assert q.where == ast.Or(
        ast.And(
            ast.Flag("exported", S(1, 9)),
            ast.Compare("module", S(14, 20), "=", ast.Value("m2", False, S(21, 23)), S(14, 23)),
            S(1, 23),
        ),
        ast.Not(
            ast.Compare("type", S(31, 35), "=", ast.Value("D", False, S(36, 37)), S(31, 37)),
            S(27, 37),
        ),
        S(1, 37),
    )


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("kmalloc*", ast.NameMatch(ast.Value("kmalloc*", False, S(1, 9)))),
        ("EXPORTED", ast.Flag("exported", S(1, 9))),
        ('"exported"', ast.NameMatch(ast.Value("exported", True, S(1, 11)))),
        ("android", ast.NameMatch(ast.Value("android", False, S(1, 8)))),
        ("Order_key", ast.NameMatch(ast.Value("Order_key", False, S(1, 10)))),
        # After an operator only a value can come: a keyword's spelling is a value there.
        ("name=or", ast.Compare("name", S(1, 5), "=", ast.Value("or", False, S(6, 8)), S(1, 8))),
        (
            'name = "a \\"b\\""',
            ast.Compare("name", S(1, 5), "=", ast.Value('a "b"', True, S(8, 17)), S(1, 17)),
        ),
        (
            "type IN (T, 't')",
            ast.Member(
                "type",
                S(1, 5),
                (ast.Value("T", False, S(10, 11)), ast.Value("t", True, S(13, 16))),
                S(1, 17),
            ),
        ),
    ],
)
def test_atoms(text: str, where: ast.Expr) -> None:
    assert parse(text).where == where


def test_keywords_any_case_and_clauses() -> None:
    q = parse("gpl AND Not weak ORDER BY addr DESC, name LIMIT 5")
    assert isinstance(q.where, ast.And)
    assert q.order == (
        ast.OrderKey("addr", True, S(27, 36)),
        ast.OrderKey("name", False, S(38, 42)),
    )
    assert q.limit == 5
    assert parse("").where is None
    assert parse("limit 3") == ast.Query("limit 3", None, (), 3)


@pytest.mark.parametrize(
    ("text", "column", "message"),
    [
        ("exported and module=", 21, "unexpected end of query; expected a word or a quoted string"),
        ("(exported", 10, "unexpected end of query; expected ')'"),
        ("name=(x", 6, "unexpected '('; expected a word or a quoted string"),
        ("x in ()", 7, "unexpected ')'; expected a word or a quoted string"),
        (
            "exported and",
            13,
            "unexpected end of query; expected a word, a quoted string, 'not' or '('",
        ),
        ('name="abc', 6, "unterminated quoted string"),
        (
            "!x",
            1,
            "unexpected character '!'; expected a word, a quoted string, 'not', 'order by', "
            "'limit' or '('",
        ),
        ("limit x", 7, "limit takes a whole number, not 'x'"),
        (
            "exported android",  # one word, not "and" + "roid"
            10,
            "unexpected 'android'; expected an operator (= != < <= > >= ~), 'and', 'or', 'in', "
            "'order by', 'limit' or end of query",
        ),
        (
            "order by addr x",
            15,
            "unexpected 'x'; expected 'asc', 'desc', 'limit', ',' or end of query",
        ),
        ("a\nb", 2, "a query is one line"),
    ],
)
def test_syntax_errors(text: str, column: int, message: str) -> None:
    with pytest.raises(QuerySyntaxError) as err:
        parse(text)
    assert (err.value.column, err.value.message) == (column, message)


def test_error_text_has_caret_under_column() -> None:
    with pytest.raises(QuerySyntaxError) as err:
        parse("exported and module=")
    assert str(err.value) == (
        "unexpected end of query; expected a word or a quoted string (column 21)\n"
        "  exported and module=\n"
        "                      ^"
    )
    assert err.value.expected == ("a word", "a quoted string")
