"""The whole pipeline with real processes: ingest API -> Kafka -> bridge -> Celery worker -> Kafka
-> indexer -> Elasticsearch -> search API."""

from __future__ import annotations

import json
import signal
import time
import uuid

import httpx
import pytest
from kafka import KafkaConsumer

from shared.topics import Topic
from tests.pipeline import KAFKA, Pipeline, wait_for

pytestmark = [pytest.mark.e2e]


def article(token: str, **extra: object) -> dict[str, object]:
    return {
        "url": f"https://warta-test.example/berita/{token}?utm_source=test",
        "title": f"Pemkab Blora raih penghargaan pelayanan publik {token}",
        "text": (
            f"BLORA – Pemerintah Kabupaten Blora meraih predikat Sangat Baik {token}. "
            "Wakil Bupati Blora Sri Setyorini menerima penghargaan itu di Semarang, Jawa Tengah.\n\n"
            "Bupati Blora Arief Rohman berharap pelayanan publik terus membaik."
        ),
        "published_at": "2025-05-05T10:00:00+07:00",
        **extra,
    }


def dlq_records(pipeline: Pipeline, stage: str, timeout_s: float = 5) -> list[dict[str, object]]:
    consumer = KafkaConsumer(
        pipeline.ns.settings.topic(Topic(f"{stage}.dlq")),
        bootstrap_servers=KAFKA,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=int(timeout_s * 1000),
    )
    try:
        return [json.loads(m.value) for m in consumer]
    finally:
        consumer.close()


def test_posted_article_becomes_searchable(pipeline_factory) -> None:  # type: ignore[no-untyped-def]
    p = pipeline_factory()
    token = f"tok{uuid.uuid4().hex[:8]}"
    r = p.post(article(token))
    assert r.status_code == 202, r.text
    article_id = r.json()["id"]

    result = wait_for(lambda: p.search(token)["total"] == 1 and p.search(token), 60, message="article indexed")
    hit = result["hits"][0]
    assert hit["id"] == article_id
    assert hit["url"].startswith("https://warta-test.example/berita/")
    assert hit["source"] == "warta-test.example"
    assert token in (hit["snippet"] or "")

    doc = p.get(f"/v1/articles/{article_id}").json()
    assert doc["canonical_url"] == f"https://warta-test.example/berita/{token}"
    assert doc["language"] == "id"
    assert doc["word_count"] > 20
    # Enriched with tone (EnrichedArticle v2): the article's, the title's, and toward each entity.
    assert doc["tone"]["label"] in {"positive", "negative", "neutral"} and doc["tone"]["headline"] is not None
    assert {t["canonical"] for t in doc["entity_tones"]} >= {"Pemerintah Kabupaten Blora", "Arief Rohman"}
    assert p.get("/v1/articles/doesnotexist").status_code == 404


def test_same_article_twice_is_one_document(pipeline_factory) -> None:  # type: ignore[no-untyped-def]
    p = pipeline_factory()
    token = f"dup{uuid.uuid4().hex[:8]}"
    first = p.post(article(token)).json()["id"]
    # The same article again, reached through a URL that differs only in tracking parameters.
    second = p.post(article(token, url=f"https://warta-test.example/berita/{token}?fbclid=xyz")).json()["id"]
    assert first == second
    wait_for(lambda: p.search(token)["total"] >= 1, 60, message="article indexed")
    time.sleep(3)  # let the second copy travel through too
    assert p.search(token)["total"] == 1


def test_failing_enrichment_goes_to_dlq_and_pipeline_keeps_flowing(pipeline_factory) -> None:  # type: ignore[no-untyped-def]
    marker = "POISON-" + uuid.uuid4().hex[:6]
    p = pipeline_factory(extra_env={"WARTA_FAULT_INJECT_MARKER": marker, "WARTA_RETRY_BACKOFF_S": "0.1"})
    bad = f"bad{uuid.uuid4().hex[:8]}"
    good = f"good{uuid.uuid4().hex[:8]}"
    a = article(bad)
    a["text"] = f"{a['text']} {marker}"
    bad_id = p.post(a).json()["id"]
    assert p.post(article(good)).status_code == 202

    wait_for(lambda: p.search(good)["total"] == 1, 60, message="good article indexed")
    records = wait_for(lambda: [r for r in dlq_records(p, "enrich") if r.get("article_id") == bad_id], 60,
                       message="DLQ record")  # fmt: skip
    record = records[0]
    assert record["stage"] == "enrich"
    assert record["reason"] == "failed"
    assert record["attempts"] == 4  # the first try plus WARTA_MAX_RETRIES=3
    assert "InjectedFault" in record["error"]
    assert json.loads(record["payload"])["id"] == bad_id
    assert p.search(bad)["total"] == 0


def test_worker_killed_mid_task_loses_nothing(pipeline_factory) -> None:  # type: ignore[no-untyped-def]
    # Slow tasks so that the kill lands while tasks are running.
    p = pipeline_factory(extra_env={"WARTA_FAULT_INJECT_DELAY_S": "1.0", "WARTA_VISIBILITY_TIMEOUT_S": "10",
                                    "WARTA_REDISPATCH_AFTER_S": "20"})  # fmt: skip
    batch = f"kill{uuid.uuid4().hex[:6]}"
    ids = set()
    for i in range(8):
        r = p.post(article(f"{batch} n{i}", url=f"https://warta-test.example/kill/{batch}/{i}"))
        assert r.status_code == 202
        ids.add(r.json()["id"])
    worker = p.procs["worker-1"]
    wait_for(lambda: worker.children(), 30, message="worker pool child")
    time.sleep(1.5)
    # SIGKILL the whole worker (main process and pool) in the middle of a task, then start a new one.
    worker.kill()
    worker.start()
    result = wait_for(lambda: (r := p.search(batch, size=50))["total"] == 8 and r, 120, message="all 8 indexed")
    assert {h["id"] for h in result["hits"]} == ids


def test_bad_input_gets_4xx_naming_the_field(pipeline_factory) -> None:  # type: ignore[no-untyped-def]
    p = pipeline_factory(start=False)
    p.start(["ingest-api", "search-api"])
    r = p.post({"title": "x", "text": "y"})
    assert r.status_code == 422 and "url" in r.json()["error"]
    r = p.post({"url": "https://a.example/x", "title": "x"})
    assert r.status_code == 422 and "text" in r.json()["error"]
    r = p.post({"url": "ftp://a.example/x", "title": "x", "text": "y"})
    assert r.status_code == 422 and "url" in r.json()["error"]
    r = p.post({"url": "https://a.example/x", "title": "x", "text": "y", "published_at": "2025-01-01T00:00:00"})
    assert r.status_code == 422 and "published_at" in r.json()["error"]

    batch = [article("b1"), {"title": "missing url", "text": "y"}, article("b2", url="https://a.example/b2")]
    r = httpx.post(f"{p.ingest_url}/v1/articles/batch", json={"articles": batch}, headers=p.ns.auth, timeout=30)
    assert r.status_code == 200
    body = r.json()
    assert (body["accepted"], body["rejected"]) == (2, 1)
    assert [x["status"] for x in body["results"]] == [202, 422, 202]
    assert "url" in body["results"][1]["error"]
    too_many = httpx.post(f"{p.ingest_url}/v1/articles/batch", json={"articles": [article("x")] * 501},
                          headers=p.ns.auth, timeout=30)  # fmt: skip
    assert too_many.status_code == 422


def test_sigterm_commits_and_exits_cleanly(pipeline_factory) -> None:  # type: ignore[no-untyped-def]
    p = pipeline_factory()
    token = f"term{uuid.uuid4().hex[:8]}"
    assert p.post(article(token)).status_code == 202
    wait_for(lambda: p.search(token)["total"] == 1, 60, message="indexed")
    for name in ("bridge", "indexer"):
        proc = p.procs[name]
        proc.signal(signal.SIGTERM)
        assert proc.popen is not None
        assert proc.popen.wait(30) == 0
