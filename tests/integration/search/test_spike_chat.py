"""Spike alerts to a team chat, on a real Elasticsearch with local HTTP receivers: a monitor with a
digest chat channel (``channels.chat_webhook_url``) also gets its spike alerts there, as the
Slack-compatible ``{"text": ...}`` that incoming webhooks (Slack, Mattermost, Rocket.Chat) accept,
not Warta's signed JSON, which they reject. Exactly once per spike and channel: checked again,
by a second checker (another process) and by a second dispatcher, nothing is sent twice. A
failing chat is retried alone and leaves the webhook's delivery state alone. A monitor with a chat
channel and no webhook may have spike alerts (the API's rule), and one with neither may not."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch
from elasticsearch.helpers import bulk

from services.search.alerts.dispatcher import WebhookDispatcher
from services.search.alerts.spikes import ZONE, SpikeChecker, spike_key, window_start
from services.search.alerts.store import AlertIndices, SavedSearchStore
from services.search.alerts.webhooks import verify
from services.search.api import create_app
from services.search.index import ensure_index
from services.search.settings import SearchSettings
from shared.settings import articles_alias
from shared.ssrf import SsrfGuard
from tests.pipeline import ES_URL, new_prefix
from tests.webhooks import Receiver

pytestmark = [pytest.mark.elasticsearch]
SECRET = "spike-chat-test-secret"
PUBLIC = "https://warta.example"
ADMIN_KEY = "spike-chat-test-admin-key-0123456789ab"


@pytest.fixture
def prefix(es: Elasticsearch) -> Iterator[str]:
    p = new_prefix()
    ensure_index(es, p)
    AlertIndices(p).ensure(es)
    yield p
    es.options(ignore_status=404).indices.delete(index=f"{p}*", expand_wildcards="all")


@pytest.fixture
def hooks() -> Iterator[tuple[Receiver, Receiver]]:
    webhook, chat = Receiver(), Receiver(status=200)
    yield webhook, chat
    webhook.close()
    chat.close()


def _article(n: str, word: str, story: str, at: datetime) -> dict[str, Any]:
    return {"_id": n, "id": n, "title": f"Kabar {word} {n} <&>", "body": f"Berita tentang {word} di Blora.",
            "source": "suarablora.example", "outlet": "Suara Blora", "url": f"https://suarablora.example/{n}",
            "published_at": at.isoformat(), "ingested_at": at.isoformat(), "story_id": story, "story_size": 1}  # fmt: skip


def _seed(es: Elasticsearch, alias: str, hour: datetime, words: list[str]) -> None:
    """Two weeks of one story a day at ``hour`` for each word, then 12 different stories in it."""
    docs = []
    for word in words:
        for day in range(1, 15):
            docs.append(_article(f"h-{word}-{day}", word, f"s-{word}-{day}", hour - timedelta(days=day, minutes=-10)))
        for n in range(12):
            docs.append(_article(f"spike-{word}-{n}", word, f"s-spike-{word}-{n}", hour + timedelta(minutes=n)))
    bulk(es, [{"_index": alias, **d} for d in docs], refresh=True)


def test_a_spike_goes_to_the_chat_channel_once_as_text(
    es: Elasticsearch, prefix: str, hooks: tuple[Receiver, Receiver]
) -> None:
    webhook, chat = hooks
    alias = articles_alias(prefix)
    hour = window_start("hour", datetime.now(ZONE)) - timedelta(hours=3)
    now = hour + timedelta(minutes=30)
    _seed(es, alias, hour, ["banjir", "longsor"])
    guard = SsrfGuard(allow_hosts=[f"127.0.0.1:{webhook.port}", f"127.0.0.1:{chat.port}"])
    store = SavedSearchStore(es, prefix, guard)
    spike = {"window": "hour", "sensitivity": "medium"}
    both = store.create(
        "Banjir", "banjir", webhook.url, spike=spike, channels={"email": [], "chat_webhook_url": chat.url}
    )
    chat_only = store.create("Longsor", "longsor", None, spike=spike,
                             channels={"email": ["humas@blora.example"], "chat_webhook_url": chat.url},
                             schedule={"frequency": "daily", "time": "07:00", "timezone": "Asia/Jakarta",
                                       "weekday": None, "language": "en"})  # fmt: skip

    checker = SpikeChecker(es, prefix, alias)
    spikes = checker.check(now)
    assert sorted(s.saved_search_id for s in spikes) == sorted([both["id"], chat_only["id"]])
    idx = AlertIndices(prefix)
    es.indices.refresh(index=idx.deliveries)
    deliveries = {h["_id"]: h["_source"] for h in es.search(index=idx.deliveries, size=20)["hits"]["hits"]}
    # one delivery per monitor and channel, with ids derived from the monitor, the window and the channel
    assert set(deliveries) == {spike_key(both["id"], "hour", hour), spike_key(both["id"], "hour", hour, "chat"),
                               spike_key(chat_only["id"], "hour", hour, "chat")}  # fmt: skip
    assert deliveries[spike_key(both["id"], "hour", hour, "chat")]["channel"] == "chat"
    assert deliveries[spike_key(both["id"], "hour", hour)]["channel"] == "webhook"

    dispatchers = [WebhookDispatcher(es, prefix, alias, SECRET, guard, public_url=PUBLIC) for _ in range(2)]
    try:
        assert sum(d.deliver_due() for d in dispatchers) == 3
        # checked again, later in the hour and by another process; two dispatchers: nothing more
        assert len(checker.check(now + timedelta(minutes=20))) == 2
        assert len(SpikeChecker(es, prefix, alias).check(now + timedelta(minutes=25))) == 2
        assert sum(d.deliver_due() for d in dispatchers) == 0
    finally:
        for d in dispatchers:
            d.stop()

    # the webhook: Warta's signed JSON, once
    assert len(webhook.received) == 1
    headers, body, _ = webhook.received[0]
    assert verify(SECRET, headers["X-Warta-Timestamp"], headers["X-Warta-Signature"], body)
    assert json.loads(body)["kind"] == "spike" and json.loads(body)["saved_search"]["id"] == both["id"]

    # the chat: one text message per monitor, what a Slack-compatible incoming webhook takes
    assert len(chat.received) == 2
    texts = {}
    for headers, body, _ in chat.received:
        payload = json.loads(body)
        assert list(payload) == ["text"] and isinstance(payload["text"], str)
        assert headers["Content-Type"] == "application/json" and headers["User-Agent"] == "Warta-Alerts/1"
        assert "X-Warta-Signature" not in headers
        texts[headers["X-Warta-Delivery"]] = payload["text"]
    id_text = texts[spike_key(both["id"], "hour", hour, "chat")]
    clock = f"{hour:%H}.00–{hour + timedelta(hours=1):%H}.00 WIB"
    assert id_text.startswith("*Lonjakan pemberitaan: Banjir*\n12 cerita (12 artikel) pada pukul " + clock), id_text
    assert "biasanya 1,0 cerita." in id_text and "Kepekaan sedang." in id_text
    # five stories, one article each, as Slack links with the reserved characters escaped
    assert id_text.count("\n• <https://suarablora.example/spike-banjir-") == 5
    assert "|Kabar banjir spike-banjir-" in id_text and "&lt;&amp;&gt;> · Suara Blora" in id_text
    assert id_text.endswith(f"<{PUBLIC}/monitors?monitor={both['id']}|Buka monitor di Warta>")
    en_text = texts[spike_key(chat_only["id"], "hour", hour, "chat")]  # the digest's language
    assert en_text.startswith("*Coverage spike: Longsor*\n12 stories (12 articles) from ")
    assert en_text.endswith(f"<{PUBLIC}/monitors?monitor={chat_only['id']}|Open the monitor in Warta>")

    es.indices.refresh(index=idx.deliveries)
    for d in es.search(index=idx.deliveries, size=20)["hits"]["hits"]:
        assert d["_source"]["status"] == "delivered" and d["_source"]["attempts"] == 1


def test_a_failing_chat_is_retried_alone_and_leaves_the_webhook_state(
    es: Elasticsearch, prefix: str, hooks: tuple[Receiver, Receiver]
) -> None:
    webhook, chat = hooks
    alias = articles_alias(prefix)
    hour = window_start("hour", datetime.now(ZONE)) - timedelta(hours=3)
    _seed(es, alias, hour, ["banjir"])
    guard = SsrfGuard(allow_hosts=[f"127.0.0.1:{webhook.port}", f"127.0.0.1:{chat.port}"])
    store = SavedSearchStore(es, prefix, guard)
    m = store.create("Banjir", "banjir", webhook.url, spike={"window": "hour", "sensitivity": "medium"},
                     channels={"email": [], "chat_webhook_url": chat.url})  # fmt: skip
    assert len(SpikeChecker(es, prefix, alias).check(hour + timedelta(minutes=30))) == 1
    chat.status = 500
    dispatcher = WebhookDispatcher(es, prefix, alias, SECRET, guard, public_url=PUBLIC)
    try:
        assert dispatcher.deliver_due() == 2
        chat_id = spike_key(m["id"], "hour", hour, "chat")
        doc = es.get(index=AlertIndices(prefix).deliveries, id=chat_id)["_source"]
        assert doc["status"] == "pending" and doc["log"][-1]["error"] == "HTTP 500"
        state = store.get(m["id"])
        assert state is not None and state["delivery_status"] == "ok" and not state.get("last_delivery_error")
        chat.status = 200
        deadline = time.monotonic() + 10  # the retry is due 2 s after the first attempt
        while es.get(index=AlertIndices(prefix).deliveries, id=chat_id)["_source"]["status"] != "delivered":
            assert time.monotonic() < deadline, "the chat delivery was not retried"
            dispatcher.deliver_due()
            time.sleep(0.2)
    finally:
        dispatcher.stop()
    assert len(webhook.received) == 1 and len(chat.received) == 2  # the webhook was not sent again


def test_spike_alerts_need_a_webhook_or_a_chat_channel(prefix: str) -> None:
    chat_url = "http://127.0.0.1:9/chat"  # allow-listed; the API only checks it
    settings = SearchSettings(es_url=ES_URL, index_prefix=prefix, admin_key=ADMIN_KEY,
                              webhook_allow_hosts="127.0.0.1:9")  # fmt: skip

    async def script(http: httpx.AsyncClient) -> None:
        spike = {"window": "day"}
        r = await http.post("/v1/saved-searches", json={"name": "Chat", "query": "banjir", "spike": spike,
                                                        "channels": {"chat_webhook_url": chat_url}})  # fmt: skip
        assert r.status_code == 201 and r.json()["spike"]["window"] == "day", r.text
        saved = f"/v1/saved-searches/{r.json()['id']}"
        # without the chat channel it would have neither: refused, and the monitor is unchanged
        r = await http.patch(saved, json={"channels": {"email": ["humas@blora.example"]}})
        assert r.status_code == 422 and r.json()["detail"][0]["type"] == "spike_needs_webhook", r.text
        assert "chat" in r.json()["detail"][0]["msg"]
        assert (await http.get(saved)).json()["channels"]["chat_webhook_url"] == chat_url
        # a webhook instead: then the chat may go
        r = await http.patch(saved, json={"webhook_url": "http://127.0.0.1:9/hook"})
        assert r.status_code == 200, r.text
        r = await http.patch(saved, json={"channels": {"email": ["humas@blora.example"]}})
        assert r.status_code == 200, r.text
        r = await http.post("/v1/saved-searches", json={"name": "None", "query": "banjir", "spike": spike,
                                                        "channels": {"email": ["humas@blora.example"]}})  # fmt: skip
        assert r.status_code == 422 and r.json()["detail"][0]["type"] == "spike_needs_webhook", r.text

    async def run() -> None:
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://search.test",
                                         headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as http:  # fmt: skip
                await script(http)

    asyncio.run(run())
