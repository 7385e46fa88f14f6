"""Tone on the search side (issue 17): the indexed document's tone fields from an EnrichedArticle v2
(a v1 record still indexes, without them), the ``tone`` and ``tone_mismatch`` filter parameters,
the timeline's tone split, the export's tone columns and the tone of a search hit. No network."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from services.search.api.models import CriteriaParams, Hit
from services.search.api.results import hit_dict
from services.search.criteria import (
    EXPORT_COLUMNS,
    JAKARTA,
    BadRequest,
    Criteria,
    export_header,
    export_row,
    fill_buckets,
    timeline_aggs,
)
from services.search.index import MAPPING, to_document
from shared.schemas import EnrichedArticle, decode

EXAMPLES = Path(__file__).resolve().parents[3] / "shared/contracts/examples/articles.enriched/v1"
BLORA = "Pemerintah Kabupaten Blora"


def _v1() -> EnrichedArticle:
    return decode(EnrichedArticle, (EXAMPLES / "enriched.json").read_bytes())


def _v2(headline: str | None = "positive", body: str = "negative", **changes: Any) -> EnrichedArticle:
    data = json.loads((EXAMPLES / "enriched.json").read_text(encoding="utf-8"))
    data.update(schema_version=2, tone={"label": body, "score": -0.4, "headline": headline, "body": body},
                entity_tones=[{"type": "ORG", "canonical": BLORA, "label": "negative", "score": -0.7, "mentions": 2,
                               "evidence": "Pemkab Blora dikritik warga.", "evidence_start": 0, "evidence_end": 28},
                              {"type": "LOC", "canonical": "Semarang", "label": "neutral", "score": 0.0,
                               "mentions": 1}], **changes)  # fmt: skip
    return EnrichedArticle.model_validate(data)


def test_a_v2_article_indexes_its_tone_and_the_tone_toward_each_entity() -> None:
    doc = to_document(_v2(), "2025-05-06T00:00:00Z")
    assert doc["tone"] == {"label": "negative", "score": -0.4, "headline": "positive", "body": "negative"}
    assert doc["tone_mismatch"] is True
    assert doc["entity_tone_keys"] == [f"{BLORA}|negative", "Semarang|neutral"]
    assert doc["entity_tones"][0]["evidence"] == "Pemkab Blora dikritik warga."
    assert "evidence" not in doc["entity_tones"][1]  # None is left out, as everywhere in the document
    assert set(doc) <= set(MAPPING["properties"])
    for name, spec in MAPPING["properties"]["entity_tones"]["properties"].items():
        assert spec.get("index") is False, name  # displayed, never searched: entity_tone_keys is
    assert MAPPING["properties"]["entity_tone_keys"] == {"type": "keyword", "normalizer": "lowercase"}


def test_mismatch_needs_a_headline_tone_that_differs() -> None:
    assert to_document(_v2("negative", "negative"), "t")["tone_mismatch"] is False
    untitled = to_document(_v2(None, "negative"), "t")
    assert untitled["tone_mismatch"] is False and "headline" not in untitled["tone"]


def test_a_v1_article_still_indexes_without_tone() -> None:
    doc = to_document(_v1(), "2025-05-06T00:00:00Z")
    assert not {"tone", "tone_mismatch", "entity_tones", "entity_tone_keys"} & set(doc)
    assert doc["entity_names"] == ["Pemerintah Kabupaten Blora", "Semarang"]
    assert set(doc) <= set(MAPPING["properties"])


def _filters(criteria: Criteria) -> list[dict[str, Any]]:
    return criteria.es_query()["bool"]["filter"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(("values", "labels"), [
    (["negative"], ["negative"]), (["Negatif"], ["negative"]), ([" POSITIF "], ["positive"]),
    (["netral", "neutral", "negative"], ["neutral", "negative"]),
])  # fmt: skip
def test_the_tone_filter_takes_english_and_indonesian_values(values: list[str], labels: list[str]) -> None:
    assert _filters(Criteria(tones=values)) == [{"terms": {"tone.label": labels}}]


def test_an_unknown_tone_is_a_bad_request_naming_the_accepted_values() -> None:
    with pytest.raises(BadRequest) as caught:
        Criteria(tones=["marah"]).es_query()
    # As tone: in the query answers it (the web app translates both by the code).
    assert caught.value.code == "unknown_tone_value"
    assert caught.value.params == {"field": "tone", "value": "marah",
                                   "accepted": "negatif, positif, netral, negative, positive, neutral"}  # fmt: skip
    assert caught.value.message == ("tone: does not accept 'marah'; accepted values: "
                                    "negatif, positif, netral, negative, positive, neutral")  # fmt: skip


def test_with_entity_filters_the_tone_filter_is_the_tone_toward_them() -> None:
    criteria = Criteria(entities=["Pemkab Blora", "Sri Setyorini"], tones=["negatif"])
    tone_filter = _filters(criteria)[-1]
    # Every name the entity filter matches (the alias and its canonical name), toward any entity.
    assert tone_filter == {"terms": {"entity_tone_keys": [f"{BLORA}|negative", "Pemkab Blora|negative",
                                                          "Sri Setyorini|negative"]}}  # fmt: skip
    [notice] = criteria.tone_notices()
    assert notice["code"] == "tone_entity_scope" and notice["position"] is None
    assert notice["message"] == f"tone=negatif is the tone toward {BLORA} or Sri Setyorini"
    assert notice["params"]["label"] == "negative" and notice["params"]["toward"] == [[BLORA, "Sri Setyorini"]]
    assert Criteria(tones=["negatif"]).tone_notices() == []


def test_the_mismatch_filter() -> None:
    assert _filters(Criteria(tone_mismatch=True)) == [{"term": {"tone_mismatch": True}}]
    assert _filters(Criteria(tone_mismatch=False)) == [{"term": {"tone_mismatch": False}}]
    assert Criteria().es_query() == {"match_all": {}}


def test_every_endpoint_takes_the_tone_parameters() -> None:
    params = CriteriaParams.model_validate({"tone": ["negatif"], "tone_mismatch": "true", "entity": ["X"]})
    criteria = params.criteria()
    assert (criteria.tones, criteria.tone_mismatch) == (["negatif"], True)


def test_timeline_buckets_split_by_tone() -> None:
    hist = timeline_aggs("day", "articles")["t"]
    assert hist["aggs"]["tone"] == {"terms": {"field": "tone.label", "size": 3}}
    assert "stories" in timeline_aggs("day", "stories")["t"]["aggs"]["tone"]["aggs"]
    day = datetime(2025, 5, 1, tzinfo=JAKARTA)
    found = [{"key": int(day.timestamp() * 1000), "doc_count": 4, "stories": {"value": 3},
              "tone": {"buckets": [{"key": "negative", "doc_count": 3, "stories": {"value": 2}},
                                   {"key": "positive", "doc_count": 1, "stories": {"value": 1}}]}}]  # fmt: skip
    empty = {"positive": 0, "negative": 0, "neutral": 0}
    articles = fill_buckets(found, day, day.replace(day=2), "day")
    assert articles == [
        {"key": "2025-05-01T00:00:00.000+07:00", "count": 4, "tone": {"positive": 1, "negative": 3, "neutral": 0}},
        {"key": "2025-05-02T00:00:00.000+07:00", "count": 0, "tone": empty},
    ]
    stories = fill_buckets(found, day, day, "day", "stories")
    assert stories[0]["count"] == 3 and stories[0]["tone"] == {"positive": 1, "negative": 2, "neutral": 0}


def test_export_has_tone_columns() -> None:
    assert export_header()[-4:] == ["tone", "tone_headline", "tone_body", "entity_tones"]
    row = dict(zip(EXPORT_COLUMNS, export_row(to_document(_v2(), "t")), strict=True))
    assert (row["tone"], row["tone_headline"], row["tone_body"]) == ("negative", "positive", "negative")
    assert row["entity_tones"] == f"{BLORA}: negative; Semarang: neutral"
    old = dict(zip(EXPORT_COLUMNS, export_row(to_document(_v1(), "t")), strict=True))
    assert (old["tone"], old["tone_headline"], old["tone_body"], old["entity_tones"]) == ("", "", "", "")


def test_a_hit_carries_the_tone_and_the_evidence() -> None:
    src = {k: v for k, v in to_document(_v2(None, "neutral"), "t").items() if k in Hit.model_fields}
    hit = hit_dict({"_source": src})
    assert hit["tone"] == {"label": "neutral", "score": -0.4, "headline": None, "body": "neutral"}
    assert hit["entity_tones"][0]["evidence"] == "Pemkab Blora dikritik warga."
    assert hit["entity_tones"][1]["evidence"] is None  # filled in: every field of the model is there
    Hit.model_validate(hit)
    old = hit_dict({"_source": {k: v for k, v in to_document(_v1(), "t").items() if k in Hit.model_fields}})
    assert (old["tone"], old["entity_tones"]) == (None, [])
