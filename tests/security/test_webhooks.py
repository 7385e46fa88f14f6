"""Webhooks against the real stack (issue 13, item 7): refused URLs are a 422 naming the reason when
a monitor is created or changed; a delivery to a local receiver allowed by
``WARTA_WEBHOOK_ALLOW_HOSTS`` carries a timestamped signature; a monitor whose deliveries fail says
so in the API, and recovers when the receiver does.

DNS rebinding and proxies from the environment are covered without the stack, with an injected
resolver, in ``tests/unit/search/test_webhooks.py``.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.pipeline import Pipeline, wait_for
from tests.webhooks import Receiver

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def verify_like_a_receiver(secret: str, headers: dict[str, str], body: bytes) -> None:
    """What docs/alerts.md tells receivers to do."""
    timestamp = headers["X-Warta-Timestamp"]
    assert abs(time.time() - int(timestamp)) <= 300, "timestamp older than five minutes"
    expected = "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Warta-Signature"], expected)


REFUSED = [
    ("http://127.0.0.1:6379/", "private_address"),  # Redis next door
    ("http://localhost:9200/_cat/indices", "private_address"),
    ("http://169.254.169.254/latest/meta-data/", "private_address"),  # cloud metadata
    ("http://10.0.0.1/hook", "private_address"),
    ("http://[::1]/hook", "private_address"),
    ("http://[fe80::1]/hook", "private_address"),
    ("http://0x7f.1/hook", "private_address"),  # loopback spelled otherwise
    ("https://user:secret@hooks.example.com/hook", "credentials"),
    ("http://hooks.example.com:99999/hook", "port"),
    ("http://hooks.example.com:0/hook", "port"),
    ("http://tidak-ada.invalid/hook", "dns"),
]


def test_refused_webhook_urls_are_422_naming_the_reason(pipeline_factory, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    p: Pipeline = pipeline_factory(extra_env={"WARTA_WEBHOOK_ALLOW_HOSTS": f"127.0.0.1:{receiver.port}"}, start=False)
    p.start(["search-api"])
    url = f"{p.search_url}/v1/saved-searches"
    for webhook, reason in REFUSED:
        r = httpx.post(url, headers=p.ns.auth, json={"name": "x", "query": "blora", "webhook_url": webhook}, timeout=30)
        assert r.status_code == 422, (webhook, r.status_code, r.text)
        body = r.json()
        assert body["error"].startswith("webhook_url: "), body
        assert body["detail"][0]["loc"] == ["body", "webhook_url"]
        assert body["detail"][0]["type"] == f"webhook_refused.{reason}", (webhook, body)
    ftp = httpx.post(url, headers=p.ns.auth, json={"name": "x", "query": "blora", "webhook_url": "ftp://x.example/"})
    assert ftp.status_code == 422 and ftp.json()["error"].startswith("webhook_url: ")
    metadata = httpx.post(url, headers=p.ns.auth, json={"name": "x", "query": "b", "webhook_url": REFUSED[2][0]})
    assert "169.254.169.254" in metadata.json()["error"] and "WARTA_WEBHOOK_ALLOW_HOSTS" in metadata.json()["error"]
    assert p.get("/v1/saved-searches").json() == [], "a refused monitor was stored"

    # The allow-list admits exactly its host:port; a change to a refused URL is refused too.
    made = httpx.post(url, headers=p.ns.auth, json={"name": "lokal", "query": "blora", "webhook_url": receiver.url})
    assert made.status_code == 201, made.text
    saved = made.json()
    assert saved["delivery_status"] is None and saved["consecutive_failures"] == 0
    for webhook, reason in [*REFUSED[:3], (f"http://127.0.0.1:{receiver.port + 1}/hook", "private_address")]:
        r = httpx.patch(f"{url}/{saved['id']}", headers=p.ns.auth, json={"webhook_url": webhook}, timeout=30)
        assert r.status_code == 422, (webhook, r.text)
        assert r.json()["detail"][0]["type"] == f"webhook_refused.{reason}"
    assert p.get(f"/v1/saved-searches/{saved['id']}").json()["webhook_url"] == receiver.url
    # Other fields can change while the webhook stays; null removes it.
    assert httpx.patch(f"{url}/{saved['id']}", headers=p.ns.auth, json={"name": "baru"}).status_code == 200
    cleared = httpx.patch(f"{url}/{saved['id']}", headers=p.ns.auth, json={"webhook_url": None})
    assert cleared.status_code == 200 and cleared.json()["webhook_url"] is None


def _monitor(p: Pipeline, saved_id: str) -> dict[str, Any]:
    return p.get(f"/v1/saved-searches/{saved_id}").json()  # type: ignore[no-any-return]


def test_allowed_local_receiver_gets_signed_deliveries_and_failures_show_on_the_monitor(  # type: ignore[no-untyped-def]
    pipeline_factory, receiver: Receiver
) -> None:
    secret = "sec-" + uuid.uuid4().hex
    p: Pipeline = pipeline_factory(extra_env={"WARTA_WEBHOOK_SECRET": secret,
                                              "WARTA_WEBHOOK_ALLOW_HOSTS": f"127.0.0.1:{receiver.port}"})  # fmt: skip
    token = f"hook{uuid.uuid4().hex[:8]}"
    receiver.status = 500
    r = httpx.post(f"{p.search_url}/v1/saved-searches", headers=p.ns.auth,
                   json={"name": "Banjir", "query": f"{token} AND banjir", "webhook_url": receiver.url})  # fmt: skip
    assert r.status_code == 201, r.text
    saved_id = r.json()["id"]
    article = {"url": f"https://suarablora.example/berita/{token}", "title": f"Banjir rob di Blora {token}",
               "text": f"BLORA – Banjir rob merendam permukiman warga di pesisir, kode {token}. " * 3,
               "published_at": "2025-05-01T08:00:00+07:00", "source": "suarablora.example"}  # fmt: skip
    assert p.post(article).status_code == 202

    # The receiver fails: the monitor says so, with the reason, while the delivery is retried.
    failing = wait_for(lambda: (m := _monitor(p, saved_id))["delivery_status"] == "failing" and m, 90,
                       message="monitor marked failing")  # fmt: skip
    assert failing["consecutive_failures"] >= 1
    assert failing["last_delivery_error"] == "HTTP 500"
    assert failing["last_delivery_at"] is not None
    listed = {m["id"]: m for m in p.get("/v1/saved-searches").json()}
    assert listed[saved_id]["delivery_status"] == "failing"
    delivery = p.get(f"/v1/saved-searches/{saved_id}/deliveries").json()[0]
    assert delivery["status"] in ("pending", "delivering") and delivery["log"][0]["error"] == "HTTP 500"
    wait_for(lambda: _monitor(p, saved_id)["consecutive_failures"] >= 2, 30, message="a second failed attempt")

    # The receiver recovers: the next retry is delivered and the monitor is ok again.
    receiver.status = 204
    ok = wait_for(lambda: (m := _monitor(p, saved_id))["delivery_status"] == "ok" and m, 60, message="monitor ok")
    assert ok["consecutive_failures"] == 0 and ok["last_delivery_error"] is None
    delivered = p.get(f"/v1/saved-searches/{saved_id}/deliveries").json()[0]
    assert delivered["status"] == "delivered" and delivered["attempts"] == len(receiver.received) >= 3

    # Every attempt is signed over its own timestamp and the body, and verifies like a receiver would.
    for headers, body, _ in receiver.received:
        verify_like_a_receiver(secret, headers, body)
        assert headers["X-Warta-Delivery"] == delivered["id"]
        assert headers["Host"] == f"127.0.0.1:{receiver.port}"
    stamps = [h["X-Warta-Timestamp"] for h, _, _ in receiver.received]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps), "each retry is signed afresh"
    tampered = receiver.received[0][1].replace(token.encode(), b"x" * len(token))
    with pytest.raises(AssertionError):
        verify_like_a_receiver(secret, receiver.received[0][0], tampered)

    # A new webhook URL starts with a clean delivery state.
    other = f"http://127.0.0.1:{receiver.port}/other"
    moved = httpx.patch(f"{p.search_url}/v1/saved-searches/{saved_id}", headers=p.ns.auth, json={"webhook_url": other})
    assert moved.status_code == 200
    assert (moved.json()["delivery_status"], moved.json()["last_delivery_at"]) == (None, None)
