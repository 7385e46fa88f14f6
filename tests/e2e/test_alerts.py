"""The alerts consumer (``warta search alerts``) against the whole real stack.

- A saved search that Elasticsearch rejects (nested past ``indices.query.bool.max_nested_depth``,
  which the query language's own depth guard lets through) leaves indexing and every other monitor
  working, and the API shows its error; an edit of the query makes it match again.
- The time from indexing an article (its ``indexed_at``) to the webhook call reaching a local
  receiver is under 5 s.
"""

from __future__ import annotations

import json
import statistics
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch

from shared.settings import articles_alias
from tests.pipeline import ES_URL, Pipeline, wait_for
from tests.webhooks import Receiver

pytestmark = [pytest.mark.e2e]

INDEX_TO_WEBHOOK_BUDGET_S = 5.0


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def too_deep(token: str, levels: int = 31) -> str:
    """Parses (the query language allows 32 levels) but Elasticsearch refuses it (30)."""
    text = f"({token} OR " + "".join(f"(kata{i} " + ("AND " if i % 2 else "OR ") for i in range(1, levels))
    return text + "banjir" + ")" * levels


def article(token: str, n: int, topic: str) -> dict[str, object]:
    return {"url": f"https://suarablora.example/berita/{token}-{n}", "title": f"{topic.title()} di Blora {token} {n}",
            "text": f"BLORA – Berita {token} tentang {topic} di Kabupaten Blora, Jawa Tengah, nomor {n}. " * 3,
            "published_at": "2025-05-01T08:00:00+07:00", "source": "suarablora.example"}  # fmt: skip


def monitor(p: Pipeline, name: str, query: str, webhook: str | None = None) -> dict[str, Any]:
    r = httpx.post(f"{p.search_url}/v1/saved-searches", headers=p.ns.auth, timeout=30,
                   json={"name": name, "query": query, "webhook_url": webhook})  # fmt: skip
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def state(p: Pipeline, saved_id: str) -> dict[str, Any]:
    return p.get(f"/v1/saved-searches/{saved_id}").json()  # type: ignore[no-any-return]


def matched(p: Pipeline, saved_id: str) -> set[str]:
    return {m["article_id"] for m in p.get(f"/v1/saved-searches/{saved_id}/matches").json()}


def test_a_saved_search_elasticsearch_rejects_blocks_nobody_and_shows_its_error(  # type: ignore[no-untyped-def]
    pipeline_factory, receiver: Receiver
) -> None:
    p: Pipeline = pipeline_factory(extra_env={"WARTA_WEBHOOK_ALLOW_HOSTS": f"127.0.0.1:{receiver.port}"})
    token = f"tolak{uuid.uuid4().hex[:8]}"
    bad = monitor(p, "Terlalu dalam", too_deep(token))
    assert bad["query_status"] is None, "not evaluated yet"
    floods = monitor(p, "Banjir", f"{token} AND banjir", receiver.url)
    markets = monitor(p, "Pasar", f"{token} AND pasar")
    ids = [p.post(article(token, n, topic)).json()["id"] for n, topic in enumerate(["banjir", "pasar", "banjir"])]

    # Indexing goes on, and so do the other monitors, the one with a webhook included.
    wait_for(lambda: p.search(token)["total"] == 3, 90, message="the articles indexed")
    wait_for(lambda: matched(p, floods["id"]) == {ids[0], ids[2]}, 60, message="the banjir matches")
    wait_for(lambda: matched(p, markets["id"]) == {ids[1]}, 30, message="the pasar match")
    wait_for(lambda: receiver.received, 30, message="the webhook call")
    payload = json.loads(receiver.received[0][1])
    assert sorted(a["id"] for a in payload["articles"]) == sorted([ids[0], ids[2]])

    # The rejected one says so in the API, in words and without Elasticsearch's internals.
    failing = wait_for(lambda: (s := state(p, bad["id"]))["query_status"] == "failing" and s, 30,
                       message="the monitor marked failing")  # fmt: skip
    assert "nests too deeply" in failing["query_error"], failing
    assert "exception" not in failing["query_error"] and "max_nested_depth" not in failing["query_error"]
    assert failing["query_failed_at"] is not None
    assert matched(p, bad["id"]) == set()
    listed = {m["id"]: m for m in p.get("/v1/saved-searches").json()}
    assert listed[bad["id"]]["query_status"] == "failing" and listed[bad["id"]]["query_error"] == failing["query_error"]
    assert listed[floods["id"]]["query_status"] == "ok" and listed[floods["id"]]["query_error"] is None

    # Still failing while more articles flow, and still blocking nobody.
    more = p.post(article(token, 3, "banjir")).json()["id"]
    wait_for(lambda: more in matched(p, floods["id"]), 60, message="a later match")
    assert state(p, bad["id"])["query_status"] == "failing"

    # Fixed by an edit: the state is reset at once, and the next article finds it ok and matching.
    fixed = httpx.patch(f"{p.search_url}/v1/saved-searches/{bad['id']}", headers=p.ns.auth,
                        json={"query": f"{token} AND pasar"}, timeout=30)  # fmt: skip
    assert fixed.status_code == 200 and fixed.json()["query_status"] is None and fixed.json()["query_error"] is None
    last = p.post(article(token, 4, "pasar")).json()["id"]
    wait_for(lambda: last in matched(p, bad["id"]), 60, message="the fixed monitor's match")
    recovered = state(p, bad["id"])
    assert recovered["query_status"] == "ok" and recovered["query_error"] is None
    assert recovered["query_failed_at"] is None
    assert all(proc.alive() for proc in p.procs.values()), "no process stopped"


def test_index_to_webhook_is_under_five_seconds(pipeline_factory, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    p: Pipeline = pipeline_factory(extra_env={"WARTA_WEBHOOK_ALLOW_HOSTS": f"127.0.0.1:{receiver.port}"})
    token = f"cepat{uuid.uuid4().hex[:8]}"
    saved = monitor(p, "Banjir cepat", f"{token} AND banjir", receiver.url)
    # Warm-up: the consumers have joined their groups and the first batch is through.
    warm = p.post(article(token, 0, "banjir")).json()["id"]
    wait_for(lambda: warm in matched(p, saved["id"]), 90, message="the first match")
    wait_for(lambda: len(receiver.received) == 1, 30, message="the first webhook call")

    es = Elasticsearch(ES_URL)
    latencies = []
    try:
        for n in range(1, 6):
            before = len(receiver.received)
            article_id = p.post(article(token, n, "banjir")).json()["id"]
            wait_for(lambda: len(receiver.received) > before, 30, interval=0.05, message=f"webhook call {n}")  # noqa: B023
            _, body, arrived = receiver.received[before]
            assert [a["id"] for a in json.loads(body)["articles"]] == [article_id]
            doc = es.get(index=articles_alias(p.ns.prefix), id=article_id, source_includes=["indexed_at"])
            indexed_at = datetime.fromisoformat(doc["_source"]["indexed_at"]).timestamp()
            latencies.append(arrived - indexed_at)
            time.sleep(0.5)
    finally:
        es.close()
    print(f"index-to-webhook seconds: {[round(x, 2) for x in latencies]}, median {statistics.median(latencies):.2f}")
    assert all(0 < x < INDEX_TO_WEBHOOK_BUDGET_S for x in latencies), latencies
