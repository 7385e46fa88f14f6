"""Scheduling maths (pure functions): when to poll a source next, and its usual publishing interval.

Adaptive polling: the interval halves after a crawl that found new articles and grows by half
after one that found none, and never exceeds half the source's usual publishing interval (so a
source publishing hourly is looked at about every 30 minutes). A feed's ``sy:updatePeriod`` (or
``<ttl>``) is a floor: we never poll faster than the publisher says the feed changes. Consecutive
failures back off exponentially from the minimum. Everything is clamped to [min, max]; a
``Retry-After`` beyond that is still honoured (capped at one day).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import pairwise
from statistics import median

GROW = 1.5
SHRINK = 0.5
MAX_RETRY_AFTER_S = 86400.0
MIN_SAMPLES = 3


def usual_interval(published: Sequence[datetime], max_samples: int = 20) -> float | None:
    """Median gap in seconds between consecutive publication times of the most recent articles;
    None with fewer than three distinct times."""
    times = sorted(set(published))[-max_samples:]
    if len(times) < MIN_SAMPLES:
        return None
    gaps = [(b - a).total_seconds() for a, b in pairwise(times)]
    gaps = [g for g in gaps if g > 0]
    return float(median(gaps)) if gaps else None


def next_interval(
    *,
    previous_s: float | None,
    new_articles: int,
    min_s: float,
    max_s: float,
    usual_interval_s: float | None = None,
    feed_update_period_s: float | None = None,
    consecutive_failures: int = 0,
) -> float:
    """Seconds until the next poll (before ``Retry-After``, see :func:`apply_retry_after`)."""
    if min_s > max_s:
        raise ValueError("min_s must not exceed max_s")
    if consecutive_failures > 0:
        return float(min(max_s, min_s * 2.0 ** min(consecutive_failures, 30)))
    interval = previous_s if previous_s else min_s
    interval *= SHRINK if new_articles > 0 else GROW
    if usual_interval_s:
        interval = min(interval, usual_interval_s / 2)
    if feed_update_period_s:
        interval = max(interval, feed_update_period_s)
    return max(min_s, min(max_s, interval))


def apply_retry_after(interval_s: float, retry_after_s: float | None) -> float:
    """The server asked us to wait: never come back earlier than it said (capped at a day)."""
    if retry_after_s is None:
        return interval_s
    return max(interval_s, min(retry_after_s, MAX_RETRY_AFTER_S))


def is_silent(
    *,
    now: datetime,
    last_new_article_at: datetime | None,
    first_crawl_at: datetime | None,
    usual_interval_s: float | None,
    factor: float,
    default_s: float,
) -> bool:
    """True when nothing new came for ``factor`` usual intervals (or ``default_s`` when the usual
    interval is unknown). A source never crawled is not silent."""
    since = last_new_article_at or first_crawl_at
    if since is None:
        return False
    threshold = factor * usual_interval_s if usual_interval_s else default_s
    return (now - since).total_seconds() > threshold
