"""Parser: precedence, fields, tokenization of operands, errors with positions, guard limits."""

from __future__ import annotations

import pytest

from services.search.query import (
    And,
    Filter,
    InTitle,
    Near,
    Not,
    Or,
    Phrase,
    Prefix,
    QueryLimits,
    QuerySyntaxError,
    Term,
    parse,
    render,
)

a, b, c, d = Term("a"), Term("b"), Term("c"), Term("d")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("a", a),
        ("a b", And((a, b))),
        ("a AND b", And((a, b))),
        ("a OR b", Or((a, b))),
        ("a OR b c", Or((a, And((b, c))))),
        ("a b OR c", Or((And((a, b)), c))),
        ("a OR b AND c OR d", Or((a, And((b, c)), d))),
        ("(a OR b) c", And((Or((a, b)), c))),
        ("NOT a b", And((Not(a), b))),
        ("NOT a OR b", Or((Not(a), b))),
        ("NOT (a OR b)", Not(Or((a, b)))),
        ("a NOT b", And((a, Not(b)))),
        ("a -b", And((a, Not(b)))),
        ("-a", Not(a)),
        ("NOT NOT a", Not(Not(a))),
        ("-(a b)", Not(And((a, b)))),
        ("((a))", a),
        ("a (b c) d", And((a, b, c, d))),
        ("a OR (b OR c)", Or((a, b, c))),
        ("a and b or not c", And((a, Term("and"), b, Term("or"), Term("not"), c))),
    ],
)
def test_precedence(query: str, expected: object) -> None:
    assert parse(query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Blora", Term("blora")),
        ('"Wakil  Bupati"', Phrase(("wakil", "bupati"))),
        ('"blora"', Term("blora")),
        ("e-KTP", Phrase(("e", "ktp"))),
        ("4,42", Term("4,42")),
        ("jum'at", Term("jum'at")),
        ("Pelayan*", Prefix("pelayan")),
        ("4,4*", Prefix("4,4")),
        ('"pelayan*"', Term("pelayan")),
        ("title:hoaks", InTitle(Term("hoaks"))),
        ('title:"wakil bupati"', InTitle(Phrase(("wakil", "bupati")))),
        ("title:pelay*", InTitle(Prefix("pelay"))),
        ("title:(a OR b)", InTitle(Or((a, b)))),
        ("TITLE:a", InTitle(a)),
        ("source:klikjateng.com", Filter("source", "klikjateng.com")),
        ('source:"Radar Kudus"', Filter("source", "Radar Kudus")),
        ("lang:id", Filter("lang", "id")),
        ('entity:"Pemerintah Kabupaten Blora"', Filter("entity", "Pemerintah Kabupaten Blora")),
        ("region:3316", Filter("region", "3316")),
        ('region:"Jawa Tengah"', Filter("region", "Jawa Tengah")),
        ("(lang:id)", Filter("lang", "id")),
        ("a NEAR/3 b", Near(a, b, 3, ordered=False)),
        ("a ONEAR/0 b", Near(a, b, 0, ordered=True)),
        (
            'pelayan* NEAR/5 "wakil bupati"',
            Near(Prefix("pelayan"), Phrase(("wakil", "bupati")), 5, ordered=False),
        ),
        ("a NEAR/2 b c", And((Near(a, b, 2, ordered=False), c))),
        ("NOT a NEAR/2 b", Not(Near(a, b, 2, ordered=False))),
        ("title:(a NEAR/2 b)", InTitle(Near(a, b, 2, ordered=False))),
        ("near/2", Phrase(("near", "2"))),
    ],
)
def test_operands_and_fields(query: str, expected: object) -> None:
    assert parse(query) == expected


def test_issue_example() -> None:
    query = 'entity:"Pemerintah Kabupaten Blora" AND (penghargaan OR prestasi) NOT title:hoaks'
    assert parse(query) == And(
        (
            Filter("entity", "Pemerintah Kabupaten Blora"),
            Or((Term("penghargaan"), Term("prestasi"))),
            Not(InTitle(Term("hoaks"))),
        )
    )


def test_positions_are_recorded() -> None:
    tree = parse('blora  "wakil bupati" -x')
    assert isinstance(tree, And)
    assert [child.position for child in tree.children] == [0, 7, 22]


@pytest.mark.parametrize(
    ("query", "message", "position"),
    [
        ("", "empty query", 0),
        ("   ", "empty query", 0),
        ("(a OR b", "unbalanced '('", 0),
        ("a (b (c) d", "unbalanced '('", 2),
        ("a OR b)", "unbalanced ')'", 6),
        (")", "unbalanced ')'", 0),
        ('a "wakil bupati', "unbalanced quote", 2),
        ('source:"Radar', "unbalanced quote", 7),
        ("a AND", "AND is missing its right operand", 2),
        ("AND a", "AND is missing its left operand", 0),
        ("a OR", "OR is missing its right operand", 2),
        ("a OR OR b", "OR is missing its right operand", 2),
        ("(OR a)", "OR is missing its left operand", 1),
        ("a AND )", "AND is missing its right operand", 2),
        ("a NOT", "NOT is missing its operand", 2),
        ("a -", "- is missing its operand", 2),
        ("a - b", "- is missing its operand", 2),
        ("()", "empty parentheses", 0),
        ("pe*", "a wildcard needs at least 3 characters before *", 0),
        ("a *", "a wildcard needs at least 3 characters before *", 2),
        ("blora pel*an", "only a trailing * wildcard is supported", 9),
        ("e-kt*", "a wildcard must follow a single word", 0),
        ("a foo:bar", "unknown field 'foo'", 2),
        ("http://example.com", "unknown field 'http'", 0),
        ("source:", "source: needs a value", 0),
        ('lang:""', "lang: needs a value", 0),
        ("title: x", "title: must be followed directly", 0),
        ("title:-x", "title: must be followed directly", 0),
        ("a NEAR b", "NEAR needs a distance", 2),
        ("a ONEAR/x b", "ONEAR needs a distance", 2),
        ("NEAR/2 b", "NEAR/2 works between two words", 0),
        ("a NEAR/2", "NEAR/2 needs a word, phrase or wildcard on its right", 2),
        ("a NEAR/2 (b)", "NEAR/2 needs a word, phrase or wildcard on its right", 2),
        ("(a) NEAR/2 b", "NEAR/2 works between two words", 4),
        ("a NEAR/2 b NEAR/2 c", "NEAR cannot be chained", 11),
        ("title:a NEAR/2 b", "NEAR cannot follow a title: term", 8),
        ("a NEAR/101 b", "NEAR distance must be at most 100", 2),
        ("blora &&", "'&&' contains no searchable word", 6),
        ('a "!!"', "phrase contains no searchable word", 2),
    ],
)
def test_errors_have_message_and_position(query: str, message: str, position: int) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse(query)
    assert caught.value.message.startswith(message)
    assert caught.value.position == position
    assert f"position {position}" in str(caught.value)


def test_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse("(")


@pytest.mark.parametrize(
    ("query", "limits", "message", "position"),
    [
        ("a" * 11, QueryLimits(max_length=10), "query is longer than 10 characters", 10),
        ("a b c d", QueryLimits(max_clauses=3), "query has more than 3 terms", 6),
        ("a NEAR/1 b c", QueryLimits(max_clauses=2), "query has more than 2 terms", 11),
        ("abc* abd* a", QueryLimits(max_wildcards=1), "query has more than 1 wildcards", 5),
        ("((((a))))", QueryLimits(max_depth=3), "query nests deeper than 3 levels", 3),
        ("NOT NOT NOT a", QueryLimits(max_depth=2), "query nests deeper than 2 levels", 8),
        ("ab*", QueryLimits(min_wildcard_prefix=2), None, None),
    ],
)
def test_limits(query: str, limits: QueryLimits, message: str | None, position: int | None) -> None:
    if message is None:
        parse(query, limits=limits)
        return
    with pytest.raises(QuerySyntaxError) as caught:
        parse(query, limits=limits)
    assert caught.value.message.startswith(message)
    assert caught.value.position == position


def test_default_limits_reject_huge_queries_quickly() -> None:
    with pytest.raises(QuerySyntaxError, match="longer than"):
        parse("blora " * 1000)
    with pytest.raises(QuerySyntaxError, match="more than 256"):
        parse(" OR ".join(["ab"] * 300))
    with pytest.raises(QuerySyntaxError, match="deeper than"):
        parse("(" * 100 + "a" + ")" * 100)


@pytest.mark.parametrize(
    "query",
    [
        'entity:"Pemerintah Kabupaten Blora" AND (penghargaan OR prestasi) NOT title:hoaks',
        "a OR b c -d",
        "NOT (a OR b) OR NOT c",
        'title:(pelayan* NEAR/3 "e ktp") source:"Radar Kudus" region:3316',
        '"title:x" OR x',
    ],
)
def test_render_round_trips(query: str) -> None:
    tree = parse(query)
    assert parse(render(tree)) == tree
