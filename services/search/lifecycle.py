"""Index lifecycle: ``warta search reindex`` (mapping changes without downtime or lost writes) and
``warta search retention`` (delete articles older than N days).

Reindex, client-side (no dependency on the ``_reindex`` API, which the Elasticsearch test
distribution lacks):

1. create ``<prefix>articles-v<new>`` with the current :data:`MAPPING`, refresh off while copying;
2. copy every document of the indices behind the alias with a point in time + ``search_after``,
   bulk-writing each with its own external version (the ingest time in ms, as the indexer does), so
   a copy never overwrites a newer write;
3. swap the alias in ONE ``_aliases`` call (remove the old indices, add the new one as the write
   index): readers and the indexer see either the old or the new index, never none or both;
4. catch up: documents written to the old index while the copy ran (``indexed_at`` at or after the
   copy start, minus a clock-skew margin) are copied again, twice: right after the swap and once
   more after a grace period that covers bulk requests that resolved the alias before the swap.
   External versions make each catch-up copy idempotent and never regressive.

The old index is kept (for a rollback: swap the alias back) unless ``--delete-old``.

Retention: ``_delete_by_query`` when the cluster has it (the ``reindex`` module), else the same
point-in-time scan followed by bulk deletes against each document's concrete index.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch.exceptions import ApiError

from services.search.index import MAPPING, SETTINGS, index_name
from services.search.settings import SearchSettings
from shared.settings import articles_alias

log = logging.getLogger(__name__)

PIT_KEEP_ALIVE = "2m"


class LifecycleError(RuntimeError):
    pass


def indices_behind(es: Elasticsearch, alias: str) -> list[str]:
    if not es.indices.exists_alias(name=alias):
        return []
    return sorted(es.indices.get_alias(name=alias).body)


def _version_of(index: str) -> int | None:
    m = re.search(r"-v(\d+)$", index)
    return int(m.group(1)) if m else None


def next_version(es: Elasticsearch, prefix: str) -> int:
    """One more than the highest ``<prefix>articles-v<N>`` that exists."""
    existing = es.options(ignore_status=404).indices.get(index=f"{articles_alias(prefix)}-v*", expand_wildcards="all")
    versions = [v for v in (_version_of(name) for name in getattr(existing, "body", existing) or {}) if v is not None]
    return max(versions, default=0) + 1


def scan(es: Elasticsearch, indices: list[str], query: dict[str, Any] | None = None, batch: int = 1000,
         source: bool | list[str] = True) -> Iterator[dict[str, Any]]:  # fmt: skip
    """Every hit of ``query`` in ``indices``: point in time + ``search_after`` on ``_shard_doc``
    (consistent snapshot, no deep paging limit). Hits carry ``_index``, ``_id``, ``_version``."""
    pit = es.open_point_in_time(index=",".join(indices), keep_alive=PIT_KEEP_ALIVE)["id"]
    after: list[Any] | None = None
    try:
        while True:
            body: dict[str, Any] = {
                "size": batch,
                "query": query or {"match_all": {}},
                "pit": {"id": pit, "keep_alive": PIT_KEEP_ALIVE},
                "sort": [{"_shard_doc": "asc"}],
                "version": True,
                "_source": source,
                "track_total_hits": False,
            }
            if after is not None:
                body["search_after"] = after
            resp = es.search(**body)
            pit = resp.get("pit_id", pit)
            hits = resp["hits"]["hits"]
            if not hits:
                return
            yield from hits
            after = hits[-1]["sort"]
    finally:
        try:
            es.close_point_in_time(id=pit)
        except ApiError:
            pass


def _copy(es: Elasticsearch, hits: Iterator[dict[str, Any]], target: str, batch: int = 500) -> dict[str, int]:
    """Bulk-write ``hits`` into ``target`` with their external versions. A 409 means the target
    already holds the same or a newer copy: counted as ``skipped``, not as an error."""
    stats = {"copied": 0, "skipped": 0, "failed": 0}
    ops: list[dict[str, Any]] = []

    def flush() -> None:
        if not ops:
            return
        resp = es.bulk(operations=ops, refresh=False)
        for item in resp["items"]:
            status = item["index"].get("status", 500)
            if status < 300:
                stats["copied"] += 1
            elif status == 409:
                stats["skipped"] += 1
            else:
                stats["failed"] += 1
                log.warning("reindex: document rejected", extra={"article_id": item["index"].get("_id"),
                                                                 "error": str(item["index"].get("error"))[:300]})  # fmt: skip
        ops.clear()

    for hit in hits:
        ops.append({"index": {"_index": target, "_id": hit["_id"], "version": max(1, int(hit.get("_version") or 1)),
                              "version_type": "external_gte"}})  # fmt: skip
        ops.append(hit["_source"])
        if len(ops) >= 2 * batch:
            flush()
    flush()
    return stats


def reindex(
    es: Elasticsearch,
    prefix: str,
    new_version: int | None = None,
    *,
    batch: int = 1000,
    grace_s: float = 2.0,
    skew_s: float = 60.0,
    delete_old: bool = False,
    replicas: int = 0,
) -> dict[str, Any]:
    """Build ``<prefix>articles-v<new_version>`` from the indices behind ``<prefix>articles`` and
    swap the alias to it atomically. Returns what was done (counts and timings)."""
    alias = articles_alias(prefix)
    t0 = time.monotonic()
    old = indices_behind(es, alias)
    version = new_version if new_version is not None else next_version(es, prefix)
    target = index_name(prefix, version)
    if target in old:
        raise LifecycleError(f"{alias} already points at {target}; choose another version")
    if es.indices.exists(index=target):
        raise LifecycleError(f"{target} already exists; delete it or choose another version")
    es.indices.create(index=target, mappings=MAPPING,
                      settings={**SETTINGS, "number_of_replicas": 0, "refresh_interval": "-1"})  # fmt: skip
    copy_start = datetime.now(UTC) - timedelta(seconds=skew_s)
    stats = {"copied": 0, "skipped": 0, "failed": 0}
    if old:
        es.indices.refresh(index=",".join(old))
        stats = _copy(es, scan(es, old, batch=batch), target)
    es.indices.put_settings(index=target, settings={"refresh_interval": SETTINGS["refresh_interval"],
                                                    "number_of_replicas": replicas})  # fmt: skip
    es.indices.refresh(index=target)
    # The swap: one request, so there is no instant without a write index.
    actions: list[dict[str, Any]] = [{"remove": {"index": i, "alias": alias}} for i in old]
    actions.append({"add": {"index": target, "alias": alias, "is_write_index": True}})
    es.indices.update_aliases(actions=actions)
    swapped = time.monotonic()
    caught_up = {"copied": 0, "skipped": 0, "failed": 0}
    if old:
        since = {"range": {"indexed_at": {"gte": copy_start.isoformat()}}}
        for wait in (0.0, grace_s):
            time.sleep(wait)
            es.indices.refresh(index=",".join(old))
            for k, v in _copy(es, scan(es, old, query=since, batch=batch), target).items():
                caught_up[k] += v
        if delete_old:
            es.indices.delete(index=",".join(old))
    es.indices.refresh(index=target)
    result = {
        "alias": alias,
        "from": old,
        "to": target,
        "copied": stats["copied"],
        "copy_skipped": stats["skipped"],
        "caught_up": caught_up["copied"],
        "failed": stats["failed"] + caught_up["failed"],
        "docs": int(es.count(index=target)["count"]),
        "deleted_old": bool(delete_old and old),
        "copy_seconds": round(swapped - t0, 2),
        "seconds": round(time.monotonic() - t0, 2),
    }
    log.info("reindexed", extra={"count": result["docs"]})
    return result


def retention_query(days: float, field: str = "published_at", now: datetime | None = None) -> dict[str, Any]:
    """Articles older than ``days``: by ``published_at`` (falling back to ``ingested_at`` for
    articles without a publication date) or by ``ingested_at``."""
    cutoff = ((now or datetime.now(UTC)) - timedelta(days=days)).isoformat()
    if field == "ingested_at":
        return {"range": {"ingested_at": {"lt": cutoff}}}
    if field != "published_at":
        raise ValueError("field must be published_at or ingested_at")
    return {
        "bool": {
            "should": [
                {"range": {"published_at": {"lt": cutoff}}},
                {
                    "bool": {
                        "must_not": {"exists": {"field": "published_at"}},
                        "filter": {"range": {"ingested_at": {"lt": cutoff}}},
                    }
                },
            ],
            "minimum_should_match": 1,
        }
    }


def _no_delete_by_query(exc: ApiError) -> bool:
    text = str(exc)
    return exc.meta.status in (400, 404, 405) and ("no handler found" in text or "Incorrect HTTP method" in text)


def delete_older_than(es: Elasticsearch, alias: str, days: float, field: str = "published_at",
                      dry_run: bool = False, batch: int = 1000) -> dict[str, Any]:  # fmt: skip
    """Delete the articles behind ``alias`` older than ``days``. Returns ``{"deleted": n, ...}``."""
    query = retention_query(days, field)
    if dry_run:
        return {"alias": alias, "would_delete": int(es.count(index=alias, query=query)["count"]), "method": "count"}
    try:
        resp = es.delete_by_query(index=alias, query=query, conflicts="proceed", refresh=True, slices="auto")
        return {"alias": alias, "deleted": int(resp["deleted"]), "method": "delete_by_query"}
    except ApiError as exc:
        if not _no_delete_by_query(exc):
            raise
    deleted = 0
    indices = indices_behind(es, alias) or [alias]
    ops: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal deleted
        if ops:
            resp = es.bulk(operations=ops, refresh=False)
            deleted += sum(1 for item in resp["items"] if item["delete"].get("status") == 200)
            ops.clear()

    for hit in scan(es, indices, query=query, batch=batch, source=False):
        ops.append({"delete": {"_index": hit["_index"], "_id": hit["_id"]}})
        if len(ops) >= batch:
            flush()
    flush()
    es.indices.refresh(index=",".join(indices))
    return {"alias": alias, "deleted": deleted, "method": "scan+bulk"}


# --- CLI ----------------------------------------------------------------------------------------


def _es(settings: SearchSettings) -> Elasticsearch:
    return Elasticsearch(settings.es_hosts, request_timeout=max(settings.request_timeout_s, 120))


def reindex_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="warta search reindex",
                                description="Build a new versioned index with the current mapping and swap the alias to it.")  # fmt: skip
    p.add_argument("--version", type=int, help="version of the new index (default: the next free one)")
    p.add_argument("--delete-old", action="store_true", help="delete the old index after the swap (no rollback)")
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--grace", type=float, default=2.0, help="seconds to wait before the last catch-up pass")
    p.add_argument("--replicas", type=int, default=0, help="number_of_replicas of the new index (an ES cluster: 1+)")
    a = p.parse_args(argv)
    settings = SearchSettings()
    es = _es(settings)
    try:
        result = reindex(es, settings.index_prefix, a.version, batch=a.batch, grace_s=a.grace, delete_old=a.delete_old,
                         replicas=a.replicas)  # fmt: skip
    except LifecycleError as exc:
        print(f"warta search reindex: {exc}", file=sys.stderr)
        return 1
    finally:
        es.close()
    print(json.dumps(result))
    return 0 if result["failed"] == 0 else 1


class RetentionSettings(SearchSettings):
    retention_days: float = 365.0
    retention_field: str = "published_at"


def retention_main(argv: list[str]) -> int:
    settings = RetentionSettings()
    p = argparse.ArgumentParser(prog="warta search retention",
                                description="Delete articles older than N days (WARTA_RETENTION_DAYS).")  # fmt: skip
    p.add_argument("--days", type=float, default=settings.retention_days)
    p.add_argument("--field", choices=["published_at", "ingested_at"], default=settings.retention_field)
    p.add_argument("--dry-run", action="store_true", help="only count what would be deleted")
    a = p.parse_args(argv)
    if a.days <= 0:
        print("warta search retention: --days must be positive", file=sys.stderr)
        return 2
    es = _es(settings)
    try:
        result = delete_older_than(es, settings.alias, a.days, a.field, dry_run=a.dry_run)
    finally:
        es.close()
    print(json.dumps(result))
    return 0
