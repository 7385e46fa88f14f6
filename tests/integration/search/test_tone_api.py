"""Tone in the search API (issue 17) on real Elasticsearch: the ``tone`` and ``tone_mismatch``
filters (the tone filter scoped to the entity filters), hits and the article carrying tone and
evidence, the timeline's tone split, the tone mix of /v1/analytics/top per outlet and toward each
entity, the export's tone columns; a version-1 article still indexes and is returned without tone.

The search API runs in process (its real lifespan) under its own index prefix; the articles are
written straight to the index as the indexer projects them (:func:`services.search.index.to_document`).
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch

from services.search.api import create_app
from services.search.index import MAPPING, SETTINGS, ensure_index, index_name, to_document
from services.search.settings import SearchSettings
from shared.schemas import EnrichedArticle
from shared.settings import articles_alias
from tests.pipeline import ES_URL

pytestmark = [pytest.mark.elasticsearch]

EXAMPLE = Path(__file__).resolve().parents[3] / "shared/contracts/examples/articles.enriched/v1/enriched.json"
ADMIN_KEY = "tone-api-test-admin-key-0123456789abc"
BLORA = "Pemerintah Kabupaten Blora"
SRI = "Sri Setyorini"
BODY = "Pemkab Blora dikritik warga karena banjir. Wakil Bupati Sri Setyorini dipuji karena sigap membantu."
TONE_FIELDS = ("tone", "tone_mismatch", "entity_tones", "entity_tone_keys")


def _article(id: str, outlet: str, day: int, tone: dict[str, Any] | None = None,
             entity_tones: list[dict[str, Any]] | None = None) -> EnrichedArticle:  # fmt: skip
    data = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    data.update(id=id, story_id=id, outlet=outlet, title=f"Berita {id}", text=BODY, body=BODY,
                published_at=f"2025-05-0{day}T10:00:00+07:00",
                entities=[{"start": 0, "end": 12, "type": "ORG", "text": "Pemkab Blora", "canonical": BLORA},
                          {"start": 57, "end": 70, "type": "PER", "text": SRI, "canonical": SRI}])  # fmt: skip
    if tone is not None:
        data.update(schema_version=2, tone=tone, entity_tones=entity_tones or [])
    return EnrichedArticle.model_validate(data)


def _toward(canonical: str, kind: str, label: str, evidence: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": kind, "canonical": canonical, "label": label, "score": 0.0, "mentions": 1}
    if evidence:
        out.update(score=-0.8 if label == "negative" else 0.8, evidence=evidence, evidence_start=0,
                   evidence_end=len(evidence))  # fmt: skip
    return out


CRITICISED = "Pemkab Blora dikritik warga karena banjir."
# a1: a positive headline over a negative body, negative toward Blora, positive toward Sri Setyorini.
# a2: positive, positive toward Blora. a3: neutral, no title tone. a4: enriched before tone (v1).
ARTICLES = [
    _article("a1", "Lintas Muria", 1, {"label": "negative", "score": -0.5, "headline": "positive", "body": "negative"},
             [_toward(BLORA, "ORG", "negative", CRITICISED), _toward(SRI, "PER", "positive", "Sri dipuji.")]),
    _article("a2", "Lintas Muria", 1, {"label": "positive", "score": 0.6, "headline": "positive", "body": "positive"},
             [_toward(BLORA, "ORG", "positive", "Pemkab Blora meraih predikat."), _toward(SRI, "PER", "neutral")]),
    _article("a3", "Pena Dewata", 2, {"label": "neutral", "score": 0.0, "headline": None, "body": "neutral"},
             [_toward(BLORA, "ORG", "neutral")]),
    _article("a4", "Pena Dewata", 2),
]  # fmt: skip


class Api:
    """The search API in process with its real lifespan; ``get`` runs requests in one session."""

    def __init__(self, settings: SearchSettings) -> None:
        self.settings = settings

    def get(self, *calls: tuple[str, dict[str, Any]]) -> list[httpx.Response]:
        async def run() -> list[httpx.Response]:
            app = create_app(self.settings)
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
                async with httpx.AsyncClient(
                    transport=transport, base_url="http://search.test", headers=headers
                ) as http:
                    return [await http.get(path, params=params) for path, params in calls]

        return asyncio.run(run())


@pytest.fixture
def api(es: Elasticsearch, prefix: str) -> Api:
    alias = ensure_index(es, prefix)
    now = datetime.now(UTC).isoformat()
    for article in ARTICLES:
        es.index(index=alias, id=article.id, document=to_document(article, now))
    es.indices.refresh(index=alias)
    return Api(SearchSettings(es_url=ES_URL, index_prefix=prefix, admin_key=ADMIN_KEY))


def _ids(response: httpx.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return {hit["id"] for hit in response.json()["hits"]}


def test_tone_and_mismatch_filters(api: Api) -> None:
    r = api.get(
        ("/v1/search", {"tone": "negatif"}),
        ("/v1/search", {"tone": ["Positive", "netral"]}),
        ("/v1/search", {"tone_mismatch": "true"}),
        ("/v1/search", {"tone_mismatch": "false"}),
        ("/v1/search", {"q": "banjir", "tone": "NEGATIVE", "source": "Lintas Muria"}),
        ("/v1/search", {"tone": "marah"}),
        ("/v1/analytics/top", {"tone": "sedih"}),
        ("/v1/search", {"tone_mismatch": "kadang"}),
    )
    assert [_ids(x) for x in r[:5]] == [{"a1"}, {"a2", "a3"}, {"a1"}, {"a2", "a3"}, {"a1"}]
    for bad in r[5:7]:  # every endpoint answers an unknown tone as tone: in the query does
        assert bad.status_code == 400 and bad.json()["code"] == "unknown_tone_value", bad.text
        assert "accepted values: negatif, positif, netral, negative, positive, neutral" in bad.json()["error"]
    assert r[7].status_code == 422 and "tone_mismatch" in r[7].text


def test_the_tone_filter_with_entity_filters_is_the_tone_toward_them(api: Api) -> None:
    blora_negative, sri_positive, sri_negative = api.get(
        ("/v1/search", {"entity": "Pemkab Blora", "tone": "negatif"}),  # an alias: its canonical name's tone
        ("/v1/search", {"entity": SRI, "tone": "positive"}),  # a1 is negative overall, positive toward her
        ("/v1/search", {"entity": SRI, "tone": "negative"}),
    )
    assert _ids(blora_negative) == {"a1"} and _ids(sri_positive) == {"a1"} and _ids(sri_negative) == set()
    notice = next(n for n in blora_negative.json()["notices"] if n["code"] == "tone_entity_scope")
    assert notice["message"] == f"tone=negatif is the tone toward {BLORA}"


def test_hits_and_the_article_carry_tone_and_evidence_and_a_v1_article_none(api: Api) -> None:
    search, a1, a4 = api.get(
        ("/v1/search", {"sort": "newest", "size": 10}),
        ("/v1/articles/a1", {}),
        ("/v1/articles/a4", {}),
    )
    hits = {h["id"]: h for h in search.json()["hits"]}
    assert set(hits) == {"a1", "a2", "a3", "a4"}  # the version-1 article indexed and is found
    assert hits["a1"]["tone"] == {"label": "negative", "score": -0.5, "headline": "positive", "body": "negative"}
    assert hits["a1"]["entity_tones"][0] == {"type": "ORG", "canonical": BLORA, "label": "negative", "score": -0.8,
                                             "mentions": 1, "evidence": CRITICISED, "evidence_start": 0,
                                             "evidence_end": len(CRITICISED)}  # fmt: skip
    assert hits["a3"]["tone"]["headline"] is None and hits["a3"]["entity_tones"][0]["evidence"] is None
    assert (hits["a4"]["tone"], hits["a4"]["entity_tones"]) == (None, [])
    assert a1.json()["tone"]["label"] == "negative" and a1.json()["entity_tones"][0]["evidence"] == CRITICISED
    assert a1.json()["tone_mismatch"] is True
    assert a4.status_code == 200 and not set(TONE_FIELDS) & set(a4.json())


def test_timeline_buckets_split_by_tone(api: Api) -> None:
    articles, stories = api.get(
        ("/v1/analytics/timeline", {"from": "2025-05-01", "to": "2025-05-02", "interval": "day"}),
        ("/v1/analytics/timeline", {"from": "2025-05-01", "to": "2025-05-02", "interval": "day", "count": "stories"}),
    )
    expected = [
        {"key": "2025-05-01T00:00:00.000+07:00", "count": 2, "tone": {"positive": 1, "negative": 1, "neutral": 0}},
        # a4 has no tone: counted, in no tone
        {"key": "2025-05-02T00:00:00.000+07:00", "count": 2, "tone": {"positive": 0, "negative": 0, "neutral": 1}},
    ]
    assert articles.json()["buckets"] == expected, articles.text
    assert stories.json()["buckets"] == expected, stories.text  # every article is its own story here


def test_top_tone_mix_per_outlet_and_toward_each_entity(api: Api) -> None:
    source, entity, person, org, stories = api.get(
        ("/v1/analytics/top", {"field": "source"}),
        ("/v1/analytics/top", {"field": "entity"}),
        ("/v1/analytics/top", {"field": "person"}),
        ("/v1/analytics/top", {"field": "org", "tone": "positive"}),
        ("/v1/analytics/top", {"field": "person", "count": "stories"}),
    )

    def mix(response: httpx.Response) -> dict[str, tuple[int, dict[str, int]]]:
        assert response.status_code == 200, response.text
        return {v["key"]: (v["count"], v["tone"]) for v in response.json()["values"]}

    # Per outlet: the overall tone of its articles.
    assert mix(source) == {"Lintas Muria": (2, {"positive": 1, "negative": 1, "neutral": 0}),
                           "Pena Dewata": (2, {"positive": 0, "negative": 0, "neutral": 1})}  # fmt: skip
    # Per entity: the tone toward it (a1 is negative overall but positive toward Sri Setyorini).
    toward_blora = {"positive": 1, "negative": 1, "neutral": 1}
    toward_sri = {"positive": 1, "negative": 0, "neutral": 1}
    assert mix(entity) == {BLORA: (4, toward_blora), SRI: (4, toward_sri)}
    assert mix(person) == {SRI: (4, toward_sri)}
    assert mix(stories) == {SRI: (4, toward_sri)}
    # Among the matches only: the positive articles (a2).
    assert mix(org) == {BLORA: (1, {"positive": 1, "negative": 0, "neutral": 0})}


def test_export_has_tone_columns(api: Api) -> None:
    csv_export, ndjson = api.get(("/v1/export", {"format": "csv"}), ("/v1/export", {"format": "ndjson"}))
    assert csv_export.status_code == 200, csv_export.text
    rows = list(csv.DictReader(io.StringIO(csv_export.content.decode("utf-8").removeprefix(codecs.BOM_UTF8.decode()))))
    by_id = {row["id"]: row for row in rows}
    assert [by_id["a1"][c] for c in ("tone", "tone_headline", "tone_body")] == ["negative", "positive", "negative"]
    assert by_id["a1"]["entity_tones"] == f"{BLORA}: negative; {SRI}: positive"
    assert [by_id["a3"][c] for c in ("tone", "tone_headline", "tone_body")] == ["neutral", "", "neutral"]
    assert [by_id["a4"][c] for c in ("tone", "tone_headline", "tone_body", "entity_tones")] == ["", "", "", ""]
    records = {r["id"]: r for r in map(json.loads, ndjson.text.splitlines())}
    assert records["a1"]["tone"]["headline"] == "positive" and records["a1"]["entity_tones"][0]["evidence"]
    assert "tone" not in records["a4"]


def test_an_index_created_before_tone_gains_the_tone_fields(es: Elasticsearch, prefix: str) -> None:
    old = {**MAPPING, "properties": {k: v for k, v in MAPPING["properties"].items() if k not in TONE_FIELDS}}
    alias = articles_alias(prefix)
    es.indices.create(index=index_name(prefix), settings=SETTINGS, mappings=old,
                      aliases={alias: {"is_write_index": True}})  # fmt: skip
    assert ensure_index(es, prefix) == alias
    es.index(index=alias, id="a1", document=to_document(ARTICLES[0], datetime.now(UTC).isoformat()), refresh=True)
    hits = es.search(index=alias, query={"term": {"entity_tone_keys": f"{BLORA.upper()}|NEGATIVE"}})["hits"]["hits"]
    assert [h["_id"] for h in hits] == ["a1"]
