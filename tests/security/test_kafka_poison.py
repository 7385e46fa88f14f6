"""A record too large for Kafka once enriched, forced past the edge (issue 13, item 1).

Written straight to ``articles.raw`` (no API, no crawler in the way), a valid RawArticle of 199,999
emoji (800 KB) enriches to a record of about 1.2 MB, over the 1 MiB limit. It must land in
``enrich.dlq`` with a reason naming the limit and the size, at once and without ever being retried;
a good article written after it to the same partition must become searchable, the bridge must
commit past both, and no work may be left behind (the Celery queue empty, nothing held for a retry,
no retry or re-dispatch logged). Before the fix the enrich task treated the broker's
MessageSizeTooLargeError as an outage and retried it forever, and the partition never moved on.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import redis
from kafka import KafkaAdminClient, KafkaProducer, TopicPartition

from shared.ids import article_id
from shared.limits import KAFKA_MESSAGE_MAX_BYTES
from shared.schemas import DlqRecord, RawArticle, decode, utcnow
from shared.topics import Topic
from tests.e2e.test_pipeline import dlq_records
from tests.pipeline import KAFKA, REDIS_URL, Pipeline, wait_for

pytestmark = [pytest.mark.e2e]

PARTITION = 0


def _raw_article(token: str, text: str) -> RawArticle:
    url = f"https://warta-test.example/berita/{token}"
    # model_construct: the test writes what a misconfigured or bypassed edge would let through.
    return RawArticle.model_construct(
        schema_version=1, id=article_id(url), url=url, canonical_url=url, title=f"Pemkab Blora {token}",
        source="warta-test.example", text=text, ingested_at=utcnow(), authors=[], tags=[], origin="api",
    )  # fmt: skip


def _log_lines(p: Pipeline, name: str, needle: str) -> list[str]:
    log = Path(p.procs[name].log)
    return [line for line in log.read_text(errors="replace").splitlines() if needle in line]


def _committed(p: Pipeline, topic: str) -> int | None:
    admin = KafkaAdminClient(bootstrap_servers=KAFKA, client_id="warta-test-offsets")
    try:
        offsets = admin.list_consumer_group_offsets(f"{p.ns.prefix}enrich-bridge")
    finally:
        admin.close()
    position = offsets.get(TopicPartition(topic, PARTITION))
    return None if position is None else int(position.offset)


def test_an_oversized_record_forced_past_the_edge_lands_in_the_dlq_and_the_partition_moves_on(
    pipeline_factory: Any,
) -> None:
    p = pipeline_factory()
    raw_topic = p.ns.settings.topic(Topic.ARTICLES_RAW)
    poison = _raw_article(f"poison{uuid.uuid4().hex[:8]}", "\U0001f600" * 199_999)
    token = f"flow{uuid.uuid4().hex[:8]}"
    good = _raw_article(token, f"Pemerintah Kabupaten Blora meraih predikat Sangat Baik {token}.")
    poison_value = poison.model_dump_json(exclude_none=True).encode()
    assert 790_000 < len(poison_value) < KAFKA_MESSAGE_MAX_BYTES  # the raw record itself is fine

    producer = KafkaProducer(bootstrap_servers=KAFKA, acks="all", max_request_size=KAFKA_MESSAGE_MAX_BYTES)
    try:
        sent = producer.send(raw_topic, key=poison.id.encode(), value=poison_value, partition=PARTITION).get(30)
        good_sent = producer.send(raw_topic, key=good.id.encode(), value=good.to_bytes(), partition=PARTITION).get(30)
    finally:
        producer.close()

    # 1. The poison lands in the DLQ, with the reason, the limit and its size.
    def poison_in_dlq() -> list[dict[str, Any]]:
        return [r for r in dlq_records(p, "enrich") if r.get("article_id") == poison.id]

    (record,) = wait_for(poison_in_dlq, 120, interval=1, message="the oversized record in enrich.dlq")
    assert record["reason"] == "invalid"
    assert f"{KAFKA_MESSAGE_MAX_BYTES:,} bytes" in record["error"] and "enriched article" in record["error"]
    assert record["attempts"] == 1, "a record that can never fit must not be retried"
    assert record["source_partition"] == PARTITION and record["source_offset"] == sent.offset
    # The DLQ record keeps the raw record whole (it fits), so it can be replayed after a fix.
    assert decode(DlqRecord, json.dumps(record)).payload.encode() == poison_value

    # 2. The partition moved on: the article behind it is searchable, the bridge committed past both.
    wait_for(lambda: p.search(token)["total"] == 1, 90, message="the good article behind the poison indexed")
    wait_for(lambda: (_committed(p, raw_topic) or 0) > good_sent.offset, 30, message="bridge commits past both")

    # 3. Nothing keeps working on it: no task queued, none held back for a retry, no retry logged.
    r = redis.Redis.from_url(REDIS_URL)
    prefix = f"{p.ns.prefix}warta:"
    try:
        wait_for(lambda: r.llen(f"{prefix}enrich") == 0 and r.hlen(f"{prefix}unacked") == 0, 30,
                 message="the Celery queue and the unacked tasks empty")  # fmt: skip
        time.sleep(10)  # long enough for a retry (backoff 2-30 s) or a re-dispatch check (every 1 s) to show
        assert r.llen(f"{prefix}enrich") == 0 and r.hlen(f"{prefix}unacked") == 0
    finally:
        r.close()
    assert _log_lines(p, "worker-1", "will retry") == []
    assert _log_lines(p, "bridge", "re-dispatching") == []
    assert len(poison_in_dlq()) == 1, "sent to the DLQ once"
