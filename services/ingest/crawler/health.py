"""Source health: status with a reason (stable codes), counters, last success, usual publishing
interval, articles collected per day and the silent/failing flags, as served by
``GET /v1/sources/{id}/health`` and exported as Prometheus gauges.

Status rules, in order: ``disabled``; ``blocked`` when the site keeps the crawler out (in the
newest crawls that fetched anything, blocked pages outnumber published ones: HTTP 403/451, a bot
challenge, a consent wall, a JavaScript shell, pages far shorter than usual, see blocking.py; HTTP
429 in two such crawls in a row); ``failing`` when no crawl has succeeded yet and at least one
failed, or after ``crawl_failing_after`` failed crawls in a row; ``paywalled`` when paywalled
articles outnumber published ones; ``silent``; ``pending`` before the first crawl; else ``ok``.
Blocked comes before failing because it names the cause of the failures and what to do; paywalled
before silent for the same reason. The reason codes are listed in docs/crawler.md and never change
meaning (the web app translates them by code).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from services.ingest.crawler import metrics
from services.ingest.crawler.blocking import BLOCKED_REASONS, BLOCKING_FETCH_ERRORS, PAYWALLED
from services.ingest.crawler.registry import CrawlRecord, SourceRegistry
from services.ingest.crawler.scheduler import is_silent, usual_interval
from services.ingest.settings import IngestSettings

# Calendar days of ``articles_per_day`` are Asia/Jakarta days (WIB), as everywhere in the web app.
DAY_ZONE = ZoneInfo("Asia/Jakarta")
PER_DAY_WINDOW = 7

HealthStatus = Literal["pending", "ok", "silent", "failing", "blocked", "paywalled", "disabled"]
ReasonCode = Literal[
    "not_crawled_yet", "last_crawl_ok", "recent_failure", "never_succeeded", "failed_in_a_row", "no_new_articles",
    "disabled", "blocked_http_403", "blocked_http_429", "blocked_http_451", "blocked_challenge", "blocked_consent",
    "blocked_js_shell", "blocked_short_text", "paywalled",
]  # fmt: skip
# What to do about each blocked/paywalled reason (English; the web app has both languages).
BLOCKED_ADVICE = {
    "blocked_http_403": "the site refuses the crawler (HTTP 403): ask the site to allow WartaBot, or disable the source",
    "blocked_http_429": "the site keeps rate-limiting the crawler (HTTP 429): raise the source's minimum interval, "
    "or ask the site to allow WartaBot",
    "blocked_http_451": "the site refuses the page for legal reasons (HTTP 451): disable the source",
    "blocked_challenge": "the site shows a bot-challenge page (Cloudflare or similar): ask the site to allow "
    "WartaBot, or disable the source",
    "blocked_consent": "the site shows a cookie-consent wall instead of articles: ask the site to exempt WartaBot, "
    "or use its feed or sitemap as the source",
    "blocked_js_shell": "the pages are empty JavaScript shells: use the site's feed, sitemap or WordPress API as "
    "the source",
    "blocked_short_text": "the pages' text is far shorter than usual (a block page or a new layout): open an "
    "article in a browser and compare",
    "paywalled": "the articles are behind a paywall and are not collected: arrange access with the publisher, "
    "or disable the source",
}


class HealthReason(BaseModel):
    """Why the source has its status. ``code`` is stable (docs/crawler.md); ``message`` is English,
    for API users and logs. The numbers a translation needs are fields of the health document
    (``consecutive_failures``, ``last_error_code``, ``last_new_article_at``, ``usual_interval_s``)."""

    code: ReasonCode = Field(description="Stable reason code (docs/crawler.md)")
    message: str = Field(description="The reason in English")


class DayCount(BaseModel):
    day: date = Field(description="Calendar day in Asia/Jakarta (WIB)")
    articles: int = Field(description="Articles first collected from this source that day")


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
    error_code: str | None = None
    next_crawl_at: datetime | None = None


class SourceHealth(BaseModel):
    source_id: str
    enabled: bool
    status: HealthStatus
    reason: HealthReason
    silent: bool
    failing: bool
    blocked: bool
    paywalled: bool
    blocked_since: datetime | None = Field(
        description="Start of the first crawl of the current blocked/paywalled stretch (health reason codes "
        "blocked_* and paywalled)"
    )
    blocked_pages: int = Field(description="Blocked or paywalled pages in the newest crawl that showed it")
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
    last_error_code: str | None = Field(description="Stable code of the last failed crawl's cause (http_404, dns...)")
    articles_per_day: float = Field(description="Articles first collected in the last 7 days, divided by 7")
    articles_by_day: list[DayCount] = Field(description="The last 7 calendar days (WIB), oldest first, today last")
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
    failures = state.consecutive_failures
    never_succeeded = state.last_success_at is None and failures > 0
    failing = source.enabled and (never_succeeded or failures >= settings.crawl_failing_after)
    recent = registry.runs(source_id, runs)
    error_code = _error_code(recent) if failures else None
    error = state.last_error or error_code or state.last_status or "?"
    shut = _shut_out(recent) if source.enabled else None
    blocked = shut is not None and shut.code != PAYWALLED
    paywalled = shut is not None and shut.code == PAYWALLED
    status: HealthStatus
    if not source.enabled:
        status, reason = "disabled", HealthReason(code="disabled", message="The source is disabled.")
    elif shut is not None and blocked:
        status, reason = "blocked", shut.reason()
    elif failing and never_succeeded:
        status = "failing"
        reason = HealthReason(
            code="never_succeeded", message=f"No crawl has succeeded yet; {failures} failed, the last with: {error}"
        )
    elif failing:
        status = "failing"
        reason = HealthReason(
            code="failed_in_a_row", message=f"{failures} crawls in a row failed, the last with: {error}"
        )
    elif shut is not None:
        status, reason = "paywalled", shut.reason()
    elif silent:
        since = state.last_new_article_at or state.first_crawl_at
        usually = f" (usually every {usual:.0f} s)" if usual else ""
        status = "silent"
        reason = HealthReason(
            code="no_new_articles", message=f"No new article since {since.isoformat() if since else '?'}{usually}."
        )
    elif state.last_crawl_at is None:
        status, reason = "pending", HealthReason(code="not_crawled_yet", message="Waiting for the first crawl.")
    elif failures:
        status = "ok"
        reason = HealthReason(
            code="recent_failure",
            message=f"The last crawl failed ({failures} of {settings.crawl_failing_after} before the source "
            f"counts as failing): {error}",
        )
    else:
        status, reason = "ok", HealthReason(code="last_crawl_ok", message="The last crawl succeeded.")
    by_day = registry.discoveries_per_day(source_id, days=PER_DAY_WINDOW, zone=DAY_ZONE, now=now)
    metrics.SOURCE_SILENT.labels(source_id).set(int(silent))
    metrics.SOURCE_FAILING.labels(source_id).set(int(failing))
    metrics.SOURCE_BLOCKED.labels(source_id).set(int(blocked))
    metrics.SOURCE_PAYWALLED.labels(source_id).set(int(paywalled))
    if state.last_success_at:
        metrics.LAST_SUCCESS.labels(source_id).set(state.last_success_at.timestamp())
    return SourceHealth(
        source_id=source_id,
        enabled=source.enabled,
        status=status,
        reason=reason,
        silent=silent,
        failing=failing,
        blocked=blocked,
        paywalled=paywalled,
        blocked_since=shut.since if shut else None,
        blocked_pages=shut.pages if shut else 0,
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
        last_error_code=error_code,
        articles_per_day=round(sum(n for _, n in by_day) / PER_DAY_WINDOW, 2),
        articles_by_day=[DayCount(day=day, articles=n) for day, n in by_day],
        usual_interval_s=usual,
        poll_interval_s=state.interval_s,
        next_crawl_at=state.next_crawl_at,
        feed_update_period_s=state.feed_update_period_s,
        recent_runs=[CrawlRun.model_validate(r.as_dict()) for r in recent],
    )


def _error_code(recent: list[CrawlRecord]) -> str | None:
    """The code of the latest failed run's cause; for runs stored before codes were recorded, its
    most frequent failure reason."""
    for run in recent:
        if run.status != "failed":
            continue
        if run.error_code:
            return run.error_code
        return run.failed.most_common(1)[0][0] if run.failed else None
    return None


@dataclass(frozen=True)
class _ShutOut:
    code: str  # a blocked_* health reason code, or paywalled
    since: datetime
    pages: int

    def reason(self) -> HealthReason:
        what = "Paywalled" if self.code == PAYWALLED else "Blocked"
        return HealthReason(
            code=self.code,  # type: ignore[arg-type]  # the codes of BLOCKED_ADVICE
            message=f"{what} since {self.since.isoformat()} ({self.pages} page(s) in the last crawl that "
            f"fetched any): {BLOCKED_ADVICE[self.code]}.",
        )


def _run_verdict(run: CrawlRecord) -> tuple[str, int] | Literal[False] | None:
    """What one crawl says: ``(code, pages)`` when blocked or paywalled pages outnumber the
    published ones, ``False`` when it published normally, ``None`` when it fetched nothing telling
    (only seen or unchanged pages, or not modified)."""
    blocked: Counter[str] = Counter()
    for reason, n in run.failed.items():
        if reason in BLOCKED_REASONS or reason in BLOCKING_FETCH_ERRORS:
            blocked[BLOCKING_FETCH_ERRORS.get(reason, reason)] += n
    paywalled = run.skipped.get(PAYWALLED, 0)
    pages = sum(blocked.values())
    if pages > run.published:
        return blocked.most_common(1)[0][0], pages
    if paywalled > run.published:
        return PAYWALLED, paywalled
    return None if not (pages or paywalled or run.published) else False


def _shut_out(recent: list[CrawlRecord]) -> _ShutOut | None:
    """Blocked or paywalled, from the newest crawls (``recent`` is newest first) that fetched
    anything telling; ``since`` is the start of the first crawl of that stretch. HTTP 429 needs two
    such crawls in a row (one may be a burst)."""
    found: tuple[str, int] | None = None
    since: datetime | None = None
    streak = 0
    for run in recent:
        verdict = _run_verdict(run)
        if verdict is None:
            continue
        if verdict is False or (found is not None and (verdict[0] == PAYWALLED) != (found[0] == PAYWALLED)):
            break
        found = found or verdict
        since, streak = run.started_at, streak + 1
    if found is None or since is None or (found[0] == "blocked_http_429" and streak < 2):
        return None
    return _ShutOut(found[0], since, found[1])
