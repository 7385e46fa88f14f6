"""Source health from the registry's records: pending, failing on the first failure of a source that
never succeeded, the three-in-a-row rule afterwards, reason codes, and articles per day by the
time the crawler collected them."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from services.ingest.crawler.health import source_health
from services.ingest.crawler.models import SourceCreate
from services.ingest.crawler.registry import CrawlRecord, SourceRegistry, SourceState
from services.ingest.settings import IngestSettings

# 2024-06-10 12:00 WIB
NOW = datetime(2024, 6, 10, 5, 0, tzinfo=UTC)


pytestmark = pytest.mark.elasticsearch


@pytest.fixture
def registry(registry: SourceRegistry) -> SourceRegistry:
    registry.create(SourceCreate(id="s1", type="rss", name="S1", url="https://a.example/feed/"))
    return registry


def crawl(
    registry: SourceRegistry,
    at: datetime,
    *,
    ok: bool,
    articles: list[tuple[str, datetime]] | None = None,
    code: str = "http_404",
) -> None:
    """Record one crawl the way the runner does (failures counted on from the stored state)."""
    state = registry.state("s1")
    record = CrawlRecord(
        source_id="s1",
        started_at=at,
        finished_at=at,
        status="ok" if ok else "failed",
        published=len(articles or []),
        failed=Counter() if ok else Counter({code: 1}),
        error=None if ok else f"{code}: https://a.example/feed/",
        error_code=None if ok else code,
    )
    registry.record_crawl(
        record,
        SourceState(
            next_crawl_at=at + timedelta(minutes=5),
            last_crawl_at=at,
            last_success_at=at if ok else state.last_success_at,
            last_new_article_at=at if articles else state.last_new_article_at,
            first_crawl_at=state.first_crawl_at or at,
            consecutive_failures=0 if ok else state.consecutive_failures + 1,
            last_status=record.status,
            last_error=record.error,
        ),
        articles or [],
    )


def test_a_new_source_is_pending_then_failing_after_its_first_failure(registry: SourceRegistry) -> None:
    settings = IngestSettings(crawl_failing_after=3)
    health = source_health(registry, "s1", settings, now=NOW)
    assert (health.status, health.reason.code, health.failing) == ("pending", "not_crawled_yet", False)

    crawl(registry, NOW, ok=False)
    health = source_health(registry, "s1", settings, now=NOW)
    # 65bf119: "ok" until three failures in a row, for a source that had never worked.
    assert (health.status, health.reason.code, health.failing) == ("failing", "never_succeeded", True)
    assert health.last_error_code == "http_404"
    assert "http_404" in health.reason.message


def test_after_a_success_the_three_in_a_row_rule_applies(registry: SourceRegistry) -> None:
    settings = IngestSettings(crawl_failing_after=3)
    crawl(registry, NOW - timedelta(hours=3), ok=True, articles=[("a1", NOW - timedelta(hours=3))])
    assert source_health(registry, "s1", settings, now=NOW).reason.code == "last_crawl_ok"
    for i, expected in enumerate([("ok", "recent_failure"), ("ok", "recent_failure"), ("failing", "failed_in_a_row")]):
        crawl(registry, NOW - timedelta(hours=2 - i), ok=False, code="timeout")
        health = source_health(registry, "s1", settings, now=NOW)
        assert (health.status, health.reason.code) == expected, i
        assert health.last_error_code == "timeout"
    crawl(registry, NOW, ok=True)
    health = source_health(registry, "s1", settings, now=NOW)
    assert (health.status, health.reason.code, health.last_error_code) == ("ok", "last_crawl_ok", None)


def test_a_disabled_source_says_so(registry: SourceRegistry) -> None:
    crawl(registry, NOW, ok=False)
    registry.set_enabled("s1", False)
    health = source_health(registry, "s1", IngestSettings(), now=NOW)
    assert (health.status, health.reason.code, health.failing) == ("disabled", "disabled", False)


def test_articles_per_day_count_collection_time_not_publication_date(registry: SourceRegistry) -> None:
    old = datetime(2020, 1, 1, tzinfo=UTC)  # publication dates long ago: they do not matter
    # 2024-06-09 23:30 WIB and 2024-06-10 00:30 WIB: two Jakarta days (one UTC day).
    crawl(registry, datetime(2024, 6, 9, 16, 30, tzinfo=UTC), ok=True, articles=[("a1", old), ("a2", old)])
    crawl(registry, datetime(2024, 6, 9, 17, 30, tzinfo=UTC), ok=True, articles=[("a3", old)])
    # The same article published again later (an update) is not counted twice.
    crawl(registry, datetime(2024, 6, 10, 1, 0, tzinfo=UTC), ok=True, articles=[("a3", old), ("a4", old)])
    # Eight days ago: outside the window.
    crawl(registry, NOW - timedelta(days=8), ok=True, articles=[("a0", old)])
    health = source_health(registry, "s1", IngestSettings(), now=NOW)
    by_day = {d.day: d.articles for d in health.articles_by_day}
    assert list(by_day) == [date(2024, 6, 4) + timedelta(days=i) for i in range(7)]
    assert by_day[date(2024, 6, 9)] == 2
    assert by_day[date(2024, 6, 10)] == 2
    assert sum(by_day.values()) == 4
    assert health.articles_per_day == round(4 / 7, 2)
