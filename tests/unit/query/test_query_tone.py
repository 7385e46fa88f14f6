"""Tone in the query language (issue 17): ``tone:``, ``tone.judul:``/``tone.headline:``,
``tone.isi:``/``tone.body:`` and ``tone:beda``/``tone:mismatch``; a ``tone:`` term next to
``entity:`` terms is the tone toward them; the notices say so. Each meaning is checked on the
brute-force evaluator and on the compiled DSL (interpreted in memory)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from services.search.criteria import Criteria
from services.search.query import QuerySyntaxError, parse, query_notices, render, to_es_query
from services.search.query.brute import analyze_document, search
from services.search.query.names import notices
from services.search.query.nodes import And, Filter, Not, Or, Tone, tone_scope
from services.search.query.testing import evaluate_es_query

PKB = "Pemerintah Kabupaten Blora"
KRP = "Kepolisian Resor Pati"  # "Polres Pati" is its alias


def _doc(doc_id: str, entities: list[str], tone: tuple[str, str | None, str] | None, keys: list[str]) -> dict[str, Any]:
    document: dict[str, Any] = {"id": doc_id, "title": "judul", "body": "isi berita", "entity_names": entities}
    if tone is not None:
        label, headline, body = tone
        document["tone"] = {"label": label, "score": 0.0, "headline": headline, "body": body}
        document["tone_mismatch"] = headline is not None and headline != body
        document["entity_tone_keys"] = keys
    return document


DOCUMENTS = [
    # positive overall, negative toward the Blora regency government
    _doc("neg_blora", [PKB], ("positive", "positive", "positive"), [f"{PKB}|negative"]),
    # negative overall, positive toward it (key stored lower-cased, as the index normalizes it)
    _doc("pos_blora", [PKB], ("negative", "negative", "negative"), [f"{PKB.lower()}|positive"]),
    # both entities: negative toward Blora, positive toward Pati; headline neutral over a negative body
    _doc("two", [PKB, KRP], ("negative", "neutral", "negative"), [f"{PKB}|negative", f"{KRP}|positive"]),
    _doc("both_neg", [PKB, KRP], ("positive", "positive", "positive"), [f"{PKB}|negative", f"{KRP}|negative"]),
    _doc("pati", [KRP], ("neutral", "negative", "neutral"), [f"{KRP}|negative"]),
    _doc("v1", [PKB], None, []),  # enriched before tone: no tone fields
    _doc("no_entity", [], ("negative", None, "negative"), []),  # no title tone: never a mismatch
]
ANALYZED = [analyze_document(document) for document in DOCUMENTS]
ALL = {document["id"] for document in DOCUMENTS}


def compiled_hits(text: str) -> set[str]:
    query = to_es_query(parse(text))
    return {document.doc_id for document in ANALYZED if evaluate_es_query(query, document)}


def _query_types(query: Mapping[str, Any]) -> Iterator[str]:
    ((kind, body),) = query.items()
    yield kind
    if kind == "bool":
        for clauses in body.values():
            for clause in clauses if isinstance(clauses, list) else ():
                yield from _query_types(clause)


# -- parsing -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "aspect", "label"),
    [
        ("tone:negatif", "article", "negative"),
        ("tone:positif", "article", "positive"),
        ("tone:netral", "article", "neutral"),
        ("tone:negative", "article", "negative"),
        ("tone:positive", "article", "positive"),
        ("tone:neutral", "article", "neutral"),
        ("tone:NEGATIF", "article", "negative"),
        ("tone:Positive", "article", "positive"),
        ('tone:"netral"', "article", "neutral"),
        ("TONE:netral", "article", "neutral"),
        ("tone.judul:negatif", "headline", "negative"),
        ("tone.headline:Positive", "headline", "positive"),
        ("Tone.Judul:NETRAL", "headline", "neutral"),
        ("tone.isi:positif", "body", "positive"),
        ("tone.body:negative", "body", "negative"),
        ("TONE.ISI:Neutral", "body", "neutral"),
        ("tone:beda", "mismatch", None),
        ("tone:mismatch", "mismatch", None),
        ("tone:BEDA", "mismatch", None),
        ("tone:Mismatch", "mismatch", None),
    ],
)
def test_every_tone_value_parses(text: str, aspect: str, label: str | None) -> None:
    tree = parse(text)
    assert tree == Tone(aspect, label)  # type: ignore[arg-type]
    assert isinstance(tree, Tone) and tree.text == text and tree.position == 0
    assert parse(render(tree)) == tree


def test_tone_terms_combine_and_render_canonically() -> None:
    tree = parse('banjir tone.judul:negatif -tone:beda OR (entity:"Pemkab Blora" AND tone:NETRAL)')
    assert render(tree) == (
        'banjir AND tone.headline:negative AND NOT tone:mismatch OR entity:"Pemkab Blora" AND tone:neutral'
    )
    assert parse(render(tree)) == tree
    assert parse("banjir tone:negatif") == And((parse("banjir"), Tone("article", "negative")))


@pytest.mark.parametrize(
    ("text", "position", "field", "value", "accepted"),
    [
        ("tone:marah", 5, "tone", "marah", "negatif, positif, netral, beda, negative, positive, neutral, mismatch"),
        ("banjir TONE:Marah", 12, "tone", "Marah", "negatif, positif, netral, beda, negative, positive, neutral, mismatch"),
        ('a tone:"sangat negatif"', 7, "tone", "sangat negatif", "negatif, positif, netral, beda, negative, positive, neutral, mismatch"),
        ("tone.judul:beda", 11, "tone.judul", "beda", "negatif, positif, netral, negative, positive, neutral"),
        ("x tone.body:mismatch", 12, "tone.body", "mismatch", "negatif, positif, netral, negative, positive, neutral"),
        ("tone.isi:negatip", 9, "tone.isi", "negatip", "negatif, positif, netral, negative, positive, neutral"),
    ],
)  # fmt: skip
def test_unknown_tone_value_is_an_error_at_the_value(
    text: str, position: int, field: str, value: str, accepted: str
) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse(text)
    error = caught.value
    assert (error.code, error.position) == ("unknown_tone_value", position)
    assert error.params == {"field": field, "value": value, "accepted": accepted}
    assert error.message == f"{field}: does not accept {value!r}; accepted values: {accepted}"


def test_tone_field_errors() -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse("banjir tone.nada:negatif")
    assert (caught.value.code, caught.value.position, caught.value.params["field"]) == ("unknown_field", 7, "tone.nada")
    assert "tone.judul" in caught.value.params["known"] and "tone.isi" in caught.value.params["known"]
    with pytest.raises(QuerySyntaxError) as caught:
        parse("banjir tone:")
    assert (caught.value.code, caught.value.position) == ("missing_field_value", 7)
    # A dotted word that is not a tone field is still a word.
    assert parse("www.blora:") == parse('"www.blora"')


# -- the scoping rule ---------------------------------------------------------------------------------


def test_tone_scope_rule_on_trees() -> None:
    a, b = Filter("entity", "A"), Filter("entity", "B")
    tone = Tone("article", "negative")
    assert tone_scope(And((a, tone))) == ((a,),)
    assert tone_scope(And((a, b, Not(tone)))) == ((a,), (b,))
    assert tone_scope(And((Or((a, b)), tone))) == ((a, b),)
    assert tone_scope(And((Or((a, Filter("region", "Blora"))), tone))) == ()  # not only entities
    assert tone_scope(And((Not(a), tone))) == ()
    assert tone_scope(And((Filter("source", "x"), tone))) == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # tone alone: the article's overall tone
        ("tone:negatif", {"pos_blora", "two", "no_entity"}),
        ("tone:NEGATIVE", {"pos_blora", "two", "no_entity"}),
        ("tone:positif", {"neg_blora", "both_neg"}),
        ("NOT tone:negatif", ALL - {"pos_blora", "two", "no_entity"}),  # includes v1 (no tone)
        # next to entity: the tone toward it, whatever the article's tone; aliases resolve
        ('entity:"Pemkab Blora" tone:negatif', {"neg_blora", "two", "both_neg"}),
        (f'entity:"{PKB}" AND tone:positive', {"pos_blora"}),
        ('tone:negatif entity:"pemkab blora"', {"neg_blora", "two", "both_neg"}),
        ('(entity:"Pemkab Blora") AND (tone:negatif)', {"neg_blora", "two", "both_neg"}),
        ('entity:"Polres Pati" tone:positif', {"two"}),
        # NOT: names the entity and is not of that tone toward it
        ('entity:"Pemkab Blora" NOT tone:negatif', {"pos_blora", "v1"}),
        ('entity:"Pemkab Blora" -tone:positif', {"neg_blora", "two", "both_neg", "v1"}),
        # two entities: the tone must hold toward each; NOT: toward neither
        ('entity:"Pemkab Blora" entity:"Polres Pati" tone:negatif', {"both_neg"}),
        ('entity:"Pemkab Blora" tone:negatif entity:"Polres Pati"', {"both_neg"}),
        ('entity:"Pemkab Blora" entity:"Polres Pati" NOT tone:positif', {"both_neg"}),
        ('entity:"Pemkab Blora" entity:"Polres Pati" NOT tone:negatif', set()),
        # an OR of entities: toward at least one of them; NOT: toward none of them
        ('(entity:"Pemkab Blora" OR entity:"Polres Pati") tone:negatif', {"neg_blora", "two", "both_neg", "pati"}),
        ('(entity:"Pemkab Blora" OR entity:"Polres Pati") -tone:negatif', {"pos_blora", "v1"}),
        # entity elsewhere: the article's tone
        ('entity:"Pemkab Blora" OR tone:negatif', {"neg_blora", "pos_blora", "two", "both_neg", "v1", "no_entity"}),
        ('-entity:"Pemkab Blora" tone:negatif', {"no_entity"}),
        ('entity:"Pemkab Blora" (banjir OR tone:negatif)', {"pos_blora", "two"}),
        ('(entity:"Pemkab Blora" OR region:Blora) tone:negatif', {"pos_blora", "two"}),
        # tone.judul, tone.isi and tone:beda are never scoped
        ('entity:"Pemkab Blora" tone.judul:negatif', {"pos_blora"}),
        ('entity:"Pemkab Blora" tone.headline:positif', {"neg_blora", "both_neg"}),
        ('entity:"Polres Pati" tone.isi:netral', {"pati"}),
        ("tone.body:NEGATIF", {"pos_blora", "two", "no_entity"}),
        ("tone:beda", {"two", "pati"}),
        ("tone:mismatch", {"two", "pati"}),
        ('entity:"Pemkab Blora" tone:beda', {"two"}),
        ("NOT tone:beda", ALL - {"two", "pati"}),
    ],
)
def test_tone_meaning_brute_force_and_compiled(text: str, expected: set[str]) -> None:
    tree = parse(text)
    assert search(tree, ANALYZED) == expected
    assert compiled_hits(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "tone:negatif",
        "tone.judul:positif tone.isi:netral -tone:beda",
        'entity:"Pemkab Blora" entity:"Polres Pati" NOT tone:negatif',
        '(entity:"Pemkab Blora" OR entity:"Polres Pati") tone:negatif',
    ],
)
def test_tone_compiles_to_server_core_queries_only(text: str) -> None:
    types = set(_query_types(to_es_query(parse(text))))
    assert types <= {"bool", "term", "terms", "exists", "match_all"}, types


def test_scoped_tone_queries_every_resolved_name() -> None:
    query = str(to_es_query(parse('entity:"Pemkab Blora" tone:negatif')))
    assert "'Pemkab Blora|negative'" in query and f"'{PKB}|negative'" in query
    assert "tone.label" not in query  # not the article's tone


# -- notices -----------------------------------------------------------------------------------------


def test_scoped_tone_gets_a_notice_naming_the_canonical_entity() -> None:
    text = 'entity:"Pemkab Blora" tone:negatif'
    found = notices(parse(text))
    assert [n.code for n in found] == ["entity_alias", "tone_entity_scope"]
    tone = found[1]
    assert tone.message == f"tone:negatif is the tone toward {PKB}"
    assert tone.position == text.index("tone:")
    assert tone.as_dict()["params"] == {"field": "tone", "value": "negatif", "matches": [PKB], "suggestions": [],
                                        "term": "tone:negatif", "label": "negative", "toward": [[PKB]]}  # fmt: skip


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('entity:"Pemkab Blora" entity:"Polres Pati" NOT tone:Positif',
         f"tone:Positif is the tone toward {PKB} and toward {KRP}"),
        ('(entity:"Pemkab Blora" OR entity:"Polres Pati") tone:netral', f"tone:netral is the tone toward {PKB} or {KRP}"),
        ('tone:"negative" entity:"Arief Rohman"', 'tone:"negative" is the tone toward Arief Rohman'),
    ],
)  # fmt: skip
def test_notice_says_how_the_tone_was_scoped(text: str, message: str) -> None:
    found = [n for n in notices(parse(text)) if n.code == "tone_entity_scope"]
    assert [n.message for n in found] == [message]


@pytest.mark.parametrize(
    "text",
    [
        "tone:negatif",
        'entity:"Pemkab Blora" OR tone:negatif',
        '-entity:"Pemkab Blora" tone:negatif',
        'entity:"Pemkab Blora" tone.judul:negatif tone.isi:positif tone:beda',
    ],
)
def test_unscoped_tone_has_no_scope_notice(text: str) -> None:
    assert [n for n in notices(parse(text)) if n.code == "tone_entity_scope"] == []
    assert query_notices(text) == []


def test_notices_in_query_order_with_filter_parameters_last() -> None:
    text = 'tone:positif entity:"Arief Rohman" OR (entity:"Pemprov Jateng" tone:negatif)'
    found = notices(parse(text), [("region", "Semarang")])
    assert [(n.code, n.position) for n in found] == [
        ("tone_entity_scope", 0),
        ("entity_alias", text.index('entity:"Pemprov')),
        ("tone_entity_scope", text.index("tone:negatif")),
        ("region_ambiguous", None),
    ]
    assert found[2].message == "tone:negatif is the tone toward Pemerintah Provinsi Jawa Tengah"


def test_search_criteria_report_the_tone_scope() -> None:
    criteria = Criteria(q='entity:"Pemkab Blora" tone:negatif')
    assert [n["code"] for n in criteria.name_notices()] == ["entity_alias", "tone_entity_scope"]
    assert f"'{PKB}|negative'" in str(criteria.es_query())
