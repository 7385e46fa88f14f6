"""Index lifecycle: ``warta search reindex`` (mapping changes without downtime or lost writes) and
``warta search retention`` (delete articles older than N days).

Reindex, client-side (no dependency on the ``_reindex`` API, which the Elasticsearch test
distribution lacks):

1. create ``<prefix>articles-v<new>`` (or, in the monthly layout, ``<prefix>articles-v<new>-YYYY.MM``
   for each month the articles are filed under) with the current :data:`MAPPING` and the
   layout's shards, refresh off while copying;
2. copy every document of the indices behind the alias with a point in time + ``search_after``,
   bulk-writing each with its own external version (the ingest time in ms, as the indexer does), so
   a copy never overwrites a newer write;
3. swap every alias in ONE ``_aliases`` call (remove the old indices from the read alias and the
   month write aliases, add the new ones): readers and the indexer see either the old or the new
   indices, never none or both. Reindexing is also how a deployment changes layout or shards;
4. catch up: documents written to the old index while the copy ran (``indexed_at`` at or after the
   copy start, minus a clock-skew margin) are copied again, twice: right after the swap and once
   more after a grace period that covers bulk requests that resolved the alias before the swap.
   External versions make each catch-up copy idempotent and never regressive.

The old index is kept (for a rollback: swap the alias back) unless ``--delete-old``.

Retention: in the monthly layout, the indices of months that ended before the cutoff are deleted
whole (by ``published_at`` only: a month index is filed by publication); the rest are deleted
article by article: ``_delete_by_query`` when the cluster has it (the ``reindex`` module), else the
same point-in-time scan followed by bulk deletes against each document's concrete index.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch.exceptions import ApiError

from services.search.index import (
    SETTINGS,
    Layout,
    create_index,
    index_name,
    indices_behind,
    is_month_alias,
    month_alias,
    month_of,
    month_of_document,
    next_month_start,
    parse_index_name,
)
from services.search.settings import SearchSettings
from shared.settings import articles_alias

log = logging.getLogger(__name__)

PIT_KEEP_ALIVE = "2m"


class LifecycleError(RuntimeError):
    pass


def next_version(es: Elasticsearch, prefix: str) -> int:
    """One more than the highest version of any ``<prefix>articles-v<N>[-YYYY.MM]`` that exists."""
    existing = es.options(ignore_status=404).indices.get(index=f"{articles_alias(prefix)}-v*", expand_wildcards="all")
    parsed = [parse_index_name(name) for name in getattr(existing, "body", existing) or {}]
    return max((p[0] for p in parsed if p), default=0) + 1


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


def _copy(es: Elasticsearch, hits: Iterator[dict[str, Any]], target: Callable[[dict[str, Any]], str],
          batch: int = 500) -> dict[str, int]:  # fmt: skip
    """Bulk-write ``hits`` into their ``target(hit)`` index with their external versions. A 409 means
    the target already holds the same or a newer copy: counted as ``skipped``, not as an error."""
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
        ops.append({"index": {"_index": target(hit), "_id": hit["_id"], "version": max(1, int(hit.get("_version") or 1)),
                              "version_type": "external_gte"}})  # fmt: skip
        ops.append(hit["_source"])
        if len(ops) >= 2 * batch:
            flush()
    flush()
    return stats


class _Targets:
    """The indices a reindex writes: one (``none``) or one per month, created on first use without
    aliases, refresh off and no replicas until the copy is done."""

    def __init__(self, es: Elasticsearch, prefix: str, version: int, layout: Layout) -> None:
        self.es, self.prefix, self.version, self.layout = es, prefix, version, layout
        self.created: dict[str, str | None] = {}  # index -> its month (None: the one-index layout)

    def __call__(self, hit: dict[str, Any]) -> str:
        return self.ensure(month_of_document(hit["_source"]) if self.layout.period == "month" else None)

    def ensure(self, month: str | None) -> str:
        name = index_name(self.prefix, self.version, month)
        if name not in self.created:
            # Exists already only if the indexer created the month after the swap (a month first
            # seen during the copy, caught up afterwards): then it is used as it is.
            create_index(self.es, name, self.layout.index_settings(number_of_replicas=0, refresh_interval="-1"), {})
            self.created[name] = month
        return name

    def finish(self, names: list[str]) -> None:
        """Refresh on and the layout's replicas, once the copy is done."""
        if names:
            self.es.indices.put_settings(index=",".join(names), settings={
                "refresh_interval": SETTINGS["refresh_interval"], "number_of_replicas": self.layout.replicas})  # fmt: skip
            self.es.indices.refresh(index=",".join(names))


def _alias_actions(
    es: Elasticsearch, prefix: str, old: list[str], targets: _Targets, new: list[str]
) -> list[dict[str, Any]]:
    """One ``_aliases`` request's actions: the read alias and every month write alias leave ``old``
    and point at ``new``."""
    alias = articles_alias(prefix)
    actions: list[dict[str, Any]] = []
    if old:
        for index, info in es.indices.get_alias(index=",".join(old)).body.items():
            for name in info.get("aliases", {}):
                if name == alias or is_month_alias(prefix, name):
                    actions.append({"remove": {"index": index, "alias": name}})
    for index in new:
        month = targets.created[index]
        if month is None:
            actions.append({"add": {"index": index, "alias": alias, "is_write_index": True}})
        else:
            actions.append({"add": {"index": index, "alias": alias}})
            actions.append({"add": {"index": index, "alias": month_alias(prefix, month), "is_write_index": True}})
    return actions


def reindex(
    es: Elasticsearch,
    prefix: str,
    new_version: int | None = None,
    *,
    batch: int = 1000,
    grace_s: float = 2.0,
    skew_s: float = 60.0,
    delete_old: bool = False,
    layout: Layout | None = None,
) -> dict[str, Any]:
    """Build version ``new_version`` of the articles indices in ``layout`` from the indices behind
    ``<prefix>articles`` and swap every alias to it atomically. Returns what was done (counts and
    timings)."""
    layout = layout or Layout()
    alias = articles_alias(prefix)
    t0 = time.monotonic()
    old = indices_behind(es, alias)
    version = new_version if new_version is not None else next_version(es, prefix)
    if any((parse_index_name(i) or (0, None))[0] == version for i in old):
        raise LifecycleError(f"{alias} already points at version {version}; choose another version")
    existing = es.options(ignore_status=404).indices.get(index=f"{index_name(prefix, version)}*")
    if [i for i in (getattr(existing, "body", existing) or {}) if (parse_index_name(i) or (0, None))[0] == version]:
        raise LifecycleError(f"indices of version {version} already exist; delete them or choose another version")
    targets = _Targets(es, prefix, version, layout)
    copy_start = datetime.now(UTC) - timedelta(seconds=skew_s)
    stats = {"copied": 0, "skipped": 0, "failed": 0}
    if old:
        es.indices.refresh(index=",".join(old))
        stats = _copy(es, scan(es, old, batch=batch), targets)
    if not targets.created:  # nothing to copy: the alias still needs an index
        targets.ensure(month_of(None, datetime.now(UTC)) if layout.period == "month" else None)
    swapped_in = list(targets.created)
    targets.finish(swapped_in)
    # The swap: one request, so there is no instant without a write index. The indices behind the
    # alias are read again: the indexer may have created a month meanwhile.
    old = sorted(set(old) | set(indices_behind(es, alias)) - set(swapped_in))
    es.indices.update_aliases(actions=_alias_actions(es, prefix, old, targets, swapped_in))
    swapped = time.monotonic()
    caught_up = {"copied": 0, "skipped": 0, "failed": 0}
    if old:
        since = {"range": {"indexed_at": {"gte": copy_start.isoformat()}}}
        for wait in (0.0, grace_s):
            time.sleep(wait)
            es.indices.refresh(index=",".join(old))
            for k, v in _copy(es, scan(es, old, query=since, batch=batch), targets).items():
                caught_up[k] += v
            late = [i for i in targets.created if i not in swapped_in]  # a month first seen in the catch-up
            if late:
                targets.finish(late)
                es.indices.update_aliases(actions=_alias_actions(es, prefix, [], targets, late))
                swapped_in += late
        if delete_old:
            es.indices.delete(index=",".join(old))
    new = list(targets.created)
    es.indices.refresh(index=",".join(new))
    result = {
        "alias": alias,
        "from": old,
        "to": new[0] if layout.period == "none" else f"{index_name(prefix, version)}-*",
        "indices": new,
        "copied": stats["copied"],
        "copy_skipped": stats["skipped"],
        "caught_up": caught_up["copied"],
        "failed": stats["failed"] + caught_up["failed"],
        "docs": int(es.count(index=",".join(new))["count"]),
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


def expired_months(es: Elasticsearch, alias: str, cutoff: datetime) -> list[str]:
    """The monthly indices behind ``alias`` whose whole month is before ``cutoff``."""
    expired = []
    for index in indices_behind(es, alias):
        parsed = parse_index_name(index)
        if parsed and parsed[1] and next_month_start(parsed[1]) <= cutoff:
            expired.append(index)
    return expired


def delete_older_than(es: Elasticsearch, alias: str, days: float, field: str = "published_at",
                      dry_run: bool = False, batch: int = 1000) -> dict[str, Any]:  # fmt: skip
    """Delete the articles behind ``alias`` older than ``days``: whole monthly indices when their
    month is over before the cutoff (``published_at`` only), the rest article by article. Returns
    ``{"deleted": n, "dropped_indices": [...], ...}``."""
    now = datetime.now(UTC)
    query = retention_query(days, field, now)
    dropped = expired_months(es, alias, now - timedelta(days=days)) if field == "published_at" else []
    in_dropped = int(es.count(index=",".join(dropped))["count"]) if dropped else 0
    rest = [i for i in indices_behind(es, alias) if i not in dropped]
    if dry_run:
        would = in_dropped + (int(es.count(index=",".join(rest), query=query)["count"]) if rest else 0)
        return {"alias": alias, "would_delete": would, "would_drop_indices": dropped, "method": "count"}
    if dropped:
        es.indices.delete(index=",".join(dropped))
        log.info("retention dropped whole months", extra={"count": in_dropped})
    result: dict[str, Any] = {"alias": alias, "deleted": in_dropped, "dropped_indices": dropped}
    if not rest:
        return result | {"method": "drop_index"}
    try:
        resp = es.delete_by_query(index=",".join(rest), query=query, conflicts="proceed", refresh=True, slices="auto")
        return result | {"deleted": in_dropped + int(resp["deleted"]), "method": "delete_by_query"}
    except ApiError as exc:
        if not _no_delete_by_query(exc):
            raise
    deleted = 0
    ops: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal deleted
        if ops:
            resp = es.bulk(operations=ops, refresh=False)
            deleted += sum(1 for item in resp["items"] if item["delete"].get("status") == 200)
            ops.clear()

    for hit in scan(es, rest, query=query, batch=batch, source=False):
        ops.append({"delete": {"_index": hit["_index"], "_id": hit["_id"]}})
        if len(ops) >= batch:
            flush()
    flush()
    es.indices.refresh(index=",".join(rest))
    return result | {"deleted": in_dropped + deleted, "method": "scan+bulk"}


# --- CLI ----------------------------------------------------------------------------------------


def _es(settings: SearchSettings) -> Elasticsearch:
    return Elasticsearch(settings.es_hosts, request_timeout=max(settings.request_timeout_s, 120))


def reindex_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="warta search reindex",
                                description="Build new versioned indices with the current mapping and layout and swap the aliases to them.")  # fmt: skip
    p.add_argument("--version", type=int, help="version of the new index (default: the next free one)")
    p.add_argument("--delete-old", action="store_true", help="delete the old index after the swap (no rollback)")
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--grace", type=float, default=2.0, help="seconds to wait before the last catch-up pass")
    settings = SearchSettings()
    layout = Layout.of(settings)
    p.add_argument("--replicas", type=int, default=layout.replicas,
                   help="number_of_replicas of the new indices (default WARTA_ES_REPLICAS; an ES cluster: 1+)")  # fmt: skip
    p.add_argument("--shards", type=int, default=layout.shards,
                   help="number_of_shards of each new index (default WARTA_ES_SHARDS)")  # fmt: skip
    p.add_argument("--period", choices=["none", "month"], default=layout.period,
                   help="one index, or one per month of publication (default WARTA_ES_INDEX_PERIOD)")  # fmt: skip
    a = p.parse_args(argv)
    if a.replicas < 0 or a.shards < 1:
        print("warta search reindex: --shards must be at least 1 and --replicas at least 0", file=sys.stderr)
        return 2
    es = _es(settings)
    try:
        result = reindex(es, settings.index_prefix, a.version, batch=a.batch, grace_s=a.grace, delete_old=a.delete_old,
                         layout=Layout(a.shards, a.replicas, a.period))  # fmt: skip
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
