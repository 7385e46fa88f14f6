"""Removing an article for good, on the whole real stack (issue #15 item 8):

- ``DELETE /v1/articles/{id}`` (admin, with a reason) takes it out of search, export, its story's
  counts and the monitors' matches at once, and leaves a tombstone and an audit event;
- the same enriched record published again to ``articles.enriched`` stays out: the indexer commits
  it and counts it ``tombstoned``; so does a re-push through the ingest API under a URL variant;
- a reader gets 403, an unknown id 404, a missing or blank reason 422;
- lifting the tombstone (audit-logged too) lets a re-push index it again.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from shared.topics import Topic
from tests.e2e.test_stories import RELEASE, article
from tests.pipeline import KAFKA, Pipeline, free_port, wait_for

pytestmark = [pytest.mark.e2e]


def metric(port: int, name: str, labels: dict[str, str]) -> float:
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=3).text
    except httpx.HTTPError:
        return 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def enriched_record(p: Pipeline, article_id: str) -> bytes:
    """The value of the article's record on articles.enriched."""
    consumer = KafkaConsumer(p.ns.settings.topic(Topic.ARTICLES_ENRICHED), bootstrap_servers=KAFKA,
                             auto_offset_reset="earliest", enable_auto_commit=False, consumer_timeout_ms=3000)  # fmt: skip
    try:
        values = [m.value for m in consumer if m.key == article_id.encode()]
    finally:
        consumer.close()
    assert values, "the enriched record is on the topic"
    return values[-1]  # type: ignore[no-any-return]


def indexer_caught_up(p: Pipeline) -> bool:
    """Every record of articles.enriched is committed by the indexer's group."""
    topic = p.ns.settings.topic(Topic.ARTICLES_ENRICHED)
    admin = KafkaAdminClient(bootstrap_servers=KAFKA)
    consumer = KafkaConsumer(bootstrap_servers=KAFKA)
    try:
        committed = admin.list_consumer_group_offsets(f"{p.ns.prefix}search-indexer")
        ends = consumer.end_offsets([TopicPartition(topic, n) for n in consumer.partitions_for_topic(topic) or ()])
        return all((committed[tp].offset if tp in committed else 0) == end for tp, end in ends.items())
    finally:
        admin.close()
        consumer.close()


def delete(p: Pipeline, path: str, key: str | None = None, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else p.ns.auth
    return httpx.request("DELETE", f"{p.search_url}{path}", headers=headers, timeout=30, **kwargs)


def test_a_removed_article_is_gone_everywhere_stays_gone_and_comes_back_when_lifted(pipeline_factory) -> None:  # type: ignore[no-untyped-def]
    p: Pipeline = pipeline_factory(start=False)
    metrics_port = free_port()
    p.procs["indexer"].env["WARTA_METRICS_PORT"] = str(metrics_port)
    p.start()
    token = f"hapus{uuid.uuid4().hex[:8]}"
    monitor = httpx.post(f"{p.search_url}/v1/saved-searches", headers=p.ns.auth, timeout=30,
                         json={"name": "Operasi pasar", "query": token}).json()  # fmt: skip
    original = article("lintasmuria.example", token, RELEASE, "SEMARANG")
    copy = article("kabarpantura.example", token, RELEASE, "KUDUS")
    keep = p.post(original).json()["id"]
    wait_for(lambda: p.search(token)["total"] == 1, 90, message="the original indexed")
    gone = p.post(copy).json()["id"]
    wait_for(lambda: p.search(token)["total"] == 2, 90, message="the copy indexed")
    wait_for(lambda: p.get(f"/v1/stories/{keep}").json()["story"]["story_size"] == 2, 30, message="one story")
    matches = f"/v1/saved-searches/{monitor['id']}/matches"
    wait_for(lambda: {m["article_id"] for m in p.get(matches).json()} == {keep, gone}, 60, message="both matched")

    # Refusals first.
    reader = httpx.post(f"{p.search_url}/v1/keys", headers=p.ns.auth, timeout=30,
                        json={"name": "pembaca", "role": "reader"}).json()["key"]  # fmt: skip
    assert delete(p, f"/v1/articles/{gone}", reader, params={"reason": "x"}).status_code == 403
    assert delete(p, "/v1/articles/0123abcd", params={"reason": "test article"}).status_code == 404
    missing = delete(p, f"/v1/articles/{gone}")
    assert missing.status_code == 422 and "reason" in missing.json()["error"]
    assert delete(p, f"/v1/articles/{gone}", json={"reason": "   "}).status_code == 422
    assert p.get(f"/v1/articles/{gone}").status_code == 200, "nothing was removed by a refused request"

    # The removal: gone from search, export, story counts and matches as soon as it answers.
    r = delete(p, f"/v1/articles/{gone}", json={"reason": "takedown request"})
    assert r.status_code == 200, r.text
    tombstone = r.json()
    assert tombstone["id"] == gone
    assert (tombstone["reason"], tombstone["removed_by"]) == ("takedown request", "bootstrap admin")
    assert tombstone["canonical_url"] == copy["url"]
    assert p.get(f"/v1/articles/{gone}").status_code == 404
    assert [h["id"] for h in p.search(token)["hits"]] == [keep]  # type: ignore[index]
    collapsed = p.search(token, collapse="true")
    assert collapsed["total_stories"] == 1 and collapsed["hits"][0]["story"]["story_size"] == 1  # type: ignore[index]
    story = p.get(f"/v1/stories/{keep}").json()
    assert story["story"]["story_size"] == 1 and [m["id"] for m in story["members"]] == [keep]
    top = p.get("/v1/analytics/top", q=token, field="source").json()
    assert sum(b["count"] for b in top["values"]) == 1
    for fmt in ("csv", "ndjson"):
        body = p.get("/v1/export", q=token, format=fmt).text
        assert keep in body and gone not in body, fmt
    assert {m["article_id"] for m in p.get(matches).json()} == {keep}
    again = delete(p, f"/v1/articles/{gone}", params={"reason": "takedown request"})
    assert again.status_code == 404 and "already removed" in again.json()["error"]
    assert [t["id"] for t in p.get("/v1/tombstones").json()] == [gone]
    assert p.get(f"/v1/tombstones/{gone}").json()["reason"] == "takedown request"
    assert httpx.get(f"{p.search_url}/v1/tombstones", headers={"Authorization": f"Bearer {reader}"},
                     timeout=30).status_code == 403  # fmt: skip

    # The same enriched record again: committed, counted as tombstoned, still absent.
    record = enriched_record(p, gone)
    producer = KafkaProducer(bootstrap_servers=KAFKA, acks="all")
    producer.send(p.ns.settings.topic(Topic.ARTICLES_ENRICHED), key=gone.encode(), value=record).get(30)
    producer.close()
    tombstoned = {"stage": "search", "outcome": "tombstoned"}
    wait_for(lambda: metric(metrics_port, "warta_messages_total", tombstoned) == 1, 60, message="counted tombstoned")
    wait_for(lambda: indexer_caught_up(p), 30, message="the indexer committed it")
    # A re-push through the ingest API, under a URL variant with the same canonical URL.
    variant = {**copy, "url": copy["url"] + "?utm_source=newsletter#komentar"}
    assert p.post(variant).json()["id"] == gone
    wait_for(lambda: metric(metrics_port, "warta_messages_total", tombstoned) == 2, 90, message="re-push tombstoned")
    assert p.get(f"/v1/articles/{gone}").status_code == 404
    assert p.search(token)["total"] == 1
    assert {m["article_id"] for m in p.get(matches).json()} == {keep}

    # Lifting: audit-logged, and the next push indexes it again.
    assert delete(p, f"/v1/tombstones/{gone}", reader, params={"reason": "x"}).status_code == 403
    assert delete(p, f"/v1/tombstones/{gone}").status_code == 422
    lifted = delete(p, f"/v1/tombstones/{gone}", params={"reason": "publisher withdrew the request"})
    assert lifted.status_code == 200 and lifted.json()["id"] == gone
    assert delete(p, f"/v1/tombstones/{gone}", params={"reason": "again"}).status_code == 404
    assert p.post(copy).status_code == 202
    wait_for(lambda: p.search(token)["total"] == 2, 90, message="indexed again after the lift")
    wait_for(lambda: {m["article_id"] for m in p.get(matches).json()} == {keep, gone}, 60, message="matched again")

    events = p.get("/v1/audit", target_id=gone).json()
    assert [(e["action"], e["reason"], e["actor_name"], e["actor_role"]) for e in events] == [
        ("article.restore", "publisher withdrew the request", "bootstrap admin", "admin"),
        ("article.remove", "takedown request", "bootstrap admin", "admin"),
    ]
    assert events[1]["details"]["canonical_url"] == copy["url"]
    assert httpx.get(f"{p.search_url}/v1/audit", headers={"Authorization": f"Bearer {reader}"},
                     timeout=30).status_code == 403  # fmt: skip
