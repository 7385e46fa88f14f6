"""Poison messages go to their stage's DLQ with a reason while the stream flows on, and
``warta dlq replay`` brings records back after a fix."""

from __future__ import annotations

import json
import subprocess
import uuid

import pytest
from kafka import KafkaProducer

from shared.contracts import examples
from shared.schemas import EnrichedArticle, decode
from shared.topics import Topic
from tests.e2e.test_pipeline import article, dlq_records
from tests.pipeline import KAFKA, WARTA, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.chaos]


def test_poison_messages_reach_their_dlq_and_the_stream_flows_on(pipeline_factory) -> None:  # type: ignore[no-untyped-def]
    p = pipeline_factory()
    s = p.ns.settings
    producer = KafkaProducer(bootstrap_servers=KAFKA, acks="all")
    raw_topic, enriched_topic = s.topic(Topic.ARTICLES_RAW), s.topic(Topic.ARTICLES_ENRICHED)
    producer.send(raw_topic, key=b"p1", value=b"{not json").get(10)
    producer.send(raw_topic, key=b"p2", value=json.dumps({"schema_version": 7, "id": "p2"}).encode()).get(10)
    # A document that validates but that Elasticsearch rejects: a keyword over Lucene's term limit.
    enriched = decode(EnrichedArticle, examples("articles.enriched")[0].read_bytes())
    rejected_id = "rejected" + uuid.uuid4().hex[:8]
    huge = enriched.model_copy(update={"id": rejected_id, "authors": ["x" * 40_000]})
    producer.send(enriched_topic, key=rejected_id.encode(), value=huge.to_bytes()).get(10)
    producer.close()

    token = f"flow{uuid.uuid4().hex[:8]}"
    assert p.post(article(token)).status_code == 202
    wait_for(lambda: p.search(token)["total"] == 1, 60, message="good article indexed after the poison")

    enrich_dlq = wait_for(lambda: len(r := dlq_records(p, "enrich")) >= 2 and r, 30, message="enrich DLQ")
    reasons = sorted(r["reason"] for r in enrich_dlq)
    assert reasons == ["invalid", "unknown_schema"]
    assert any(r["payload"] == "{not json" for r in enrich_dlq)
    search_dlq = wait_for(lambda: dlq_records(p, "search"), 30, message="search DLQ")
    assert search_dlq[0]["reason"] == "rejected" and search_dlq[0]["article_id"] == rejected_id
    assert "400" in search_dlq[0]["error"]

    listing = subprocess.run([WARTA, "dlq", "list", "--stage", "enrich", "--json"], env=p.env, capture_output=True,
                             text=True, timeout=60)  # fmt: skip
    assert listing.returncode == 0, listing.stderr
    assert len(listing.stdout.strip().splitlines()) == 2


def test_replay_after_fix(pipeline_factory) -> None:  # type: ignore[no-untyped-def]
    marker = "BUG-" + uuid.uuid4().hex[:6]
    p = pipeline_factory(extra_env={"WARTA_FAULT_INJECT_MARKER": marker, "WARTA_RETRY_BACKOFF_S": "0.05"})
    token = f"replay{uuid.uuid4().hex[:8]}"
    a = article(token)
    a["text"] = f"{a['text']} {marker}"
    article_id = p.post(a).json()["id"]
    wait_for(lambda: any(r.get("article_id") == article_id for r in dlq_records(p, "enrich")), 60, message="DLQ")
    assert p.search(token)["total"] == 0

    # "Deploy the fix": restart the worker without the fault, then replay.
    worker = p.procs["worker-1"]
    worker.stop()
    worker.env = {k: v for k, v in worker.env.items() if k != "WARTA_FAULT_INJECT_MARKER"}
    worker.start()
    out = subprocess.run([WARTA, "dlq", "replay", "--stage", "enrich"], env=p.env, capture_output=True, text=True,
                         timeout=60)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["replayed"] == 1
    wait_for(lambda: p.search(token)["total"] == 1, 60, message="replayed article indexed")
    again = subprocess.run([WARTA, "dlq", "replay", "--stage", "enrich"], env=p.env, capture_output=True, text=True,
                           timeout=60)  # fmt: skip
    assert json.loads(again.stdout)["replayed"] == 0, "a record must be replayed once"
