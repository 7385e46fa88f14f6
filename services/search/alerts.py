"""Saved searches and alerts.

- Saved searches live in Elasticsearch (``<prefix>warta-saved-searches``), so they survive restarts.
- After each bulk write the indexer calls :meth:`AlertMatcher.match` with the ids it just indexed,
  before it commits its offsets: every saved search is evaluated with one ``_msearch`` restricted to
  those ids (no percolator needed). Matches are recorded idempotently (``_id`` =
  saved search id + article id), so re-delivered batches record nothing twice.
- For a saved search with a webhook, each batch of new matches becomes one delivery document. The
  :class:`WebhookDispatcher` claims pending deliveries with optimistic concurrency (safe with
  several indexers), POSTs them with an HMAC-SHA256 signature, retries with exponential backoff and
  keeps a log of every attempt.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import json
import logging
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from elasticsearch import ConflictError, Elasticsearch, NotFoundError
from elasticsearch.helpers import bulk

from services.search.query import parse, to_es_query
from shared.ssrf import BlockedUrl, SsrfGuard

log = logging.getLogger(__name__)

SAVED_MAPPING = {
    "dynamic": "strict",
    "properties": {
        "id": {"type": "keyword"},
        "name": {"type": "keyword"},
        "query": {"type": "keyword", "index": False},
        "webhook_url": {"type": "keyword", "index": False},
        "enabled": {"type": "boolean"},
        "created_at": {"type": "date"},
        "updated_at": {"type": "date"},
    },
}
MATCH_MAPPING = {
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
DELIVERY_MAPPING = {
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


class SavedSearchStore:
    """CRUD for saved searches. The query is validated (parsed) before it is stored."""

    def __init__(self, es: Elasticsearch, prefix: str) -> None:
        self.es = es
        self.idx = AlertIndices(prefix)

    def create(self, name: str, query: str, webhook_url: str | None) -> dict[str, Any]:
        parse(query)
        saved_id = uuid.uuid4().hex[:16]
        doc = {"id": saved_id, "name": name, "query": query, "webhook_url": webhook_url, "enabled": True,
               "created_at": now_utc().isoformat(), "updated_at": now_utc().isoformat()}  # fmt: skip
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
        current = self.get(saved_id)
        if current is None:
            return None
        if "query" in changes and changes["query"] is not None:
            parse(changes["query"])
        current.update({k: v for k, v in changes.items()})
        current["updated_at"] = now_utc().isoformat()
        self.es.index(index=self.idx.saved, id=saved_id, document=current, refresh="wait_for")
        return current

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


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookDispatcher:
    """Background thread delivering pending webhook batches. Safe to run in several processes."""

    def __init__(self, es: Elasticsearch, prefix: str, alias: str, secret: str, guard: SsrfGuard,
                 poll_s: float = 0.3, timeout_s: float = 10.0) -> None:  # fmt: skip
        self.es = es
        self.alias = alias
        self.idx = AlertIndices(prefix)
        self.store = SavedSearchStore(es, prefix)
        self.secret = secret
        self.guard = guard
        self.poll_s = poll_s
        self.client = httpx.Client(timeout=timeout_s, follow_redirects=False)
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
            headers = {"Content-Type": "application/json", "X-Warta-Signature": sign(self.secret, body),
                       "X-Warta-Delivery": delivery["id"], "User-Agent": "Warta-Alerts/1"}  # fmt: skip
            t0 = time.perf_counter()
            try:
                self.guard.check(saved["webhook_url"])
                r = self.client.post(saved["webhook_url"], content=body, headers=headers)
                entry["status_code"] = r.status_code
                ok = 200 <= r.status_code < 300
                if not ok:
                    entry["error"] = f"HTTP {r.status_code}"
            except (httpx.HTTPError, BlockedUrl) as exc:
                entry["error"] = str(exc)[:500]
            entry["duration_ms"] = int((time.perf_counter() - t0) * 1000)
            status = "delivered" if ok else ("failed" if attempts >= MAX_ATTEMPTS else "pending")
        update: dict[str, Any] = {"status": status, "attempts": attempts, "log": [*delivery.get("log", []), entry]}
        if ok:
            update["delivered_at"] = now_utc().isoformat()
        elif status == "pending":
            update["next_attempt_at"] = (now_utc() + timedelta(seconds=min(2**attempts, 300))).isoformat()
        self.es.update(index=self.idx.deliveries, id=delivery["id"], doc=update, refresh=True)
        log.info("webhook delivery", extra={"count": len(delivery["article_ids"]), "error": entry.get("error")})
