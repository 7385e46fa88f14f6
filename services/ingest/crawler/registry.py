"""The source registry: sources, their scheduling state, counters and every crawl outcome, in
Elasticsearch, shared by the ingest API and any number of crawler processes.

Indices (``<prefix>`` is ``settings.index_prefix``), created with explicit mappings at first use:

- ``<prefix>warta-crawl-sources``: one document per source (``_id`` = source id) holding the
  source, its scheduling ``state``, its cumulative ``counters`` and ``runs_recorded`` (the
  sequence number of its last crawl run). Every write is conditional on the sequence number read
  before it (``if_seq_no``/``if_primary_term``) and retried on a conflict, so writes from the API
  and several crawlers never lose one another.
- ``<prefix>warta-crawl-source-urls``: one document per source URL key (:func:`source_url_key`),
  created with ``op_type=create``: the only way two concurrent creates of one URL cannot both
  succeed (Elasticsearch has no unique constraint but ``_id``).
- ``<prefix>warta-crawl-runs``: crawl outcomes, append-only, ``_id`` = ``<source id>:<seq>``,
  the last :data:`RUNS_KEPT_PER_SOURCE` per source.
- ``<prefix>warta-crawl-articles``: one document per article collected from a source
  (``published_at``, ``collected_at``), for the usual publication interval and articles per day.

Writes refresh the index (they are rare: one per crawl or per API edit), so the next
:meth:`SourceRegistry.due` of any process sees them. One registry object is safe to share between
threads. Methods block on Elasticsearch and may raise ``elasticsearch.ApiError`` or
``elastic_transport.TransportError``.
"""

from __future__ import annotations

import hashlib
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from elasticsearch import ConflictError, Elasticsearch, NotFoundError, helpers

from services.ingest.crawler.models import Source, SourceCreate, SourceUpdate
from services.ingest.settings import IngestSettings
from services.ingest.urls import InvalidURL, source_url_key
from shared.indices import SMALL_INDEX

RECENT_ARTICLE_TIMES = 50
RUNS_KEPT_PER_SOURCE = 500
DISCOVERIES_KEPT = timedelta(days=35)
# A URL claim whose source document has not appeared after this long is left over from a create
# that died half-way; younger ones belong to a create in flight, which is waited for.
URL_CLAIM_STALE_S = 10.0
# Conflicting conditional writes are retried this many times (each re-reads the document).
WRITE_ATTEMPTS = 50
PAGE = 1000

KW = {"type": "keyword"}
DATE = {"type": "date"}
NUM = {"type": "double"}
STORED = {"type": "keyword", "index": False, "doc_values": False}
STATE_MAPPING: dict[str, Any] = {
    "properties": {
        "interval_s": NUM,
        "next_crawl_at": DATE,
        "last_crawl_at": DATE,
        "last_success_at": DATE,
        "last_new_article_at": DATE,
        "first_crawl_at": DATE,
        "consecutive_failures": {"type": "integer"},
        "feed_update_period_s": NUM,
        "retry_after_until": DATE,
        "cursor": STORED,
        "last_status": KW,
        "last_error": STORED,
    }
}
SOURCE_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "id": KW,
        "type": KW,
        "name": KW,
        "url": STORED,
        "url_key": KW,
        "language": KW,
        "region": KW,
        "outlet": KW,
        "min_interval_s": NUM,
        "max_interval_s": NUM,
        "include_patterns": STORED,
        "exclude_patterns": STORED,
        "max_pages": {"type": "integer"},
        "enabled": {"type": "boolean"},
        "created_at": DATE,
        "updated_at": DATE,
        "state": STATE_MAPPING,
        # {kind: n} and {skipped|failed: {reason: n}}: reasons are open-ended, so never mapped.
        "counters": {"type": "object", "enabled": False},
        "runs_recorded": {"type": "long"},
    },
}
URL_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {"url_key": STORED, "source_id": KW, "claimed_at": DATE},
}
RUN_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "source_id": KW,
        "seq": {"type": "long"},
        "started_at": DATE,
        "finished_at": DATE,
        "status": KW,
        "discovered": {"type": "integer"},
        "fetched": {"type": "integer"},
        "published": {"type": "integer"},
        "skipped": {"type": "object", "enabled": False},
        "failed": {"type": "object", "enabled": False},
        "requests": {"type": "integer"},
        "error": STORED,
        "error_code": KW,
        "next_crawl_at": DATE,
    },
}
ARTICLE_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {"source_id": KW, "article_id": KW, "published_at": DATE, "collected_at": DATE},
}
_EDITABLE = (
    "type",
    "name",
    "url",
    "language",
    "region",
    "outlet",
    "min_interval_s",
    "max_interval_s",
    "include_patterns",
    "exclude_patterns",
    "max_pages",
    "enabled",
)
_STATE_DATES = (
    "next_crawl_at",
    "last_crawl_at",
    "last_success_at",
    "last_new_article_at",
    "first_crawl_at",
    "retry_after_until",
)


class SourceNotFound(KeyError):
    pass


class SourceExists(ValueError):
    pass


class DuplicateSourceUrl(ValueError):
    """Another source already has this URL (same :func:`source_url_key`). ``existing`` is it."""

    def __init__(self, existing: Source) -> None:
        super().__init__(f"source {existing.id!r} already has this URL ({existing.url})")
        self.existing = existing


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def url_key_or_none(url: str) -> str | None:
    try:
        return source_url_key(url)
    except InvalidURL:
        return None


def url_claim_id(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name).strip("-")[:56]
    return slug if len(slug) >= 2 else f"source-{slug or 'x'}"


@dataclass
class SourceState:
    interval_s: float | None = None
    next_crawl_at: datetime | None = None
    last_crawl_at: datetime | None = None
    last_success_at: datetime | None = None
    last_new_article_at: datetime | None = None
    first_crawl_at: datetime | None = None
    consecutive_failures: int = 0
    feed_update_period_s: float | None = None
    retry_after_until: datetime | None = None
    cursor: str | None = None
    last_status: str | None = None
    last_error: str | None = None

    def as_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = dict(self.__dict__)
        for key in _STATE_DATES:
            doc[key] = _iso(doc[key])
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> SourceState:
        data: dict[str, Any] = {k: doc.get(k) for k in cls.__dataclass_fields__}
        for key in _STATE_DATES:
            data[key] = _dt(data[key])
        data["consecutive_failures"] = data["consecutive_failures"] or 0
        return cls(**data)


@dataclass
class CrawlRecord:
    """The outcome of one crawl of one source, as stored."""

    source_id: str
    started_at: datetime
    finished_at: datetime
    status: str  # ok | not_modified | partial | failed
    discovered: int = 0
    fetched: int = 0
    published: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    error: str | None = None
    next_crawl_at: datetime | None = None
    # Why a failed crawl failed, as a stable code (a fetch or discovery reason, or
    # ``all_articles_failed`` / ``redis_error``); docs/crawler.md lists them.
    error_code: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "source_id": self.source_id,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "status": self.status,
            "discovered": self.discovered,
            "fetched": self.fetched,
            "published": self.published,
            "skipped": dict(self.skipped),
            "failed": dict(self.failed),
            "requests": self.requests,
            "error": self.error,
            "error_code": self.error_code,
            "next_crawl_at": self.next_crawl_at,
        }

    def as_doc(self, seq: int) -> dict[str, Any]:
        doc = self.as_dict()
        for key in ("started_at", "finished_at", "next_crawl_at"):
            doc[key] = _iso(doc[key])
        return {**doc, "seq": seq}

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> CrawlRecord:
        return cls(
            source_id=doc["source_id"],
            started_at=datetime.fromisoformat(doc["started_at"]),
            finished_at=datetime.fromisoformat(doc["finished_at"]),
            status=doc["status"],
            discovered=doc.get("discovered") or 0,
            fetched=doc.get("fetched") or 0,
            published=doc.get("published") or 0,
            skipped=Counter(doc.get("skipped") or {}),
            failed=Counter(doc.get("failed") or {}),
            requests=doc.get("requests") or 0,
            error=doc.get("error"),
            next_crawl_at=_dt(doc.get("next_crawl_at")),
            error_code=doc.get("error_code"),
        )


def empty_counters() -> dict[str, Any]:
    return {"crawls": 0, "discovered": 0, "fetched": 0, "published": 0, "skipped": {}, "failed": {}}


def add_counts(counters: Mapping[str, Any], record: CrawlRecord) -> dict[str, Any]:
    """``counters`` plus one crawl's counts (a new dict; the input is unchanged). Pure."""
    out = {**empty_counters(), **counters}
    out["crawls"] += 1
    for kind in ("discovered", "fetched", "published"):
        out[kind] += getattr(record, kind)
    for kind in ("skipped", "failed"):
        merged = Counter(out[kind])
        merged.update({k: n for k, n in getattr(record, kind).items() if n})
        out[kind] = dict(merged)
    return out


@dataclass
class _Doc:
    """A source document as read, with what a conditional write of it needs."""

    source: dict[str, Any]
    seq_no: int
    primary_term: int


_REQUIRED = frozenset({"type", "name", "url", "enabled", "include_patterns", "exclude_patterns"})
_SOURCE_FIELDS = frozenset(Source.model_fields)


@dataclass(frozen=True)
class RegistryIndices:
    sources: str
    urls: str
    runs: str
    articles: str

    @classmethod
    def for_prefix(cls, prefix: str) -> RegistryIndices:
        base = f"{prefix}warta-crawl-"
        return cls(f"{base}sources", f"{base}source-urls", f"{base}runs", f"{base}articles")


class SourceRegistry:
    """Elasticsearch-backed registry. Thread-safe; see module doc. Constructing it creates the
    indices that are missing (idempotent, safe from several processes at once)."""

    def __init__(self, es: Elasticsearch, index_prefix: str, *, owns_client: bool = False) -> None:
        self.es = es
        self.indices = RegistryIndices.for_prefix(index_prefix)
        self._owns_client = owns_client
        self.ensure_indices()

    @classmethod
    def from_settings(cls, settings: IngestSettings) -> SourceRegistry:
        """A registry on its own client for ``settings.es_url`` and ``settings.index_prefix``."""
        es = Elasticsearch(settings.es_hosts, request_timeout=30, retry_on_timeout=True, max_retries=3)
        try:
            return cls(es, settings.index_prefix, owns_client=True)
        except BaseException:
            es.close()
            raise

    def close(self) -> None:
        if self._owns_client:
            self.es.close()

    def ensure_indices(self) -> None:
        """Create the registry's indices, or add the fields an older mapping lacks. Idempotent."""
        for index, mapping in (
            (self.indices.sources, SOURCE_MAPPING),
            (self.indices.urls, URL_MAPPING),
            (self.indices.runs, RUN_MAPPING),
            (self.indices.articles, ARTICLE_MAPPING),
        ):
            if not self.es.indices.exists(index=index):
                # 400 resource_already_exists: another process created it meanwhile.
                self.es.options(ignore_status=400).indices.create(index=index, mappings=mapping, settings=SMALL_INDEX)
            else:
                self.es.indices.put_mapping(index=index, properties=mapping["properties"])

    # --- documents --------------------------------------------------------------------------

    def _read(self, source_id: str) -> _Doc | None:
        try:
            resp = self.es.get(index=self.indices.sources, id=source_id)
        except NotFoundError:
            return None
        return _Doc(dict(resp["_source"]), resp["_seq_no"], resp["_primary_term"])

    def _read_or_raise(self, source_id: str) -> _Doc:
        doc = self._read(source_id)
        if doc is None:
            raise SourceNotFound(source_id)
        return doc

    def _write(self, doc: _Doc) -> None:
        """Replace the document if nobody wrote it since it was read; raises ``ConflictError``."""
        self.es.index(
            index=self.indices.sources,
            id=doc.source["id"],
            document=doc.source,
            if_seq_no=doc.seq_no,
            if_primary_term=doc.primary_term,
            refresh=True,
        )

    def _modify(self, source_id: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        """Read, ``change(source_doc)`` in place, write conditionally; again on a conflict.
        Returns the document written. Raises :class:`SourceNotFound`."""
        for _ in range(WRITE_ATTEMPTS):
            doc = self._read_or_raise(source_id)
            change(doc.source)
            try:
                self._write(doc)
            except ConflictError:
                continue
            return doc.source
        raise RuntimeError(f"source {source_id!r}: too many concurrent writes")  # pragma: no cover

    @staticmethod
    def _to_source(doc: Mapping[str, Any]) -> Source:
        return Source.model_validate({k: v for k, v in doc.items() if k in _SOURCE_FIELDS})

    def _search_sources(self, query: dict[str, Any], sort: list[Any], size: int | None = None) -> Iterator[Source]:
        """Sources matching ``query`` in ``sort`` order (``id`` breaks ties), paged with
        ``search_after``; at most ``size`` when given."""
        after: list[Any] | None = None
        left = size
        while left is None or left > 0:
            page = PAGE if left is None else min(PAGE, left)
            resp = self.es.search(
                index=self.indices.sources,
                query=query,
                sort=[*sort, {"id": "asc"}],
                size=page,
                search_after=after,
                track_total_hits=False,
            )
            hits = resp["hits"]["hits"]
            for hit in hits:
                yield self._to_source(hit["_source"])
            if len(hits) < page:
                return
            after = hits[-1]["sort"]
            if left is not None:
                left -= len(hits)

    # --- sources ----------------------------------------------------------------------------

    def create(self, spec: SourceCreate, *, upsert: bool = False) -> Source:
        """Insert a source (``upsert`` replaces the editable fields of an existing id).
        Raises :class:`SourceExists` when the id is taken and ``upsert`` is false, and
        :class:`DuplicateSourceUrl` when another source has the same URL key (two concurrent
        creates of one URL key cannot both pass: the key is claimed with ``op_type=create``; not
        checked for ``upsert``, the seed file, whose entries are the operator's by id)."""
        source_id = spec.id or slugify(spec.name)
        fields = {k: getattr(spec, k) for k in _EDITABLE}
        key = url_key_or_none(spec.url)
        if upsert:
            return self._upsert(source_id, fields, key)
        if self._read(source_id) is not None:
            raise SourceExists(source_id)
        existing = self.find_by_url(spec.url, exclude_id=source_id)
        if existing is not None:
            raise DuplicateSourceUrl(existing)
        claim = self._claim_url(key, source_id, existing=False) if key else None
        now = _iso(_now())
        doc = self._new_doc(source_id, fields, key, now)
        try:
            self.es.create(index=self.indices.sources, id=source_id, document=doc, refresh=True)
        except ConflictError:
            if claim and key:
                self._release_url(key, claim)
            raise SourceExists(source_id) from None
        return self._to_source(doc)

    @staticmethod
    def _new_doc(source_id: str, fields: Mapping[str, Any], key: str | None, now: str | None) -> dict[str, Any]:
        return {
            "id": source_id,
            **fields,
            "url_key": key,
            "created_at": now,
            "updated_at": now,
            "state": SourceState(next_crawl_at=_dt(now)).as_doc(),
            "counters": empty_counters(),
            "runs_recorded": 0,
        }

    def _upsert(self, source_id: str, fields: Mapping[str, Any], key: str | None) -> Source:
        for _ in range(WRITE_ATTEMPTS):
            now = _iso(_now())
            current = self._read(source_id)
            try:
                if current is None:
                    doc = self._new_doc(source_id, fields, key, now)
                    self.es.create(index=self.indices.sources, id=source_id, document=doc, refresh=True)
                    old_key = None
                else:
                    old_key = current.source.get("url_key")
                    current.source.update(fields, url_key=key, updated_at=now)
                    self._write(current)
                    doc = current.source
            except ConflictError:
                continue
            if key and key != old_key:
                # The seed file wins by id; the claim only guards the API's creates against it.
                self._try_claim_url(key, source_id)
                if old_key:
                    self._release_url_of(old_key, source_id)
            return self._to_source(doc)
        raise RuntimeError(f"source {source_id!r}: too many concurrent writes")  # pragma: no cover

    def _try_claim_url(self, key: str, source_id: str) -> tuple[int, int] | None:
        doc = {"url_key": key, "source_id": source_id, "claimed_at": _iso(_now())}
        try:
            resp = self.es.create(index=self.indices.urls, id=url_claim_id(key), document=doc, refresh=True)
        except ConflictError:
            return None
        return resp["_seq_no"], resp["_primary_term"]

    def _claim_url(self, key: str, source_id: str, *, existing: bool) -> tuple[int, int] | None:
        """Make ``source_id`` the holder of URL ``key``; returns the claim's (seq_no,
        primary_term), or None when ``source_id`` held it already. Raises
        :class:`DuplicateSourceUrl` when another source holds it (waiting for a create in flight
        to finish), :class:`SourceExists` when a create of the same id holds it (``existing``
        false). Takes over a claim left by a create or an update that died half-way."""
        doc_id = url_claim_id(key)
        deadline = time.monotonic() + URL_CLAIM_STALE_S
        while True:
            claimed = self._try_claim_url(key, source_id)
            if claimed:
                return claimed
            try:
                hit = self.es.get(index=self.indices.urls, id=doc_id)
            except NotFoundError:
                continue  # released meanwhile
            holder_id = hit["_source"]["source_id"]
            holder = self._read(holder_id)
            if holder is not None and holder.source.get("url_key") == key:
                if holder_id != source_id:
                    raise DuplicateSourceUrl(self._to_source(holder.source))
                if not existing:
                    raise SourceExists(source_id)
                return None
            claimed_at = _dt(hit["_source"].get("claimed_at")) or _now()
            fresh = (_now() - claimed_at).total_seconds() < URL_CLAIM_STALE_S
            if holder is None and fresh and time.monotonic() < deadline:
                time.sleep(0.05)  # another create of this URL is between its claim and its source
                continue
            try:
                resp = self.es.index(
                    index=self.indices.urls,
                    id=doc_id,
                    document={"url_key": key, "source_id": source_id, "claimed_at": _iso(_now())},
                    if_seq_no=hit["_seq_no"],
                    if_primary_term=hit["_primary_term"],
                    refresh=True,
                )
            except ConflictError:
                continue
            return resp["_seq_no"], resp["_primary_term"]

    def _release_url(self, key: str, claim: tuple[int, int]) -> None:
        self.es.options(ignore_status=(404, 409)).delete(
            index=self.indices.urls, id=url_claim_id(key), if_seq_no=claim[0], if_primary_term=claim[1], refresh=True
        )

    def _release_url_of(self, key: str, source_id: str) -> None:
        """Drop the claim on ``key`` if ``source_id`` holds it."""
        try:
            hit = self.es.get(index=self.indices.urls, id=url_claim_id(key))
        except NotFoundError:
            return
        if hit["_source"]["source_id"] == source_id:
            self._release_url(key, (hit["_seq_no"], hit["_primary_term"]))

    def find_by_url(self, url: str, *, exclude_id: str | None = None) -> Source | None:
        """The source (enabled or not) whose URL has the same :func:`source_url_key` as ``url``,
        other than ``exclude_id``; None when there is none."""
        key = url_key_or_none(url)
        if key is None:
            return None
        query: dict[str, Any] = {"bool": {"filter": [{"term": {"url_key": key}}]}}
        if exclude_id:
            query["bool"]["must_not"] = [{"ids": {"values": [exclude_id]}}]
        return next(self._search_sources(query, [{"created_at": "asc"}], size=1), None)

    def get(self, source_id: str) -> Source:
        return self._to_source(self._read_or_raise(source_id).source)

    def list_sources(self, *, enabled: bool | None = None) -> list[Source]:
        query: dict[str, Any] = {"match_all": {}} if enabled is None else {"term": {"enabled": enabled}}
        return list(self._search_sources(query, []))

    def update(self, source_id: str, patch: SourceUpdate) -> Source:
        """Apply the fields set in ``patch``. Raises :class:`SourceNotFound`,
        :class:`DuplicateSourceUrl` (a new URL another source has) and ``ValueError`` (min
        interval above max after the merge)."""
        # null on a required field means "unchanged"; on an optional one it clears the value.
        changes = {k: v for k, v in patch.model_dump(exclude_unset=True).items() if v is not None or k not in _REQUIRED}
        current = self._read_or_raise(source_id).source
        merged_min = changes.get("min_interval_s", current.get("min_interval_s"))
        merged_max = changes.get("max_interval_s", current.get("max_interval_s"))
        if merged_min and merged_max and merged_min > merged_max:
            raise ValueError("min_interval_s must not exceed max_interval_s")
        if not changes:
            return self._to_source(current)
        for key in ("include_patterns", "exclude_patterns"):
            if key in changes:
                changes[key] = changes[key] or []
        if "enabled" in changes:
            changes["enabled"] = bool(changes["enabled"])
        new_key = old_key = current.get("url_key")
        claim = None
        if changes.get("url"):
            existing = self.find_by_url(changes["url"], exclude_id=source_id)
            if existing is not None:
                raise DuplicateSourceUrl(existing)
            new_key = url_key_or_none(changes["url"])
            if new_key and new_key != old_key:
                claim = self._claim_url(new_key, source_id, existing=True)

        def apply(doc: dict[str, Any]) -> None:
            nonlocal old_key
            old_key = doc.get("url_key")
            now = _iso(_now())
            doc.update(changes, updated_at=now)
            if "url" in changes:
                doc["url_key"] = new_key
            if patch.enabled:
                # Re-enabling a source crawls it soon rather than at a stale schedule.
                doc["state"]["next_crawl_at"] = now

        try:
            written = self._modify(source_id, apply)
        except BaseException:
            if claim and new_key:
                self._release_url(new_key, claim)
            raise
        if old_key and new_key != old_key:
            self._release_url_of(old_key, source_id)
        return self._to_source(written)

    def set_enabled(self, source_id: str, enabled: bool) -> Source:
        return self.update(source_id, SourceUpdate(enabled=enabled))

    def seed_from_yaml(self, path: Path | str) -> list[Source]:
        """Upsert every source in a YAML file (a list, or a mapping with a ``sources`` list).
        Idempotent. Raises ``pydantic.ValidationError`` naming the bad entry's field."""
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
        entries = document.get("sources", []) if isinstance(document, Mapping) else document
        specs = [SourceCreate.model_validate(entry) for entry in entries]
        return [self.create(spec, upsert=True) for spec in specs]

    # --- scheduling state -------------------------------------------------------------------

    def state(self, source_id: str) -> SourceState:
        return SourceState.from_doc(self._read_or_raise(source_id).source.get("state") or {})

    def _due_query(self, now: datetime) -> dict[str, Any]:
        never = {"bool": {"must_not": [{"exists": {"field": "state.next_crawl_at"}}]}}
        return {
            "bool": {
                "filter": [
                    {"term": {"enabled": True}},
                    {
                        "bool": {
                            "should": [{"range": {"state.next_crawl_at": {"lte": _iso(now)}}}, never],
                            "minimum_should_match": 1,
                        }
                    },
                ]
            }
        }

    def due(self, now: datetime | None = None, limit: int = 100) -> list[Source]:
        """Enabled sources whose next crawl time has come, most overdue first. One search on a
        small index: cheap enough for every crawler process to call every tick."""
        sort = [{"state.next_crawl_at": {"order": "asc", "missing": "_first"}}]
        return list(self._search_sources(self._due_query(now or _now()), sort, size=limit))

    def next_due_at(self) -> datetime | None:
        resp = self.es.search(
            index=self.indices.sources,
            query={"bool": {"filter": [{"term": {"enabled": True}}, {"exists": {"field": "state.next_crawl_at"}}]}},
            sort=[{"state.next_crawl_at": "asc"}],
            size=1,
            source_includes=["state.next_crawl_at"],
            track_total_hits=False,
        )
        hits = resp["hits"]["hits"]
        return _dt(hits[0]["_source"]["state"]["next_crawl_at"]) if hits else None

    def request_crawl(self, source_id: str) -> None:
        """Make the source due now (the crawler picks it up within one tick). Idempotent."""

        def apply(doc: dict[str, Any]) -> None:
            doc["state"].update(next_crawl_at=_iso(_now()), retry_after_until=None)

        self._modify(source_id, apply)

    def claim(self, source_id: str, until: datetime) -> None:
        """Push the next crawl time forward while a crawl runs, so no other loop picks it up."""

        def apply(doc: dict[str, Any]) -> None:
            doc["state"]["next_crawl_at"] = _iso(until)

        self._modify(source_id, apply)

    def try_claim(self, source_id: str, until: datetime, now: datetime | None = None) -> bool:
        """:meth:`claim` only if the source is still enabled and due at ``now``, atomically: of
        several crawlers trying at once, exactly one gets True. False when another took it first
        (or it is no longer due, or gone)."""
        now = now or _now()
        doc = self._read(source_id)
        if doc is None or not doc.source.get("enabled"):
            return False
        next_at = _dt(doc.source["state"].get("next_crawl_at"))
        if next_at is not None and next_at > now:
            return False
        doc.source["state"]["next_crawl_at"] = _iso(until)
        try:
            self._write(doc)
        except ConflictError:
            return False
        return True

    def record_crawl(
        self,
        record: CrawlRecord,
        state: SourceState,
        article_times: Sequence[tuple[str, datetime]] = (),
    ) -> None:
        """Store one crawl outcome, the new scheduling state and cumulative counters.
        ``article_times`` are the articles this crawl published, (article id, publication time);
        an article id met for the first time for this source is counted as discovered at
        ``record.finished_at`` (:meth:`discoveries_per_day`).

        The state, the counters and the run's sequence number change in one conditional write
        of the source document (never lost to a concurrent write: retried on a conflict); the
        run and the articles are written next, under ids derived from that number and the
        article ids, so writing them again is harmless. Raises :class:`SourceNotFound`."""
        seq = 0

        def apply(doc: dict[str, Any]) -> None:
            nonlocal seq
            seq = int(doc.get("runs_recorded") or 0) + 1
            doc["runs_recorded"] = seq
            doc["state"] = state.as_doc()
            doc["counters"] = add_counts(doc.get("counters") or {}, record)

        self._modify(record.source_id, apply)
        sid = record.source_id
        self.es.index(index=self.indices.runs, id=run_id(sid, seq), document=record.as_doc(seq), refresh=True)
        if seq > RUNS_KEPT_PER_SOURCE:
            self.es.options(ignore_status=404).delete(
                index=self.indices.runs, id=run_id(sid, seq - RUNS_KEPT_PER_SOURCE)
            )
        if article_times:
            self.write_articles(sid, [(aid, when, record.finished_at) for aid, when in article_times])
            self._trim_articles(sid, record.finished_at)

    def write_articles(self, source_id: str, articles: Sequence[tuple[str, datetime | None, datetime | None]]) -> None:
        """Store (article id, publication time, collection time) for ``source_id``: the
        publication time is replaced, the collection time kept from the first write. Idempotent."""
        actions = []
        for article_id, published_at, collected_at in articles:
            doc: dict[str, Any] = {"source_id": source_id, "article_id": article_id}
            if published_at:
                doc["published_at"] = _iso(published_at)
            actions.append(
                {
                    "_op_type": "update",
                    "_index": self.indices.articles,
                    "_id": article_doc_id(source_id, article_id),
                    "doc": doc,
                    "upsert": {**doc, "collected_at": _iso(collected_at)},
                }
            )
        helpers.bulk(self.es, actions, refresh=True)

    def _trim_articles(self, source_id: str, now: datetime) -> None:
        """Forget articles collected more than :data:`DISCOVERIES_KEPT` ago that are not among the
        :data:`RECENT_ARTICLE_TIMES` most recently published."""
        recent = self._recent_articles(source_id)
        if len(recent) < RECENT_ARTICLE_TIMES:
            return
        oldest_kept = recent[-1]["_source"]["published_at"]
        resp = self.es.search(
            index=self.indices.articles,
            query={
                "bool": {
                    "filter": [
                        {"term": {"source_id": source_id}},
                        {"range": {"collected_at": {"lt": _iso(now - DISCOVERIES_KEPT)}}},
                    ],
                    "should": [
                        {"range": {"published_at": {"lt": oldest_kept}}},
                        {"bool": {"must_not": [{"exists": {"field": "published_at"}}]}},
                    ],
                    "minimum_should_match": 1,
                }
            },
            size=PAGE,
            source=False,
        )
        actions = [
            {"_op_type": "delete", "_index": self.indices.articles, "_id": h["_id"]} for h in resp["hits"]["hits"]
        ]
        if actions:
            helpers.bulk(self.es, actions, refresh=True, raise_on_error=False)

    def _recent_articles(self, source_id: str) -> list[dict[str, Any]]:
        resp = self.es.search(
            index=self.indices.articles,
            query={"bool": {"filter": [{"term": {"source_id": source_id}}, {"exists": {"field": "published_at"}}]}},
            sort=[{"published_at": "desc"}, {"article_id": "asc"}],
            size=RECENT_ARTICLE_TIMES,
            track_total_hits=False,
        )
        return list(resp["hits"]["hits"])

    # --- reading outcomes -------------------------------------------------------------------

    def runs(self, source_id: str, limit: int = 20) -> list[CrawlRecord]:
        """The most recent crawl runs of the source, newest first."""
        resp = self.es.search(
            index=self.indices.runs,
            query={"term": {"source_id": source_id}},
            sort=[{"seq": "desc"}],
            size=limit,
            track_total_hits=False,
        )
        return [CrawlRecord.from_doc(h["_source"]) for h in resp["hits"]["hits"]]

    def counters(self, source_id: str) -> dict[str, Any]:
        """Cumulative counters: {kind: n} for totals and {kind: {reason: n}} for skipped/failed."""
        return {**empty_counters(), **(self._read_or_raise(source_id).source.get("counters") or {})}

    def article_times(self, source_id: str) -> list[datetime]:
        """Publication times of the most recent articles published from this source, oldest first."""
        return sorted(datetime.fromisoformat(h["_source"]["published_at"]) for h in self._recent_articles(source_id))

    def discoveries_per_day(
        self, source_id: str, *, days: int, zone: tzinfo, now: datetime | None = None
    ) -> list[tuple[date, int]]:
        """Articles first collected from this source on each of the last ``days`` calendar days in
        ``zone`` (today included, oldest first, zero days included). Counts are by the time the
        crawler collected the article, not its publication date."""
        now = now or _now()
        today = now.astimezone(zone).date()
        first_day = today - timedelta(days=days - 1)
        since = datetime.combine(first_day, datetime.min.time(), zone)
        resp = self.es.search(
            index=self.indices.articles,
            query={
                "bool": {
                    "filter": [{"term": {"source_id": source_id}}, {"range": {"collected_at": {"gte": _iso(since)}}}]
                }
            },
            size=0,
            aggs={
                "days": {
                    "date_histogram": {
                        "field": "collected_at",
                        "calendar_interval": "day",
                        "time_zone": _zone_name(zone, now),
                        "format": "yyyy-MM-dd",
                    }
                }
            },
        )
        counts = {
            date.fromisoformat(b["key_as_string"]): int(b["doc_count"]) for b in resp["aggregations"]["days"]["buckets"]
        }
        return [(first_day + timedelta(days=i), counts.get(first_day + timedelta(days=i), 0)) for i in range(days)]


def _zone_name(zone: tzinfo, now: datetime) -> str:
    """``zone`` as Elasticsearch's ``time_zone``: its IANA name, else its offset at ``now``."""
    if isinstance(zone, ZoneInfo):
        return zone.key
    offset = now.astimezone(zone).utcoffset() or timedelta()
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def run_id(source_id: str, seq: int) -> str:
    return f"{source_id}:{seq}"


def article_doc_id(source_id: str, article_id: str) -> str:
    return f"{source_id}:{article_id}"
