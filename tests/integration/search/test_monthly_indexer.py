"""The indexer in the monthly layout against a real Elasticsearch (services/search/indexer.py), fed
from an in-memory Kafka so that what shares a batch is decided by the test: of several copies of
one article filed under different months only the newest stays, whether they arrive in one batch
or in several."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from elasticsearch import Elasticsearch
from kafka import TopicPartition

from services.search.index import Layout, ensure_index
from services.search.indexer import make_processor
from services.search.settings import SearchSettings
from shared.contracts import examples
from shared.schemas import EnrichedArticle, IndexedArticle, decode
from shared.topics import Topic
from tests.memory_kafka import MemoryBroker, MemoryConsumer, MemoryProducer
from tests.pipeline import ES_URL

pytestmark = [pytest.mark.elasticsearch]

EXAMPLE = decode(EnrichedArticle, examples("articles.enriched")[0].read_bytes())
INGESTED = datetime(2025, 6, 1, tzinfo=UTC)


def copy(published: str, ingested_s: int) -> EnrichedArticle:
    """The same article (one id) as published on ``published``, ingested ``ingested_s`` later."""
    return EXAMPLE.model_copy(update={"id": "bulanan1", "published_at": datetime.fromisoformat(published),
                                      "ingested_at": INGESTED + timedelta(seconds=ingested_s)})  # fmt: skip


def copies(es: Elasticsearch, alias: str) -> list[tuple[str, int]]:
    es.indices.refresh(index=alias)
    hits = es.search(index=alias, query={"ids": {"values": ["bulanan1"]}}, version=True, source=False)
    return sorted((h["_index"], h["_version"]) for h in hits["hits"]["hits"])


def test_only_the_newest_copy_stays_across_months(es: Elasticsearch, prefix: str) -> None:
    settings = SearchSettings(topic_prefix=prefix, index_prefix=prefix, es_url=ES_URL, health_file=None,
                              batch_size=10, batch_max_ms=10, backoff_max_s=0.01, es_index_period="month")  # fmt: skip
    alias = ensure_index(es, prefix, Layout.of(settings))
    broker = MemoryBroker()
    tp = TopicPartition(settings.topic(Topic.ARTICLES_ENRICHED), 0)
    broker.create_topic(tp.topic, 1)
    producer = MemoryProducer()
    processor = make_processor(settings, es, MemoryConsumer(broker), producer)  # type: ignore[arg-type]
    assert processor.subscribe(threading.Event())

    def feed(*articles: EnrichedArticle) -> None:
        for a in articles:
            broker.produce(tp, a.to_bytes(), a.id.encode())
        deadline = time.monotonic() + 30
        while broker.committed.get(tp) != len(broker.logs[tp]):
            assert time.monotonic() < deadline, "the indexer did not commit the batch"
            processor.step()
            time.sleep(0.005)

    try:
        version = int(INGESTED.timestamp() * 1000)
        # One batch: January, then March (the newest), then February (older than March).
        feed(copy("2025-01-10T10:00:00+07:00", 1), copy("2025-03-10T10:00:00+07:00", 3),
             copy("2025-02-10T10:00:00+07:00", 2))  # fmt: skip
        assert copies(es, alias) == [(f"{alias}-v1-2025.03", version + 3000)]
        # Later batches: an older copy dated April is not written; a newer one dated May moves it.
        feed(copy("2025-04-10T10:00:00+07:00", 0))
        assert copies(es, alias) == [(f"{alias}-v1-2025.03", version + 3000)]
        feed(copy("2025-05-10T10:00:00+07:00", 5))
        assert copies(es, alias) == [(f"{alias}-v1-2025.05", version + 5000)]
        announced = [decode(IndexedArticle, v) for t, _, v in producer.sent if t.endswith("articles.indexed")]
        assert len(announced) == 5, "every copy is announced (duplicates too): the alerts consumer dedupes"
    finally:
        processor.close()
