"""Issue 13 against the real stack, search side: what a careless client or an attacker gets from the
search API and the web app's ingest proxy.

- item 2: articles dated 0001-01-01 and 1970-01-01 in the index; the timeline stays 200, small and
  bounded, and says when it counted per a coarser interval;
- item 4: crafted cursors on collapsed search, ``/v1/articles/..``: a 400, never a 500;
- item 5: export failures before the stream are a status; after it starts, a truncated body (and a
  final error record in ndjson) that an HTTP client reports as incomplete;
- item 6: a real article titled ``=HYPERLINK(...)`` exports as an inert CSV cell;
- item 9: ``/web/ingest/v1/sources/%2e%2e/...`` and friends stop at the proxy;
- item 10: no Elasticsearch internals in error bodies or ``/readyz``; an over-long ``q`` is a 400
  with a position.

Most tests start only the search API, with Elasticsearch behind a proxy that can fail chosen
requests, and index documents directly; the CSV test runs the whole pipeline.
"""

from __future__ import annotations

import csv
import http.client
import io
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch, helpers

from tests.chaos.harness import EsFaultProxy
from tests.e2e.test_pipeline import article
from tests.pipeline import ES_URL, Pipeline, free_port, wait_for

pytestmark = [pytest.mark.e2e]

# Strings that give away the backend: index names, exception types, shard failures, addresses.
INTERNALS = ("articles-v1", "exception", "shard", "127.0.0.1", ":9200", "Traceback", "node-1", "root_cause")


def assert_no_internals(r: httpx.Response, prefix: str) -> None:
    body = r.text
    leaked = [s for s in (*INTERNALS, prefix) if s in body]
    assert not leaked, f"{r.status_code} {body[:300]} leaks {leaked}"
    assert r.headers["content-type"].startswith("application/json") and "error" in r.json(), body[:300]


class FaultyEs(EsFaultProxy):
    """Elasticsearch behind a proxy that answers the requests ``fail`` picks with a 503 (or
    ``status``) full of internals, as a cluster losing a node does."""

    def __init__(self) -> None:
        super().__init__()
        self.fail: Callable[[str, str, bytes], bool] = lambda method, path, body: False
        self.status = 503
        self.seen: list[tuple[str, str]] = []

    def _forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:  # fmt: skip
        self.seen.append((method, path))
        if self.fail(method, path, body):
            error = {"error": {"root_cause": [{"type": "node_not_connected_exception",
                                               "reason": "[node-1][127.0.0.1:9300] Node not connected"}],
                               "type": "search_phase_execution_exception", "reason": "all shards failed",
                               "failed_shards": [{"shard": 0, "index": "x-articles-v1", "node": "node-1"}]},
                     "status": self.status}  # fmt: skip
            headers_out = [("Content-Type", "application/json"), ("X-Elastic-Product", "Elasticsearch")]
            return self.status, headers_out, json.dumps(error).encode()
        return super()._forward(method, path, headers, body)


@dataclass
class SearchApi:
    p: Pipeline
    es: FaultyEs

    @property
    def url(self) -> str:
        return self.p.search_url

    @property
    def prefix(self) -> str:
        return self.p.ns.prefix

    def get(self, path: str, **params: object) -> httpx.Response:
        return self.p.get(path, **params)

    def raw_get(self, path: str) -> tuple[int, bytes]:
        """A GET with ``path`` sent byte for byte: no client-side normalisation of ``..``."""
        conn = http.client.HTTPConnection("127.0.0.1", self.p.search_port, timeout=30)
        try:
            conn.request("GET", path, headers=self.p.ns.auth)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def index(self, docs: list[dict[str, Any]]) -> None:
        index_docs(self.prefix, docs)


def index_docs(prefix: str, docs: list[dict[str, Any]]) -> None:
    """Write indexed-article documents straight into the namespace's index, searchable at return."""
    es = Elasticsearch(ES_URL)
    try:
        actions = [{"_index": f"{prefix}articles", "_id": d["id"], "_source": d} for d in docs]
        helpers.bulk(es, actions, refresh="wait_for")
    finally:
        es.close()


def doc(token: str, i: int, published_at: str, **extra: Any) -> dict[str, Any]:
    """An indexed article (the index mapping's fields), without going through the pipeline."""
    return {
        "id": f"{token}{i:05d}", "url": f"https://suarablora.example/{token}/{i}", "title": f"Berita {token} {i}",
        "body": f"Berita {token} nomor {i} tentang Kabupaten Blora.", "source": "suarablora.example",
        "published_at": published_at, "language": "id", "summary": [f"Berita {token} nomor {i}."],
        "entities": [{"start": 0, "end": 6, "type": "LOC", "text": "Blora", "canonical": "Blora"}],
        "regions": [{"code": "3316", "name": "Kabupaten Blora", "level": "kabupaten_kota"}],
        "story_id": f"{token}{i:05d}", "story_size": 1, **extra,
    }  # fmt: skip


@pytest.fixture
def api(pipeline_factory) -> Iterator[SearchApi]:  # type: ignore[no-untyped-def]
    proxy = FaultyEs().start()
    p = pipeline_factory(extra_env={"WARTA_ES_URL": proxy.url, "WARTA_RATE_LIMIT_PER_MINUTE": "100000"}, start=False)
    p.start(["search-api"])
    try:
        yield SearchApi(p, proxy)
    finally:
        proxy.stop()


def token() -> str:
    return f"sec{uuid.uuid4().hex[:8]}"


# --- item 2: the timeline ---------------------------------------------------------------------------


def test_timeline_survives_articles_dated_year_1_and_1970(api: SearchApi) -> None:
    tok = token()
    dates = ["0001-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "2025-05-01T03:00:00Z", "2025-05-03T03:00:00Z",
             "2025-05-03T04:00:00Z"]  # fmt: skip
    api.index([doc(tok, i, d) for i, d in enumerate(dates)])
    for interval in ("day", "week"):
        for count in ("articles", "stories"):
            r = api.get("/v1/analytics/timeline", q=tok, interval=interval, count=count)
            assert r.status_code == 200, r.text[:300]
            assert len(r.content) < 100_000, len(r.content)
            tl = r.json()
            assert len(tl["buckets"]) <= 1000
            assert tl["interval"] == "month" and tl["requested_interval"] == interval and tl["interval_adjusted"]
            assert tl["outside_window"] == 1  # year 1: counted apart, not in a bucket
            assert "counted per month" in tl["note"] and "1900-01-01" in tl["note"]
            assert tl["buckets"][0]["key"] == "1970-01-01T00:00:00.000+07:00"
            assert sum(b["count"] for b in tl["buckets"]) == 4
            # Articles enriched without tone count in ``count`` and in no tone.
            assert tl["buckets"][-1] == {
                "key": "2025-05-01T00:00:00.000+07:00",
                "count": 3,
                "tone": {"negative": 0, "neutral": 0, "positive": 0},
            }
    # A range that fits keeps the requested interval and gets every day of it, empty ones included.
    r = api.get("/v1/analytics/timeline", q=tok, interval="day", **{"from": "2025-04-30", "to": "2025-05-04"})
    tl = r.json()
    assert r.status_code == 200 and not tl["interval_adjusted"] and tl["note"] is None
    assert [(b["key"][:10], b["count"]) for b in tl["buckets"]] == [
        ("2025-04-30", 0), ("2025-05-01", 1), ("2025-05-02", 0), ("2025-05-03", 2), ("2025-05-04", 0)]  # fmt: skip
    # An absurd explicit range is clamped to the window and counted coarsely, not refused.
    r = api.get("/v1/analytics/timeline", q=tok, **{"from": "0001-01-01", "to": "9999-12-31"})
    assert r.status_code == 200 and len(r.json()["buckets"]) <= 1000 and r.json()["interval"] == "quarter"
    # The search page's other calls are unaffected by the odd dates.
    assert api.get("/v1/search", q=tok, sort="newest").json()["total"] == 5


# --- item 4: cursors and article ids ----------------------------------------------------------------


def _cursor(kind: str, values: Any) -> str:
    import base64

    return base64.urlsafe_b64encode(json.dumps({"k": kind, "v": values}).encode()).decode().rstrip("=")


def test_crafted_cursors_are_a_400(api: SearchApi) -> None:
    tok = token()
    api.index([doc(tok, i, f"2025-05-0{i + 1}T03:00:00Z") for i in range(3)])
    crafted = [
        ("true", ["x"]), ("true", [None]), ("true", [[1]]), ("true", [-5]), ("true", [{"a": 1}]), ("true", []),
        ("true", [1.5]), ("false", [1]), ("false", ["x", 1, 2]), ("false", [1.0, "when", "id"]),
    ]  # fmt: skip
    for collapse, values in crafted:
        kind = "story:relevance" if collapse == "true" else "article:relevance"
        r = api.get("/v1/search", q=tok, collapse=collapse, cursor=_cursor(kind, values))
        assert r.status_code == 400, (values, r.status_code, r.text[:200])
        assert r.json()["error"].startswith("cursor: ")
        assert_no_internals(r, api.prefix)
    # A real cursor still pages.
    first = api.get("/v1/search", q=tok, collapse="true", size=2).json()
    second = api.get("/v1/search", q=tok, collapse="true", size=2, cursor=first["next_cursor"]).json()
    assert len(first["hits"]) == 2 and len(second["hits"]) == 1


def test_article_ids_cannot_address_the_index(api: SearchApi) -> None:
    tok = token()
    api.index([doc(tok, 0, "2025-05-01T03:00:00Z")])
    for path in ("/v1/articles/..", "/v1/articles/%2e%2e", "/v1/articles/.", "/v1/articles/%2E",
                 "/v1/articles/..%2f_mapping", "/v1/articles/%2e%2e%2f%2e%2e%2f_cat", "/v1/articles/a%20b"):  # fmt: skip
        status, body = api.raw_get(path)
        assert 400 <= status < 500, (path, status, body[:200])
        assert b"articles-v1" not in body and api.prefix.encode() not in body and b"exception" not in body
        json.loads(body)
    assert api.get(f"/v1/articles/{tok}00000").json()["id"] == f"{tok}00000"
    assert api.get("/v1/articles/0123456789abcdef01234567").status_code == 404


# --- item 5: export ---------------------------------------------------------------------------------


def test_export_failures_before_the_stream_get_an_error_status(api: SearchApi) -> None:
    tok = token()
    api.index([doc(tok, i, "2025-05-01T03:00:00Z") for i in range(3)])
    assert api.get("/v1/search", q=tok).json()["total"] == 3  # the key is now cached: auth needs no ES
    cases: list[Callable[[str, str, bytes], bool]] = [
        lambda method, path, body: "/_pit" in path and method == "POST",  # opening the point in time
        lambda method, path, body: path.startswith("/_search") and b'"pit"' in body,  # the first page
    ]
    for fmt in ("csv", "ndjson"):
        for fail in cases:
            api.es.fail, api.es.seen = fail, []
            r = api.get("/v1/export", q=tok, format=fmt)
            assert r.status_code == 503, (fmt, r.status_code, r.text[:200])
            assert r.json() == {"error": "search backend busy, try again shortly", "code": "backend_busy"}
            assert_no_internals(r, api.prefix)
        # The point in time opened for the failed first page was closed again.
        assert ("DELETE", "/_pit") in api.es.seen
    api.es.fail = lambda method, path, body: False
    r = api.get("/v1/export", q=f"{tok} AND (", format="ndjson")
    assert r.status_code == 400 and r.json()["position"] is not None


def test_export_failure_mid_stream_is_detectable_by_the_client(api: SearchApi) -> None:
    tok = token()
    n = 1200  # more than one page of 1,000
    api.index([doc(tok, i, f"2025-05-01T{i % 24:02d}:{i % 60:02d}:00Z") for i in range(n)])
    assert api.get("/v1/search", q=tok).json()["total"] == n
    # Pages after the first carry search_after: fail those.
    api.es.fail = lambda method, path, body: path.startswith("/_search") and b"search_after" in body
    for fmt in ("ndjson", "csv"):
        api.es.seen = []
        received = bytearray()
        with httpx.stream("GET", f"{api.url}/v1/export", params={"q": tok, "format": fmt}, headers=api.p.ns.auth,
                          timeout=60) as r:  # fmt: skip
            assert r.status_code == 200
            with pytest.raises(httpx.RemoteProtocolError, match="incomplete chunked read"):
                for chunk in r.iter_bytes():
                    received += chunk
        text = received.decode()
        if fmt == "ndjson":
            lines = [json.loads(line) for line in text.splitlines()]
            assert len(lines) == 1001 and all("id" in x for x in lines[:1000])
            assert lines[-1] == {"error": "export interrupted after 1000 records: the search backend failed; "
                                          "this file is incomplete"}  # fmt: skip
        else:
            rows = list(csv.reader(io.StringIO(text)))
            assert len(rows) == 1001  # the header and the first page
        wait_for(lambda: ("DELETE", "/_pit") in api.es.seen, 10, message="point in time closed")
    # Without the fault the same export is complete.
    api.es.fail = lambda method, path, body: False
    r = api.get("/v1/export", q=tok, format="ndjson")
    assert r.status_code == 200 and len(r.text.splitlines()) == n


# --- item 10: errors and readiness ------------------------------------------------------------------


def test_backend_errors_carry_no_internals(api: SearchApi) -> None:
    tok = token()
    api.index([doc(tok, 0, "2025-05-01T03:00:00Z")])
    assert api.get("/v1/search", q=tok).status_code == 200
    api.es.fail = lambda method, path, body: "/_search" in path
    for status, expected in ((503, 503), (500, 503), (429, 503), (404, 503), (400, 400)):
        api.es.status = status
        for path, params in (("/v1/search", {"q": tok}), ("/v1/analytics/timeline", {"q": tok}),
                             ("/v1/analytics/top", {"q": tok}), ("/v1/stories/x", {})):  # fmt: skip
            r = api.get(path, **params)
            assert r.status_code == expected, (status, path, r.status_code, r.text[:200])
            assert_no_internals(r, api.prefix)
    api.es.fail = lambda method, path, body: False


def test_readyz_names_no_internals(pipeline_factory) -> None:  # type: ignore[no-untyped-def]
    dead = f"http://127.0.0.1:{free_port()}"
    p = pipeline_factory(extra_env={"WARTA_ES_URL": dead}, start=False)
    p.procs["search-api"].start()

    def answer() -> httpx.Response | None:
        try:
            return httpx.get(f"{p.search_url}/readyz", timeout=10)
        except httpx.HTTPError:
            return None

    r = wait_for(answer, 60, interval=0.5, message="search API answering")
    assert r.status_code == 503
    assert r.json() == {"error": "Elasticsearch is not reachable"}
    assert dead.split("//")[1] not in r.text


def test_long_query_is_a_400_with_a_position(api: SearchApi) -> None:
    for path in ("/v1/search", "/v1/analytics/timeline", "/v1/export"):
        r = api.get(path, q="blora " * 400)  # 2,400 characters
        assert r.status_code == 400, (path, r.status_code, r.text[:200])
        assert r.json() == {"error": "query is longer than 2000 characters", "code": "query_too_long",
                            "params": {"max": 2000}, "position": 2000}  # fmt: skip
    assert api.get("/v1/search", q="a" * 2000).status_code == 200


# --- item 9: the web app's ingest proxy -------------------------------------------------------------


def test_web_proxy_forwards_only_the_web_apps_calls(pipeline_factory) -> None:  # type: ignore[no-untyped-def]
    p = pipeline_factory(start=False)
    p.procs["search-api"].env["WARTA_INGEST_URL"] = p.ingest_url
    p.start(["search-api", "ingest-api"])
    auth = {**p.ns.auth, "Content-Type": "application/json"}
    body = json.dumps(article(token())).encode()

    def send(method: str, path: str) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", p.search_port, timeout=30)
        try:
            conn.request(method, path, body=body if method in ("POST", "PATCH") else None, headers=auth)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    base = "/web/ingest/v1/sources"
    for method, rest in [
        ("POST", "/%2e%2e/articles"), ("POST", "/%2E%2E/articles"), ("POST", "/../articles"),
        ("POST", "/%2e%2e%2farticles"), ("POST", "/x%2f..%2f..%2farticles"), ("POST", "/%252e%252e/articles"),
        ("GET", "/%2e%2e/%2e%2e/readyz"), ("GET", "/..%2f..%2fdocs"), ("GET", "/%2e%2e/%2e%2e/openapi.json"),
        ("GET", "/demo/..%2f..%2f..%2fv1%2fsources"), ("GET", "/%2e%2e"), ("GET", "/.%2e/.%2e/metrics/"),
        ("PATCH", "/demo"), ("DELETE", "/demo"), ("GET", "/demo"),
    ]:  # fmt: skip
        status, answer = send(method, base + rest)
        assert (status, json.loads(answer)) == (404, {"error": "not found"}), (method, rest, status, answer[:200])
    # What the sources page does still reaches the ingest API (which answers for itself).
    status, answer = send("GET", base)
    assert status == 200 and "sources" in json.loads(answer)
    status, answer = send("GET", base + "/no-such-source/health")
    assert status == 404 and "no-such-source" in json.loads(answer)["error"]
    status, answer = send("POST", base + "/no-such-source/crawl")
    assert status == 404 and "no-such-source" in json.loads(answer)["error"]


# --- item 6: CSV formula injection, through the whole pipeline ----------------------------------------


def test_csv_export_of_a_formula_title_is_inert(pipeline_factory) -> None:  # type: ignore[no-untyped-def]
    p = pipeline_factory(extra_env={"WARTA_RATE_LIMIT_PER_MINUTE": "100000"})
    tok = token()
    title = '=HYPERLINK("http://x","y")'
    posted = [
        article(tok, title=title, url=f"https://suarablora.example/{tok}/1"),
        article(tok, title=f"@SUM(1+1) {tok}", url=f"https://suarablora.example/{tok}/2",
                text=f"-2+3 warga Blora {tok} hadir. +62 812 3456 adalah nomor layanan Pemkab Blora di Jawa Tengah."),
    ]  # fmt: skip
    for a in posted:
        assert p.post(a).status_code == 202
    wait_for(lambda: p.search(tok)["total"] == 2, 90, message="articles indexed")
    r = p.get("/v1/export", q=tok, format="csv")
    assert r.status_code == 200
    rows = list(csv.reader(io.StringIO(r.text)))
    header, data = rows[0], rows[1:]
    assert len(data) == 2
    for row in data:
        for column, cell in zip(header, row, strict=True):
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (column, cell)
    titles = {row[header.index("title")] for row in data}
    assert "'" + title in titles and f"'@SUM(1+1) {tok}" in titles
    # ndjson is data, not a spreadsheet: it keeps the title as published.
    nd = [json.loads(x) for x in p.get("/v1/export", q=tok, format="ndjson").text.splitlines()]
    assert title in {x["title"] for x in nd}
