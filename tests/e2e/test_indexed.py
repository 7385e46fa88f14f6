"""The indexer announces what it indexed: articles posted through the whole pipeline each appear
once on ``articles.indexed``, keyed by article id, naming the index behind the alias, and only once
their document is in Elasticsearch."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaConsumer

from shared.schemas import IndexedArticle, decode
from shared.topics import Topic
from tests.e2e.test_pipeline import article
from tests.pipeline import ES_URL, KAFKA, Pipeline, wait_for

pytestmark = [pytest.mark.e2e]


def indexed_records(p: Pipeline, timeout_s: float = 3) -> list[tuple[bytes, IndexedArticle]]:
    consumer = KafkaConsumer(p.ns.settings.topic(Topic.ARTICLES_INDEXED), bootstrap_servers=KAFKA,
                             auto_offset_reset="earliest", enable_auto_commit=False,
                             consumer_timeout_ms=int(timeout_s * 1000))  # fmt: skip
    try:
        return [(m.key, decode(IndexedArticle, m.value)) for m in consumer]
    finally:
        consumer.close()


def test_every_indexed_article_is_announced_once_on_articles_indexed(pipeline_factory) -> None:  # type: ignore[no-untyped-def]
    p = pipeline_factory()
    run = f"ann{uuid.uuid4().hex[:8]}"
    ids = set()
    for i in range(6):
        r = p.post(article(f"{run} n{i}", url=f"https://warta-test.example/announce/{run}/{i}"))
        assert r.status_code == 202, r.text
        ids.add(r.json()["id"])
    wait_for(lambda: p.search(run)["total"] == len(ids), 90, message="all articles searchable")

    records = wait_for(lambda: len(r := indexed_records(p)) >= len(ids) and r, 30, message="articles.indexed")
    assert sorted(record.id for _, record in records) == sorted(ids), "one record per indexed article"
    es = Elasticsearch(ES_URL, request_timeout=30)
    try:
        for key, record in records:
            assert key == record.id.encode()
            assert record.index == f"{p.ns.prefix}articles-v1"
            # Announced after the write: the document is there, with the same indexed_at.
            doc = es.get(index=record.index, id=record.id)["_source"]
            assert datetime.fromisoformat(doc["indexed_at"]) == record.indexed_at
            assert datetime.fromisoformat(doc["ingested_at"]) == record.ingested_at
            assert doc["story_id"] == record.story_id
    finally:
        es.close()
