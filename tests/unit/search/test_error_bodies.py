"""What clients see of backend trouble: stable sentences, never Elasticsearch's or Kafka's internals
(issue 13, item 10), and only the web app's own calls through the ingest proxy (item 9)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from elastic_transport import ConnectionError as ESConnectionError
from fastapi import FastAPI

from services.ingest.api import create_app as create_ingest_app
from services.search.api import create_app as create_search_app
from services.search.criteria import QUERY_REJECTED, rejection_message
from services.search.web import proxied_path

INTERNALS = ("articles-v1", "exception", "127.0.0.1", "9200", "9092", "Traceback", "shard", "node-1")

SHARD_FAILURE = {
    "error": {
        "root_cause": [{"type": "query_shard_exception", "reason": "failed to create query: [t1-articles-v1]",
                        "index": "t1-articles-v1"}],
        "type": "search_phase_execution_exception", "reason": "all shards failed", "phase": "query",
        "failed_shards": [{"shard": 0, "index": "t1-articles-v1", "node": "node-1",
                           "reason": {"type": "too_many_clauses", "reason": "maxClauseCount is set to 4096"}}],
    },
    "status": 400,
}  # fmt: skip


def test_rejections_are_stable_sentences() -> None:
    assert rejection_message(SHARD_FAILURE) == (
        f"{QUERY_REJECTED}: the query expands to too many terms: use fewer or longer wildcard prefixes"
    )
    for body in ({"error": {"type": "illegal_argument_exception", "reason": "[t1-articles-v1] bad"}},
                 {"error": "Incorrect HTTP method for uri [/t1-articles/_doc/] and method [GET]"}, "oops", None):  # fmt: skip
        assert rejection_message(body) == QUERY_REJECTED


@pytest.mark.parametrize(
    ("method", "rest", "forwarded"),
    [
        ("GET", "", "/v1/sources"),
        ("POST", "", "/v1/sources"),
        ("GET", "/suarablora/health", "/v1/sources/suarablora/health"),
        ("POST", "/suara-blora_2/crawl", "/v1/sources/suara-blora_2/crawl"),
        ("POST", "/suarablora/enable", "/v1/sources/suarablora/enable"),
        ("POST", "/suarablora/disable", "/v1/sources/suarablora/disable"),
        ("GET", "/suarablora/backfill", "/v1/sources/suarablora/backfill"),
        ("POST", "/suarablora/backfill", "/v1/sources/suarablora/backfill"),
        ("DELETE", "/suarablora/backfill", "/v1/sources/suarablora/backfill"),
        ("DELETE", "/suarablora/../backfill", None),
        # Everything else, and every traversal once Starlette has decoded %2e and %2f, is refused.
        ("GET", "/..", None),
        ("POST", "/../articles", None),
        ("GET", "/../../readyz", None),
        ("GET", "/suarablora/../../v1/keys", None),
        ("GET", "/%2e%2e/articles", None),  # double encoding, decoded once
        ("GET", "/suarablora%2f..%2fhealth", None),
        ("POST", "/../articles/batch", None),
        ("GET", "/suarablora", None),
        ("PATCH", "/suarablora", None),
        ("DELETE", "/suarablora", None),
        ("GET", "/suarablora/crawl", None),
        ("POST", "/suarablora/health", None),
        ("GET", "/./health", None),
        ("GET", "/suarablora/health/", None),
        ("GET", "/suarablora/health\n", None),
        ("GET", "s", None),
        ("PUT", "", None),
    ],
)
def test_proxied_paths(method: str, rest: str, forwarded: str | None) -> None:
    assert proxied_path(method, rest) == forwarded


def _get(app: FastAPI, path: str) -> httpx.Response:
    async def call() -> httpx.Response:  # no lifespan: the test sets the state the route reads
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            return await client.get(path)

    return asyncio.run(call())


class _DownEs:
    class cluster:  # mimics AsyncElasticsearch.cluster
        @staticmethod
        async def health(**_: Any) -> None:
            raise ESConnectionError("Cannot connect to host 127.0.0.1:9200 ssl:default [Connect call failed]")


def test_search_readyz_names_no_internals() -> None:
    app = create_search_app()
    app.state.es = _DownEs()
    r = _get(app, "/readyz")
    assert r.status_code == 503
    assert r.json() == {"error": "Elasticsearch is not reachable"}


class _BrokenPublisher:
    def ready(self) -> bool:
        raise RuntimeError("SASL handshake with kafka-internal-7:9092 failed: Traceback ...")


def test_ingest_readyz_is_a_503_with_a_stable_body_whatever_fails() -> None:
    app = create_ingest_app(publisher=_BrokenPublisher())  # type: ignore[arg-type]
    app.state.publisher = _BrokenPublisher()
    r = _get(app, "/readyz")
    assert r.status_code == 503
    assert r.json() == {"error": "Kafka is not reachable"}
    assert not any(s in r.text for s in INTERNALS)
