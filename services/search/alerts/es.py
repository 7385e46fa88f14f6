"""The alerts consumer's Elasticsearch side: :class:`EsAlertBackend` implements
:class:`~services.search.alerts.matching.AlertBackend` on the article alias and the alert indices.

Error contract: unreachable, timed out, 429 and 5xx raise :class:`Unavailable` (the batch is
retried); a 4xx refusing a whole ``_msearch`` raises :class:`SearchRejected`; a per-search error
is returned in its :class:`ChunkResult`. A 4xx on the alert indices themselves is a bug (their
mappings are strict and known) and propagates.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from elastic_transport import ConnectionError as ESConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, Elasticsearch
from elasticsearch.helpers import bulk

from services.search.alerts.matching import MATCH_FIELDS, ChunkResult, Monitor, SearchRejected, Unavailable
from services.search.alerts.store import AlertIndices, SavedSearchStore
from services.search.index import fetch_articles
from shared.schemas import IndexedArticle

log = logging.getLogger(__name__)

MAX_SAVED_SEARCHES = 10_000
# Terms per lookup of existing matches or deliveries (within the default max_terms_count of 65,536).
LOOKUP_CHUNK = 5_000


def _transient(exc: BaseException) -> bool:
    """Unreachable, timed out, overloaded, failing, or an index missing (not created yet, or being
    replaced): nothing the saved searches did."""
    if isinstance(exc, ESConnectionError | ConnectionTimeout):
        return True
    return isinstance(exc, ApiError) and (exc.meta.status in (404, 408, 429) or exc.meta.status >= 500)


class _Guard:
    """Turns transient Elasticsearch errors into :class:`Unavailable`."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if exc is not None and _transient(exc):
            raise Unavailable(f"{self.what}: {exc!r}"[:500]) from exc


class EsAlertBackend:
    """Saved searches, matching and recording on Elasticsearch. Thread-safe as the client is."""

    def __init__(self, es: Elasticsearch, prefix: str, alias: str) -> None:
        self.es = es
        self.alias = alias
        self.idx = AlertIndices(prefix)
        self.store = SavedSearchStore(es, prefix)

    def saved_searches(self) -> list[dict[str, Any]]:
        with _Guard("reading saved searches"):
            resp = self.es.options(ignore_status=404).search(index=self.idx.saved, size=MAX_SAVED_SEARCHES,
                                                             sort=[{"created_at": "asc"}], seq_no_primary_term=True)  # fmt: skip
        hits = resp.get("hits", {}).get("hits", [])
        if len(hits) >= MAX_SAVED_SEARCHES:
            log.warning("only the first %d saved searches are matched", MAX_SAVED_SEARCHES)
        return [{**h["_source"], "_seq_no": h["_seq_no"], "_primary_term": h["_primary_term"]} for h in hits]

    def saved_searches_version(self) -> tuple[int, str | None]:
        with _Guard("checking saved searches"):
            resp = self.es.options(ignore_status=404).search(
                index=self.idx.saved, size=0, track_total_hits=True, aggs={"updated": {"max": {"field": "updated_at"}}}
            )
        if "hits" not in resp:
            return 0, None
        return int(resp["hits"]["total"]["value"]), resp["aggregations"]["updated"].get("value_as_string")

    def all_visible(self, articles: Sequence[IndexedArticle]) -> bool:
        by_index: dict[str, list[str]] = {}
        for a in articles:
            by_index.setdefault(a.index, []).append(a.id)
        for index, ids in by_index.items():
            # A count in the index each was written to: every id is there at most once.
            with _Guard("checking visibility"):
                resp = self.es.options(ignore_status=404).search(index=index, query={"ids": {"values": ids}}, size=0,
                                                                 track_total_hits=True, request_cache=False)  # fmt: skip
            if int(resp.get("hits", {}).get("total", {}).get("value", -1)) < len(set(ids)):
                return False
        return True

    def refresh(self, indices: Sequence[str]) -> None:
        with _Guard("refreshing"):
            self.es.indices.refresh(index=",".join(indices) or self.alias, ignore_unavailable=True)

    def search(self, chunks: Sequence[Sequence[Monitor]], ids: Sequence[str]) -> list[ChunkResult]:
        body: list[dict[str, Any]] = []
        for chunk in chunks:
            # One bucket per saved search (each parsed as a query of its own: the search API's
            # limits, no more), the matching article ids in it. No hits, no scores; the request
            # cache would only store results that are never asked for again.
            aggs = {"m": {"filters": {"filters": {m.id: m.es_query for m in chunk}},
                          "aggs": {"a": {"terms": {"field": "id", "size": len(ids)}}}}}  # fmt: skip
            body.append({"index": self.alias, "request_cache": False})
            body.append({"query": {"ids": {"values": list(ids)}}, "size": 0, "track_total_hits": False, "aggs": aggs})
        try:
            with _Guard("searching"):
                resp = self.es.msearch(searches=body)
        except ApiError as exc:
            raise SearchRejected(exc.meta.status, exc.body) from exc
        results = []
        for answer in resp["responses"]:
            error = answer.get("error")
            if error is None and answer.get("_shards", {}).get("failed"):
                failures = answer["_shards"].get("failures") or [{}]
                error = failures[0].get("reason", failures[0])
                answer = {**answer, "status": failures[0].get("status", 500)}
            if error is not None and "index_not_found" in str(error):
                raise Unavailable(f"searching: {str(error)[:300]}")
            if error is not None:
                results.append(ChunkResult(status=int(answer.get("status", 500)), error=error))
                continue
            buckets = answer["aggregations"]["m"]["buckets"]
            results.append(ChunkResult({saved_id: [b["key"] for b in bucket["a"]["buckets"]]
                                        for saved_id, bucket in buckets.items() if bucket["doc_count"]}))  # fmt: skip
        return results

    def article_fields(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for part in _chunks(list(ids), LOOKUP_CHUNK):
            with _Guard("reading articles"):
                out |= fetch_articles(self.es, self.alias, part, source=list(MATCH_FIELDS))
        return out

    def existing_matches(self, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        found: set[tuple[str, str]] = set()
        for part in _chunks(list(pairs), LOOKUP_CHUNK):
            with _Guard("reading matches"):
                # A GET is real-time: no refresh needed to see a match written a moment ago.
                docs = self.es.mget(index=self.idx.matches, ids=[f"{s}:{a}" for s, a in part], source=False)["docs"]
            found |= {pair for pair, d in zip(part, docs, strict=True) if d.get("found")}
        return found

    def delivered(self, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        wanted = set(pairs)
        found: set[tuple[str, str]] = set()
        for part in _chunks(sorted(wanted), LOOKUP_CHUNK):
            saved_ids = sorted({s for s, _ in part})
            article_ids = sorted({a for _, a in part})
            query = {"bool": {"filter": [{"terms": {"saved_search_id": saved_ids}}, {"terms": {"article_ids": article_ids}}],
                              "must_not": [{"term": {"kind": "spike"}}]}}  # a spike's sample articles are no matches  # fmt: skip
            with _Guard("reading deliveries"):
                # Deliveries are written with refresh=True, so a search sees them.
                resp = self.es.options(ignore_status=404).search(
                    index=self.idx.deliveries,
                    query=query,
                    size=10_000,
                    source_includes=["saved_search_id", "article_ids"],
                )
            for h in resp.get("hits", {}).get("hits", []):
                s = h["_source"]["saved_search_id"]
                found |= {(s, a) for a in h["_source"]["article_ids"] if (s, a) in wanted}
        return found

    def create_deliveries(self, deliveries: list[dict[str, Any]]) -> None:
        actions = [{"_op_type": "create", "_index": self.idx.deliveries, "_id": d["id"], **d} for d in deliveries]
        self._create(actions, "recording deliveries", refresh=True)  # the dispatcher finds them by searching

    def create_matches(self, matches: list[dict[str, Any]], visible: bool) -> int:
        actions = [{"_op_type": "create", "_index": self.idx.matches,
                    "_id": f"{m['saved_search_id']}:{m['article_id']}", **m} for m in matches]  # fmt: skip
        return self._create(actions, "recording matches", refresh=visible)

    def _create(self, actions: list[dict[str, Any]], what: str, refresh: bool) -> int:
        """Bulk ``create``; an existing document (409) is what idempotence expects. Returns how
        many were created."""
        with _Guard(what):
            _, errors = bulk(self.es, actions, raise_on_error=False, refresh=refresh, chunk_size=2000)
        assert isinstance(errors, list)  # not stats_only
        other = [e for e in errors if e.get("create", {}).get("status") != 409]
        if other:
            status = int(other[0].get("create", {}).get("status", 500))
            if status == 429 or status >= 500:
                raise Unavailable(f"{what}: {other[:3]}"[:500])
            raise RuntimeError(f"{what} refused: {other[:3]}")
        return len(actions) - len(errors)

    def record_query_states(self, states: list[tuple[Monitor, str | None]], at: str) -> None:
        """Marking ok is one bulk of writes conditional on the version each saved search was read
        at (after an upgrade, every saved search is marked ok at the first batch); a conflict (an
        edit, or the dispatcher's delivery state) falls back to the store's read-and-write, as
        does marking failing, which keeps ``query_failed_at`` from the first rejection."""
        ok = {"query_status": "ok", "query_error": None, "query_failed_at": None}
        actions = [{"_op_type": "update", "_index": self.idx.saved, "_id": m.id, "if_seq_no": m.seq_no,
                    "if_primary_term": m.primary_term, "doc": ok}
                   for m, error in states if error is None and m.seq_no is not None]  # fmt: skip
        one_by_one = [(m, error) for m, error in states if error is not None or m.seq_no is None]
        if actions:
            by_id = {m.id: m for m, _ in states}
            with _Guard("recording query states"):
                _, errors = bulk(self.es, actions, raise_on_error=False, refresh=True, chunk_size=1000)
            assert isinstance(errors, list)
            for e in errors:
                item = e.get("update", {})
                if item.get("status") == 409:
                    one_by_one.append((by_id[item["_id"]], None))
                elif item.get("status") != 404:  # 404: deleted meanwhile
                    raise Unavailable(f"recording query states: {errors[:3]}"[:500])
        for m, error in one_by_one:
            with _Guard("recording the query state"):
                self.store.record_query_state(m.id, m.query, error, at)


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
