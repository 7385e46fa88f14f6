"""Removing articles for good: tombstones, the removal itself, and the indexer's gate.

A removed article (a publisher's takedown request, a court order, a wrongly pushed test article)
leaves a *tombstone*: a document in ``<prefix>warta-article-tombstones`` with ``_id`` = the
article id, and the URL, canonical URL, outlet, reason, who removed it and when. Tombstones key on
the article id, which ingest derives from the canonical URL (:func:`shared.ids.article_id`): a
re-crawl or re-push of the same canonical URL is refused, under any URL variant that canonicalises
to it (tracking parameters such as ``utm_*`` and ``fbclid``, a fragment, the order of the query,
the host's case). Not covered, because they are other ids: ``http`` against ``https``, ``www.``
against the bare host, a trailing slash, and a copy of the text at another URL (a syndicated copy
on another outlet is another article of the same story; remove it separately).

- :class:`Removals` (the search API): ``remove`` writes the tombstone (visible to search before it
  returns), records the audit event, then deletes the article from the index and its recorded
  alert matches, refreshing both, so search, export, stories and matches no longer show it when
  it returns. ``lift`` deletes the tombstone and records the event; the article comes back only
  when it is pushed or crawled again. Both block (call them from a thread pool) and raise
  Elasticsearch's errors; both are safe to repeat.
- :class:`TombstoneGate` (the indexer): before each bulk, the batch's ids are looked up (one
  ``mget``, real time) and tombstoned ones are skipped. While there are no tombstones at all (a
  count refreshed every ``check_s`` seconds by a watcher thread) no lookup is made. A removal that
  races a copy in flight (the copy passed the gate, or the count was not yet refreshed, and its
  bulk lands after the API's delete) is caught by the watcher: at each tick, if tombstones exist,
  it looks up every id indexed since the previous tick and removes the tombstoned ones again. So
  the article ends absent within ``check_s`` plus one lookup, whatever the interleaving.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from elastic_transport import ConnectionError as ESConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, Elasticsearch, NotFoundError

from services.search.alerts.store import AlertIndices
from services.search.index import fetch_articles, indices_behind, tombstones_index
from shared.audit import AuditLog
from shared.auth import ApiKey
from shared.indices import SMALL_INDEX
from shared.settings import articles_alias

log = logging.getLogger(__name__)

TOMBSTONE_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "id": {"type": "keyword"},
        "url": {"type": "keyword", "index": False},
        "canonical_url": {"type": "keyword"},
        "source": {"type": "keyword"},
        "reason": {"type": "text", "fields": {"raw": {"type": "keyword", "ignore_above": 1024}}},
        "removed_by": {"type": "keyword"},
        "removed_by_key": {"type": "keyword"},
        "removed_at": {"type": "date"},
    },
}
# Ids per mget: well within Elasticsearch's limits, and a bounded request body.
LOOKUP_CHUNK = 5000
MAX_LIST = 1000
MATCH_PAGE = 1000
# Ids indexed since the last sweep, at most (a minute at 3,000 articles a second): bounded even if
# sweeps keep failing. The oldest are dropped first, with a warning.
MAX_PENDING = 200_000


def purge(es: Elasticsearch, alias: str, matches_index: str, ids: Sequence[str]) -> None:
    """Delete ``ids`` from the article index and their recorded alert matches, and refresh both so
    search and the match lists stop showing them. Idempotent (an id already gone is fine); raises
    Elasticsearch's errors."""
    if not ids:
        return
    # Each id from every index behind the alias (the monthly layout has several; a bulk delete
    # needs the concrete index, and the article is in one of them).
    indices = indices_behind(es, alias) or [alias]
    resp = es.bulk(operations=[{"delete": {"_index": index, "_id": i}} for i in ids for index in indices], refresh=True)
    failed = [i["delete"] for i in resp["items"] if i["delete"].get("status", 500) not in (200, 404)]
    if failed:
        raise RuntimeError(f"could not delete {len(failed)} article(s): {failed[0].get('error')}")
    # Search, then delete by id (the local stack's Elasticsearch has no _delete_by_query): a page
    # at a time, each deletion refreshed, until no match is left.
    while True:
        found = es.options(ignore_status=404).search(index=matches_index, query={"terms": {"article_id": list(ids)}},
                                                     size=MATCH_PAGE, source=False)  # fmt: skip
        hits = found.get("hits", {}).get("hits", [])
        if not hits:
            return
        es.bulk(operations=[{"delete": {"_index": matches_index, "_id": h["_id"]}} for h in hits], refresh=True)
        if len(hits) < MATCH_PAGE:
            return


class Removals:
    """Removing and restoring articles, for the search API. See the module docstring."""

    def __init__(self, es: Elasticsearch, prefix: str, audit: AuditLog) -> None:
        self.es = es
        self.index = tombstones_index(prefix)
        self.alias = articles_alias(prefix)
        self.matches = AlertIndices(prefix).matches
        self.audit = audit

    def ensure_index(self) -> None:
        """Create the tombstone index unless it exists. Idempotent, safe from several processes."""
        if not self.es.indices.exists(index=self.index):
            self.es.options(ignore_status=400).indices.create(
                index=self.index, mappings=TOMBSTONE_MAPPING, settings=SMALL_INDEX
            )

    def get(self, article_id: str) -> dict[str, Any] | None:
        try:
            return dict(self.es.get(index=self.index, id=article_id)["_source"])
        except NotFoundError:
            return None

    def list(self, size: int = 100) -> list[dict[str, Any]]:
        """The newest tombstones first."""
        resp = self.es.options(ignore_status=404).search(index=self.index, size=min(size, MAX_LIST),
                                                         sort=[{"removed_at": "desc"}, {"id": "asc"}])  # fmt: skip
        return [h["_source"] for h in resp.get("hits", {}).get("hits", [])]

    def remove(self, article_id: str, reason: str, actor: ApiKey) -> dict[str, Any] | None:
        """Tombstone, audit, then delete the article everywhere. None if the index has no such
        article (nothing is written). Returns the tombstone."""
        doc = fetch_articles(self.es, self.alias, [article_id], source=["url", "canonical_url", "source"]).get(
            article_id
        )
        if doc is None:
            return None
        tombstone = {
            "id": article_id,
            "url": doc.get("url"),
            "canonical_url": doc.get("canonical_url"),
            "source": doc.get("source"),
            "reason": reason,
            "removed_by": actor.name,
            "removed_by_key": actor.id,
            "removed_at": datetime.now(UTC).isoformat(),
        }
        # The tombstone first: from here on the indexer refuses new copies. wait_for: the
        # indexer's count (a search) sees it before the article is deleted.
        self.es.index(index=self.index, id=article_id, document=tombstone, refresh="wait_for")
        self.audit.record(actor, "article.remove", "article", article_id, reason,
                          {"url": tombstone["url"], "canonical_url": tombstone["canonical_url"],
                           "source": tombstone["source"]})  # fmt: skip
        purge(self.es, self.alias, self.matches, [article_id])
        log.info("article removed", extra={"article_id": article_id, "key_name": actor.name})
        return tombstone

    def lift(self, article_id: str, reason: str, actor: ApiKey) -> dict[str, Any] | None:
        """Delete the tombstone (after recording the event). None if there is none. Returns the
        lifted tombstone."""
        tombstone = self.get(article_id)
        if tombstone is None:
            return None
        self.audit.record(actor, "article.restore", "article", article_id, reason,
                          {"url": tombstone.get("url"), "canonical_url": tombstone.get("canonical_url"),
                           "removed_reason": tombstone.get("reason")})  # fmt: skip
        self.es.options(ignore_status=404).delete(index=self.index, id=article_id, refresh="wait_for")
        log.info("tombstone lifted", extra={"article_id": article_id, "key_name": actor.name})
        return tombstone


_TRANSIENT = (ESConnectionError, ConnectionTimeout)


class TombstoneGate:
    """The indexer's view of the tombstones. See the module docstring.

    :meth:`tombstoned` and :meth:`written` are called from the indexer's bulk thread; the watcher
    thread (:meth:`start`, :meth:`close`) runs :meth:`sweep`. Until the first count succeeds,
    every batch is looked up."""

    def __init__(
        self,
        es: Elasticsearch,
        index: str,
        remove: Callable[[Sequence[str]], None],
        check_s: float = 2.0,
    ) -> None:
        self._es = es
        self._index = index
        self._remove = remove
        self._check_s = check_s
        self._any = True  # unknown yet: look up
        self._lock = threading.Lock()
        self._pending: list[str] = []  # indexed since the last sweep began
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def for_index(cls, es: Elasticsearch, prefix: str, check_s: float) -> TombstoneGate:
        alias, matches = articles_alias(prefix), AlertIndices(prefix).matches
        return cls(es, tombstones_index(prefix), lambda ids: purge(es, alias, matches, ids), check_s)

    @property
    def any(self) -> bool:
        """Whether tombstones existed at the last count (True until one succeeded)."""
        return self._any

    def tombstoned(self, ids: Sequence[str]) -> set[str] | None:
        """The tombstoned ones among ``ids``: no request while there are no tombstones. None when
        Elasticsearch could not answer in a way worth retrying (unreachable, 429, 5xx); other
        errors raise."""
        if not self._any or not ids:
            return set()
        try:
            return self._lookup(ids)
        except _TRANSIENT as exc:
            log.warning("tombstone lookup failed", extra={"error": repr(exc)})
        except ApiError as exc:
            if exc.meta.status != 429 and exc.meta.status < 500:
                raise
            log.warning("tombstone lookup failed", extra={"error": f"{exc.meta.status}"})
        return None

    def written(self, ids: Iterable[str]) -> None:
        """``ids`` were just written to the index: the next sweep checks them."""
        with self._lock:
            self._pending.extend(ids)
            if len(self._pending) > MAX_PENDING:  # sweeps keep failing while bulks succeed
                dropped = len(self._pending) - MAX_PENDING
                del self._pending[:dropped]
                log.warning("tombstone sweep behind; oldest indexed ids not re-checked", extra={"count": dropped})

    def sweep(self) -> None:
        """Refresh the count and, if tombstones exist, remove the tombstoned ones among the ids
        indexed since the last sweep. On an Elasticsearch error the ids are kept for the next one."""
        with self._lock:
            ids, self._pending = self._pending, []
        try:
            try:
                count = int(self._es.count(index=self._index)["count"])
            except NotFoundError:  # no tombstone index yet: nothing was ever removed
                count = 0
            self._any = count > 0
            found = sorted(self._lookup(ids)) if count and ids else []
            if found:
                self._remove(found)
                for article_id in found:
                    log.warning("removed a tombstoned article indexed while it was being removed",
                                extra={"article_id": article_id})  # fmt: skip
        except Exception as exc:
            with self._lock:
                self._pending[:0] = ids
            log.warning("tombstone sweep failed; retrying", extra={"error": repr(exc)[:500], "count": len(ids)})

    def _lookup(self, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(ids), LOOKUP_CHUNK):
            chunk = list(dict.fromkeys(ids[start : start + LOOKUP_CHUNK]))
            try:
                docs = self._es.mget(index=self._index, ids=chunk, source=False)["docs"]
            except NotFoundError:
                return set()
            found.update(d["_id"] for d in docs if d.get("found"))
        return found

    def start(self) -> None:
        """Start the watcher thread: a sweep now, then every ``check_s`` seconds until :meth:`close`."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._watch, name="tombstones", daemon=True)
            self._thread.start()

    def _watch(self) -> None:
        while True:
            self.sweep()
            if self._stop.wait(self._check_s):
                return

    def close(self) -> None:
        """Stop the watcher. Does not block. Ids indexed since the last sweep are not checked."""
        self._stop.set()
