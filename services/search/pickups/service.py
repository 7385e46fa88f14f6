"""Tracked press releases and their pickups.

Releases are stored in ``<prefix>warta-pickups`` (one document per release, with the ``team`` of
the key that created it). Pickups are **not** stored: they are computed from the article index on
every read (:meth:`Pickups.find`), so an article is listed as soon as Elasticsearch makes it
searchable (the index refreshes every second), a removed article disappears with it, and a change
of the matching settings applies to every release at once. A read costs one search per release
(batched with msearch) plus scoring at most ``candidates`` articles each.

Creating is idempotent: the release id is derived from the team and the release (its URL, else
its title and text), so sending the same release twice returns the one already tracked.
"""

from __future__ import annotations

import hashlib
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import ApiError, AsyncElasticsearch, ConflictError, Elasticsearch, NotFoundError

from services.search.pickups.matching import (
    CANDIDATE_SOURCE,
    DEFAULT_SETTINGS,
    PickupSettings,
    ReleaseText,
    candidate_query,
    parse_time,
    pickup_of,
)
from services.search.pickups.models import MIN_RELEASE_WORDS
from shared.auth import DEFAULT_TEAM
from shared.ids import article_id
from shared.indices import SMALL_INDEX

RELEASE_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "id": {"type": "keyword"},
        "team": {"type": "keyword"},
        "title": {"type": "text", "index": False},
        "text": {"type": "text", "index": False},
        "url": {"type": "keyword"},
        "original_id": {"type": "keyword"},
        "released_at": {"type": "date"},
        "window_days": {"type": "integer"},
        "window_end": {"type": "date"},
        "created_at": {"type": "date"},
        "created_by": {"type": "keyword"},
    },
}
# msearch requests per call; releases per scorecard.
MSEARCH_BATCH = 50
MAX_SCORECARD_RELEASES = 1000


def pickups_index(prefix: str) -> str:
    return f"{prefix}warta-pickups"


def ensure_pickup_index(es: Elasticsearch, prefix: str) -> None:
    """Create the releases index, or add fields an older version lacks. Idempotent."""
    name = pickups_index(prefix)
    if not es.indices.exists(index=name):
        es.options(ignore_status=400).indices.create(index=name, mappings=RELEASE_MAPPING, settings=SMALL_INDEX)
    else:
        es.indices.put_mapping(index=name, properties=RELEASE_MAPPING["properties"])


class PickupInputError(ValueError):
    """A release that cannot be tracked; ``field`` names the request field."""

    def __init__(self, field: str, message: str, kind: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.kind = kind


@dataclass(frozen=True)
class TrackedRelease:
    """A stored release, ready to be matched."""

    doc: dict[str, Any]
    text: ReleaseText
    released_at: datetime
    window_end: datetime

    @classmethod
    def of(cls, doc: dict[str, Any], settings: PickupSettings) -> TrackedRelease:
        released_at = parse_time(doc["released_at"]) or datetime.now(UTC)
        window_end = parse_time(doc["window_end"]) or released_at + timedelta(days=doc["window_days"])
        return cls(doc, ReleaseText.of(doc.get("title") or "", doc["text"], settings), released_at, window_end)

    @property
    def exclude(self) -> list[str]:
        return [self.doc["original_id"]] if self.doc.get("original_id") else []


def release_id(team: str, title: str, text: str | None, url: str | None) -> str:
    key = f"url\n{url}" if url else f"text\n{title}\n{text}"
    return hashlib.sha256(f"{team}\n{key}".encode()).hexdigest()[:24]


def summary(doc: dict[str, Any], pickups: list[dict[str, Any]], now: datetime | None = None) -> dict[str, Any]:
    """A release as the API lists it: its stored fields (without the text) and its pickup counts."""
    now = now or datetime.now(UTC)
    window_end = parse_time(doc["window_end"])
    out = {k: v for k, v in doc.items() if k != "text"}
    out.update(
        team=doc.get("team") or DEFAULT_TEAM,
        tracking=bool(window_end and now <= window_end),
        outlets=len({p["outlet"] for p in pickups}),
        pickup_count=len(pickups),
        url=doc.get("url"),
        original_id=doc.get("original_id"),
        created_by=doc.get("created_by"),
    )
    return out


def scorecard(releases: Sequence[tuple[dict[str, Any], list[dict[str, Any]]]]) -> list[dict[str, Any]]:
    """Per outlet, over ``releases`` (each with its pickups): releases carried, their share of all
    releases, articles, the median over releases of the outlet's first delay and the mean over
    releases of the most the outlet kept. Outlets by releases carried, then name."""
    per_outlet: dict[str, dict[str, Any]] = {}
    for _doc, pickups in releases:
        by_outlet: dict[str, list[dict[str, Any]]] = {}
        for p in pickups:
            by_outlet.setdefault(p["outlet"] or "?", []).append(p)
        for outlet, items in by_outlet.items():
            acc = per_outlet.setdefault(outlet, {"releases": 0, "articles": 0, "delays": [], "kept": []})
            acc["releases"] += 1
            acc["articles"] += len(items)
            delays = [p["delay_s"] for p in items if p["delay_s"] is not None]
            if delays:
                acc["delays"].append(min(delays))
            acc["kept"].append(max(p["kept"] for p in items))
    total = len(releases)
    rows = [
        {
            "outlet": outlet,
            "releases_carried": acc["releases"],
            "carried_share": round(acc["releases"] / total, 4) if total else 0.0,
            "articles": acc["articles"],
            "median_delay_s": statistics.median(acc["delays"]) if acc["delays"] else None,
            "mean_kept": round(statistics.fmean(acc["kept"]), 4),
        }
        for outlet, acc in per_outlet.items()
    ]
    return sorted(rows, key=lambda r: (-r["releases_carried"], r["outlet"]))


class Pickups:
    """Releases (stored) and their pickups (computed from the article index ``alias``).

    Every method may raise Elasticsearch errors (the API answers them 503). ``team`` arguments
    scope reads and deletes: given, another team's release is treated as missing; None (an
    admin key) reaches every team's."""

    def __init__(
        self,
        es: AsyncElasticsearch,
        alias: str,
        prefix: str,
        settings: PickupSettings = DEFAULT_SETTINGS,
        search_timeout: str = "10s",
    ) -> None:
        self.es = es
        self.alias = alias
        self.index = pickups_index(prefix)
        self.settings = settings
        self.search_timeout = search_timeout

    # --- releases -----------------------------------------------------------------------------

    async def _original(self, url: str) -> dict[str, Any]:
        """The indexed article at ``url`` (by its id, or by canonical URL), else PickupInputError."""
        try:
            ident = article_id(url)
        except ValueError as exc:
            raise PickupInputError("url", f"not a valid URL: {exc}", "invalid_url") from exc
        resp = await self.es.search(
            index=self.alias,
            size=1,
            query={"bool": {"should": [{"ids": {"values": [ident]}}, {"term": {"canonical_url": url}}]}},
            source_includes=["id", "title", "body", "published_at", "ingested_at"],
        )
        hits = resp["hits"]["hits"]
        if not hits:
            raise PickupInputError(
                "url",
                "no indexed article has this URL: Warta does not fetch releases itself; add the institution's site "
                "as a crawl source and wait until the release is indexed, or send the release's text",
                "not_indexed",
            )
        src: dict[str, Any] = hits[0]["_source"]
        return src

    async def create(
        self,
        team: str,
        created_by: str | None,
        title: str,
        text: str | None,
        url: str | None,
        released_at: datetime | None,
        window_days: int,
    ) -> tuple[dict[str, Any], bool]:
        """Store a release to track; returns (its summary, created). A release this team already
        tracks (same URL, or same title and text) is returned as it is, with ``created`` False.
        Raises :class:`PickupInputError` for a URL that is not indexed or a text too short."""
        ident = release_id(team, title, text, url)
        existing = await self._get_doc(ident, team)
        if existing is not None:
            return await self._summarise(existing), False
        original_id = None
        if url is not None:
            original = await self._original(url)
            text = original.get("body") or ""
            title = title or original.get("title") or ""
            original_id = original.get("id")
            if released_at is None:
                released_at = parse_time(original.get("published_at")) or parse_time(original.get("ingested_at"))
        assert text is not None
        release = ReleaseText.of(title, text, self.settings)
        if release.words < MIN_RELEASE_WORDS:
            field = "url" if url is not None else "text"
            raise PickupInputError(
                field,
                f"the release has {release.words} words after boilerplate removal; at least {MIN_RELEASE_WORDS} are "
                "needed to tell its pickups from other articles",
                "too_short",
            )
        now = datetime.now(UTC)
        released_at = (released_at or now).astimezone(UTC)
        doc = {
            "id": ident,
            "team": team,
            "title": title,
            "text": text,
            "url": url,
            "original_id": original_id,
            "released_at": released_at.isoformat(),
            "window_days": window_days,
            "window_end": (released_at + timedelta(days=window_days)).isoformat(),
            "created_at": now.isoformat(),
            "created_by": created_by,
        }
        try:
            await self.es.index(index=self.index, id=ident, document=doc, op_type="create", refresh="wait_for")
        except ConflictError:  # created meanwhile by a concurrent request: return that one
            found = await self._get_doc(ident, team)
            if found is not None:
                return await self._summarise(found), False
            raise
        return await self._summarise(doc), True

    async def _get_doc(self, ident: str, team: str | None) -> dict[str, Any] | None:
        try:
            resp = await self.es.get(index=self.index, id=ident)
        except NotFoundError:
            return None
        doc: dict[str, Any] = resp["_source"]
        if team is not None and (doc.get("team") or DEFAULT_TEAM) != team:
            return None
        return doc

    async def get(self, ident: str, team: str | None) -> dict[str, Any] | None:
        """A release with its text and every pickup (oldest first), or None."""
        doc = await self._get_doc(ident, team)
        if doc is None:
            return None
        (pickups,) = await self.find([doc])
        return {**summary(doc, pickups), "text": doc["text"], "pickups": pickups}

    async def releases(self, team: str | None, size: int = 50) -> list[dict[str, Any]]:
        """The team's releases, latest release first, each with its pickup counts."""
        query: dict[str, Any] = {"term": {"team": team}} if team is not None else {"match_all": {}}
        resp = await self.es.search(index=self.index, query=query, size=size,
                                    sort=[{"released_at": "desc"}, {"id": "asc"}])  # fmt: skip
        docs = [h["_source"] for h in resp["hits"]["hits"]]
        found = await self.find(docs)
        return [summary(doc, pickups) for doc, pickups in zip(docs, found, strict=True)]

    async def delete(self, ident: str, team: str | None) -> bool:
        if await self._get_doc(ident, team) is None:
            return False
        try:
            await self.es.delete(index=self.index, id=ident, refresh="wait_for")
        except NotFoundError:
            return False
        return True

    async def _summarise(self, doc: dict[str, Any]) -> dict[str, Any]:
        (pickups,) = await self.find([doc])
        return summary(doc, pickups)

    # --- pickups ------------------------------------------------------------------------------

    async def find(self, docs: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
        """The pickups of each stored release in ``docs``, oldest first: one msearch per
        :data:`MSEARCH_BATCH` releases for the candidates, then exact scoring (in a worker thread:
        it is CPU work)."""
        releases = [TrackedRelease.of(doc, self.settings) for doc in docs]
        out: list[list[dict[str, Any]]] = []
        for start in range(0, len(releases), MSEARCH_BATCH):
            batch = releases[start : start + MSEARCH_BATCH]
            out.extend(await self.find_releases(batch))
        return out

    async def find_releases(self, releases: Sequence[TrackedRelease]) -> list[list[dict[str, Any]]]:
        """Candidates of each release from the article index (one msearch), then scoring."""
        if not releases:
            return []
        searches: list[dict[str, Any]] = []
        for r in releases:
            searches.append({"index": self.alias})
            searches.append({
                "query": candidate_query(r.text, r.released_at, r.window_end, r.exclude, self.settings),
                "size": self.settings.candidates,
                "_source": CANDIDATE_SOURCE,
                "timeout": self.search_timeout,
                "track_total_hits": False,
            })  # fmt: skip
        resp = await self.es.msearch(searches=searches)
        answers: list[list[dict[str, Any]]] = []
        for answer in resp["responses"]:
            if "error" in answer:  # as if that search alone had failed: the API answers it 400 or 503
                meta = ApiResponseMeta(status=int(answer.get("status") or 500), http_version="1.1",
                                       headers=HttpHeaders(), duration=0.0, node=NodeConfig("http", "msearch", 0))  # fmt: skip
                raise ApiError("pickup candidate search failed", meta=meta, body=answer["error"])
            answers.append([h["_source"] for h in answer["hits"]["hits"]])

        def score_all() -> list[list[dict[str, Any]]]:
            result = []
            for r, candidates in zip(releases, answers, strict=True):
                found = [p for src in candidates if (p := pickup_of(r.text, r.released_at, src, self.settings))]
                found.sort(key=lambda p: (p["first_seen"] or "", p["article_id"] or ""))
                result.append(found)
            return result

        return await anyio.to_thread.run_sync(score_all)

    async def scorecard(self, team: str | None, lo: datetime, hi: datetime) -> tuple[int, list[dict[str, Any]]]:
        """(releases in the period, per-outlet rows) over the team's releases released between
        ``lo`` and ``hi``. Raises PickupInputError past :data:`MAX_SCORECARD_RELEASES`."""
        filters: list[dict[str, Any]] = [{"range": {"released_at": {"gte": lo.isoformat(), "lte": hi.isoformat()}}}]
        if team is not None:
            filters.append({"term": {"team": team}})
        resp = await self.es.search(index=self.index, query={"bool": {"filter": filters}},
                                    size=MAX_SCORECARD_RELEASES + 1, sort=[{"released_at": "asc"}, {"id": "asc"}])  # fmt: skip
        docs = [h["_source"] for h in resp["hits"]["hits"]]
        if len(docs) > MAX_SCORECARD_RELEASES:
            raise PickupInputError("from", f"more than {MAX_SCORECARD_RELEASES} releases in the period: narrow it",
                                   "too_many_releases")  # fmt: skip
        found = await self.find(docs)
        return len(docs), scorecard(list(zip(docs, found, strict=True)))
