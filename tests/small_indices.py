"""Every small Elasticsearch index Warta creates (shared/indices.py), created through the code
that creates it: for the single-node and the cluster tests of their replica setting."""

from __future__ import annotations

from elasticsearch import Elasticsearch

from services.ingest.crawler.backfill import BackfillStore
from services.ingest.crawler.registry import SourceRegistry
from services.search.alerts.store import AlertIndices
from services.search.digests.store import DigestDeliveries
from services.search.pickups.service import ensure_pickup_index
from services.search.tombstones import Removals
from shared.audit import AuditLog
from shared.auth import KeyStore


def create_every_small_index(es: Elasticsearch, prefix: str) -> None:
    """Every small index Warta creates, through the code that creates it."""
    audit = AuditLog(es, prefix)
    audit.ensure_index()
    KeyStore(es, prefix).ensure_index()
    Removals(es, prefix, audit).ensure_index()
    AlertIndices(prefix).ensure(es)
    DigestDeliveries(es, prefix).ensure()
    ensure_pickup_index(es, prefix)
    BackfillStore(es, prefix).ensure()
    SourceRegistry(es, prefix)
