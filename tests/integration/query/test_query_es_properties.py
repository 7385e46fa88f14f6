"""The query language on a real Elasticsearch index equals the brute-force evaluator.

A generated corpus is indexed with :func:`query_index_mapping`; hypothesis draws random queries
from the grammar; for each, the hit set from Elasticsearch must equal the brute-force hit set.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch, helpers
from hypothesis import HealthCheck, given, settings

from services.search.query import parse, to_es_query
from services.search.query.brute import AnalyzedDocument, analyze_document, search
from services.search.query.testing import (
    es_source,
    generate_corpus,
    query_index_mapping,
    query_texts,
)

pytestmark = pytest.mark.elasticsearch

CORPUS_SIZE = 400
DOCUMENTS = generate_corpus(seed=2024, size=CORPUS_SIZE)
ANALYZED: list[AnalyzedDocument] = [analyze_document(document) for document in DOCUMENTS]


@pytest.fixture(scope="module")
def corpus_index(query_es: Elasticsearch, query_index_name: str) -> Iterator[str]:
    query_es.indices.create(index=query_index_name, **query_index_mapping())
    actions = (
        {"_index": query_index_name, "_id": document["id"], "_source": es_source(document)} for document in DOCUMENTS
    )
    helpers.bulk(query_es, actions, refresh="wait_for")
    yield query_index_name


def es_hits(client: Elasticsearch, index: str, text: str) -> set[str]:
    response = client.search(
        index=index,
        query=to_es_query(parse(text)),
        size=CORPUS_SIZE,
        source=False,
        track_total_hits=True,
    )
    ids = {hit["_id"] for hit in response["hits"]["hits"]}
    assert response["hits"]["total"] == {"value": len(ids), "relation": "eq"}
    return ids


def brute_hits(text: str) -> set[str]:
    return search(parse(text), ANALYZED)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(query_texts())
def test_random_queries_match_brute_force(query_es: Elasticsearch, corpus_index: str, text: str) -> None:
    assert es_hits(query_es, corpus_index, text) == brute_hits(text)


@pytest.mark.parametrize(
    "text",
    [
        'entity:"Pemerintah Kabupaten Blora" AND (penghargaan OR prestasi) NOT title:hoaks',
        "NOT blora",
        "-blora -pati",
        "blora OR NOT bupati",
        "BLORA",
        "e-KTP",
        '"pelayanan e-ktp"',
        "4,42 OR jum'at OR rp10.000",
        "pelayan*",
        "pelayan* NEAR/2 e-ktp",
        "blora NEAR/0 blora",  # overlapping spans: a single "blora" matches, as in Lucene
        "blora ONEAR/0 blora",  # ordered needs two occurrences
        '"wakil bupati" NEAR/1 "bupati blora"',
        "wakil ONEAR/0 bupati",
        "bupati ONEAR/0 wakil",
        "title:(pelayan* OR hoaks) -title:blora",
        'source:"radar kudus" OR source:KLIKJATENG.COM',
        "lang:ID region:blora",
        'region:3316 OR region:"jawa tengah"',
        'entity:"bupati blora" lang:jv',
        "tone:negatif OR tone.judul:POSITIVE",
        "tone:beda -tone.isi:netral",
        'entity:"Pemkab Blora" tone:negatif',
        'entity:"Polres Pati" entity:"Pemerintah Kabupaten Blora" NOT tone:positif',
        '(entity:"Polres Pati" OR entity:"Kepolisian Resor Pati") tone:netral',
        'entity:"Bupati Blora" tone.headline:negative',
    ],
)
def test_examples_match_brute_force(query_es: Elasticsearch, corpus_index: str, text: str) -> None:
    assert es_hits(query_es, corpus_index, text) == brute_hits(text)


def test_examples_are_not_trivial() -> None:
    """Guards the corpus: the fixed examples must neither all miss nor all hit."""
    examples = ["blora NEAR/0 blora", "pelayan*", "region:3316", "tone:beda", 'entity:"Pemkab Blora" tone:negatif',
                'entity:"Pemkab Blora" -tone:negatif', 'entity:"Polres Pati" tone:positif']  # fmt: skip
    sizes = [len(brute_hits(text)) for text in examples]
    assert all(0 < size < CORPUS_SIZE for size in sizes)
