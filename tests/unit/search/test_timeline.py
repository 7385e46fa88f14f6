"""The timeline's bucket arithmetic: bounded whatever dates the index holds (issue 13, item 2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.search.criteria import (
    INTERVALS,
    JAKARTA,
    MAX_TIMELINE_BUCKETS,
    TIMELINE_EARLIEST,
    bucket_count,
    fill_buckets,
    interval_start,
    pick_interval,
    timeline_aggs,
    timeline_span,
    timeline_window,
)

NOW = datetime(2025, 6, 1, tzinfo=UTC)
WINDOW = timeline_window(NOW)


def ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def test_interval_starts_are_jakarta_calendar_starts() -> None:
    moment = datetime(2025, 5, 14, 20, 0, tzinfo=UTC)  # 2025-05-15 03:00 in Jakarta (a Thursday)
    assert interval_start(moment, "day") == datetime(2025, 5, 15, tzinfo=JAKARTA)
    assert interval_start(moment, "week") == datetime(2025, 5, 12, tzinfo=JAKARTA)  # Monday
    assert interval_start(moment, "month") == datetime(2025, 5, 1, tzinfo=JAKARTA)
    assert interval_start(moment, "quarter") == datetime(2025, 4, 1, tzinfo=JAKARTA)
    assert interval_start(moment, "year") == datetime(2025, 1, 1, tzinfo=JAKARTA)


def test_bucket_count() -> None:
    lo, hi = datetime(2025, 1, 1, tzinfo=JAKARTA), datetime(2025, 12, 31, 23, tzinfo=JAKARTA)
    assert [bucket_count(lo, hi, i) for i in INTERVALS] == [365, 53, 12, 4, 1]
    assert bucket_count(lo, lo, "day") == 1


def test_a_1970_article_widens_the_day_timeline_to_months() -> None:
    lo, hi = datetime(1970, 1, 1, tzinfo=UTC), datetime(2025, 5, 9, tzinfo=UTC)
    assert pick_interval(lo, hi, "day") == "month"
    assert pick_interval(lo, hi, "week") == "month"
    assert pick_interval(lo, hi, "year") == "year"  # never finer than asked
    short = (datetime(2025, 5, 1, tzinfo=UTC), datetime(2025, 5, 9, tzinfo=UTC))
    assert pick_interval(*short, "day") == "day"


def test_the_whole_window_fits_in_years() -> None:
    # The window is what keeps every timeline bounded: even a year histogram of all of it fits.
    assert bucket_count(*WINDOW, "year") <= MAX_TIMELINE_BUCKETS
    # ...and Elasticsearch's non-empty day buckets inside it stay under its 65,536-bucket limit.
    assert bucket_count(*WINDOW, "day") < 65_536


@given(
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2026, 5, 1)),
    st.integers(min_value=0, max_value=60_000),
    st.sampled_from(INTERVALS),
)
def test_pick_interval_never_exceeds_the_limit(start: datetime, days: int, requested: str) -> None:
    lo = max(start.replace(tzinfo=JAKARTA), WINDOW[0])
    hi = min(lo + timedelta(days=days), WINDOW[1])
    chosen = pick_interval(lo, hi, requested)  # type: ignore[arg-type]
    assert INTERVALS.index(chosen) >= INTERVALS.index(requested)  # type: ignore[arg-type]
    assert bucket_count(lo, hi, chosen) <= MAX_TIMELINE_BUCKETS
    filled = fill_buckets([], lo, hi, chosen)
    assert len(filled) == bucket_count(lo, hi, chosen)


def test_fill_buckets_fills_gaps_with_elasticsearch_keys() -> None:
    found = [{"key": ms(datetime(2025, 5, 1, tzinfo=JAKARTA)), "doc_count": 2},
             {"key": ms(datetime(2025, 5, 4, tzinfo=JAKARTA)), "doc_count": 1}]  # fmt: skip
    out = fill_buckets(found, datetime(2025, 4, 30, 12, tzinfo=JAKARTA), datetime(2025, 5, 5, tzinfo=JAKARTA), "day")
    assert [{"key": b["key"], "count": b["count"]} for b in out] == [
        {"key": "2025-04-30T00:00:00.000+07:00", "count": 0},
        {"key": "2025-05-01T00:00:00.000+07:00", "count": 2},
        {"key": "2025-05-02T00:00:00.000+07:00", "count": 0},
        {"key": "2025-05-03T00:00:00.000+07:00", "count": 0},
        {"key": "2025-05-04T00:00:00.000+07:00", "count": 1},
        {"key": "2025-05-05T00:00:00.000+07:00", "count": 0},
    ]
    stories = [{"key": ms(datetime(2025, 4, 1, tzinfo=JAKARTA)), "doc_count": 9, "stories": {"value": 4}}]
    lo, hi = datetime(2025, 1, 1, tzinfo=JAKARTA), datetime(2025, 12, 1, tzinfo=JAKARTA)
    assert [{"key": b["key"], "count": b["count"]} for b in fill_buckets(stories, lo, hi, "quarter", "stories")] == [
        {"key": f"2025-{m:02d}-01T00:00:00.000+07:00", "count": 4 if m == 4 else 0} for m in (1, 4, 7, 10)
    ]


def test_span_comes_from_the_request_else_from_the_data_and_stays_in_the_window() -> None:
    found = [{"key": ms(datetime(1970, 1, 1, tzinfo=JAKARTA))}, {"key": ms(datetime(2025, 5, 1, tzinfo=JAKARTA))}]
    assert timeline_span([], None, None, WINDOW) is None
    lo, hi = timeline_span(found, None, None, WINDOW)  # type: ignore[misc]
    assert (lo, hi) == (datetime(1970, 1, 1, tzinfo=JAKARTA), datetime(2025, 5, 1, tzinfo=JAKARTA))
    # Far-off request bounds, with offsets that cannot even be converted to UTC, are clamped.
    far_lo = datetime.fromisoformat("0001-01-01T00:00:00+14:00")
    far_hi = datetime.fromisoformat("9999-12-31T23:59:59-14:00")
    assert timeline_span(found, far_lo, far_hi, WINDOW) == WINDOW
    assert timeline_span(found, far_hi, None, WINDOW) is None


def test_aggregation_is_bounded_by_the_window() -> None:
    aggs = timeline_aggs("day", "stories", WINDOW)
    hist = aggs["t"]["date_histogram"]
    assert hist["min_doc_count"] == 1  # only non-empty buckets come back; the API fills the gaps
    assert hist["hard_bounds"] == {"min": TIMELINE_EARLIEST.isoformat(), "max": WINDOW[1].isoformat()}
    assert "stories" in aggs["t"]["aggs"] and "outside" in aggs


@pytest.mark.parametrize("interval", INTERVALS)
def test_keys_round_trip_through_interval_start(interval: str) -> None:
    filled = fill_buckets([], datetime(2020, 2, 29, tzinfo=JAKARTA), datetime(2024, 2, 29, tzinfo=JAKARTA), interval)  # type: ignore[arg-type]
    for b in filled:
        start = datetime.fromisoformat(b["key"])
        assert interval_start(start, interval) == start  # type: ignore[arg-type]
