from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.ingest.crawler.scheduler import apply_retry_after, is_silent, next_interval, usual_interval

T0 = datetime(2024, 6, 3, tzinfo=UTC)


def test_new_articles_halve_the_interval_quiet_crawls_grow_it() -> None:
    assert next_interval(previous_s=600, new_articles=3, min_s=60, max_s=3600) == 300
    assert next_interval(previous_s=600, new_articles=0, min_s=60, max_s=3600) == 900


def test_bounds() -> None:
    assert next_interval(previous_s=70, new_articles=5, min_s=60, max_s=3600) == 60
    assert next_interval(previous_s=3000, new_articles=0, min_s=60, max_s=3600) == 3600
    assert next_interval(previous_s=None, new_articles=0, min_s=60, max_s=3600) == 90


def test_usual_interval_caps_the_poll_interval() -> None:
    # A source publishing hourly is looked at at least every half hour.
    assert next_interval(previous_s=3000, new_articles=0, min_s=60, max_s=7200, usual_interval_s=3600) == 1800


def test_feed_update_period_is_a_floor() -> None:
    # sy:updatePeriod daily: never poll faster than once a day, but within max.
    assert next_interval(previous_s=600, new_articles=2, min_s=60, max_s=7200, feed_update_period_s=3600) == 3600
    assert next_interval(previous_s=600, new_articles=2, min_s=60, max_s=7200, feed_update_period_s=86400) == 7200


def test_failures_back_off_exponentially() -> None:
    got = [
        next_interval(previous_s=600, new_articles=0, min_s=60, max_s=3600, consecutive_failures=n)
        for n in (1, 2, 3, 10)
    ]
    assert got == [120, 240, 480, 3600]


def test_retry_after_is_honoured_beyond_max_but_capped_at_a_day() -> None:
    assert apply_retry_after(60, 120) == 120
    assert apply_retry_after(600, 120) == 600
    assert apply_retry_after(60, 10 * 86400) == 86400
    assert apply_retry_after(60, None) == 60


def test_min_above_max_is_an_error() -> None:
    with pytest.raises(ValueError):
        next_interval(previous_s=1, new_articles=0, min_s=10, max_s=5)


@given(
    previous=st.one_of(st.none(), st.floats(1, 1e6)),
    new=st.integers(0, 50),
    bounds=st.tuples(st.floats(10, 1e4), st.floats(10, 1e5)).map(sorted),
    usual=st.one_of(st.none(), st.floats(1, 1e6)),
    period=st.one_of(st.none(), st.floats(1, 1e6)),
    failures=st.integers(0, 100),
)
def test_interval_always_within_bounds(previous, new, bounds, usual, period, failures) -> None:  # type: ignore[no-untyped-def]
    lo, hi = bounds
    got = next_interval(
        previous_s=previous,
        new_articles=new,
        min_s=lo,
        max_s=hi,
        usual_interval_s=usual,
        feed_update_period_s=period,
        consecutive_failures=failures,
    )
    assert lo <= got <= hi


def test_usual_interval_is_the_median_gap() -> None:
    times = [T0 + timedelta(hours=h) for h in (0, 1, 2, 3, 10)]
    assert usual_interval(times) == 3600
    assert usual_interval(times[:2]) is None


def test_silence() -> None:
    now = T0 + timedelta(days=2)
    assert is_silent(
        now=now, last_new_article_at=T0, first_crawl_at=T0, usual_interval_s=3600, factor=3, default_s=7 * 86400
    )
    assert not is_silent(
        now=T0 + timedelta(hours=2),
        last_new_article_at=T0,
        first_crawl_at=T0,
        usual_interval_s=3600,
        factor=3,
        default_s=1,
    )
    assert not is_silent(
        now=now, last_new_article_at=None, first_crawl_at=None, usual_interval_s=None, factor=3, default_s=1
    )
    assert is_silent(
        now=now, last_new_article_at=None, first_crawl_at=T0, usual_interval_s=None, factor=3, default_s=86400
    )
