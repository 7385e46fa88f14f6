"""Compiler output: exact DSL for each construct, and no query_string anywhere."""

from __future__ import annotations

from typing import Any

import pytest

from services.search.query import KeywordFields, parse, to_es_query
from services.search.query.compiler import MATCH_ALL


def both(title: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    return {"bool": {"should": [title, body], "minimum_should_match": 1}}


def test_word_matches_title_or_body() -> None:
    assert to_es_query(parse("Blora")) == both(
        {"term": {"title": {"value": "blora"}}}, {"term": {"body": {"value": "blora"}}}
    )


def test_phrase_is_match_phrase_of_tokens() -> None:
    assert to_es_query(parse('"Wakil, Bupati"'), text_fields=("body",)) == {
        "match_phrase": {"body": {"query": "wakil bupati", "slop": 0}}
    }


def test_wildcard_is_prefix() -> None:
    assert to_es_query(parse("Pelayan*"), text_fields=("body",)) == {"prefix": {"body": {"value": "pelayan"}}}


def test_title_restricts_to_title_field() -> None:
    query = to_es_query(parse("title:(a OR b)"), title_field="headline")
    assert query == {
        "bool": {
            "should": [
                {"term": {"headline": {"value": "a"}}},
                {"term": {"headline": {"value": "b"}}},
            ],
            "minimum_should_match": 1,
        }
    }


def test_near_is_span_near_per_field() -> None:
    query = to_es_query(parse('pelayan* ONEAR/3 "wakil bupati"'), text_fields=("body",))
    assert query == {
        "span_near": {
            "clauses": [
                {"span_multi": {"match": {"prefix": {"body": {"value": "pelayan", "rewrite": "top_terms_1000"}}}}},
                {
                    "span_near": {
                        "clauses": [
                            {"span_term": {"body": {"value": "wakil"}}},
                            {"span_term": {"body": {"value": "bupati"}}},
                        ],
                        "slop": 0,
                        "in_order": True,
                    }
                },
            ],
            "slop": 3,
            "in_order": True,
        }
    }
    unordered = to_es_query(parse("a NEAR/2 b"), max_wildcard_expansions=5)
    assert [clause["span_near"]["in_order"] for clause in unordered["bool"]["should"]] == [
        False,
        False,
    ]
    capped = to_es_query(parse("abc* NEAR/2 b"), text_fields=("body",), max_wildcard_expansions=5)
    prefix = capped["span_near"]["clauses"][0]["span_multi"]["match"]["prefix"]["body"]
    assert prefix["rewrite"] == "top_terms_5"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            "source:klikjateng.com",
            {
                "bool": {
                    "should": [
                        {"term": {"source": {"value": "klikjateng.com", "case_insensitive": True}}},
                        {"term": {"outlet": {"value": "klikjateng.com", "case_insensitive": True}}},
                    ],
                    "minimum_should_match": 1,
                }
            },
        ),
        (
            'source:"www.Lintas Muria"',
            {
                "bool": {
                    "should": [
                        {"term": {"source": {"value": "www.Lintas Muria", "case_insensitive": True}}},
                        {"term": {"source": {"value": "Lintas Muria", "case_insensitive": True}}},
                        {"term": {"outlet": {"value": "www.Lintas Muria", "case_insensitive": True}}},
                    ],
                    "minimum_should_match": 1,
                }
            },
        ),
        ("lang:id", {"term": {"language": {"value": "id", "case_insensitive": True}}}),
        (
            'entity:"Bupati Blora"',
            {"term": {"entity_names": {"value": "Bupati Blora", "case_insensitive": True}}},
        ),
        ("region:3316", {"term": {"region_codes": {"value": "3316", "case_insensitive": True}}}),
        # A name resolves to the region codes it names (services.search.query.names).
        ("region:Blora", {"term": {"region_codes": {"value": "3316", "case_insensitive": True}}}),
        (
            "region:Semarang",
            {
                "bool": {
                    "should": [
                        {"term": {"region_codes": {"value": "3322", "case_insensitive": True}}},
                        {"term": {"region_codes": {"value": "3374", "case_insensitive": True}}},
                    ],
                    "minimum_should_match": 1,
                }
            },
        ),
        (  # no region has this name: compared as typed, and the search response says so
            "region:Atlantis",
            {
                "bool": {
                    "should": [
                        {"term": {"region_codes": {"value": "Atlantis", "case_insensitive": True}}},
                        {"term": {"region_names": {"value": "Atlantis", "case_insensitive": True}}},
                    ],
                    "minimum_should_match": 1,
                }
            },
        ),
        (
            'entity:"Pemprov Jateng"',
            {
                "bool": {
                    "should": [
                        {"term": {"entity_names": {"value": "Pemprov Jateng", "case_insensitive": True}}},
                        {
                            "term": {
                                "entity_names": {"value": "Pemerintah Provinsi Jawa Tengah", "case_insensitive": True}
                            }
                        },
                    ],
                    "minimum_should_match": 1,
                }
            },
        ),
    ],
)
def test_filters_are_non_scoring_keyword_terms(query: str, expected: dict[str, Any]) -> None:
    assert to_es_query(parse(query)) == {"bool": {"filter": [expected]}}


def test_keyword_fields_are_configurable() -> None:
    fields = KeywordFields(source="domain", outlet="outlet_name", lang="lang_code", entity="entities.canonical")
    query = to_es_query(parse("source:x lang:id entity:y"), keyword_fields=fields)
    source, lang, entity = (clause["bool"]["filter"][0] for clause in query["bool"]["must"])
    assert [next(iter(term["term"])) for term in source["bool"]["should"]] == ["domain", "outlet_name"]
    assert [next(iter(q["term"])) for q in (lang, entity)] == ["lang_code", "entities.canonical"]


def test_and_puts_negations_in_must_not() -> None:
    query = to_es_query(parse("a -b NOT c"), text_fields=("body",))
    assert query == {
        "bool": {
            "must": [{"term": {"body": {"value": "a"}}}],
            "must_not": [{"term": {"body": {"value": "b"}}}, {"term": {"body": {"value": "c"}}}],
        }
    }


def test_pure_negative_means_everything_except() -> None:
    assert to_es_query(parse("NOT a"), text_fields=("body",)) == {
        "bool": {"must": [MATCH_ALL], "must_not": [{"term": {"body": {"value": "a"}}}]}
    }
    assert to_es_query(parse("-a -b"), text_fields=("body",)) == {
        "bool": {
            "must": [MATCH_ALL],
            "must_not": [{"term": {"body": {"value": "a"}}}, {"term": {"body": {"value": "b"}}}],
        }
    }


def test_or_with_negative_branch() -> None:
    query = to_es_query(parse("a OR NOT b"), text_fields=("body",))
    assert query == {
        "bool": {
            "should": [
                {"term": {"body": {"value": "a"}}},
                {"bool": {"must": [MATCH_ALL], "must_not": [{"term": {"body": {"value": "b"}}}]}},
            ],
            "minimum_should_match": 1,
        }
    }


@pytest.mark.parametrize(
    "query",
    [
        'entity:"Pemerintah Kabupaten Blora" AND (penghargaan OR prestasi) NOT title:hoaks',
        "x OR query_string",
        '"simple_query_string"',
    ],
)
def test_never_uses_query_string(query: str) -> None:
    def keys(value: object) -> set[str]:
        if isinstance(value, dict):
            return set(value) | {key for child in value.values() for key in keys(child)}
        if isinstance(value, list):
            return {key for child in value for key in keys(child)}
        return set()

    found = keys(to_es_query(parse(query)))
    assert "query_string" not in found
    assert "simple_query_string" not in found


def test_criteria_reuses_the_compiled_query_without_changing_it() -> None:
    from services.search.criteria import BadRequest, Criteria

    plain = Criteria(q="blora AND bupati").es_query()
    filtered = Criteria(q="blora AND bupati", sources=["Klikjateng.com"], regions=["3316"]).es_query()
    assert filtered["bool"]["must"][0] is plain  # compiled once, shared
    assert plain == to_es_query(parse("blora AND bupati"))  # and left as compiled
    for _ in range(2):  # errors are raised every time, never cached
        with pytest.raises(BadRequest):
            Criteria(q="blora AND").es_query()
