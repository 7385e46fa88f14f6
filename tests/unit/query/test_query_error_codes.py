"""Every query error has a stable code with the params its message names (issue 15, item 5), the
web app translates every code in both languages, and a lower-case operator between words gets a
notice (item 9)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.search.query import ERROR_CODES, QueryLimits, QuerySyntaxError, parse, query_notices

I18N = Path(__file__).resolve().parents[3] / "services" / "search" / "web" / "static" / "i18n.js"

KNOWN = "title, source, lang, entity, region, tone, tone.judul, tone.headline, tone.isi, tone.body"
TONE_ACCEPTED = "negatif, positif, netral, beda, negative, positive, neutral, mismatch"

# One query per code (and a second where the code has two shapes), with the params it carries.
CASES: list[tuple[str, QueryLimits | None, str, dict[str, object]]] = [
    ("", None, "empty_query", {}),
    ("a" * 11, QueryLimits(max_length=10), "query_too_long", {"max": 10}),
    ('a "wakil bupati', None, "unterminated_phrase", {}),
    ('a "!!"', None, "empty_phrase", {}),
    ("blora &&", None, "no_searchable_word", {"text": "&&"}),
    ("blora pel*an", None, "wildcard_not_trailing", {}),
    ("pe*", None, "wildcard_too_short", {"min": 3}),
    ("e-kt*", None, "wildcard_not_single_word", {}),
    ("a foo:bar", None, "unknown_field", {"field": "foo", "known": KNOWN}),
    ("source:", None, "missing_field_value", {"field": "source"}),
    ("tone:marah", None, "unknown_tone_value", {"field": "tone", "value": "marah", "accepted": TONE_ACCEPTED}),
    (
        "tone.isi:beda",
        None,
        "unknown_tone_value",
        {"field": "tone.isi", "value": "beda", "accepted": "negatif, positif, netral, negative, positive, neutral"},
    ),
    ("title: x", None, "title_needs_operand", {}),
    ("a ONEAR b", None, "near_missing_distance", {"operator": "ONEAR"}),
    ("a NEAR/101 b", None, "near_distance_too_large", {"max": 100}),
    ("NEAR/2 b", None, "near_needs_operands", {"operator": "NEAR/2"}),
    ("a NEAR/2 (b)", None, "near_needs_operands", {"operator": "NEAR/2"}),
    ("title:a NEAR/2 b", None, "near_after_title", {}),
    ("a NEAR/2 b NEAR/2 c", None, "near_chained", {}),
    ("AND a", None, "missing_left_operand", {"operator": "AND"}),
    ("a AND", None, "missing_right_operand", {"operator": "AND"}),
    ("a OR", None, "missing_right_operand", {"operator": "OR"}),
    ("a NOT", None, "missing_operand", {"operator": "NOT"}),
    ("a - b", None, "missing_operand", {"operator": "-"}),
    ("(a OR b", None, "unbalanced_parenthesis", {"paren": "("}),
    ("a OR b)", None, "unbalanced_parenthesis", {"paren": ")"}),
    ("()", None, "empty_parentheses", {}),
    ("a (b -)", None, "missing_operand", {"operator": "-"}),
    ("((((a))))", QueryLimits(max_depth=3), "too_deep", {"max": 3}),
    ("a b c d", QueryLimits(max_clauses=3), "too_many_clauses", {"max": 3}),
    ("abc* abd* a", QueryLimits(max_wildcards=1), "too_many_wildcards", {"max": 1}),
]


@pytest.mark.parametrize(("query", "limits", "code", "params"), CASES)
def test_each_error_has_its_code_and_params(
    query: str, limits: QueryLimits | None, code: str, params: dict[str, object]
) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse(query, limits=limits or QueryLimits())
    assert caught.value.code == code, caught.value.message
    assert caught.value.params == params
    assert set(caught.value.params) == set(ERROR_CODES[code])


def test_unexpected_token_code() -> None:
    # Reachable only through the parser's fallback; the lexer makes every other token meaningful.
    from services.search.query.parser import _Kind, _Lexeme, _Parser

    error = _Parser([], QueryLimits())._unexpected(_Lexeme(_Kind.TITLE, 3, 9, "title:"))
    assert (error.code, error.params, error.position) == ("unexpected_token", {"token": "title:"}, 3)


def test_every_code_is_tested_and_translated() -> None:
    tested = {code for _, _, code, _ in CASES} | {"unexpected_token"}
    assert tested == set(ERROR_CODES)
    text = I18N.read_text(encoding="utf-8")
    for code in ERROR_CODES:
        # once in Indonesian, once in English
        assert len(re.findall(rf"\bqe_{code}:", text)) == 2, code


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("pasar and murah", [("and", "AND", 6)]),
        ("banjir or longsor not hoaks", [("or", "OR", 7), ("not", "NOT", 18)]),
        ("a Not (b)", [("Not", "NOT", 2)]),
        ("(a) and source:x", [("and", "AND", 4)]),
        ("pasar AND murah", []),
        ('"rock and roll"', []),
        ("and murah", []),
        ("pasar and", []),
        ("a and OR b", []),
        ('a "b', []),  # does not parse: the error says what is wrong
    ],
)
def test_lowercase_operators_get_a_notice(query: str, expected: list[tuple[str, str, int]]) -> None:
    notices = query_notices(query)
    assert [(n.params["word"], n.params["operator"], n.position) for n in notices] == expected
    for n in notices:
        assert n.code == "lowercase_operator" and f"did you mean {n.params['operator']}?" in n.message
    if expected:  # the rule is kept: the word is still searched as a word
        assert parse(query) is not None
