"""The webhook dispatcher: a background thread of the alerts consumer (``warta search alerts``)
that sends pending deliveries.

- It claims a pending delivery with a write conditional on its sequence number (safe with several
  alerts processes), POSTs it with an HMAC-SHA256 signature over ``timestamp + "." + body``,
  retries with exponential backoff and keeps a log of every attempt.
- Each attempt also updates the saved search's delivery state (``delivery_status``,
  ``consecutive_failures``...), which the API and the Monitors page show.
- Every attempt checks the URL again (:func:`~services.search.alerts.webhooks.check_webhook_url`),
  resolves the name once and connects to the address it checked (no second lookup that DNS
  rebinding could answer differently, no proxy from the environment).

It polls for due deliveries every ``poll_s``; the consumer calls :meth:`WebhookDispatcher.wake`
after recording new ones, so a first attempt does not wait for the next poll.

A spike alert's delivery to the monitor's chat channel (``channel: "chat"``; see
:mod:`.spikes`) is sent as a Slack-compatible ``{"text": ...}`` message (:mod:`.spike_chat`)
through the digests' chat sender, with the same network rules, retries and log; it leaves the
webhook's delivery state alone.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
import time
from datetime import timedelta
from typing import Any

import httpx
from elasticsearch import ConflictError, Elasticsearch

from services.search.alerts.store import AlertIndices, SavedSearchStore, now_utc
from services.search.alerts.webhooks import WebhookRefused, check_webhook_url, sign
from services.search.index import fetch_articles
from shared.metrics import ALERT_DELIVERIES
from shared.ssrf import SsrfGuard

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# After failed attempt n the next one waits min(2**n, MAX_BACKOFF_S) seconds: 2, 4, ... 128 s.
MAX_BACKOFF_S = 300


class WebhookDispatcher:
    """Background thread delivering pending webhook batches. Safe to run in several processes.

    Every attempt checks the URL again and connects to the address it checked. ``verify`` is
    httpx's: the certificate authorities that https webhooks are verified against (a private CA,
    or a test's)."""

    def __init__(self, es: Elasticsearch, prefix: str, alias: str, secret: str, guard: SsrfGuard,
                 poll_s: float = 0.3, timeout_s: float = 10.0, verify: ssl.SSLContext | bool = True,
                 public_url: str = "http://127.0.0.1:8002") -> None:  # fmt: skip
        # Imported here, not at the top: services.search.digests reads the alert store, and this
        # package's __init__ imports this module.
        from services.search.digests.senders import ChatSender

        self.es = es
        self.public_url = public_url
        self.chat = ChatSender(guard, timeout_s, verify)
        self.alias = alias
        self.idx = AlertIndices(prefix)
        self.store = SavedSearchStore(es, prefix, guard)
        self.secret = secret
        self.guard = guard
        self.poll_s = poll_s
        self.client = httpx.Client(
            timeout=timeout_s,
            follow_redirects=False,
            # A proxy from the environment would connect to the name itself, not the checked address.
            trust_env=False,
            # The pool is keyed by the URL's host, which is the pinned address: a kept-alive TLS
            # connection verified for one name could carry a request for another name hosted on
            # the same address. Deliveries are rare, so each one gets its own connection.
            limits=httpx.Limits(max_keepalive_connections=0),
            verify=verify,
        )
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """Look for due deliveries now rather than at the next poll. Thread-safe, never blocks."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=15)
        self.client.close()
        self.chat.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()  # before looking, so a wake-up during the look is not lost
            try:
                n = self.deliver_due()
            except Exception as exc:  # ES unavailable: try again later
                log.warning("webhook dispatch failed", extra={"error": repr(exc)})
                n = 0
            if n == 0:
                self._wake.wait(self.poll_s)

    def deliver_due(self) -> int:
        resp = self.es.options(ignore_status=404).search(
            index=self.idx.deliveries, size=20, seq_no_primary_term=True,
            query={"bool": {"filter": [{"term": {"status": "pending"}}, {"range": {"next_attempt_at": {"lte": "now"}}}]}},
            sort=[{"next_attempt_at": "asc"}],
        )  # fmt: skip
        hits = resp.get("hits", {}).get("hits", [])
        for h in hits:
            try:
                self.es.update(index=self.idx.deliveries, id=h["_id"], doc={"status": "delivering"},
                               if_seq_no=h["_seq_no"], if_primary_term=h["_primary_term"])  # fmt: skip
            except ConflictError:
                continue  # another dispatcher took it
            self._deliver(h["_source"])
        return len(hits)

    def _deliver(self, delivery: dict[str, Any]) -> None:
        saved = self.store.get(delivery["saved_search_id"])
        attempts = int(delivery.get("attempts", 0)) + 1
        entry: dict[str, Any] = {"at": now_utc().isoformat()}
        ok = False
        chat = delivery.get("channel") == "chat"  # a spike alert to the monitor's chat channel
        chat_url = ((saved or {}).get("channels") or {}).get("chat_webhook_url")
        if saved is None or not (chat_url if chat else saved.get("webhook_url")):
            entry["error"] = "saved search or chat channel removed" if chat else "saved search or webhook removed"
            status = "cancelled"
        elif chat:
            ok = self._send_chat(saved, delivery, str(chat_url), entry)
            status = "delivered" if ok else ("failed" if attempts >= MAX_ATTEMPTS else "pending")
        else:
            articles = list(fetch_articles(self.es, self.alias, delivery["article_ids"],
                                           source=["id", "url", "title", "source", "published_at", "summary"]).values())  # fmt: skip
            payload = {
                "delivery_id": delivery["id"],
                "saved_search": {"id": saved["id"], "name": saved["name"], "query": saved["query"]},
                "articles": articles,
                "sent_at": now_utc().isoformat(),
            }
            if delivery.get("kind") == "spike":  # services/search/alerts/spikes.py
                payload |= {"kind": "spike", "spike": delivery.get("spike")}
            body = json.dumps(payload, ensure_ascii=False).encode()
            t0 = time.perf_counter()
            try:
                status_code = self.post(saved["webhook_url"], body, delivery["id"])
                entry["status_code"] = status_code
                ok = 200 <= status_code < 300
                if not ok:
                    entry["error"] = f"HTTP {status_code}"
            except WebhookRefused as exc:
                entry["error"] = f"refused: {exc.message}"[:500]
            except Exception as exc:  # any failure of the call is a failed attempt; were it to escape,
                # the delivery would stay claimed ("delivering") and never be retried
                entry["error"] = (f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)[:500]
            entry["duration_ms"] = int((time.perf_counter() - t0) * 1000)
            status = "delivered" if ok else ("failed" if attempts >= MAX_ATTEMPTS else "pending")
        update: dict[str, Any] = {"status": status, "attempts": attempts, "log": [*delivery.get("log", []), entry]}
        if ok:
            update["delivered_at"] = now_utc().isoformat()
        elif status == "pending":
            update["next_attempt_at"] = (now_utc() + timedelta(seconds=min(2**attempts, MAX_BACKOFF_S))).isoformat()
        self.es.update(index=self.idx.deliveries, id=delivery["id"], doc=update, refresh=True)
        ALERT_DELIVERIES.labels("retry" if status == "pending" else status).inc()
        if status != "cancelled" and not chat:  # the delivery state is the webhook's
            try:
                self.store.record_attempt(delivery["saved_search_id"], ok, entry.get("error"), entry["at"])
            except Exception as exc:  # the delivery itself is recorded; the next attempt updates the state
                log.warning("recording the delivery state failed", extra={"error": repr(exc)})
        log.info("webhook delivery", extra={"count": len(delivery["article_ids"]), "error": entry.get("error")})

    def _send_chat(self, saved: dict[str, Any], delivery: dict[str, Any], url: str, entry: dict[str, Any]) -> bool:
        """Send a spike alert to the chat channel ``url`` as text; the outcome goes to ``entry``."""
        from services.search.alerts.spike_chat import spike_text  # see __init__
        from services.search.digests.senders import SendError

        t0 = time.perf_counter()
        try:
            articles = list(fetch_articles(self.es, self.alias, delivery["article_ids"],
                                           source=["id", "url", "title", "source", "outlet"]).values())  # fmt: skip
            text = spike_text(saved, delivery.get("spike") or {}, articles, self.public_url)
            entry["status_code"] = self.chat.post_text(
                text, url, {"User-Agent": "Warta-Alerts/1", "X-Warta-Delivery": delivery["id"]}
            )
            return True
        except SendError as exc:  # refused, HTTP error status, connection failure
            entry["error"] = str(exc)[:500]
            return False
        except Exception as exc:  # as for the webhook: a failed attempt, never a delivery stuck "delivering"
            entry["error"] = (f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)[:500]
            return False
        finally:
            entry["duration_ms"] = int((time.perf_counter() - t0) * 1000)

    def post(self, url: str, body: bytes, delivery_id: str) -> int:
        """POST one signed delivery; returns the HTTP status. The name is resolved once, every
        address checked, and the connection made to the checked address (Host and, for https, SNI
        and certificate verification keep the name). Raises :class:`WebhookRefused` or
        ``httpx.HTTPError``; the response body is never read."""
        target = check_webhook_url(url, self.guard)
        timestamp = str(int(time.time()))
        headers = {
            "Host": target.host_header(),
            "Content-Type": "application/json",
            "User-Agent": "Warta-Alerts/1",
            "X-Warta-Delivery": delivery_id,
            "X-Warta-Timestamp": timestamp,
            "X-Warta-Signature": sign(self.secret, timestamp, body),
        }
        request = self.client.build_request("POST", target.pinned_url(), content=body, headers=headers,
                                            extensions=target.extensions())  # fmt: skip
        response = self.client.send(request, stream=True)
        response.close()
        return response.status_code
