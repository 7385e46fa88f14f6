"""The audit log: who did what to what, when and why, for the administrative actions that change
what users can see (removing an article, lifting its tombstone). Shared by the APIs.

- One append-only Elasticsearch index, ``<prefix>warta-audit-log``: every event is written with
  ``op_type=create`` under a fresh id, and this module has no update or delete. (Anyone with write
  access to Elasticsearch itself can still change it; the API offers no way to.)
- An event names the actor by the API key that made the request: its name, role and id (the
  key's hash, as ``/v1/keys`` lists it; never the key).
- :meth:`AuditLog.record` is called *before* the action's irreversible part is done (the caller
  decides), so an action never happens unrecorded; a failed action leaves an event whose target
  is unchanged, which the event's ``action`` and the target's state explain.
- Blocking (synchronous client): call from a thread pool in an async app. Raises Elasticsearch's
  errors.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch

from shared.auth import ApiKey
from shared.indices import SMALL_INDEX

AUDIT_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "id": {"type": "keyword"},
        "at": {"type": "date"},
        "action": {"type": "keyword"},
        "target_type": {"type": "keyword"},
        "target_id": {"type": "keyword"},
        "reason": {"type": "text", "fields": {"raw": {"type": "keyword", "ignore_above": 1024}}},
        "actor_id": {"type": "keyword"},
        "actor_name": {"type": "keyword"},
        "actor_role": {"type": "keyword"},
        # What the action touched, as the action describes it (e.g. the article's URL): shown, not searched.
        "details": {"type": "object", "enabled": False},
    },
}
MAX_LIST = 1000


def audit_index(prefix: str) -> str:
    """The audit log's index, namespaced like every other index (``WARTA_INDEX_PREFIX``)."""
    return f"{prefix}warta-audit-log"


class AuditLog:
    def __init__(self, es: Elasticsearch, prefix: str) -> None:
        self.es = es
        self.index = audit_index(prefix)

    def ensure_index(self) -> None:
        """Create the index unless it exists. Idempotent, safe from several processes at once."""
        if not self.es.indices.exists(index=self.index):
            self.es.options(ignore_status=400).indices.create(
                index=self.index, mappings=AUDIT_MAPPING, settings=SMALL_INDEX
            )

    def record(
        self,
        actor: ApiKey,
        action: str,
        target_type: str,
        target_id: str,
        reason: str,
        details: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Append one event and wait until it is listable. Returns the event."""
        event_id = uuid.uuid4().hex
        event: dict[str, Any] = {
            "id": event_id,
            "at": datetime.now(UTC).isoformat(),
            "action": action,
            "target_type": target_type,
            "target_id": target_id,
            "reason": reason,
            "actor_id": actor.id,
            "actor_name": actor.name,
            "actor_role": actor.role,
            "details": details or {},
        }
        self.es.index(index=self.index, id=event_id, document=event, op_type="create", refresh="wait_for")
        return event

    def list(self, size: int = 100, action: str | None = None, target_id: str | None = None) -> list[dict[str, Any]]:
        """The newest events first, optionally only one action or one target."""
        filters: list[dict[str, Any]] = []
        if action:
            filters.append({"term": {"action": action}})
        if target_id:
            filters.append({"term": {"target_id": target_id}})
        resp = self.es.search(index=self.index, size=min(size, MAX_LIST), query={"bool": {"filter": filters}},
                              sort=[{"at": "desc"}, {"id": "asc"}])  # fmt: skip
        return [h["_source"] for h in resp["hits"]["hits"]]
