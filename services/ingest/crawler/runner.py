"""Crawling sources: one crawl of one source (:meth:`Crawler.crawl`) and the scheduling loop
(:func:`run_crawler`, wired to ``warta ingest crawler``).

One crawl: discover candidate URLs, drop those already collected (seen-URL memory in Redis),
fetch the rest politely on a shared worker pool, extract, publish each article (blocking until
the publisher acknowledges), then remember it. An article is remembered only after it was
published, so a crash or a publish failure means it is fetched again next time, never lost.
Every crawl records its outcome and the next crawl time in the registry.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import redis

from services.ingest.articles import InvalidArticle, build_raw_article, clean_line
from services.ingest.crawler import metrics
from services.ingest.crawler.backfill import BackfillRunner, backfill_store
from services.ingest.crawler.blocking import BLOCKED_REASONS, BLOCKING_FETCH_ERRORS, BaselineStore, classify
from services.ingest.crawler.discovery import DiscoveredUrl, DiscoveryError, discover
from services.ingest.crawler.fetcher import Fetcher, FetchError, FetchResult
from services.ingest.crawler.health import source_health
from services.ingest.crawler.leases import HostLeases, HostSpacing, host_key
from services.ingest.crawler.models import Source
from services.ingest.crawler.registry import CrawlRecord, SourceNotFound, SourceRegistry, SourceState
from services.ingest.crawler.scheduler import apply_retry_after, next_interval, usual_interval
from services.ingest.crawler.state import KeyValue, RedisKeyValue, SeenStore, ValidatorStore, content_hash
from services.ingest.extract import ExtractedArticle, extract
from services.ingest.settings import IngestSettings
from services.ingest.urls import InvalidURL, canonicalize, domain_of, same_site
from shared.ids import article_id
from shared.limits import TooLarge, published_at_problem
from shared.process import beat
from shared.redis_clients import redis_client
from shared.schemas import RawArticle

log = logging.getLogger(__name__)

# Failures that may succeed on the next attempt: while any happened, the source's own documents
# are not marked as processed (no validators stored), so the next crawl sees the items again.
RETRYABLE = frozenset(
    {
        "timeout",
        "connect_error",
        "dns",
        "http_429",
        "http_503",
        "http_5xx",
        "host_backoff",
        "robots_unreachable",
        "publish_error",
        "stopped",
        "redis_error",
        "extract_error",
        # Blocked pages (blocking.py) may be served once the site lets the crawler in.
        *BLOCKED_REASONS,
        *BLOCKING_FETCH_ERRORS,
        "lease_lost",
        "host_busy",
    }
)
# Due sources looked at per tick (running ones elsewhere included).
DUE_SCAN = 100
BACKFILL_STEP_S = 5.0  # a backfill step's time budget (at least one page of history)


class Publisher(Protocol):
    """Anything with the ArticlePublisher contract: blocks until the article is durable, raises
    otherwise."""

    def publish(self, article: RawArticle) -> None: ...


# ``services.ingest.extract.extract``'s calling convention: (html, url, *, fallback_published_at,
# fallback_date_source); a test may pass its own.
Extractor = Callable[..., ExtractedArticle]


@dataclass
class _ItemOutcome:
    kind: str  # published | skipped | failed
    reason: str = ""
    fetched: bool = False
    article_time: tuple[str, datetime] | None = None
    retry_after: float | None = None


class Crawler:
    """Crawls sources. Thread-safe: several sources may be crawled at once (they share the worker
    pool, the per-host politeness gates and the robots cache). Blocks on the network."""

    def __init__(
        self,
        settings: IngestSettings,
        registry: SourceRegistry,
        publisher: Publisher,
        *,
        kv: KeyValue | None = None,
        stop_event: threading.Event | None = None,
        extractor: Extractor | None = None,
        fetcher: Fetcher | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        leases: HostLeases | None = None,
        spacing: HostSpacing | None = None,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.publisher = publisher
        self.stop_event = stop_event or threading.Event()
        self._own_kv = kv is None
        self.kv = kv or RedisKeyValue.from_url(self.settings.redis_url)
        prefix = self.settings.crawl_redis_prefix
        self.seen = SeenStore(self.kv, prefix, self.settings.crawl_seen_ttl_s)
        self.baselines = BaselineStore(self.kv, prefix, self.settings.crawl_seen_ttl_s)
        self.fetcher = fetcher or Fetcher(
            self.settings,
            ValidatorStore(self.kv, prefix, self.settings.crawl_validators_ttl_s),
            stop_event=self.stop_event,
            leases=leases,
            spacing=spacing,
        )
        self.extractor = extractor or extract
        self._pool = ThreadPoolExecutor(self.settings.crawl_workers, thread_name_prefix="crawl-fetch")
        self._now = now
        # Canonical URLs being published right now, by any source's crawl in this process: two
        # sources of one site (its feed and its sitemap) crawled in parallel must not both publish
        # an article that neither had seen yet.
        self._claimed: set[str] = set()
        self._claim_lock = threading.Lock()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.fetcher.close()
        if self._own_kv and isinstance(self.kv, RedisKeyValue):
            self.kv.close()

    def __enter__(self) -> Crawler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- one crawl --------------------------------------------------------------------------

    def crawl(self, source: Source) -> CrawlRecord:
        """Crawl ``source`` once and record the outcome. Never raises for problems of the source
        (they are recorded); raises only for registry (Elasticsearch) errors."""
        started, t0 = self._now(), time.monotonic()
        requests_before = self.fetcher.requests_made
        state = self.registry.state(source.id)
        record = CrawlRecord(source_id=source.id, started_at=started, finished_at=started, status="ok")
        retry_after: float | None = None
        article_times: list[tuple[str, datetime]] = []
        new_cursor = state.cursor
        feed_period = state.feed_update_period_s
        try:
            discovery = discover(
                self.fetcher, source, cursor=state.cursor, max_items=self.settings.crawl_max_items_per_crawl
            )
        except FetchError as exc:
            record.status, record.error, retry_after = "failed", str(exc), exc.retry_after
            record.error_code = exc.reason
            record.failed[exc.reason] += 1
        except DiscoveryError as exc:
            record.status, record.error, record.error_code = "failed", str(exc), exc.reason
            record.failed[exc.reason] += 1
        else:
            record.failed.update(discovery.failures)
            record.skipped.update(discovery.skipped)
            record.skipped.update(discovery.notes)  # e.g. wp_api_fallback_http_403: read another way
            feed_period = discovery.update_period_s or feed_period
            items = list({item.url: item for item in reversed(discovery.items)}.values())[::-1]
            record.skipped["duplicate_url"] += len(discovery.items) - len(items)
            record.discovered = len(discovery.items) + sum(discovery.skipped.values())
            try:
                outcomes = self._process_items(source, items, record)
            except redis.RedisError as exc:
                outcomes = []
                record.failed["redis_error"] += 1
                record.error, record.error_code = f"redis: {exc}", "redis_error"
            for outcome in outcomes:
                record.fetched += int(outcome.fetched)
                if outcome.kind == "published":
                    record.published += 1
                    if outcome.article_time:
                        article_times.append(outcome.article_time)
                elif outcome.kind == "skipped":
                    record.skipped[outcome.reason] += 1
                else:
                    record.failed[outcome.reason] += 1
                if outcome.retry_after is not None:
                    retry_after = max(retry_after or 0.0, outcome.retry_after)
            if not any(reason in RETRYABLE for reason in record.failed):
                # Everything discovered was handled: the documents count as processed.
                for document in discovery.documents:
                    self.fetcher.remember(document)
                new_cursor = discovery.cursor or state.cursor
            attempted = [o for o in outcomes if o.kind != "skipped" or o.fetched]
            if record.error:
                record.status = "failed"
            elif attempted and all(o.kind == "failed" for o in attempted):
                record.status = "failed"
                record.error, record.error_code = "every article fetch failed", "all_articles_failed"
            elif record.failed:
                record.status = "partial"
            elif discovery.not_modified:
                record.status = "not_modified"
        record.skipped = +record.skipped
        record.requests = self.fetcher.requests_made - requests_before
        record.finished_at = self._now()
        self._schedule(source, state, record, retry_after, feed_period, new_cursor, article_times)
        self._observe(source, record, time.monotonic() - t0)
        log.info(
            "crawled",
            extra={
                "source_id": source.id,
                "count": record.published,
                "stage": record.status,
                "duration_ms": int((time.monotonic() - t0) * 1000),
            },
        )
        return record

    def _process_items(
        self, source: Source, items: list[DiscoveredUrl], record: CrawlRecord, *, not_before: datetime | None = None
    ) -> list[_ItemOutcome]:
        """Process ``items`` on the worker pool. ``not_before`` (a backfill's ``since``): an article
        whose date is older is skipped as ``before_since``, neither published nor remembered."""
        entries = self.seen.get_many([item.url for item in items])
        todo: list[DiscoveredUrl] = []
        outcomes: list[_ItemOutcome] = []
        for item, entry in zip(items, entries, strict=True):
            changed = (
                entry is not None
                and item.lastmod is not None
                and entry.lastmod is not None
                and item.lastmod > entry.lastmod
            )
            if entry is None or changed:
                todo.append(item)
            else:
                outcomes.append(_ItemOutcome("skipped", "seen"))
        futures = [self._pool.submit(self._process_item, source, item, not_before) for item in todo]
        outcomes.extend(f.result() for f in futures)
        return outcomes

    def _process_item(self, source: Source, item: DiscoveredUrl, not_before: datetime | None = None) -> _ItemOutcome:
        if self.stop_event.is_set():
            return _ItemOutcome("failed", "stopped")
        t0 = time.monotonic()
        try:
            result = self.fetcher.fetch(item.url, accept="html", conditional=True)
        except FetchError as exc:
            log.info("fetch failed", extra={"source_id": source.id, "url": item.url, "error": exc.reason})
            return _ItemOutcome("failed", exc.reason, retry_after=exc.retry_after)
        finally:
            metrics.FETCH_SECONDS.observe(time.monotonic() - t0)
        if result.not_modified:
            return _ItemOutcome("skipped", "not_modified", fetched=True)
        decoded = result.decoded
        try:
            extracted = self.extractor(
                decoded.text,
                result.url,
                fallback_published_at=item.published_at,
                fallback_date_source=item.date_source,
            )
        except Exception:
            log.exception("extraction failed", extra={"source_id": source.id, "url": item.url})
            return _ItemOutcome("failed", "extract_error", fetched=True)
        # A bot challenge, a JavaScript shell, a page far shorter than usual or a paywall
        # (blocking.py) is never published. A paywalled page's validators are kept: it is fetched
        # again only when it changes.
        text_len, baseline = len(extracted.text.strip()), self.baselines.get(source.id)
        verdict = classify(result.status, result.headers, decoded.text, text_len, baseline)
        if text_len and (verdict is None or verdict[1] == "blocked_short_text"):
            self.baselines.record(source.id, text_len, short=baseline.is_short(text_len))
        if verdict is not None:
            log.info("not an article page", extra={"source_id": source.id, "url": item.url, "error": verdict[1]})
            if verdict[0] == "paywalled":
                self.fetcher.remember(result)
                return _ItemOutcome("skipped", verdict[1], fetched=True)
            return _ItemOutcome("failed", verdict[1], fetched=True)
        # The builder's own title rule (build_raw_article cleans the title the same way), applied
        # here too because the content hash and the ``no_title`` outcome come before the build.
        title = clean_line(str(extracted.title or item.title or ""))
        text = extracted.text.strip()
        if not text:
            return _ItemOutcome("failed", "empty_text", fetched=True)
        if not title:
            return _ItemOutcome("failed", "no_title", fetched=True)
        if not_before is not None:
            when, _ = self._pick_date(extracted, item, source.id)
            if when is not None and when < not_before:
                return _ItemOutcome("skipped", "before_since", fetched=True)
        final_url = canonicalize(result.url)
        canonical = final_url
        if extracted.canonical_url:
            try:
                candidate = canonicalize(extracted.canonical_url, base=result.url)
            except InvalidURL:
                candidate = None
            # A canonical pointing at another site is a syndication hint, not our identity.
            if candidate and same_site(candidate, result.url):
                canonical = candidate
        aliases = [item.url, final_url, canonical]
        with self._claim_lock:
            if canonical in self._claimed:
                return _ItemOutcome("skipped", "duplicate", fetched=True)
            self._claimed.add(canonical)
        try:
            return self._publish(source, item, result, extracted, title, text, canonical, aliases)
        finally:
            with self._claim_lock:
                self._claimed.discard(canonical)

    def _publish(
        self,
        source: Source,
        item: DiscoveredUrl,
        result: FetchResult,
        extracted: ExtractedArticle,
        title: str,
        text: str,
        canonical: str,
        aliases: list[str],
    ) -> _ItemOutcome:
        """Publish a claimed article unless its content is already known; then remember it."""
        digest = content_hash(title, text)
        prior = self.seen.get(canonical)
        if prior is not None and prior.content_hash == digest:
            self.seen.remember(aliases, digest, item.lastmod or prior.lastmod, source.id)
            self.fetcher.remember(result)
            return _ItemOutcome("skipped", "unchanged" if canonical == item.url else "duplicate", fetched=True)
        published_at, date_source = self._pick_date(extracted, item, source.id)
        aid = article_id(canonical)
        try:
            # The same builder and edge rules as the ingest API (services/ingest/articles.py).
            article = build_raw_article(
                url=result.url,
                canonical=canonical,
                title=title,
                text=text,
                source=domain_of(canonical),
                # The outlet configured for the source beats what the page suggests (often a hostname).
                outlet=source.outlet or extracted.outlet,
                published_at=published_at,
                date_source=date_source,
                modified_at=extracted.modified_at,  # dropped by the builder when implausible
                authors=extracted.authors,
                image=extracted.image,
                description=extracted.description,
                tags=extracted.tags,
                language=extracted.language or source.language,
                region_hint=source.region,
                source_id=source.id,
                ingested_at=self._now(),
                origin="crawler",
            )
        except TooLarge as exc:
            # Never truncated: refused, and counted as ``text_too_large`` in the source's health.
            log.warning("article too large", extra={"source_id": source.id, "url": item.url, "error": str(exc)})
            return _ItemOutcome("failed", "text_too_large", fetched=True)
        except InvalidArticle as exc:
            log.warning("invalid article", extra={"source_id": source.id, "url": item.url, "error": str(exc)[:300]})
            return _ItemOutcome("failed", "invalid_article", fetched=True)
        try:
            self.publisher.publish(article)
        except Exception as exc:
            log.warning("publish failed", extra={"source_id": source.id, "article_id": aid, "error": str(exc)})
            return _ItemOutcome("failed", "publish_error", fetched=True)
        self.seen.remember(aliases, digest, item.lastmod, source.id)
        self.fetcher.remember(result)
        log.info("collected", extra={"source_id": source.id, "article_id": aid, "url": canonical})
        return _ItemOutcome("published", fetched=True, article_time=(aid, published_at or self._now()))

    @staticmethod
    def _pick_date(
        extracted: ExtractedArticle, item: DiscoveredUrl, source_id: str
    ) -> tuple[datetime | None, str | None]:
        """The page's date, else the feed's or sitemap's. An implausible date (shared/limits.py)
        is dropped with the reason logged; the article is kept, its date unknown."""
        candidates = (
            (extracted.published_at, extracted.date_source),
            (item.published_at, item.date_source),
        )
        for value, date_source in candidates:
            if value is None:
                continue
            problem = published_at_problem(value)
            if problem is None:
                return value, date_source
            log.info(
                "implausible publication date dropped",
                extra={
                    "source_id": source_id,
                    "url": item.url,
                    "error": f"published_at {value.isoformat()} ({date_source or 'page'}) {problem}",
                },
            )
        return None, None

    # --- scheduling and recording -----------------------------------------------------------

    def _schedule(
        self,
        source: Source,
        state: SourceState,
        record: CrawlRecord,
        retry_after: float | None,
        feed_period: float | None,
        cursor: str | None,
        article_times: list[tuple[str, datetime]],
    ) -> None:
        settings = self.settings
        min_s = source.min_interval_s or settings.crawl_default_min_interval_s
        max_s = max(min_s, source.max_interval_s or settings.crawl_default_max_interval_s)
        failed = record.status == "failed"
        failures = state.consecutive_failures + 1 if failed else 0
        # Cut short because this crawler lost the host's lease (it stalled, or Redis was away):
        # that says nothing about the source, so no back-off, and it is due again at once for
        # whichever crawler holds the host now.
        lease_lost = "lease_lost" in record.failed
        if lease_lost:
            failures = state.consecutive_failures
        usual = usual_interval([*self.registry.article_times(source.id), *(t for _, t in article_times)])
        interval = next_interval(
            previous_s=state.interval_s,
            new_articles=record.published,
            min_s=min_s,
            max_s=max_s,
            usual_interval_s=usual,
            feed_update_period_s=feed_period,
            consecutive_failures=failures,
        )
        delay = 0.0 if lease_lost else apply_retry_after(interval, retry_after)
        finished = record.finished_at
        record.next_crawl_at = finished + timedelta(seconds=delay)
        new_state = SourceState(
            interval_s=interval,
            next_crawl_at=record.next_crawl_at,
            last_crawl_at=finished,
            last_success_at=state.last_success_at if failed else finished,
            last_new_article_at=finished if record.published else state.last_new_article_at,
            first_crawl_at=state.first_crawl_at or record.started_at,
            consecutive_failures=failures,
            feed_update_period_s=feed_period,
            retry_after_until=finished + timedelta(seconds=retry_after) if retry_after else None,
            cursor=cursor,
            last_status=record.status,
            last_error=record.error,
        )
        self.registry.record_crawl(record, new_state, article_times)

    def _observe(self, source: Source, record: CrawlRecord, seconds: float) -> None:
        sid = source.id
        metrics.CRAWL_RUNS.labels(sid, record.status).inc()
        metrics.CRAWL_SECONDS.observe(seconds)
        for outcome, count in (
            ("discovered", record.discovered),
            ("fetched", record.fetched),
            ("published", record.published),
        ):
            if count:
                metrics.CRAWL_ITEMS.labels(sid, outcome, "").inc(count)
        for reason, count in record.skipped.items():
            metrics.CRAWL_ITEMS.labels(sid, "skipped", reason).inc(count)
        for reason, count in record.failed.items():
            metrics.CRAWL_ITEMS.labels(sid, "failed", reason).inc(count)
        if record.next_crawl_at:
            metrics.NEXT_CRAWL.labels(sid).set(record.next_crawl_at.timestamp())
        try:
            source_health(self.registry, sid, self.settings)  # refreshes the silent/failing gauges
        except SourceNotFound:
            pass


def run_crawler(settings: IngestSettings, publisher: Publisher, stop_event: threading.Event) -> None:
    """The crawler process loop: seed the registry, then crawl due sources (at most
    ``crawl_parallel_sources`` at a time) until ``stop_event`` is set. Returns after in-flight
    crawls finished (each is bounded by the fetch timeouts; waits are cut short by the event).

    Any number of these loops share the registry (docs/crawler.md, "Several crawlers"): a source
    is crawled by the process holding its host's lease (:mod:`services.ingest.crawler.leases`),
    claimed for one lease period only, so a dead crawler's sources are due again, and its hosts
    free, within ``crawl_host_lease_s``."""
    registry = SourceRegistry.from_settings(settings)
    if settings.sources_seed_file:
        seeded = registry.seed_from_yaml(settings.sources_seed_file)
        log.info("seeded sources", extra={"count": len(seeded)})
    client = redis_client(settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
    leases = HostLeases(client, settings.crawl_redis_prefix, settings.crawl_host_lease_s)
    leases.start()
    log.info(f"crawler {leases.crawler_id} started")
    crawler = Crawler(
        settings,
        registry,
        publisher,
        stop_event=stop_event,
        leases=leases,
        spacing=HostSpacing(client, settings.crawl_redis_prefix),
    )
    claim_for = timedelta(seconds=settings.crawl_host_lease_s)

    def crawl_leased(source: Source, host: str) -> CrawlRecord:
        try:
            return crawler.crawl(source)
        finally:
            leases.unpin(host)  # after the outcome was recorded

    running: dict[str, Future[CrawlRecord]] = {}
    last_health = 0.0
    # Backfills (services/ingest/crawler/backfill.py): one step at a time on their own thread,
    # started only when the free slots found nothing due (live crawls come first).
    backfills = BackfillRunner(backfill_store(settings.es_hosts, settings.index_prefix), registry)
    backfill_pool = ThreadPoolExecutor(1, thread_name_prefix="crawl-backfill")
    backfill_step: Future[bool] | None = None
    try:
        with ThreadPoolExecutor(settings.crawl_parallel_sources, thread_name_prefix="crawl-source") as pool:
            while not stop_event.is_set():
                for source_id, future in list(running.items()):
                    if future.done():
                        del running[source_id]
                        if future.exception() is not None:
                            log.error(
                                "crawl crashed", extra={"source_id": source_id, "error": repr(future.exception())}
                            )
                free = settings.crawl_parallel_sources - len(running)
                # Sources another crawler is crawling look due once their short claim passed: look
                # further down the list than the free slots.
                for source in registry.due(limit=DUE_SCAN) if free > 0 else []:
                    if free <= 0:
                        break
                    if source.id in running:
                        continue
                    host = host_key(source.url)
                    try:
                        if not leases.pin(host):
                            continue  # another crawler holds the host
                    except redis.RedisError as exc:
                        log.warning("lease unavailable", extra={"source_id": source.id, "error": str(exc)})
                        break
                    # Only if still due: another crawler may have crawled it since due() answered.
                    claimed = False
                    try:
                        claimed = registry.try_claim(source.id, datetime.now(UTC) + claim_for)
                    finally:
                        if not claimed:  # also when the registry raised: never keep a host idle
                            leases.unpin(host)
                    if not claimed:
                        continue
                    running[source.id] = pool.submit(crawl_leased, source, host)
                    free -= 1
                if free > 0 and (backfill_step is None or backfill_step.done()):
                    backfill_step = backfill_pool.submit(backfills.step, crawler, BACKFILL_STEP_S, leases)
                if time.monotonic() - last_health > 60:
                    last_health = time.monotonic()
                    for source in registry.list_sources(enabled=True):
                        source_health(registry, source.id, settings)
                beat(settings.health_file)
                stop_event.wait(settings.crawl_tick_s)
            for future in running.values():
                future.result()
    finally:
        backfill_pool.shutdown(wait=True, cancel_futures=True)
        backfills.store.es.close()
        crawler.close()
        leases.close()
        client.close()
