"""Spike alerts on a real Elasticsearch (services/search/alerts/spikes.py): articles with story ids
over two weeks of history, then a spike of distinct stories for one monitor and a syndication
burst (40 copies of one release) for another. The spike check records one delivery, for the
spiking monitor only, and the webhook dispatcher sends it once to a local receiver, signed, as a
valid `spike` payload; running the check again sends nothing more. Each test has its own index
prefix; no Kafka."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from elasticsearch.helpers import bulk

from services.search.alerts.dispatcher import WebhookDispatcher
from services.search.alerts.spikes import ZONE, SpikeChecker, spike_key, window_start
from services.search.alerts.store import AlertIndices, SavedSearchStore
from services.search.alerts.webhooks import verify
from services.search.api.models import AlertPayload
from services.search.index import ensure_index
from shared.settings import articles_alias
from shared.ssrf import SsrfGuard
from tests.pipeline import new_prefix
from tests.webhooks import Receiver

pytestmark = [pytest.mark.elasticsearch]

SECRET = "spike-test-secret"


@pytest.fixture
def prefix(es: Elasticsearch) -> Iterator[str]:
    p = new_prefix()
    ensure_index(es, p)
    AlertIndices(p).ensure(es)
    yield p
    es.options(ignore_status=404).indices.delete(index=f"{p}*", expand_wildcards="all")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def article(n: str, word: str, story: str, at: datetime) -> dict[str, Any]:
    return {"_index": None, "_id": n, "id": n, "title": f"Kabar {word} {n}", "body": f"Berita tentang {word} di Blora.",
            "source": "suarablora.example", "url": f"https://suarablora.example/{n}", "published_at": at.isoformat(),
            "ingested_at": at.isoformat(), "story_id": story, "story_size": 1}  # fmt: skip


def test_a_spike_of_stories_alerts_once_and_a_syndication_burst_does_not(
    es: Elasticsearch, prefix: str, receiver: Receiver
) -> None:
    alias = articles_alias(prefix)
    # The judged window: a clock hour (WIB) in the past, checked half-way through.
    hour = window_start("hour", datetime.now(ZONE)) - timedelta(hours=3)
    now = hour + timedelta(minutes=30)
    docs = []
    for day in range(1, 15):  # history: one story a day at this hour, for each monitor
        at = hour - timedelta(days=day) + timedelta(minutes=10)
        docs += [article(f"h-banjir-{day}", "banjir", f"s-banjir-{day}", at),
                 article(f"h-festival-{day}", "festival", f"s-festival-{day}", at)]  # fmt: skip
    for n in range(12):  # the spike: 12 different stories about banjir
        docs.append(article(f"spike-{n}", "banjir", f"s-spike-{n}", hour + timedelta(minutes=n)))
    for n in range(40):  # the burst: one festival release carried by 40 outlets
        docs.append(article(f"copy-{n}", "festival", "s-release", hour + timedelta(minutes=5, seconds=n)))
    for d in docs:
        d["_index"] = alias
    bulk(es, docs, refresh=True)

    guard = SsrfGuard(allow_hosts=[f"127.0.0.1:{receiver.port}"])
    store = SavedSearchStore(es, prefix, guard)
    flood = store.create("Banjir", "banjir", receiver.url, spike={"window": "hour", "sensitivity": "medium"})
    burst = store.create("Festival", "festival", receiver.url, spike={"window": "hour", "sensitivity": "high"})
    store.create("No spike setting", "banjir", receiver.url)  # a plain monitor: never a spike alert

    woken = []
    checker = SpikeChecker(es, prefix, alias, on_recorded=lambda: woken.append(1))
    spikes = checker.check(now)
    assert [s.saved_search_id for s in spikes] == [flood["id"]]
    assert spikes[0].stories == 12 and spikes[0].articles == 12 and woken == [1]
    assert checker.check(now) == spikes and woken == [1]  # found again, recorded once

    idx = AlertIndices(prefix)
    es.indices.refresh(index=idx.deliveries)
    deliveries = [h["_source"] for h in es.search(index=idx.deliveries, size=10)["hits"]["hits"]]
    assert len(deliveries) == 1
    delivery = deliveries[0]
    assert delivery["id"] == spike_key(flood["id"], "hour", hour) and delivery["kind"] == "spike"
    assert delivery["saved_search_id"] == flood["id"] and len(delivery["article_ids"]) == 5  # one per story
    assert not any(d["saved_search_id"] == burst["id"] for d in deliveries)

    dispatcher = WebhookDispatcher(es, prefix, alias, SECRET, guard)
    try:
        assert dispatcher.deliver_due() == 1
        assert checker.check(now + timedelta(minutes=20)) == spikes  # later in the same hour: still one
        assert dispatcher.deliver_due() == 0
    finally:
        dispatcher.stop()
    assert len(receiver.received) == 1
    headers, body, _ = receiver.received[0]
    assert verify(SECRET, headers["X-Warta-Timestamp"], headers["X-Warta-Signature"], body)
    payload = AlertPayload.model_validate(json.loads(body))
    assert payload.kind == "spike" and payload.spike is not None and payload.saved_search.id == flood["id"]
    assert payload.spike.window == "hour" and payload.spike.stories == 12 and payload.spike.start == hour
    assert payload.spike.baseline == pytest.approx(1.0) and payload.spike.threshold <= 12
    assert len(payload.articles) == 5 and all(a.title.startswith("Kabar banjir") for a in payload.articles)
