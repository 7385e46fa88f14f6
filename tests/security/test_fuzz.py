"""Both APIs under generated input, with real articles in the index, and an audit of what was
accepted.

1. Real Indonesian articles (IndoSum development data) go through the whole pipeline first, so
   search, analytics and export run against a populated index, not an empty one.
2. Hypothesis posts articles built to hurt: non-Latin scripts, emoji, control and bidi characters,
   bodies around the byte limit, dates from year 1 to 9999 in odd offsets, odd URLs and HTML.
3. Schemathesis runs every operation of both OpenAPI documents, with conformance checks.
4. No answer is a 5xx; both APIs are still ready and a fresh article still flows end to end.
5. Nothing accepted is lost: every record Kafka acknowledged on ``articles.raw`` (so every 2xx)
   is searchable exactly once, or is in a DLQ with its reason.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kafka import KafkaConsumer, TopicPartition

from benchmarks.corpus import indosum_articles
from shared.limits import MAX_TEXT_BYTES
from shared.topics import Topic
from tests.e2e.test_pipeline import article, dlq_records
from tests.pipeline import ES_URL, KAFKA, Pipeline, wait_for

pytestmark = [pytest.mark.e2e]

ST = str(Path(sys.executable).parent / "schemathesis")
SEED_ARTICLES = 40

# Characters that have broken text pipelines before: scripts without spaces, astral-plane emoji,
# combining marks, right-to-left text and overrides, zero-width joiners, NUL and other controls.
HOSTILE = [
    "😀",
    "中",
    "ก",
    "ا",
    "\u0301",
    "\u202e",
    "\u2066",
    "\u200d",
    "\x00",
    "\x07",
    "\r",
    "\t",
    '"',
    "\\",
    "\ufeff",
]
SCRIPTS = st.characters(codec="utf-8", exclude_categories=["Cs"])


def _text() -> st.SearchStrategy[str]:
    ordinary = st.text(SCRIPTS, min_size=1, max_size=400)
    # A single character repeated to a size around the byte limit: under it, at it, over it.
    width = {"😀": 4, "中": 3, "ก": 3, "ا": 2, '"': 2, "\\": 2, "\x00": 6, "\x07": 6}
    huge = st.builds(
        lambda ch, factor: ch * max(1, int(MAX_TEXT_BYTES * factor) // width.get(ch, 3)),
        st.sampled_from(sorted(width)),
        st.sampled_from([0.5, 0.99, 1.01, 2.1]),
    )
    mixed = st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(SCRIPTS, max_size=20)), min_size=1, max_size=60).map(
        "".join
    )
    return st.one_of(ordinary, mixed, huge)


def _published_at() -> st.SearchStrategy[Any]:
    from datetime import datetime, timedelta, timezone

    offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
    aware = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=offsets)
    return st.one_of(
        st.none(),
        aware.map(lambda d: d.isoformat()),
        st.sampled_from(["0001-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2024-02-30T00:00:00Z",
                         "2025-05-05T10:00:00", "yesterday", "", "2025-05-05T10:00:00+25:00"]),
    )  # fmt: skip


def _url() -> st.SearchStrategy[str]:
    path = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)
    return st.one_of(
        path.map(lambda p: f"https://fuzz.example/{uuid.uuid4().hex}/{p}"),
        st.sampled_from([
            "http://example.com:99999/x", "http://example.com:abc/x", "http://exa mple.com/x", "http://exa\x00mple.com/x",
            "https://user:pass@fuzz.example/kredensial", "javascript:alert(1)", "ftp://fuzz.example/x", "//fuzz.example/x",
            "https://[::1]/x", "https://xn--bcher-kva.example/buku", "https://bücher.example/buku", "https://fuzz.example/" + "a" * 3000,
        ]),
    )  # fmt: skip


def _article() -> st.SearchStrategy[dict[str, Any]]:
    html = st.builds(lambda body: f"<html><body><article><h1>Judul</h1><p>{body}</p></article></body></html>", _text())
    body = st.one_of(st.builds(lambda t: {"text": t}, _text()), st.builds(lambda h: {"html": h}, html))
    return st.builds(
        lambda url, title, when, body: {"url": url, "title": title, **({"published_at": when} if when else {}), **body},
        _url(),
        st.one_of(st.text(SCRIPTS, min_size=1, max_size=200), st.sampled_from(["=HYPERLINK(\"http://x\")", "\u202eevil", "a\x00b"])),
        _published_at(),
        body,
    )  # fmt: skip


def run_schemathesis(base_url: str, key: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ST, "run", f"{base_url}/openapi.json", "-H", f"Authorization: Bearer {key}",
         "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
         "--max-examples", "25", "--seed", "20261205", "--request-timeout", "30", *extra],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip


def accepted_ids(p: Pipeline) -> set[str]:
    """Every article id Kafka acknowledged on ``articles.raw``: what the ingest API answered 2xx for."""
    topic = p.ns.settings.topic(Topic.ARTICLES_RAW)
    consumer = KafkaConsumer(bootstrap_servers=KAFKA, enable_auto_commit=False, consumer_timeout_ms=5000)
    try:
        parts = [TopicPartition(topic, n) for n in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        end = consumer.end_offsets(parts)
        ids: set[str] = set()
        while any(consumer.position(tp) < end[tp] for tp in parts):
            for records in consumer.poll(timeout_ms=1000).values():
                ids.update(r.key.decode() for r in records)
        return ids
    finally:
        consumer.close()


def test_fuzzed_input_never_fails_the_server_and_nothing_accepted_is_lost(pipeline_factory) -> None:  # type: ignore[no-untyped-def]
    p = pipeline_factory(extra_env={"WARTA_RATE_LIMIT_PER_MINUTE": "1000000"})
    ingest = httpx.Client(base_url=p.ingest_url, headers=p.ns.auth, timeout=60)

    # 1. Real articles, through the whole pipeline.
    seeds = indosum_articles(limit=SEED_ARTICLES)
    assert len(seeds) == SEED_ARTICLES, "IndoSum development data not found in ../shared/data beside the repo"
    for i, a in enumerate(seeds):
        r = ingest.post("/v1/articles", json={"url": f"https://seed.example/berita/{i}", "title": a["title"],
                                              "text": a["text"], "published_at": f"2025-05-0{1 + i % 9}T08:00:00+07:00"})  # fmt: skip
        assert r.status_code == 202, r.text
    es = Elasticsearch(ES_URL, request_timeout=30)
    index = f"{p.ns.prefix}articles"
    wait_for(lambda: es.options(ignore_status=404).count(index=index).get("count", 0) >= SEED_ARTICLES, 120,
             message="seed articles indexed")  # fmt: skip

    # 2. Hostile articles, one by one and in batches.
    statuses: list[int] = []

    @settings(max_examples=120, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])  # fmt: skip
    @given(_article(), st.booleans())
    def post(item: dict[str, Any], as_batch: bool) -> None:
        if as_batch:
            r = ingest.post("/v1/articles/batch", json={"articles": [item, article(uuid.uuid4().hex[:10])]})
            assert r.status_code < 500, (r.status_code, r.text[:500])
            if r.status_code == 200:
                results = r.json()["results"]
                assert results[1]["status"] == 202, f"a bad item sank a good one: {results}"
                statuses.extend(res["status"] for res in results)
            return
        r = ingest.post("/v1/articles", json=item)
        assert r.status_code < 500, (r.status_code, r.text[:500])
        assert r.headers["content-type"].startswith("application/json")
        if r.status_code >= 400:
            assert r.json().get("error"), r.text[:300]
        statuses.append(r.status_code)

    post()
    assert {s for s in statuses} - {202, 400, 413, 422} == set(), statuses
    assert 202 in statuses and (413 in statuses or 422 in statuses), "the generator missed either side of the rules"

    # 3. Every operation of both APIs, with the index populated.
    for base, extra in ((p.search_url, ("--exclude-path", "/v1/keys/{key_id}")), (p.ingest_url, ())):
        out = run_schemathesis(base, p.ns.admin_key, *extra)
        assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]

    # 4. Still ready, and still flowing.
    for base in (p.ingest_url, p.search_url):
        assert httpx.get(f"{base}/readyz", timeout=10).status_code == 200
    assert all(proc.alive() for proc in p.procs.values()), {n: proc.alive() for n, proc in p.procs.items()}
    canary = f"canary{uuid.uuid4().hex[:8]}"
    assert p.post(article(canary)).status_code == 202
    wait_for(lambda: p.search(canary)["total"] == 1, 90, message="a fresh article after the fuzz")

    # 5. Nothing accepted is lost: indexed exactly once, or in a DLQ with a reason.
    accepted = accepted_ids(p)

    def accounted() -> tuple[dict[str, int], dict[str, dict[str, Any]]] | None:
        dlq = {str(r.get("article_id")): r for stage in ("enrich", "search") for r in dlq_records(p, stage, 2)}
        es.indices.refresh(index=index)
        resp = es.search(index=index, query={"ids": {"values": sorted(accepted)}}, size=len(accepted) + 10,
                         source=False, track_total_hits=True)  # fmt: skip
        counts: dict[str, int] = {}
        for h in resp["hits"]["hits"]:
            counts[h["_id"]] = counts.get(h["_id"], 0) + 1
        return (counts, dlq) if accepted <= set(counts) | set(dlq) else None

    try:
        counts, dlq = wait_for(accounted, 180, interval=2, message="every accepted article indexed or in a DLQ")
    finally:
        es.close()
    assert all(r["reason"] and r["error"] for r in dlq.values()), list(dlq.values())[:3]
    assert all(n == 1 for n in counts.values()), {k: n for k, n in counts.items() if n != 1}
    print(json.dumps({"accepted": len(accepted), "indexed": len(counts), "dlq": len(set(dlq) & accepted),
                      "statuses": {s: statuses.count(s) for s in sorted(set(statuses))}}))  # fmt: skip
