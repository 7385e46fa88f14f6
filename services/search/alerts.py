"""Saved searches and alerts.

- Saved searches live in Elasticsearch (``<prefix>warta-saved-searches``), so they survive restarts.
- After each bulk write the indexer calls :meth:`AlertMatcher.match` with the ids it just indexed,
  before it commits its offsets: every saved search is evaluated with one ``_msearch`` restricted to
  those ids (no percolator needed). Matches are recorded idempotently (``_id`` =
  saved search id + article id), so re-delivered batches record nothing twice.
- For a saved search with a webhook, each batch of new matches becomes one delivery document. The
  :class:`WebhookDispatcher` claims pending deliveries with optimistic concurrency (safe with
  several indexers), POSTs them with an HMAC-SHA256 signature over ``timestamp + "." + body``,
  retries with exponential backoff and keeps a log of every attempt. Each attempt also updates the
  saved search's delivery state (``delivery_status``, ``consecutive_failures``...), which the API
  and the Monitors page show.
- Webhook URLs are checked with :mod:`shared.ssrf` when a saved search is created or changed
  (:func:`check_webhook_url`) and again at every attempt, which resolves the name once and
  connects to the address it checked (no second lookup that DNS rebinding could answer
  differently, no proxy from the environment).

The payload, the headers, the retry schedule and how a receiver verifies a call are documented in
``docs/alerts.md``.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import json
import logging
import ssl
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from elasticsearch import ConflictError, Elasticsearch, NotFoundError
from elasticsearch.helpers import bulk

from services.search.query import parse, to_es_query
from shared.ssrf import BlockedUrl, SsrfGuard, Target

log = logging.getLogger(__name__)

SAVED_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "id": {"type": "keyword"},
        "name": {"type": "keyword"},
        "query": {"type": "keyword", "index": False},
        "webhook_url": {"type": "keyword", "index": False},
        "enabled": {"type": "boolean"},
        "created_at": {"type": "date"},
        "updated_at": {"type": "date"},
        # Written by the webhook dispatcher after each attempt (see SavedSearchStore.record_attempt).
        "delivery_status": {"type": "keyword"},
        "consecutive_failures": {"type": "integer"},
        "last_delivery_at": {"type": "date"},
        "last_delivery_error": {"type": "keyword", "index": False},
    },
}
MATCH_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "saved_search_id": {"type": "keyword"},
        "article_id": {"type": "keyword"},
        "matched_at": {"type": "date"},
        "published_at": {"type": "date"},
        "title": {"type": "keyword", "index": False},
        "url": {"type": "keyword", "index": False},
        "source": {"type": "keyword"},
    },
}
DELIVERY_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "id": {"type": "keyword"},
        "saved_search_id": {"type": "keyword"},
        "article_ids": {"type": "keyword"},
        "status": {"type": "keyword"},
        "attempts": {"type": "integer"},
        "created_at": {"type": "date"},
        "next_attempt_at": {"type": "date"},
        "delivered_at": {"type": "date"},
        "log": {
            "type": "object",
            "properties": {
                "at": {"type": "date"},
                "status_code": {"type": "integer"},
                "error": {"type": "keyword", "index": False},
                "duration_ms": {"type": "integer"},
            },
        },
    },
}
MAX_ATTEMPTS = 8
# After failed attempt n the next one waits min(2**n, MAX_BACKOFF_S) seconds: 2, 4, ... 128 s.
MAX_BACKOFF_S = 300
# Receivers should refuse a timestamp further than this from their clock (docs/alerts.md).
SIGNATURE_TOLERANCE_S = 300
# The delivery state fields of a saved search, cleared when its webhook URL changes.
DELIVERY_STATE_RESET: dict[str, Any] = {
    "delivery_status": None, "consecutive_failures": 0, "last_delivery_at": None, "last_delivery_error": None,
}  # fmt: skip


def now_utc() -> datetime:
    return datetime.now(UTC)


class AlertIndices:
    def __init__(self, prefix: str) -> None:
        self.saved = f"{prefix}warta-saved-searches"
        self.matches = f"{prefix}warta-alert-matches"
        self.deliveries = f"{prefix}warta-webhook-deliveries"

    def ensure(self, es: Elasticsearch) -> None:
        small = {"number_of_shards": 1, "number_of_replicas": 0}
        for name, mapping in (
            (self.saved, SAVED_MAPPING),
            (self.matches, MATCH_MAPPING),
            (self.deliveries, DELIVERY_MAPPING),
        ):
            if not es.indices.exists(index=name):
                es.options(ignore_status=400).indices.create(index=name, mappings=mapping, settings=small)
            else:  # an index from an older version: add the fields it lacks (idempotent)
                es.indices.put_mapping(index=name, properties=mapping["properties"])


class WebhookRefused(ValueError):
    """A webhook URL Warta will not call. ``reason`` is a short code (malformed, scheme, no_host,
    port, credentials, dns, private_address); the message says why in a sentence for the API client."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


_REFUSALS = {
    "malformed": "the URL is malformed ({detail})",
    "scheme": "only http and https URLs can be webhooks",
    "no_host": "the URL has no host",
    "port": "the port is not a number between 1 and 65535",
    "dns": "the host name does not resolve",
    "private_address": (
        "the host is or resolves to {detail}, a private, loopback, link-local, reserved or cloud-metadata address; "
        "an operator can allow a host:port with WARTA_WEBHOOK_ALLOW_HOSTS"
    ),
}


def check_webhook_url(url: str, guard: SsrfGuard) -> Target:
    """The checked, pinned target of a webhook URL, or :class:`WebhookRefused`. May block on DNS;
    a name that does not resolve is refused (it could never be delivered to)."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise WebhookRefused("malformed", _REFUSALS["malformed"].format(detail=exc)) from exc
    if parts.username is not None or parts.password is not None:
        # They would be stored and shown in clear to every admin; the signature authenticates Warta.
        raise WebhookRefused("credentials", "credentials in the URL (user:password@) are not allowed")
    try:
        return guard.check(url)
    except BlockedUrl as exc:
        message = _REFUSALS.get(exc.reason, exc.reason).format(detail=exc.detail)
        if exc.reason == "dns" and exc.detail:
            message += f" ({exc.detail})"
        raise WebhookRefused(exc.reason, message) from exc


class SavedSearchStore:
    """CRUD for saved searches. The query is validated (parsed) and the webhook URL checked
    (:func:`check_webhook_url`, may block on DNS) before they are stored; ``create`` and ``update``
    raise ``ValueError`` (a :class:`~services.search.query.QuerySyntaxError` or
    :class:`WebhookRefused`) for either."""

    def __init__(self, es: Elasticsearch, prefix: str, guard: SsrfGuard | None = None) -> None:
        self.es = es
        self.idx = AlertIndices(prefix)
        self.guard = guard or SsrfGuard()

    def create(self, name: str, query: str, webhook_url: str | None) -> dict[str, Any]:
        parse(query)
        if webhook_url is not None:
            check_webhook_url(webhook_url, self.guard)
        saved_id = uuid.uuid4().hex[:16]
        doc = {"id": saved_id, "name": name, "query": query, "webhook_url": webhook_url, "enabled": True,
               "created_at": now_utc().isoformat(), "updated_at": now_utc().isoformat(), **DELIVERY_STATE_RESET}  # fmt: skip
        self.es.index(index=self.idx.saved, id=saved_id, document=doc, refresh="wait_for")
        return doc

    def get(self, saved_id: str) -> dict[str, Any] | None:
        try:
            return dict(self.es.get(index=self.idx.saved, id=saved_id)["_source"])
        except NotFoundError:
            return None

    def list(self) -> list[dict[str, Any]]:
        resp = self.es.search(index=self.idx.saved, size=1000, sort=[{"created_at": "asc"}])
        return [h["_source"] for h in resp["hits"]["hits"]]

    def update(self, saved_id: str, changes: dict[str, Any]) -> dict[str, Any] | None:
        """Apply ``changes`` (a partial document); None if there is no such saved search. A new
        webhook URL clears the delivery state, which described the old one."""
        current = self.get(saved_id)
        if current is None:
            return None
        if "query" in changes and changes["query"] is not None:
            parse(changes["query"])
        doc = dict(changes)
        if "webhook_url" in changes and changes["webhook_url"] != current.get("webhook_url"):
            if changes["webhook_url"] is not None:
                check_webhook_url(changes["webhook_url"], self.guard)
            doc.update(DELIVERY_STATE_RESET)
        doc["updated_at"] = now_utc().isoformat()
        # A partial update, so the dispatcher's concurrent record_attempt is not overwritten.
        try:
            resp = self.es.update(index=self.idx.saved, id=saved_id, doc=doc, refresh="wait_for", source=True)
        except NotFoundError:
            return None
        return dict(resp["get"]["_source"])

    def record_attempt(self, saved_id: str, ok: bool, error: str | None, at: str) -> None:
        """Record the outcome of one delivery attempt on the saved search. A read and a write
        conditional on the sequence number, retried on conflict: safe with several dispatchers and
        a concurrent PATCH (no script: the local stack's Elasticsearch has no Painless). A deleted
        saved search is ignored; Elasticsearch errors raise."""
        for _ in range(10):
            try:
                current = self.es.get(index=self.idx.saved, id=saved_id)
            except NotFoundError:
                return
            failures = int(current["_source"].get("consecutive_failures") or 0)
            state = {"delivery_status": "ok", "consecutive_failures": 0, "last_delivery_error": None} if ok else {
                "delivery_status": "failing", "consecutive_failures": failures + 1, "last_delivery_error": error}  # fmt: skip
            try:
                # refresh: the list of saved searches (a search) shows the state at once
                self.es.update(index=self.idx.saved, id=saved_id, doc={**state, "last_delivery_at": at}, refresh=True,
                               if_seq_no=current["_seq_no"], if_primary_term=current["_primary_term"])  # fmt: skip
                return
            except NotFoundError:
                return
            except ConflictError:
                continue
        log.warning("delivery state of saved search %s not recorded: too many concurrent updates", saved_id)

    def delete(self, saved_id: str) -> bool:
        try:
            self.es.delete(index=self.idx.saved, id=saved_id, refresh="wait_for")
            return True
        except NotFoundError:
            return False

    def matches(self, saved_id: str, size: int = 50) -> builtins.list[dict[str, Any]]:
        resp = self.es.search(index=self.idx.matches, size=size, query={"term": {"saved_search_id": saved_id}},
                              sort=[{"matched_at": "desc"}, {"article_id": "asc"}])  # fmt: skip
        return [h["_source"] for h in resp["hits"]["hits"]]

    def deliveries(self, saved_id: str, size: int = 50) -> builtins.list[dict[str, Any]]:
        resp = self.es.search(index=self.idx.deliveries, size=size, query={"term": {"saved_search_id": saved_id}},
                              sort=[{"created_at": "desc"}])  # fmt: skip
        return [h["_source"] for h in resp["hits"]["hits"]]


class AlertMatcher:
    """Evaluates every enabled saved search against freshly indexed ids. Called from the indexer
    thread; raises on Elasticsearch errors so the indexer does not commit unmatched batches."""

    def __init__(self, es: Elasticsearch, prefix: str, alias: str, cache_s: float = 2.0) -> None:
        self.es = es
        self.alias = alias
        self.store = SavedSearchStore(es, prefix)
        self.idx = self.store.idx
        self.cache_s = cache_s
        self._cached: tuple[float, list[tuple[dict[str, Any], dict[str, Any]]]] = (0.0, [])

    def _searches(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        at, searches = self._cached
        if time.monotonic() - at < self.cache_s:
            return searches
        compiled = []
        for s in self.store.list():
            if s.get("enabled", True):
                try:
                    compiled.append((s, to_es_query(parse(s["query"]))))
                except ValueError as exc:  # stored before a grammar change
                    log.warning("saved search no longer parses", extra={"error": repr(exc)})
        self._cached = (time.monotonic(), compiled)
        return compiled

    def match(self, article_ids: list[str]) -> int:
        searches = self._searches()
        if not searches or not article_ids:
            return 0
        # Newly indexed documents become visible to search only after a refresh.
        self.es.indices.refresh(index=self.alias)
        body: list[dict[str, Any]] = []
        for _, query in searches:
            body.append({"index": self.alias})
            body.append({"query": {"bool": {"must": [query], "filter": [{"ids": {"values": article_ids}}]}},
                         "size": len(article_ids), "_source": ["id", "title", "url", "source", "published_at"]})  # fmt: skip
        resp = self.es.msearch(searches=body)
        now = now_utc().isoformat()
        actions: list[dict[str, Any]] = []
        batches: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
        for (saved, _), result in zip(searches, resp["responses"], strict=True):
            if "error" in result:
                raise RuntimeError(f"saved search {saved['id']} failed: {result['error']}")
            hits = [h["_source"] for h in result["hits"]["hits"]]
            for h in hits:
                actions.append({"_op_type": "create", "_index": self.idx.matches, "_id": f"{saved['id']}:{h['id']}",
                                "saved_search_id": saved["id"], "article_id": h["id"], "matched_at": now,
                                "published_at": h.get("published_at"), "title": h.get("title"), "url": h.get("url"),
                                "source": h.get("source")})  # fmt: skip
            if hits:
                batches.append((saved, hits))
        if not actions:
            return 0
        _, errors = bulk(self.es, actions, raise_on_error=False, refresh="wait_for")
        assert isinstance(errors, list)  # not stats_only
        already = {e["create"]["_id"] for e in errors if e.get("create", {}).get("status") == 409}
        other = [e for e in errors if e.get("create", {}).get("status") != 409]
        if other:
            raise RuntimeError(f"recording matches failed: {other[:3]}")
        new_matches = 0
        for saved, hits in batches:
            fresh = [h for h in hits if f"{saved['id']}:{h['id']}" not in already]
            new_matches += len(fresh)
            if fresh and saved.get("webhook_url"):
                ids = sorted(h["id"] for h in fresh)
                delivery_id = hashlib.sha256((saved["id"] + ":" + ",".join(ids)).encode()).hexdigest()[:24]
                self.es.options(ignore_status=409).create(index=self.idx.deliveries, id=delivery_id, refresh=True, document={
                    "id": delivery_id, "saved_search_id": saved["id"], "article_ids": ids, "status": "pending",
                    "attempts": 0, "created_at": now, "next_attempt_at": now, "log": [],
                })  # fmt: skip
        return new_matches


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The ``X-Warta-Signature`` value: HMAC-SHA256 over ``timestamp + "." + body``."""
    message = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, signature: str, body: bytes, now: float | None = None,
           tolerance_s: int = SIGNATURE_TOLERANCE_S) -> bool:  # fmt: skip
    """What a receiver does (docs/alerts.md): the signature matches and the timestamp is recent."""
    if not timestamp.isdigit() or abs((time.time() if now is None else now) - int(timestamp)) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


class WebhookDispatcher:
    """Background thread delivering pending webhook batches. Safe to run in several processes.

    Every attempt checks the URL again and connects to the address it checked. ``verify`` is
    httpx's: the certificate authorities that https webhooks are verified against (a private CA,
    or a test's)."""

    def __init__(self, es: Elasticsearch, prefix: str, alias: str, secret: str, guard: SsrfGuard,
                 poll_s: float = 0.3, timeout_s: float = 10.0, verify: ssl.SSLContext | bool = True) -> None:  # fmt: skip
        self.es = es
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
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=15)
        self.client.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                n = self.deliver_due()
            except Exception as exc:  # ES unavailable: try again later
                log.warning("webhook dispatch failed", extra={"error": repr(exc)})
                n = 0
            if n == 0:
                self._stop.wait(self.poll_s)

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
        if saved is None or not saved.get("webhook_url"):
            entry["error"] = "saved search or webhook removed"
            status = "cancelled"
        else:
            docs = self.es.mget(index=self.alias, ids=delivery["article_ids"],
                                source=["id", "url", "title", "source", "published_at", "summary"])["docs"]  # fmt: skip
            payload = {
                "delivery_id": delivery["id"],
                "saved_search": {"id": saved["id"], "name": saved["name"], "query": saved["query"]},
                "articles": [d["_source"] for d in docs if d.get("found")],
                "sent_at": now_utc().isoformat(),
            }
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
        if status != "cancelled":
            try:
                self.store.record_attempt(delivery["saved_search_id"], ok, entry.get("error"), entry["at"])
            except Exception as exc:  # the delivery itself is recorded; the next attempt updates the state
                log.warning("recording the delivery state failed", extra={"error": repr(exc)})
        log.info("webhook delivery", extra={"count": len(delivery["article_ids"]), "error": entry.get("error")})

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
