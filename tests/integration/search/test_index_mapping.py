"""The article index gains optional fields added to the message schema after it was created
(the enriched article's ``dateline``), so a new record never meets a strict mapping that rejects
it. Real Elasticsearch, own index prefix."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from services.search.index import MAPPING, SETTINGS, ensure_index, index_name, to_document
from shared.schemas import EnrichedArticle
from shared.settings import articles_alias

pytestmark = [pytest.mark.elasticsearch]

EXAMPLE = Path(__file__).resolve().parents[3] / "shared/contracts/examples/articles.enriched/v1/enriched-dateline.json"


def test_an_index_created_before_the_dateline_field_accepts_an_article_with_one(es: Elasticsearch, prefix: str) -> None:
    old = {**MAPPING, "properties": {k: v for k, v in MAPPING["properties"].items() if k != "dateline"}}
    alias = articles_alias(prefix)
    es.indices.create(
        index=index_name(prefix), settings=SETTINGS, mappings=old, aliases={alias: {"is_write_index": True}}
    )
    assert ensure_index(es, prefix) == alias
    article = EnrichedArticle.model_validate(json.loads(EXAMPLE.read_text(encoding="utf-8")))
    assert article.dateline is not None
    es.index(index=alias, id=article.id, document=to_document(article, datetime.now(UTC).isoformat()), refresh=True)
    hits = es.search(index=alias, query={"term": {"dateline.region_code": "3319"}})["hits"]["hits"]
    assert [h["_source"]["dateline"]["name"] for h in hits] == ["Kudus"]
