"""The timeline's automatic interval (issue 15, item 9): day up to 60 days, week up to two years,
month beyond, counted in Asia/Jakarta calendar days."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from services.search.criteria import JAKARTA, auto_interval, span_days


def day(y: int, m: int, d: int, end: bool = False) -> datetime:
    return datetime.combine(datetime(y, m, d).date(), time.max if end else time.min, JAKARTA)


@pytest.mark.parametrize(
    ("lo", "hi", "days", "interval"),
    [
        (day(2025, 5, 1), day(2025, 5, 1, end=True), 1, "day"),
        (day(2025, 5, 1), day(2025, 6, 29, end=True), 60, "day"),
        (day(2025, 5, 1), day(2025, 6, 30, end=True), 61, "week"),
        (day(2024, 1, 1), day(2025, 12, 31, end=True), 731, "week"),
        (day(2024, 1, 1), day(2026, 1, 1, end=True), 732, "month"),
        (day(1970, 1, 1), day(2025, 5, 3), 20212, "month"),
    ],
)
def test_auto_interval_by_span(lo: datetime, hi: datetime, days: int, interval: str) -> None:
    assert span_days(lo, hi) == days
    assert auto_interval(lo, hi) == interval


def test_days_are_jakarta_days() -> None:
    # 2025-05-01 17:30 UTC is already 2 May in Jakarta: two calendar days, not one.
    lo = datetime(2025, 5, 1, 10, 0, tzinfo=UTC)
    assert span_days(lo, lo + timedelta(hours=7, minutes=30)) == 2
