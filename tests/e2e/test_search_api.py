"""The search API against the real stack: query language, filters, paging, analytics, export,
saved searches with webhook alerts, API keys and rate limits."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import httpx
import pytest

from tests.pipeline import Pipeline, free_port, wait_for

pytestmark = [pytest.mark.e2e]

OUTLETS = ["suarablora.example", "kabarjateng.example", "warta-pantura.example"]


def corpus(token: str) -> list[dict[str, object]]:
    """Nine articles in three outlets, with controlled words, dates and phrases."""
    docs = []
    for i in range(9):
        outlet = OUTLETS[i % 3]
        topic = ["penghargaan pelayanan publik", "banjir rob", "festival budaya"][i // 3]
        docs.append({
            "url": f"https://{outlet}/berita/{token}-{i}",
            "title": f"{topic.title()} {token} nomor {i}",
            "text": (f"BLORA – Berita {token} tentang {topic} di Kabupaten Blora, Jawa Tengah. "
                     f"Wakil Bupati Blora Sri Setyorini hadir pada hari ke-{i}.\n\nWarga menyambut baik kegiatan itu."),
            "published_at": f"2025-05-0{1 + i % 9}T0{i}:30:00+07:00",
            "source": outlet,
        })  # fmt: skip
    return docs


@pytest.fixture
def loaded(pipeline_factory) -> tuple[Pipeline, str]:  # type: ignore[no-untyped-def]
    p = pipeline_factory(extra_env={"WARTA_RATE_LIMIT_PER_MINUTE": "100000"})
    token = f"q{uuid.uuid4().hex[:8]}"
    r = httpx.post(f"{p.ingest_url}/v1/articles/batch", json={"articles": corpus(token)}, headers=p.ns.auth, timeout=60)
    assert r.json()["accepted"] == 9, r.text
    wait_for(lambda: p.search(token)["total"] == 9, 90, message="corpus indexed")
    return p, token


def test_auth_roles_and_open_endpoints(loaded) -> None:  # type: ignore[no-untyped-def]
    p, token = loaded
    assert httpx.get(f"{p.search_url}/v1/search", params={"q": token}).status_code == 401
    assert httpx.get(f"{p.search_url}/v1/search", headers={"Authorization": "Bearer nope"}).status_code == 401
    r = httpx.post(f"{p.search_url}/v1/keys", json={"name": "monitor", "role": "reader"}, headers=p.ns.auth)
    assert r.status_code == 201
    reader = {"Authorization": f"Bearer {r.json()['key']}"}
    assert httpx.get(f"{p.search_url}/v1/search", params={"q": token}, headers=reader).json()["total"] == 9
    assert httpx.get(f"{p.search_url}/v1/saved-searches", headers=reader).status_code == 200  # its team's
    monitor = {"name": "x", "query": token}
    assert httpx.post(f"{p.search_url}/v1/saved-searches", json=monitor, headers=reader).status_code == 403
    assert httpx.post(f"{p.ingest_url}/v1/articles", json=corpus(token)[0], headers=reader).status_code == 403
    keys = httpx.get(f"{p.search_url}/v1/keys", headers=p.ns.auth).json()
    assert all("key" not in k for k in keys) and {k["role"] for k in keys} == {"admin", "reader"}
    assert httpx.delete(f"{p.search_url}/v1/keys/{r.json()['id']}", headers=p.ns.auth).status_code == 204
    wait_for(
        lambda: httpx.get(f"{p.search_url}/v1/search", headers=reader).status_code == 401, 40, message="key disabled"
    )
    for path in ("/healthz", "/readyz", "/metrics/"):
        assert httpx.get(f"{p.search_url}{path}").status_code == 200


def test_boolean_queries_filters_and_errors(loaded) -> None:  # type: ignore[no-untyped-def]
    p, token = loaded
    assert p.search(f'{token} AND "banjir rob"')["total"] == 3
    assert p.search(f"{token} AND (banjir OR festival)")["total"] == 6
    assert p.search(f"{token} NOT banjir")["total"] == 6
    assert p.search(f"{token} -banjir -festival")["total"] == 3
    assert p.search(f"title:{token} AND penghar*")["total"] == 3
    assert p.search(f"{token} AND wakil NEAR/1 blora")["total"] == 9
    assert p.search(f"{token} AND blora ONEAR/1 wakil")["total"] == 0
    assert p.search(f"{token} source:{OUTLETS[0]}")["total"] == 3
    assert p.search(f"{token} lang:id")["total"] == 9
    r = p.get("/v1/search", q=token, source=OUTLETS[1], **{"from": "2025-05-02", "to": "2025-05-05"})
    assert r.status_code == 200, r.text
    hits = r.json()["hits"]
    assert {h["source"] for h in hits} == {OUTLETS[1]} and len(hits) == 2
    top = p.search(f"{token} banjir")["hits"][0]
    assert "<mark>" in (top["highlights"].get("body", [""])[0] + top["highlights"].get("title", [""])[0])
    for bad, pos in (('"blora', 0), ("(blora", 0), ("blora AND", 6), ("bl*", 0), ("foo:bar", 0)):
        r = p.get("/v1/search", q=bad)
        assert r.status_code == 400, bad
        assert r.json()["position"] == pos, (bad, r.json())
        assert r.json()["error"]


def test_cursor_pages_are_stable_and_complete(loaded) -> None:  # type: ignore[no-untyped-def]
    p, token = loaded
    for sort in ("relevance", "newest"):
        seen, cursor = [], None
        while True:
            params = {"q": token, "size": 2, "sort": sort, **({"cursor": cursor} if cursor else {})}
            page = p.search(**params)  # type: ignore[arg-type]
            assert page["total"] == 9
            seen += [h["id"] for h in page["hits"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert len(seen) == 9 and len(set(seen)) == 9, sort
    newest = p.search(token, sort="newest", size=9)["hits"]
    dates = [h["published_at"] for h in newest]
    assert dates == sorted(dates, reverse=True)
    assert p.get("/v1/search", q=token, cursor="garbage").status_code == 400


def test_timeline_and_top(loaded) -> None:  # type: ignore[no-untyped-def]
    p, token = loaded
    tl = p.get("/v1/analytics/timeline", q=token, interval="day").json()
    assert tl["time_zone"] == "Asia/Jakarta"
    assert sum(b["count"] for b in tl["buckets"]) == 9
    assert tl["buckets"][0]["key"].startswith("2025-05-01")
    top = p.get("/v1/analytics/top", q=token, field="source").json()
    assert {b["key"]: b["count"] for b in top["values"]} == dict.fromkeys(OUTLETS, 3)
    lang = p.get("/v1/analytics/top", q=token, field="language").json()
    assert [(b["key"], b["count"]) for b in lang["values"]] == [("id", 9)]
    assert sum(lang["values"][0]["tone"].values()) == 9  # every article has a tone (docs/tone.md)
    assert p.get("/v1/analytics/top", q=token, field="nope").status_code == 422


def test_export_streams_every_match(loaded) -> None:  # type: ignore[no-untyped-def]
    p, token = loaded
    r = p.get("/v1/export", q=token, format="csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["id", "published_at (Asia/Jakarta)", "outlet", "source"] and len(rows) == 10
    nd = p.get("/v1/export", q=f"{token} banjir", format="ndjson")
    lines = [json.loads(x) for x in nd.text.splitlines()]
    assert len(lines) == 3 and all(token in x["title"] for x in lines)


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], bytes, float]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append((dict(self.headers), body, time.time()))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


def test_saved_search_alerts_fire_a_signed_webhook(pipeline_factory) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Hook.received = []
    secret = "test-secret-" + uuid.uuid4().hex[:6]
    p = pipeline_factory(extra_env={"WARTA_WEBHOOK_SECRET": secret, "WARTA_WEBHOOK_ALLOW_HOSTS": f"127.0.0.1:{port}"})
    token = f"alert{uuid.uuid4().hex[:8]}"
    r = httpx.post(f"{p.search_url}/v1/saved-searches", headers=p.ns.auth, json={
        "name": "Pemkab Blora", "query": f'{token} AND "pelayanan publik"', "webhook_url": f"http://127.0.0.1:{port}/hook"})  # fmt: skip
    assert r.status_code == 201, r.text
    saved = r.json()
    bad = httpx.post(f"{p.search_url}/v1/saved-searches", headers=p.ns.auth, json={"name": "x", "query": "(oops"})
    assert bad.status_code == 400 and bad.json()["position"] == 0
    docs = corpus(token)
    posted_at = time.time()
    assert p.post(docs[0]).status_code == 202  # matches
    assert p.post(docs[3]).status_code == 202  # does not match
    wait_for(lambda: _Hook.received, 30, message="webhook call")
    headers, body, at = _Hook.received[0]
    # Signed over timestamp + "." + body (docs/alerts.md), with a fresh timestamp.
    timestamp = headers["X-Warta-Timestamp"]
    assert abs(time.time() - int(timestamp)) < 300
    expected = "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert headers["X-Warta-Signature"] == expected
    payload = json.loads(body)
    assert payload["saved_search"]["id"] == saved["id"]
    assert [a["title"] for a in payload["articles"]] == [docs[0]["title"]]
    matches = p.get(f"/v1/saved-searches/{saved['id']}/matches").json()
    assert [m["title"] for m in matches] == [docs[0]["title"]]
    deliveries = wait_for(lambda: [d for d in p.get(f"/v1/saved-searches/{saved['id']}/deliveries").json()
                                   if d["status"] == "delivered"], 15, message="delivery logged")  # fmt: skip
    assert deliveries[0]["log"][0]["status_code"] == 204
    print(f"ingest-to-webhook latency: {at - posted_at:.2f}s")
    time.sleep(2)
    assert len(_Hook.received) == 1, "one webhook call per match batch"
    upd = httpx.patch(f"{p.search_url}/v1/saved-searches/{saved['id']}", headers=p.ns.auth, json={"enabled": False})
    assert upd.status_code == 200 and upd.json()["enabled"] is False
    assert httpx.delete(f"{p.search_url}/v1/saved-searches/{saved['id']}", headers=p.ns.auth).status_code == 204
    assert p.get(f"/v1/saved-searches/{saved['id']}").status_code == 404
    server.shutdown()


def test_rate_limit_per_key(pipeline_factory) -> None:  # type: ignore[no-untyped-def]
    p = pipeline_factory(extra_env={"WARTA_RATE_LIMIT_PER_MINUTE": "5"}, start=False)
    p.start(["search-api", "ingest-api"])
    codes = [p.get("/v1/search", q="x").status_code for _ in range(7)]
    assert codes[:5] == [200] * 5 or codes.count(429) >= 1
    assert 429 in codes
    r = p.get("/v1/search", q="x")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) <= 60
