"""Source health: counters, last success, usual publishing interval and the silent/failing flags,
as served by ``GET /v1/sources/{id}/health`` and exported as Prometheus gauges."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from services.ingest.crawler import metrics
from services.ingest.crawler.registry import SourceRegistry
from services.ingest.crawler.scheduler import is_silent, usual_interval
from services.ingest.settings import IngestSettings


class CrawlRun(BaseModel):
    started_at: datetime
    finished_at: datetime
    status: str
    discovered: int
    fetched: int
    published: int
    skipped: dict[str, int]
    failed: dict[str, int]
    requests: int
    error: str | None = None
    next_crawl_at: datetime | None = None


class SourceHealth(BaseModel):
    source_id: str
    enabled: bool
    status: str  # ok | silent | failing | never_crawled | disabled
    silent: bool
    failing: bool
    crawls: int
    discovered: int
    fetched: int
    published: int
    skipped: dict[str, int]
    failed: dict[str, int]
    consecutive_failures: int
    last_crawl_at: datetime | None
    last_success_at: datetime | None
    last_new_article_at: datetime | None
    last_status: str | None
    last_error: str | None
    usual_interval_s: float | None
    poll_interval_s: float | None
    next_crawl_at: datetime | None
    feed_update_period_s: float | None
    recent_runs: list[CrawlRun]


def source_health(
    registry: SourceRegistry, source_id: str, settings: IngestSettings, now: datetime | None = None, runs: int = 10
) -> SourceHealth:
    """Compute the health of one source and update its gauges. Raises ``SourceNotFound``."""
    now = now or datetime.now(UTC)
    source = registry.get(source_id)
    state = registry.state(source_id)
    counters: dict[str, Any] = registry.counters(source_id)
    usual = usual_interval(registry.article_times(source_id))
    silent = source.enabled and is_silent(
        now=now,
        last_new_article_at=state.last_new_article_at,
        first_crawl_at=state.first_crawl_at,
        usual_interval_s=usual,
        factor=settings.crawl_silent_factor,
        default_s=settings.crawl_silent_default_s,
    )
    failing = source.enabled and state.consecutive_failures >= settings.crawl_failing_after
    if not source.enabled:
        status = "disabled"
    elif failing:
        status = "failing"
    elif silent:
        status = "silent"
    elif state.last_crawl_at is None:
        status = "never_crawled"
    else:
        status = "ok"
    metrics.SOURCE_SILENT.labels(source_id).set(int(silent))
    metrics.SOURCE_FAILING.labels(source_id).set(int(failing))
    if state.last_success_at:
        metrics.LAST_SUCCESS.labels(source_id).set(state.last_success_at.timestamp())
    return SourceHealth(
        source_id=source_id,
        enabled=source.enabled,
        status=status,
        silent=silent,
        failing=failing,
        crawls=counters["crawls"],
        discovered=counters["discovered"],
        fetched=counters["fetched"],
        published=counters["published"],
        skipped=counters["skipped"],
        failed=counters["failed"],
        consecutive_failures=state.consecutive_failures,
        last_crawl_at=state.last_crawl_at,
        last_success_at=state.last_success_at,
        last_new_article_at=state.last_new_article_at,
        last_status=state.last_status,
        last_error=state.last_error,
        usual_interval_s=usual,
        poll_interval_s=state.interval_s,
        next_crawl_at=state.next_crawl_at,
        feed_update_period_s=state.feed_update_period_s,
        recent_runs=[CrawlRun.model_validate(r.as_dict()) for r in registry.runs(source_id, runs)],
    )
