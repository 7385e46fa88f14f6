"""Backfill: walk a source's history back to a date and collect what the live crawl never saw.

One job per source, in its own Elasticsearch index (``<index_prefix>warta-crawl-backfills``, ``_id`` =
the source id). The job holds a resumable ``cursor`` (the next sitemap, API page or listing page to
walk), so any crawler process can continue it, also after a restart. The job is advanced in
*steps*: :meth:`BackfillRunner.step` claims one runnable job with a write conditional on its
sequence number (``if_seq_no``/``if_primary_term``; two crawlers never walk one job at once),
walks pages of history until its time budget is spent, publishes their articles through the
crawler's own per-item processing (:meth:`Crawler._process_items`: the shared ``SeenStore`` skips
what was collected before, and remembers what it publishes), and saves the cursor and counters
after every page. A step that dies leaves its lease to expire (``LEASE``); the next step starts
at the last saved cursor, and what was published before is skipped as seen, so no article is
published twice.

What is walked, per source type (:func:`walk_page`):

- ``sitemap``: a sitemap index's children, skipping a child whose ``lastmod`` is older than
  ``since``; a urlset's entries dated (``news:publication_date``, else ``lastmod``) at or after
  ``since``, ``CHUNK`` at a time;
- ``wordpress``: ``/wp-json/wp/v2/posts?after=<since>&before=<requested>&orderby=date&order=desc``
  page by page, until the last page or a post older than ``since``;
- ``listing``: the listing page and its ``next`` links. A listing shows no dates, so each article
  page's own date decides (an older one is skipped as ``before_since``); the walk ends after a
  page that held older articles and nothing newer, or after ``MAX_LISTING_PAGES`` pages;
- ``rss``: only what the feed holds, in one step (the job says so in ``limited``).

Lower priority than live crawling: ``run_crawler`` starts a step only when no source is due.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any, Literal, Protocol
from urllib.parse import urlencode, urljoin

from elasticsearch import ConflictError, Elasticsearch, NotFoundError
from pydantic import BaseModel, Field

from services.ingest.crawler.discovery import (
    WP_API_DISABLED,
    DiscoveredUrl,
    Discovery,
    DiscoveryError,
    _source_patterns,
    is_article_link,
    parse_feed,
    parse_listing,
    parse_sitemap,
    result_header_total_pages,
)
from services.ingest.crawler.fetcher import Fetcher, FetchError
from services.ingest.crawler.leases import host_key
from services.ingest.crawler.models import Source
from services.ingest.crawler.registry import CrawlRecord, SourceNotFound, SourceRegistry
from services.ingest.dates import parse_iso
from services.ingest.urls import InvalidURL, canonicalize, matches_patterns
from shared.indices import SMALL_INDEX

log = logging.getLogger(__name__)

BackfillState = Literal["queued", "running", "done", "failed", "cancelled"]
ACTIVE: frozenset[str] = frozenset({"queued", "running"})
MAX_YEARS = 5
CHUNK = 100  # urlset entries per page of a sitemap walk
MAX_LISTING_PAGES = 200
MAX_PAGES = 5000  # pages of any kind per job
MAX_ATTEMPTS = 3  # failed fetches of one position before the job fails
LEASE = timedelta(seconds=120)
RETRY_BACKOFF = timedelta(seconds=30)
# Item failures after which the page is walked again (its seen articles are skipped then).
_RETRYABLE = frozenset(
    {"timeout", "connect_error", "dns", "http_429", "http_503", "http_5xx", "host_backoff", "robots_unreachable",
     "publish_error", "stopped", "redis_error", "extract_error"}
)  # fmt: skip

# Item outcomes meaning "collected before": seen, or fetched again and found the same.
_COLLECTED_BEFORE = ("seen", "unchanged", "duplicate", "not_modified")

_KW = {"type": "keyword"}
_DATE = {"type": "date"}
_INT = {"type": "integer"}
MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "source_id": _KW, "source_type": _KW, "state": _KW, "since": _DATE,
        "cursor": {"type": "object", "enabled": False}, "position": {"type": "keyword", "index": False},
        "pages_walked": _INT, "urls_found": _INT, "published": _INT, "skipped_seen": _INT, "skipped_older": _INT,
        "failed": _INT, "oldest_reached": _DATE, "limited": {"type": "keyword", "index": False},
        "requested_at": _DATE, "started_at": _DATE, "updated_at": _DATE, "finished_at": _DATE,
        "error": {"type": "keyword", "index": False}, "attempts": _INT, "owner": _KW, "lease_until": _DATE,
    },
}  # fmt: skip


class BackfillJob(BaseModel):
    """A backfill of one source, as stored and as the API shows it."""

    source_id: str = Field(description="The source being backfilled")
    source_type: str = Field(description="The source's type when the backfill was requested")
    state: BackfillState = Field(description="queued, running, done, failed or cancelled")
    since: date = Field(description="Articles published on or after this day (UTC) are collected")
    cursor: dict[str, Any] | None = Field(
        default=None,
        description="Where the walk continues (the next sitemap, API page or listing page); null when done",
    )
    position: str | None = Field(default=None, description="The next document to walk, for people")
    pages_walked: int = Field(default=0, description="Sitemaps, API pages, listing pages and feeds walked")
    urls_found: int = Field(default=0, description="Article URLs found dated on or after `since` (or undated)")
    published: int = Field(default=0, description="Articles published by this backfill")
    skipped_seen: int = Field(default=0, description="Articles skipped because they were collected before")
    skipped_older: int = Field(default=0, description="Articles skipped because they are older than `since`")
    failed: int = Field(default=0, description="Articles or documents that could not be fetched or extracted")
    oldest_reached: datetime | None = Field(default=None, description="The oldest publication date reached so far")
    limited: str | None = Field(
        default=None,
        description="What limits or redirects the walk: a feed's length, or a WordPress site without its REST API walked through its sitemap",
    )
    requested_at: datetime = Field(description="When the backfill was requested")
    started_at: datetime | None = Field(default=None, description="When a crawler first walked it")
    updated_at: datetime = Field(description="Last progress")
    finished_at: datetime | None = Field(default=None, description="When it ended (done, failed or cancelled)")
    error: str | None = Field(default=None, description="The last error, if any")
    attempts: int = Field(default=0, description="Failed fetches of the current position in a row")
    owner: str | None = Field(default=None, description="The crawler walking it right now")
    lease_until: datetime | None = Field(default=None, description="Until when `owner` holds it (or it waits to retry)")

    @property
    def since_dt(self) -> datetime:
        return datetime.combine(self.since, dtime.min, tzinfo=UTC)


@dataclass
class Versioned:
    job: BackfillJob
    seq_no: int
    primary_term: int


class BackfillConflict(Exception):
    """Another backfill of the source is queued or running (``existing``)."""

    def __init__(self, existing: BackfillJob) -> None:
        super().__init__(f"a backfill of {existing.source_id!r} since {existing.since} is {existing.state}")
        self.existing = existing


def check_since(value: str, today: date) -> date:
    """Parse ``YYYY-MM-DD``; raises ValueError with a sentence for a bad, future or too old date."""
    try:
        since = date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"since: {value!r} is not a date (YYYY-MM-DD)") from None
    if since > today:
        raise ValueError(f"since: {since} is in the future")
    try:
        oldest = today.replace(year=today.year - MAX_YEARS)
    except ValueError:  # 29 February
        oldest = today.replace(year=today.year - MAX_YEARS, day=28)
    if since < oldest:
        raise ValueError(f"since: {since} is more than {MAX_YEARS} years back (oldest {oldest})")
    return since


def _dump(job: BackfillJob) -> dict[str, Any]:
    return json.loads(job.model_dump_json())  # type: ignore[no-any-return]


class BackfillStore:
    """The jobs in ``<index_prefix>warta-crawl-backfills``. Thread-safe (the client is)."""

    def __init__(self, es: Elasticsearch, index_prefix: str) -> None:
        self.es = es
        self.index = f"{index_prefix}warta-crawl-backfills"
        self._ready = False

    def ensure(self) -> None:
        """Create the index if it is missing. Idempotent, safe from several processes."""
        if self._ready:
            return
        if not self.es.indices.exists(index=self.index):
            self.es.options(ignore_status=400).indices.create(index=self.index, mappings=MAPPING, settings=SMALL_INDEX)
        self._ready = True

    def get(self, source_id: str) -> Versioned | None:
        self.ensure()
        try:
            doc = self.es.get(index=self.index, id=source_id)
        except NotFoundError:
            return None
        return Versioned(BackfillJob.model_validate(doc["_source"]), doc["_seq_no"], doc["_primary_term"])

    def write(self, current: Versioned, job: BackfillJob) -> Versioned | None:
        """Replace the job if it is still as ``current`` was read; None if someone else wrote it."""
        try:
            resp = self.es.index(index=self.index, id=job.source_id, document=_dump(job), refresh=True,
                                 if_seq_no=current.seq_no, if_primary_term=current.primary_term)  # fmt: skip
        except (ConflictError, NotFoundError):
            return None
        return Versioned(job, resp["_seq_no"], resp["_primary_term"])

    def request(self, source: Source, since: date, now: datetime) -> tuple[BackfillJob, bool]:
        """Queue a backfill of ``source`` back to ``since``. Returns (job, created): an active job
        with the same ``since`` is returned as it is (created False). Raises
        :class:`BackfillConflict` when an active job has another ``since``."""
        job = BackfillJob(
            source_id=source.id, source_type=source.type, state="queued", since=since,
            cursor=initial_cursor(source), position=source.url, requested_at=now, updated_at=now,
        )  # fmt: skip
        for _ in range(5):
            current = self.get(source.id)
            if current is not None and current.job.state in ACTIVE:
                if current.job.since == since:
                    return current.job, False
                raise BackfillConflict(current.job)
            try:
                if current is None:
                    self.es.create(index=self.index, id=source.id, document=_dump(job), refresh=True)
                elif self.write(current, job) is None:
                    continue
            except ConflictError:
                continue
            return job, True
        raise RuntimeError("backfill request kept conflicting")

    def cancel(self, source_id: str, now: datetime) -> BackfillJob | None:
        """Cancel an active job (the crawler walking it stops at its next save); a finished job is
        returned unchanged. None when the source never had one."""
        for _ in range(5):
            current = self.get(source_id)
            if current is None:
                return None
            if current.job.state not in ACTIVE:
                return current.job
            job = current.job.model_copy(
                update={"state": "cancelled", "finished_at": now, "updated_at": now, "owner": None, "lease_until": None}
            )
            if self.write(current, job) is not None:
                return job
        raise RuntimeError("backfill cancel kept conflicting")

    def runnable(self, now: datetime, size: int = 10) -> list[Versioned]:
        """Active jobs nobody holds (no lease, or an expired one), oldest request first."""
        self.ensure()
        resp = self.es.search(
            index=self.index, size=size, seq_no_primary_term=True,
            query={"bool": {
                "filter": [{"terms": {"state": sorted(ACTIVE)}}],
                "must_not": [{"range": {"lease_until": {"gt": now.isoformat()}}}],
            }},
            sort=[{"requested_at": "asc"}],
        )  # fmt: skip
        return [
            Versioned(BackfillJob.model_validate(h["_source"]), h["_seq_no"], h["_primary_term"])
            for h in resp["hits"]["hits"]
        ]

    def delete_index(self) -> None:
        self.es.options(ignore_status=404).indices.delete(index=self.index)
        self._ready = False


# --- walking history ----------------------------------------------------------------------------


def initial_cursor(source: Source) -> dict[str, Any]:
    if source.type == "sitemap":
        return {"queue": [source.url], "offset": 0}
    if source.type == "wordpress":
        return {"page": 1}
    if source.type == "listing":
        return {"url": source.url, "pages": 0}
    return {"feed": source.url}


def position_of(cursor: dict[str, Any] | None) -> str | None:
    if not cursor:
        return None
    if "queue" in cursor:
        return f"{cursor['queue'][0]} (from entry {cursor.get('offset', 0)})" if cursor["queue"] else None
    if "page" in cursor:
        return f"page {cursor['page']}"
    return str(cursor.get("url") or cursor.get("feed") or "")


@dataclass
class Page:
    """One step of a walk: the candidate articles dated at or after ``since`` (or undated), the
    cursor after it (None: the history is walked) and what it saw."""

    items: list[DiscoveredUrl]
    cursor: dict[str, Any] | None
    older: int = 0
    oldest: datetime | None = None
    limited: str | None = None
    failures: Counter[str] = field(default_factory=Counter)


def _date_of(item: DiscoveredUrl) -> datetime | None:
    return item.published_at or item.lastmod


def _split(items: list[DiscoveredUrl], since: datetime, cursor: dict[str, Any] | None) -> Page:
    kept, older, oldest = [], 0, None
    for item in items:
        when = _date_of(item)
        if when is not None and when < since:
            older += 1
            continue
        if when is not None:
            oldest = when if oldest is None else min(oldest, when)
        kept.append(item)
    return Page(kept, cursor, older, oldest)


def walk_page(
    fetcher: Fetcher, source: Source, since: datetime, cursor: dict[str, Any], requested_at: datetime
) -> Page:
    """Walk one page of the source's history from ``cursor``. Blocks on the network. Raises
    :class:`FetchError` or :class:`DiscoveryError` when the document at the cursor cannot be
    fetched or read (the caller retries the same cursor); source patterns apply as in discovery."""
    include, exclude = _source_patterns(source)
    walker = {"sitemap": _walk_sitemap, "wordpress": _walk_wordpress, "listing": _walk_listing, "rss": _walk_feed}
    # A WordPress site without its REST API is walked through its sitemap (the cursor says so).
    kind = "sitemap" if "queue" in cursor else source.type
    page = walker[kind](fetcher, source, since, dict(cursor), requested_at)
    if kind != "listing":
        page.items = [item for item in page.items if matches_patterns(item.url, include, exclude)]
    return page


def _walk_sitemap(
    fetcher: Fetcher, source: Source, since: datetime, cursor: dict[str, Any], requested_at: datetime
) -> Page:
    queue: list[str] = list(cursor.get("queue") or [])
    offset = int(cursor.get("offset") or 0)
    if not queue:
        return Page([], None)
    url = queue[0]
    result = fetcher.fetch(url, accept="xml", conditional=False)
    kind, entries = parse_sitemap(result.body)
    if kind == "index":
        children: list[tuple[datetime | None, str]] = []
        skipped = 0
        for entry in entries:
            lastmod = parse_iso(entry.get("lastmod"), assume_utc=True)
            if lastmod is not None and lastmod < since:
                skipped += 1  # nothing in it changed since then
                continue
            try:
                children.append((lastmod, canonicalize(entry["loc"] or "", base=result.url)))
            except InvalidURL:
                continue
        # Newest first; an undated child can hold anything, so it goes first too.
        children.sort(key=lambda c: c[0].timestamp() if c[0] else float("inf"), reverse=True)
        rest = [c for _, c in children if c not in queue] + queue[1:]
        return Page([], {"queue": rest, "offset": 0} if rest else None, older=skipped)
    discovery = Discovery()
    chunk = entries[offset : offset + CHUNK]
    for entry in chunk:
        published = parse_iso(entry.get("news_published"))
        lastmod = parse_iso(entry.get("lastmod"), assume_utc=True) or published
        discovery.add(
            result.url, entry["loc"], lastmod=lastmod, published_at=published,
            date_source="sitemap" if published else None, title=entry.get("news_title"),
        )  # fmt: skip
    if offset + CHUNK < len(entries):
        nxt: dict[str, Any] | None = {"queue": queue, "offset": offset + CHUNK}
    else:
        nxt = {"queue": queue[1:], "offset": 0} if len(queue) > 1 else None
    return _split(discovery.items, since, nxt)


def wordpress_history_url(base_url: str, page: int, per_page: int, after: datetime, before: datetime) -> str:
    params: dict[str, str | int] = {
        "per_page": per_page,
        "page": page,
        "orderby": "date",
        "order": "desc",
        "after": after.strftime("%Y-%m-%dT%H:%M:%S"),
        "before": before.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "_fields": "id,link,date_gmt,modified_gmt,title",
    }
    root = base_url if base_url.endswith("/") else base_url + "/"
    return urljoin(root, "wp-json/wp/v2/posts") + "?" + urlencode(params)


def _walk_wordpress(
    fetcher: Fetcher, source: Source, since: datetime, cursor: dict[str, Any], requested_at: datetime
) -> Page:
    number = int(cursor.get("page") or 1)
    per_page = fetcher.settings.crawl_wp_per_page
    url = wordpress_history_url(source.url, number, per_page, since, requested_at)
    try:
        result = fetcher.fetch(url, accept="json", conditional=False)
    except FetchError as exc:
        if exc.status == 400 and number > 1:  # rest_post_invalid_page_number: past the last page
            return Page([], None)
        if number == 1 and (exc.status in WP_API_DISABLED or exc.reason == "content_type"):
            return _wordpress_sitemap(source, f"HTTP {exc.status}" if exc.status else exc.reason)
        raise
    try:
        posts = json.loads(result.text)
    except ValueError as exc:
        if number == 1:
            return _wordpress_sitemap(source, "not JSON")
        raise DiscoveryError("malformed_api", str(exc)) from exc
    if not isinstance(posts, list):
        if number == 1:
            return _wordpress_sitemap(source, "not a list of posts")
        raise DiscoveryError("malformed_api", "posts is not a list")
    discovery = Discovery()
    for post in posts:
        if not isinstance(post, dict):
            continue
        modified = parse_iso(post.get("modified_gmt"), assume_utc=True)
        published = parse_iso(post.get("date_gmt"), assume_utc=True)
        title = post.get("title")
        discovery.add(
            source.url, post.get("link"), lastmod=modified or published, published_at=published,
            date_source="wp_api" if published else None,
            title=title.get("rendered") if isinstance(title, dict) else None,
        )  # fmt: skip
    total = result_header_total_pages(result)
    page = _split(discovery.items, since, None)
    more = bool(posts) and (number < total if total is not None else len(posts) == per_page)
    # A site that ignores ``after`` still ends the walk: posts come newest first.
    if more and not page.older:
        page.cursor = {"page": number + 1}
    return page


def _wordpress_sitemap(source: Source, why: str) -> Page:
    """The REST API of ``source`` is off (``why``): walk ``/wp-sitemap.xml`` (WordPress 5.5+)
    instead, by ``lastmod`` like a sitemap source. Its feed holds only recent posts."""
    root = source.url if source.url.endswith("/") else source.url + "/"
    page = Page([], {"queue": [urljoin(root, "wp-sitemap.xml")], "offset": 0})
    page.limited = f"walked through wp-sitemap.xml: the REST API is unavailable ({why})"
    return page


def _walk_listing(
    fetcher: Fetcher, source: Source, since: datetime, cursor: dict[str, Any], requested_at: datetime
) -> Page:
    include, exclude = _source_patterns(source)
    url = cursor.get("url")
    pages = int(cursor.get("pages") or 0)
    if not url or pages >= MAX_LISTING_PAGES:
        return Page([], None)
    result = fetcher.fetch(url, accept="html", conditional=False)
    links, next_url = parse_listing(result.text, result.url)
    items: list[DiscoveredUrl] = []
    kept: set[str] = set()
    for link in links:
        try:
            canonical = canonicalize(link)
        except InvalidURL:
            continue
        if canonical not in kept and is_article_link(canonical, source.url, include, exclude):
            kept.add(canonical)
            items.append(DiscoveredUrl(url=canonical))
    nxt = None
    try:
        if next_url and canonicalize(next_url) != canonicalize(url):
            nxt = {"url": next_url, "pages": pages + 1}
    except InvalidURL:
        nxt = None  # a next link that is no URL ends the walk
    return Page(items, nxt)


def _walk_feed(
    fetcher: Fetcher, source: Source, since: datetime, cursor: dict[str, Any], requested_at: datetime
) -> Page:
    result = fetcher.fetch(source.url, accept="xml", conditional=False)
    discovery = parse_feed(result.body, result.url, result.content_type)
    page = _split(discovery.items, since, None)
    page.limited = f"feed only holds {len(discovery.items)} recent items"
    page.failures.update(discovery.failures)
    return page


# --- the runner ---------------------------------------------------------------------------------


class HostPins(Protocol):
    def pin(self, host: str) -> bool: ...

    def unpin(self, host: str) -> None: ...


class BackfillRunner:
    """Advances backfill jobs one step at a time (see the module doc). Thread-safe enough for one
    step at a time per instance; several instances (processes) share the jobs safely."""

    def __init__(
        self,
        store: BackfillStore,
        registry: SourceRegistry,
        *,
        owner: str | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.registry = registry
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._now = now

    def step(self, crawler: Any, budget_s: float = 5.0, leases: HostPins | None = None) -> bool:
        """Claim one runnable job, walk pages of it until ``budget_s`` is spent (at least one),
        publish their articles with ``crawler`` and save the progress. With ``leases`` (the
        crawler's :class:`~services.ingest.crawler.leases.HostLeases`), a job is walked only while
        this crawler holds its host. Returns True when a job was worked on, False when there was
        none (or Elasticsearch is unreachable: logged). Blocks on the network; never raises for a
        source's problems."""
        try:
            for candidate in self.store.runnable(self._now()):
                host = None
                if leases is not None:
                    try:
                        host = host_key(self.registry.get(candidate.job.source_id).url)
                    except SourceNotFound:
                        host = None
                    if host is not None and not leases.pin(host):
                        continue  # another crawler crawls that host now
                try:
                    claimed = self._claim(candidate)
                    if claimed is not None:
                        self._advance(crawler, claimed, budget_s)
                        return True
                finally:
                    if host is not None and leases is not None:
                        leases.unpin(host)
        except Exception as exc:  # ES down, or a bug: the live crawl goes on
            log.warning("backfill step failed", extra={"error": repr(exc)})
        return False

    def _claim(self, current: Versioned) -> Versioned | None:
        now = self._now()
        job = current.job.model_copy(
            update={"state": "running", "owner": self.owner, "lease_until": now + LEASE,
                    "started_at": current.job.started_at or now, "updated_at": now}
        )  # fmt: skip
        return self.store.write(current, job)

    def _advance(self, crawler: Any, held: Versioned, budget_s: float) -> None:
        deadline = time.monotonic() + budget_s
        try:
            source = self.registry.get(held.job.source_id)
        except SourceNotFound:
            self._finish(held, "failed", error="the source no longer exists")
            return
        if not source.enabled:
            self._finish(held, "failed", error="the source is disabled")
            return
        while True:
            job = held.job
            if not job.cursor or job.pages_walked >= MAX_PAGES:
                self._finish(held, "done")
                return
            try:
                page = walk_page(crawler.fetcher, source, job.since_dt, job.cursor, job.requested_at)
            except (FetchError, DiscoveryError) as exc:
                self._failed_fetch(held, exc)
                return
            outcomes = Counter[str]()
            if page.items:
                record = CrawlRecord(source_id=source.id, started_at=self._now(), finished_at=self._now(), status="ok")
                results = crawler._process_items(source, page.items, record, not_before=job.since_dt)
                for result in results:
                    outcomes[result.kind if result.kind != "skipped" else f"skipped:{result.reason}"] += 1
                    if result.kind == "published" and result.article_time:
                        when = result.article_time[1]
                        page.oldest = when if page.oldest is None else min(page.oldest, when)
                retry = any(r.kind == "failed" and r.reason in _RETRYABLE for r in results)
            else:
                retry = False
            cursor = page.cursor
            if source.type == "listing" and outcomes["skipped:before_since"] and not outcomes["published"]:
                cursor = None  # this page reached articles older than ``since``; the next ones are older
            attempts = job.attempts + 1 if retry else 0
            if retry and attempts < MAX_ATTEMPTS:
                cursor = job.cursor  # walk this page again; what was published is skipped as seen
            oldest = job.oldest_reached
            if page.oldest is not None:
                oldest = page.oldest if oldest is None else min(oldest, page.oldest)
            update: dict[str, Any] = {
                "cursor": cursor,
                "position": position_of(cursor),
                "pages_walked": job.pages_walked + 1,
                "urls_found": job.urls_found + len(page.items) - (outcomes["skipped:before_since"]),
                "published": job.published + outcomes["published"],
                "skipped_seen": job.skipped_seen + sum(outcomes[f"skipped:{r}"] for r in _COLLECTED_BEFORE),
                "skipped_older": job.skipped_older + page.older + outcomes["skipped:before_since"],
                "failed": job.failed + outcomes["failed"] + sum(page.failures.values()),
                "oldest_reached": oldest,
                "limited": page.limited or job.limited,
                "attempts": attempts,
                "updated_at": self._now(),
                "lease_until": self._now() + LEASE,
            }
            saved = self.store.write(held, job.model_copy(update=update))
            if saved is None:  # cancelled, or taken over after our lease expired
                log.info("backfill lost", extra={"source_id": source.id})
                return
            held = saved
            if crawler.stop_event.is_set() or time.monotonic() >= deadline:
                if held.job.cursor:
                    self._release(held)
                else:
                    self._finish(held, "done")
                return

    def _failed_fetch(self, held: Versioned, exc: FetchError | DiscoveryError) -> None:
        job = held.job
        attempts = job.attempts + 1
        if attempts >= MAX_ATTEMPTS or isinstance(exc, DiscoveryError):
            self._finish(held, "failed", error=str(exc))
            return
        now = self._now()
        wait = timedelta(seconds=max(RETRY_BACKOFF.total_seconds(), getattr(exc, "retry_after", None) or 0.0))
        update = {"attempts": attempts, "error": str(exc), "owner": None, "lease_until": now + wait, "updated_at": now}
        self.store.write(held, job.model_copy(update=update))

    def _release(self, held: Versioned) -> None:
        job = held.job.model_copy(update={"owner": None, "lease_until": None, "updated_at": self._now()})
        self.store.write(held, job)

    def _finish(self, held: Versioned, state: BackfillState, error: str | None = None) -> None:
        now = self._now()
        update: dict[str, Any] = {"state": state, "finished_at": now, "updated_at": now, "owner": None,
                                  "lease_until": None, "position": None}  # fmt: skip
        if state == "done":
            update["cursor"] = None
        if error:
            update["error"] = error
        self.store.write(held, held.job.model_copy(update=update))
        log.info("backfill finished", extra={"source_id": held.job.source_id, "stage": state})


def backfill_store(es_hosts: list[str], index_prefix: str) -> BackfillStore:
    """A store on its own client (``settings.es_hosts``, ``settings.index_prefix``)."""
    return BackfillStore(Elasticsearch(es_hosts, request_timeout=10), index_prefix)
