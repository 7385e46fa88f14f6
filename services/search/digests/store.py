"""Digest deliveries: one document per monitor and period in ``<prefix>warta-digest-deliveries``,
whose ``_id`` is the digest's key (monitor id + end of the period). It is the idempotency record
and the state machine of the digest:

- **claim**: the first scheduler to create the document (``op_type=create``) owns the digest;
  every other one gets a conflict and leaves it. The owner holds a *lease* (``lease_until``).
- ``sending`` -> ``sent`` (every channel sent), ``retrying`` (a channel failed; due again at
  ``next_attempt_at``) or ``failed`` (after the last attempt); ``cancelled`` when the monitor or
  its schedule was removed first. Each channel has its own state (``pending``, ``sending``,
  ``sent``, ``failed``, ``cancelled``), so a channel that went out is never sent again by a retry.
- Every write of the owner is conditional on the sequence number of its previous write (a fencing
  token): a sender that lost its lease (it stalled past ``lease_until`` and another scheduler took
  over) fails its next write and stops, before sending anything more.
- A ``sending`` digest whose lease expired (its sender died) is taken over by a conditional write,
  so by one scheduler only. A channel found ``sending`` then may or may not have gone out: it is
  sent again (at-least-once to that channel; the e-mail keeps its ``Message-ID``).
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from elasticsearch import ConflictError, Elasticsearch, NotFoundError

from shared.indices import SMALL_INDEX

KW = {"type": "keyword"}
TEXT_KW = {"type": "keyword", "index": False}
CHANNEL_STATE = {
    "type": "object",
    "properties": {
        "status": KW, "at": {"type": "date"}, "error": TEXT_KW, "recipients": TEXT_KW, "refused": TEXT_KW,
        "message_id": TEXT_KW, "status_code": {"type": "integer"}, "sends": {"type": "integer"},
    },
}  # fmt: skip
DIGEST_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "id": KW,
        "saved_search_id": KW,
        "team": KW,
        "period_start": {"type": "date"},
        "period_end": {"type": "date"},
        "status": KW,
        "owner": KW,
        "lease_until": {"type": "date"},
        "attempts": {"type": "integer"},
        "next_attempt_at": {"type": "date"},
        "created_at": {"type": "date"},
        "sent_at": {"type": "date"},
        "articles": {"type": "integer"},
        "stories": {"type": "integer"},
        "channels": {"type": "object", "properties": {"email": CHANNEL_STATE, "chat": CHANNEL_STATE}},
        "log": {"type": "object", "properties": {"at": {"type": "date"}, "channel": KW, "owner": KW, "error": TEXT_KW}},
    },
}
STATUSES = ("sending", "retrying", "sent", "failed", "cancelled")


class LostLease(Exception):
    """Another scheduler took the digest over (this one stalled past its lease), or it was
    deleted: the holder must stop working on it."""


@dataclass
class Claim:
    """A digest this scheduler owns: its document as last written and the sequence number of that
    write, which the next write is conditional on."""

    key: str
    doc: dict[str, Any]
    seq_no: int
    primary_term: int


class DigestDeliveries:
    def __init__(self, es: Elasticsearch, prefix: str) -> None:
        self.es = es
        self.index = f"{prefix}warta-digest-deliveries"

    def ensure(self) -> None:
        """Create the index or add the fields it lacks. Idempotent, safe from several processes."""
        if not self.es.indices.exists(index=self.index):
            self.es.options(ignore_status=400).indices.create(
                index=self.index, mappings=DIGEST_MAPPING, settings=SMALL_INDEX
            )
        else:
            self.es.indices.put_mapping(index=self.index, properties=DIGEST_MAPPING["properties"])

    def claim(self, doc: dict[str, Any]) -> Claim | None:
        """Create the digest's document (``doc["id"]`` is the key), status ``sending``; None if it
        exists already (another scheduler claimed it, now or earlier). Atomic."""
        try:
            resp = self.es.create(index=self.index, id=doc["id"], document=doc, refresh=True)
        except ConflictError:
            return None
        return Claim(doc["id"], dict(doc), resp["_seq_no"], resp["_primary_term"])

    def take_over(self, hit: dict[str, Any], changes: dict[str, Any]) -> Claim | None:
        """Take a stalled or retrying digest (a search hit with its sequence number) with a write
        conditional on that number; None if another scheduler was first."""
        try:
            resp = self.es.update(index=self.index, id=hit["_id"], doc=changes, refresh=True,
                                  if_seq_no=hit["_seq_no"], if_primary_term=hit["_primary_term"])  # fmt: skip
        except (ConflictError, NotFoundError):
            return None
        return Claim(hit["_id"], _merge(hit["_source"], changes), resp["_seq_no"], resp["_primary_term"])

    def write(self, claim: Claim, changes: dict[str, Any]) -> Claim:
        """Apply ``changes`` if the document is still as this holder last wrote it; raises
        :class:`LostLease` otherwise."""
        try:
            resp = self.es.update(index=self.index, id=claim.key, doc=changes, refresh=True,
                                  if_seq_no=claim.seq_no, if_primary_term=claim.primary_term)  # fmt: skip
        except (ConflictError, NotFoundError) as exc:
            raise LostLease(claim.key) from exc
        return Claim(claim.key, _merge(claim.doc, changes), resp["_seq_no"], resp["_primary_term"])

    def existing(self, keys: list[str]) -> set[str]:
        """Which of ``keys`` have a document (claimed, whatever their state)."""
        if not keys:
            return set()
        docs = self.es.mget(index=self.index, ids=keys, source=False)["docs"]
        return {d["_id"] for d in docs if d.get("found")}

    def recoverable(self, now: datetime, size: int = 50) -> builtins.list[dict[str, Any]]:
        """Digests to work on again: ``sending`` with an expired lease (the sender died or stalled)
        and ``retrying`` ones that are due. Search hits with their sequence numbers."""
        at = now.isoformat()
        resp = self.es.search(
            index=self.index, size=size, seq_no_primary_term=True,
            query={"bool": {"should": [
                {"bool": {"filter": [{"term": {"status": "sending"}}, {"range": {"lease_until": {"lt": at}}}]}},
                {"bool": {"filter": [{"term": {"status": "retrying"}}, {"range": {"next_attempt_at": {"lte": at}}}]}},
            ], "minimum_should_match": 1}},
            sort=[{"period_end": "asc"}],
        )  # fmt: skip
        return list(resp["hits"]["hits"])

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            return dict(self.es.get(index=self.index, id=key)["_source"])
        except NotFoundError:
            return None

    def list(self, saved_id: str, size: int = 50) -> builtins.list[dict[str, Any]]:
        """A monitor's digests, newest period first."""
        resp = self.es.options(ignore_status=404).search(
            index=self.index, size=size, query={"term": {"saved_search_id": saved_id}}, sort=[{"period_end": "desc"}]
        )
        return [h["_source"] for h in resp.get("hits", {}).get("hits", [])]


def _merge(doc: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with ``changes`` applied the way Elasticsearch's partial update does (objects merged
    recursively, anything else replaced)."""
    out = dict(doc)
    for k, v in changes.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out
