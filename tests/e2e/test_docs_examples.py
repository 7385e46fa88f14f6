"""Every example in the docs, run against the real API (issue 15, item 4): the examples are read
from the markdown (tests/docs_examples.py), so a new example is tested without a new test."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.docs_examples import curl_examples, query_examples
from tests.pipeline import Pipeline, wait_for

pytestmark = [pytest.mark.e2e]


def _corpus(token: str) -> list[dict[str, object]]:
    return [
        {"url": f"https://suarablora.example/berita/{token}-{i}", "title": f"{title} {token}",
         "text": f"BLORA – {text} Kode liputan {token}.", "published_at": f"2025-05-0{i + 1}T09:30:00+07:00",
         "source": "suarablora.example"}
        for i, (title, text) in enumerate([
            ("Pemkab Blora bahas tanggul baru", "Pemerintah Kabupaten Blora membahas tanggul Sungai Lusi dan banjir."),
            ("Wakil Bupati Blora raih penghargaan", "Wakil Bupati Blora menerima penghargaan pelayanan publik."),
            ("Festival budaya di Pati", "Festival budaya tahunan digelar di alun-alun Pati, Jawa Tengah."),
        ])
    ]  # fmt: skip


def test_every_query_language_example_runs_as_documented(pipeline_factory) -> None:  # type: ignore[no-untyped-def]
    p: Pipeline = pipeline_factory()
    token = f"d{uuid.uuid4().hex[:8]}"
    corpus = _corpus(token)
    r = httpx.post(f"{p.ingest_url}/v1/articles/batch", json={"articles": corpus}, headers=p.ns.auth, timeout=60)
    assert r.json()["accepted"] == len(corpus), r.text
    wait_for(lambda: p.search(token)["total"] == len(corpus), 90, message="corpus indexed")

    examples = query_examples()
    # The extraction still finds what the doc shows (a changed table layout must not test nothing).
    assert len(examples.valid) >= 30 and len(examples.errors) >= 10 and examples.answers, examples

    for q in examples.valid:
        for path in ("/v1/search", "/v1/analytics/timeline"):
            r = p.get(path, q=q)
            assert r.status_code == 200, (path, q, r.text)
    for q, expected in examples.errors:
        r = p.get("/v1/search", q=q)
        assert r.status_code == 400, (q, r.text)
        body = r.json()
        assert {k: body.get(k) for k in expected} == expected, (q, body)
        assert body.get("code"), (q, body)  # every query error has a stable code next to its sentence
    for q, answer in examples.answers:
        r = p.get("/v1/search", q=q)
        assert r.status_code == 400 and r.json() == answer, (q, r.text)

    # "An empty q (or one of only spaces) ... means every article, narrowed by the other parameters."
    everything = p.search("NOT " + uuid.uuid4().hex)["total"]
    assert everything == len(corpus)  # the namespace holds only this corpus
    for blank in ("", "   "):
        assert p.search(blank)["total"] == everything
        assert p.search(blank, **{"from": "2025-05-02", "to": "2025-05-02"})["total"] == 1
        r = p.get("/v1/analytics/timeline", q=blank)
        assert r.status_code == 200 and sum(b["count"] for b in r.json()["buckets"]) == everything, r.text
    # "A monitor needs a query: an empty or blank one is refused (a blank one with empty query)."
    saved = f"{p.search_url}/v1/saved-searches"
    assert httpx.post(saved, json={"name": "kosong", "query": ""}, headers=p.ns.auth).status_code == 422
    r = httpx.post(saved, json={"name": "kosong", "query": "   "}, headers=p.ns.auth)
    assert r.status_code == 400 and r.json()["error"] == "empty query" and r.json()["code"] == "empty_query", r.text


def test_every_curl_example_in_the_docs_runs(pipeline_factory) -> None:  # type: ignore[no-untyped-def]
    p: Pipeline = pipeline_factory(start=False)
    p.start(["ingest-api", "search-api"])
    examples = curl_examples()
    assert examples, "no curl example found in docs/"
    for ex in examples:
        base = p.search_url if ex.port == 8002 else p.ingest_url
        r = httpx.request(ex.method, f"{base}{ex.path}", json=ex.body, headers=p.ns.auth, timeout=30)
        if r.status_code == 422 and "webhook_refused.dns" in r.text:
            # The example's receiver (hooks.example.com) does not resolve on a machine without DNS:
            # the documented refusal. The rest of the request is checked without it.
            assert ex.body is not None
            body = {**ex.body, "webhook_url": None}
            if "channels" in body:  # a digest's chat webhook (docs/pr-workflows.md): the same rule
                body["channels"] = {**body["channels"], "chat_webhook_url": None}
            # Spike alerts need a webhook or a chat channel; with both refused there is none.
            body.pop("spike", None)
            r = httpx.request(ex.method, f"{base}{ex.path}", json=body, headers=p.ns.auth, timeout=30)
        assert r.status_code < 300, (ex, r.text)
        if ex.body and "query" in ex.body:  # a monitor's query is also a search
            assert p.get("/v1/search", q=ex.body["query"]).status_code == 200
