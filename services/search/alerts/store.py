"""Where alerts keep their state: saved searches, matches and webhook deliveries, in three small
Elasticsearch indices (``<prefix>warta-saved-searches``, ``-alert-matches``,
``-webhook-deliveries``), so they survive restarts and are shared by every process.

The search API writes saved searches (:class:`SavedSearchStore` ``create``/``update``/``delete``);
the alerts consumer writes the query state (``query_status``...) and the webhook dispatcher the
delivery state (``delivery_status``...) of each one, both with writes conditional on the sequence
number, so none of the three overwrites another.
"""

from __future__ import annotations

import builtins
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from elasticsearch import ConflictError, Elasticsearch, NotFoundError

from services.search.alerts.webhooks import check_webhook_url
from services.search.query import parse
from shared.auth import DEFAULT_TEAM
from shared.indices import SMALL_INDEX
from shared.ssrf import SsrfGuard

log = logging.getLogger(__name__)

SAVED_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "id": {"type": "keyword"},
        "name": {"type": "keyword"},
        "team": {"type": "keyword"},  # the owning team (shared.auth); absent on monitors made before teams
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
        # Written by the alerts consumer when Elasticsearch rejects the query, or runs it again
        # after a rejection (see SavedSearchStore.record_query_state).
        "query_status": {"type": "keyword"},
        "query_error": {"type": "keyword", "index": False},
        "query_failed_at": {"type": "date"},
        # The digest (services/search/digests/config.py): when, where, and since when the schedule
        # holds (its first digest is at the first boundary after that).
        "schedule": {
            "type": "object",
            "properties": {k: {"type": "keyword"} for k in ("frequency", "time", "timezone", "weekday", "language")},
        },
        "channels": {
            "type": "object",
            "properties": {"email": {"type": "keyword"}, "chat_webhook_url": {"type": "keyword", "index": False}},
        },
        "schedule_updated_at": {"type": "date"},
        # Spike alerts (services/search/alerts/spikes.py): {"window": "hour"|"day", "sensitivity": ...}.
        "spike": {"type": "object", "properties": {"window": {"type": "keyword"}, "sensitivity": {"type": "keyword"}}},
    },
}
MATCH_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "saved_search_id": {"type": "keyword"},
        "team": {"type": "keyword"},  # the monitor's team
        "article_id": {"type": "keyword"},
        "matched_at": {"type": "date"},
        "published_at": {"type": "date"},
        "title": {"type": "keyword", "index": False},
        "url": {"type": "keyword", "index": False},
        "source": {"type": "keyword"},
        "outlet": {"type": "keyword", "index": False},
    },
}
DELIVERY_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "id": {"type": "keyword"},
        "saved_search_id": {"type": "keyword"},
        "team": {"type": "keyword"},  # the monitor's team
        "article_ids": {"type": "keyword"},
        # "spike" for a spike alert (services/search/alerts/spikes.py; its window and counts in
        # "spike", stored, not searched); absent for a batch of new matches.
        "kind": {"type": "keyword"},
        # Where it goes: "chat" for a spike alert to the monitor's chat channel
        # (channels.chat_webhook_url, a Slack-compatible text); absent: the signed webhook.
        "channel": {"type": "keyword"},
        "spike": {"type": "object", "enabled": False},
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
# The delivery state fields of a saved search, cleared when its webhook URL changes.
DELIVERY_STATE_RESET: dict[str, Any] = {
    "delivery_status": None, "consecutive_failures": 0, "last_delivery_at": None, "last_delivery_error": None,
}  # fmt: skip
# The query state fields, cleared when the query changes: they described the old query. null
# means "not evaluated yet"; the alerts consumer sets ok or failing at its next batch.
QUERY_STATE_RESET: dict[str, Any] = {"query_status": None, "query_error": None, "query_failed_at": None}


def now_utc() -> datetime:
    return datetime.now(UTC)


def team_filter(team: str | None) -> dict[str, Any]:
    """An Elasticsearch query for the documents of ``team`` (None: every team). Documents stored
    before teams existed have no ``team`` and belong to the default team."""
    if team is None:
        return {"match_all": {}}
    if team == DEFAULT_TEAM:
        return {"bool": {"should": [{"term": {"team": team}}, {"bool": {"must_not": {"exists": {"field": "team"}}}}],
                         "minimum_should_match": 1}}  # fmt: skip
    return {"term": {"team": team}}


class AlertIndices:
    def __init__(self, prefix: str) -> None:
        self.saved = f"{prefix}warta-saved-searches"
        self.matches = f"{prefix}warta-alert-matches"
        self.deliveries = f"{prefix}warta-webhook-deliveries"

    def ensure(self, es: Elasticsearch) -> None:
        """Create the three indices, or add the fields an older version's lack. Idempotent, safe
        from several processes at once; raises Elasticsearch errors."""
        for name, mapping in (
            (self.saved, SAVED_MAPPING),
            (self.matches, MATCH_MAPPING),
            (self.deliveries, DELIVERY_MAPPING),
        ):
            if not es.indices.exists(index=name):
                es.options(ignore_status=400).indices.create(index=name, mappings=mapping, settings=SMALL_INDEX)
            else:  # an index from an older version: add the fields it lacks (idempotent)
                es.indices.put_mapping(index=name, properties=mapping["properties"])


class SavedSearchStore:
    """CRUD for saved searches. The query is validated (parsed) and the webhook URL checked
    (:func:`check_webhook_url`, may block on DNS) before they are stored; ``create`` and ``update``
    raise ``ValueError`` (a :class:`~services.search.query.QuerySyntaxError` or
    :class:`~services.search.alerts.webhooks.WebhookRefused`) for either.

    Every saved search belongs to a team (``team``, :data:`shared.auth.DEFAULT_TEAM` if stored
    without one). ``get``, ``list``, ``update`` and ``delete`` take ``team``: given, a saved search
    of another team is treated as missing; None (an admin) reaches every team's."""

    def __init__(self, es: Elasticsearch, prefix: str, guard: SsrfGuard | None = None) -> None:
        self.es = es
        self.idx = AlertIndices(prefix)
        self.guard = guard or SsrfGuard()

    def create(self, name: str, query: str, webhook_url: str | None, *, team: str = DEFAULT_TEAM,
               schedule: dict[str, Any] | None = None, channels: dict[str, Any] | None = None,
               spike: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
        """``schedule`` and ``channels`` (the digest) are stored as given: the API validates them
        (services/search/digests/config.py)."""
        parse(query)
        if webhook_url is not None:
            check_webhook_url(webhook_url, self.guard)
        saved_id = uuid.uuid4().hex[:16]
        doc = {"id": saved_id, "name": name, "team": team, "query": query, "webhook_url": webhook_url, "enabled": True,
               "created_at": now_utc().isoformat(), "updated_at": now_utc().isoformat(), **DELIVERY_STATE_RESET,
               **QUERY_STATE_RESET, "schedule": schedule, "channels": channels,
               "schedule_updated_at": now_utc().isoformat() if schedule else None, "spike": spike}  # fmt: skip
        self.es.index(index=self.idx.saved, id=saved_id, document=doc, refresh="wait_for")
        return doc

    def get(self, saved_id: str, team: str | None = None) -> dict[str, Any] | None:
        try:
            found = {"team": DEFAULT_TEAM, **self.es.get(index=self.idx.saved, id=saved_id)["_source"]}
        except NotFoundError:
            return None
        return found if team is None or found["team"] == team else None

    def list(self, team: str | None = None) -> list[dict[str, Any]]:
        resp = self.es.search(index=self.idx.saved, size=1000, query=team_filter(team), sort=[{"created_at": "asc"}])
        return [{"team": DEFAULT_TEAM, **h["_source"]} for h in resp["hits"]["hits"]]

    def update(self, saved_id: str, changes: dict[str, Any], team: str | None = None) -> dict[str, Any] | None:
        """Apply ``changes`` (a partial document); None if there is no such saved search (of
        ``team``, if given). A new webhook URL clears the delivery state, and a new query the
        query state: they described the old ones. The team never changes."""
        changes = {k: v for k, v in changes.items() if k != "team"}
        current = self.get(saved_id, team)
        if current is None:
            return None
        if "query" in changes and changes["query"] is not None:
            parse(changes["query"])
        doc = dict(changes)
        if "webhook_url" in changes and changes["webhook_url"] != current.get("webhook_url"):
            if changes["webhook_url"] is not None:
                check_webhook_url(changes["webhook_url"], self.guard)
            doc.update(DELIVERY_STATE_RESET)
        if changes.get("query") is not None and changes["query"] != current.get("query"):
            doc.update(QUERY_STATE_RESET)
        if "schedule" in changes and changes["schedule"] != current.get("schedule"):
            # A new schedule starts now: its first digest is at its first boundary from now on.
            doc["schedule_updated_at"] = now_utc().isoformat() if changes["schedule"] else None
        doc["updated_at"] = now_utc().isoformat()
        # A partial update, so the dispatcher's concurrent record_attempt is not overwritten.
        try:
            resp = self.es.update(index=self.idx.saved, id=saved_id, doc=doc, refresh="wait_for", source=True)
        except NotFoundError:
            return None
        return {"team": DEFAULT_TEAM, **resp["get"]["_source"]}

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

    def record_query_state(self, saved_id: str, query: str, error: str | None, at: str) -> bool:
        """Record that ``query`` ran (``error`` None: ``query_status`` ok) or that Elasticsearch
        rejected it (failing, with ``error`` and, unless it was already failing, ``query_failed_at``
        = ``at``: when it started failing). Written only if the saved search still has that query
        (an edit in the meantime reset the state, which must stand) and the state changes; a read
        and a conditional write, retried on conflict. Returns whether it wrote. A deleted saved
        search is ignored; Elasticsearch errors raise."""
        for _ in range(10):
            try:
                current = self.es.get(index=self.idx.saved, id=saved_id)
            except NotFoundError:
                return False
            source = current["_source"]
            if source.get("query") != query:
                return False
            if error is None:
                state: dict[str, Any] = {"query_status": "ok", "query_error": None, "query_failed_at": None}
            else:
                failing_since = source.get("query_failed_at") if source.get("query_status") == "failing" else None
                state = {"query_status": "failing", "query_error": error, "query_failed_at": failing_since or at}
            if all(source.get(k) == v for k, v in state.items()):
                return False
            try:
                # refresh: the list of saved searches, and the consumer's own next read, show it
                self.es.update(index=self.idx.saved, id=saved_id, doc=state, refresh=True,
                               if_seq_no=current["_seq_no"], if_primary_term=current["_primary_term"])  # fmt: skip
                return True
            except NotFoundError:
                return False
            except ConflictError:
                continue
        log.warning("query state of saved search %s not recorded: too many concurrent updates", saved_id)
        return False

    def delete(self, saved_id: str, team: str | None = None) -> bool:
        if team is not None and self.get(saved_id, team) is None:
            return False
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
